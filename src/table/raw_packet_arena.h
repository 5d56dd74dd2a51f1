// raw_packet_arena.h: the raw packets a flow-table shard keeps (--raw-packets).
//
// Owner: the flow table of one RX lcore; nothing here is thread-safe. Packet
// bytes are copied (never an mbuf reference: RX buffers go straight back to
// the pool) into a slab of fixed-size slots reserved at Create(). Per flow
// position the arena keeps two slot lists: the first N packets, then a ring
// of the last M, whose oldest slot is overwritten in place. With no free
// slot Capture() says so (the table counts raw_packets_dropped) and the
// flow's accounting goes on.
// Slots go back to the free list when the flow leaves the table, or, with
// --keep-expired, are parked under an id until its kept record goes. Parked
// packets give way to live ones: with no free slot, the oldest parked flow
// loses its packets (counted) before a live packet is dropped.
//
//   auto arena = RawPacketArena::Create(opts, capacity);
//   arena->Capture(pos, data, caplen, wire_len, link_type, ts_ns);  // per packet
//   arena->ForEach(pos, [](const RawPacketArena::Packet& p) { ... });
//   arena->Release(pos);                                            // flow expired
//   uint64_t id = arena->Park(pos);  ...  arena->Unpark(id);         // or kept a while
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"

namespace skyprobe {

struct RawPacketArenaOptions {
  uint32_t first = 0;  // first N packets per flow (--raw-packets)
  uint32_t last = 0;   // last M packets per flow (--raw-packets-last)
  uint32_t capture_length = 256;
  uint64_t memory_bytes = 0;  // this shard's budget for slots (--raw-packets-memory / shards)
};

class RawPacketArena {
 public:
  // One kept packet as ForEach shows it (points into the arena).
  struct Packet {
    int64_t timestamp_ns;
    uint32_t wire_length;
    uint32_t caplen;
    uint32_t link_type;
    uint32_t index;  // 1-based packet number inside the flow
    const uint8_t* data;
  };

  // `flow_capacity`: the table's position count (one state per position).
  static absl::StatusOr<std::unique_ptr<RawPacketArena>> Create(const RawPacketArenaOptions& opts,
                                                                uint32_t flow_capacity);
  ~RawPacketArena();
  RawPacketArena(const RawPacketArena&) = delete;
  RawPacketArena& operator=(const RawPacketArena&) = delete;

  enum class Result : uint8_t { kSkipped, kKept, kDropped };

  // Counts one packet of the flow at `pos` and keeps a copy of its first
  // min(caplen, capture_length) bytes if the flow still wants it: kKept;
  // kSkipped when it does not (past the first N, no last M); kDropped when
  // it did but no slot was free.
  Result Capture(uint32_t pos, const uint8_t* data, uint32_t caplen, uint32_t wire_length,
                 uint16_t link_type, int64_t ts_ns) noexcept;

  // Returns the flow's slots to the free list and forgets its packet count.
  void Release(uint32_t pos) noexcept;

  // --keep-expired: room for `max_parked` parked flows (0: parking off).
  // `reclaimed` counts parked flows whose packets went to live flows.
  absl::Status EnableParking(uint32_t max_parked, uint64_t* reclaimed);
  // Moves the packets of the flow at `pos` out of the position (which is then
  // empty) under a new id; kNoPacketsParked when it kept none. The oldest
  // parked flow is unparked first if `max_parked` are parked already.
  static constexpr uint64_t kNoPacketsParked = ~uint64_t{0};
  uint64_t Park(uint32_t pos) noexcept;
  // Frees the packets parked under `id` (nothing if they are gone already).
  void Unpark(uint64_t id) noexcept;
  // Calls `visit(const Packet&)` for each packet parked under `id`, in capture
  // order; false (no call) when there are none (never parked, or reclaimed).
  template <typename Visit>
  bool ForEachParked(uint64_t id, Visit&& visit) const {
    if (id == kNoPacketsParked || id < parked_front_ || id >= parked_end_) return false;
    const uint32_t head = parked_[id % max_parked_];
    if (head == kNone) return false;
    for (uint32_t s = head; s != kNone; s = SlotAt(s)->next) visit(View(s));
    return true;
  }

