#include "table/raw_packet_arena.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#include "skyprobe/compiler.h"

namespace skyprobe {

void RawPacketArena::FreeDeleter::operator()(void* p) const { std::free(p); }

RawPacketArena::RawPacketArena(const RawPacketArenaOptions& opts) : opts_(opts) {}

RawPacketArena::~RawPacketArena() = default;

absl::StatusOr<std::unique_ptr<RawPacketArena>> RawPacketArena::Create(
    const RawPacketArenaOptions& opts, uint32_t flow_capacity) {
  if (opts.first == 0 && opts.last == 0) {
    return absl::InvalidArgumentError("raw packet arena with nothing to keep");
  }
  if (opts.capture_length == 0 || opts.capture_length > 0xffff) {
    return absl::InvalidArgumentError("raw packet capture length out of range");
  }
  std::unique_ptr<RawPacketArena> a(new RawPacketArena(opts));
  // 8-byte aligned slots so that every header is aligned.
  a->slot_bytes_ = (sizeof(SlotHeader) + opts.capture_length + 7) & ~7u;
  const uint64_t slots = std::min<uint64_t>(opts.memory_bytes / a->slot_bytes_, 0xfffffffeu);
  if (slots == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "raw packet memory per worker (", opts.memory_bytes, " bytes) holds no packet of ",
        a->slot_bytes_, " bytes: raise --raw-packets-memory or lower --capture-length"));
  }
  a->slot_count_ = static_cast<uint32_t>(slots);
  // Uninitialised on purpose: untouched slab pages cost no resident memory.
  a->slab_.reset(new (std::nothrow) uint8_t[slots * a->slot_bytes_]);
  a->flows_.reset(static_cast<FlowState*>(std::calloc(flow_capacity, sizeof(FlowState))));
  if (a->slab_ == nullptr || a->flows_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate ", slots * a->slot_bytes_ >> 20, " MiB for raw packets"));
  }
  return a;
}

uint32_t RawPacketArena::TakeSlot() noexcept {
  uint32_t s;
  if (free_head_ == kNone && bump_ == slot_count_) {
    // Live packets first: a kept expired flow gives its slots back.
    if (!ReclaimParked()) return kNone;
  }
  if (free_head_ != kNone) {
    s = free_head_;
    free_head_ = SlotAt(s)->next;
  } else {
    s = ++bump_;
  }
  ++used_;
  return s;
}

absl::Status RawPacketArena::EnableParking(uint32_t max_parked, uint64_t* reclaimed) {
  if (max_parked == 0) return absl::OkStatus();
  parked_.reset(new (std::nothrow) uint32_t[max_parked]);
  if (parked_ == nullptr) {
    return absl::ResourceExhaustedError("cannot allocate the parked raw packet lists");
  }
  max_parked_ = max_parked;
  reclaimed_ = reclaimed;
  return absl::OkStatus();
}

uint64_t RawPacketArena::Park(uint32_t pos) noexcept {
  FlowState& f = flows_[pos];
  if (max_parked_ == 0 || f.n_first + f.n_last == 0) {
    Release(pos);
    return kNoPacketsParked;
  }
  if (parked_end_ - parked_front_ == max_parked_) Unpark(parked_front_);
  // One list: the first N, then the last M (capture order).
  uint32_t head = f.first_head;
  if (head == kNone) {
    head = f.last_head;
  } else {
    SlotAt(f.first_tail)->next = f.last_head;
  }
  const uint64_t id = parked_end_++;
  parked_[id % max_parked_] = head;
  f = FlowState{};
  return id;
}

void RawPacketArena::Unpark(uint64_t id) noexcept {
  if (id == kNoPacketsParked || id < parked_front_ || id >= parked_end_) return;
  uint32_t& head = parked_[id % max_parked_];
  FreeList(head);
  head = kNone;
  // Entries leave in about the order they came: skip the emptied front.
  while (parked_front_ < parked_end_ && parked_[parked_front_ % max_parked_] == kNone) {
    ++parked_front_;
  }
}

bool RawPacketArena::ReclaimParked() noexcept {
  while (parked_front_ < parked_end_) {
    uint32_t& head = parked_[parked_front_ % max_parked_];
    ++parked_front_;
    if (head == kNone) continue;
    FreeList(head);
    head = kNone;
    if (reclaimed_ != nullptr) ++*reclaimed_;
    return true;
  }
  return false;
}

void RawPacketArena::FreeList(uint32_t head) noexcept {
  while (head != kNone) {
    SlotHeader* h = SlotAt(head);
    const uint32_t next = h->next;
    h->next = free_head_;
    free_head_ = head;
    --used_;
    head = next;
  }
}

void RawPacketArena::Fill(uint32_t s, const uint8_t* data, uint32_t caplen, uint32_t wire_length,
                          uint16_t link_type, uint32_t index, int64_t ts_ns) noexcept {
  SlotHeader* h = SlotAt(s);
  const uint32_t n = std::min(caplen, opts_.capture_length);
  h->timestamp_ns = ts_ns;
  // pcap wants wire >= captured; a sub-packet's own length can be shorter
  // than its bytes (Ethernet padding).
  h->wire_length = std::max(wire_length, n);
  h->index = index;
  h->next = kNone;
  h->caplen = static_cast<uint16_t>(n);
  h->link_type = link_type;
  std::memcpy(h + 1, data, n);
}

RawPacketArena::Result RawPacketArena::Capture(uint32_t pos, const uint8_t* data, uint32_t caplen,
                                               uint32_t wire_length, uint16_t link_type,
                                               int64_t ts_ns) noexcept {
  FlowState& f = flows_[pos];
  // Saturates rather than wraps: after 2^32 - 1 packets a wrapped count
  // would make a long flow's packets "first" again.
  if (SKYPROBE_LIKELY(f.seen != 0xffffffffu)) ++f.seen;
  const uint32_t index = f.seen;
  if (index <= opts_.first) {
    const uint32_t s = TakeSlot();
    if (SKYPROBE_UNLIKELY(s == kNone)) return Result::kDropped;
    Fill(s, data, caplen, wire_length, link_type, index, ts_ns);
    if (f.first_tail == kNone) {
      f.first_head = s;
    } else {
      SlotAt(f.first_tail)->next = s;
    }
    f.first_tail = s;
    ++f.n_first;
    return Result::kKept;
  }
  if (opts_.last == 0) return Result::kSkipped;
  Result result = Result::kKept;
  uint32_t s = kNone;
  if (f.n_last < opts_.last) s = TakeSlot();
  if (s == kNone) {
    if (f.n_last == 0) return Result::kDropped;
    // The ring is full (or the arena is): the oldest of the last packets
    // makes room, so the ring always ends with the flow's latest packet.
    // A ring that could not grow to M for lack of slots loses its oldest.
    result = f.n_last < opts_.last ? Result::kDropped : Result::kKept;
    s = f.last_head;
    f.last_head = SlotAt(s)->next;
    if (f.last_head == kNone) f.last_tail = kNone;
    --f.n_last;
  }
  Fill(s, data, caplen, wire_length, link_type, index, ts_ns);
  if (f.last_tail == kNone) {
    f.last_head = s;
  } else {
    SlotAt(f.last_tail)->next = s;
  }
  f.last_tail = s;
  ++f.n_last;
  return result;
}

void RawPacketArena::Release(uint32_t pos) noexcept {
  FlowState& f = flows_[pos];
  FreeList(f.first_head);
  FreeList(f.last_head);
  f = FlowState{};
}

}  // namespace skyprobe