  // Packets kept for the flow (RawPacketsCaptured).
  uint32_t kept(uint32_t pos) const { return flows_[pos].n_first + flows_[pos].n_last; }

  // Calls `visit(const Packet&)` for each kept packet, in capture order.
  template <typename Visit>
  void ForEach(uint32_t pos, Visit&& visit) const {
    const FlowState& f = flows_[pos];
    for (uint32_t s = f.first_head; s != kNone; s = SlotAt(s)->next) visit(View(s));
    for (uint32_t s = f.last_head; s != kNone; s = SlotAt(s)->next) visit(View(s));
  }

  uint32_t slot_count() const { return slot_count_; }
  uint32_t free_slots() const { return slot_count_ - used_; }
  uint32_t capture_length() const { return opts_.capture_length; }
  // Bytes of one slot: what one packet costs, header included.
  uint32_t slot_bytes() const { return slot_bytes_; }
  uint32_t max_per_flow() const { return opts_.first + opts_.last; }

 private:
  // Slot ids are 1-based so that an all-zero FlowState is an empty flow.
  static constexpr uint32_t kNone = 0;

  struct SlotHeader {
    int64_t timestamp_ns;
    uint32_t wire_length;
    uint32_t index;
    uint32_t next;  // next slot of the same list, kNone at the end
    uint16_t caplen;
    uint16_t link_type;
  };
  static_assert(sizeof(SlotHeader) == 24, "slot header layout");

  // All zero = no packet seen, nothing kept: the array comes from calloc and
  // positions never used stay unbacked zero pages.
  struct FlowState {
    uint32_t seen;  // packets of the flow so far (the last index given), saturating
    uint32_t first_head;
    uint32_t first_tail;
    uint32_t last_head;  // oldest of the last-M ring
    uint32_t last_tail;
    uint32_t n_first;
    uint32_t n_last;
  };
  struct FreeDeleter {
    void operator()(void* p) const;
  };

  explicit RawPacketArena(const RawPacketArenaOptions& opts);
  SlotHeader* SlotAt(uint32_t s) const {
    return reinterpret_cast<SlotHeader*>(slab_.get() + static_cast<uint64_t>(s - 1) * slot_bytes_);
  }
  Packet View(uint32_t s) const {
    const SlotHeader* h = SlotAt(s);
    return {h->timestamp_ns, h->wire_length, h->caplen,
            h->link_type,    h->index,       reinterpret_cast<const uint8_t*>(h + 1)};
  }
  uint32_t TakeSlot() noexcept;
  // Frees the oldest parked flow that still has packets; false if none has.
  bool ReclaimParked() noexcept;
  void FreeList(uint32_t head) noexcept;
  void Fill(uint32_t s, const uint8_t* data, uint32_t caplen, uint32_t wire_length,
            uint16_t link_type, uint32_t index, int64_t ts_ns) noexcept;

  RawPacketArenaOptions opts_;
  uint32_t slot_bytes_ = 0;
  uint32_t slot_count_ = 0;
  // Slots are handed out from `bump_` + 1 upwards until the slab has been used
  // once, then from the free list: no pass over the slab at Create(), so its
  // pages become resident only as packets fill them.
  uint32_t bump_ = 0;
  uint32_t free_head_ = kNone;
  uint32_t used_ = 0;
  std::unique_ptr<uint8_t[]> slab_;
  std::unique_ptr<FlowState[], FreeDeleter> flows_;
  // Parked flows: the head of each one's slot list (first N, then last M,
  // chained) by id modulo max_parked_; ids parked_front_ to parked_end_ - 1
  // may still hold packets (kNone: unparked or reclaimed).
  std::unique_ptr<uint32_t[]> parked_;
  uint32_t max_parked_ = 0;
  uint64_t parked_front_ = 0;
  uint64_t parked_end_ = 0;
  uint64_t* reclaimed_ = nullptr;
};

}  // namespace skyprobe
