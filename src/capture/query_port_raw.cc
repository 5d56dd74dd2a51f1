// query_port_raw.cc: the kRawPackets side of QueryPort (ExportPcap).
//
// Owner: as query_port.h: BeginRawPackets/CollectRawPackets on the one
// requester thread, ServeRawPackets on the worker between bursts.
//
// The buffer changes hands through raw_full_ (and finished_ at the end): the
// worker writes whole flows while both are clear; when the next flow does
// not fit it sets raw_full_ (release) and waits, serving nothing more of the
// export, until the requester has read the buffer, emptied it and cleared
// raw_full_ (release again). Neither side ever waits for the other inside a
// call: the worker resumes on a later loop, the requester on its next poll.
//
//   port->BeginRawPackets(sorted_uuids);                             // requester
//   while (!port->CollectRawPackets([&](uint64_t uuid, const auto& p) { ... })) {}
#include <algorithm>
#include <cstring>

#include "capture/query_port.h"

namespace skyprobe {
namespace {

// What a look-up and a packet copy cost a WorkBudget (about ns): one probe of
// the UUID index; one packet's record and bytes (at most a capture length).
// Measured at 1M flows, where both miss the cache: an export of one-packet
// flows took about 475 ns a flow of the worker's time (loop_bench
// --scenario export, BENCHMARKS.md); charged less, the export overran the
// busy budget about 4x.
constexpr uint32_t kLookupCost = 350;
constexpr uint32_t kPacketCopyCost = 120;
// One expired flow checked against the request (a binary search).
constexpr uint32_t kKeptCheckCost = 30;

}  // namespace

bool QueryPort::CollectRawPackets(const RawVisitor& visit) {
  // Read "finished" first: a buffer handed over before it was set is then seen.
  const bool finished = finished_.load(std::memory_order_acquire);
  if (!finished && !raw_full_.load(std::memory_order_acquire)) return false;
  for (uint64_t off = 0; off < raw_used_;) {
    RawRecord rec;
    std::memcpy(&rec, raw_buffer_.get() + off, sizeof(rec));
    const uint8_t* data = raw_buffer_.get() + off + sizeof(rec);
    visit(rec.uuid, RawPacketArena::Packet{rec.timestamp_ns, rec.wire_length, rec.caplen,
                                           rec.link_type, rec.index, data});
    off += sizeof(rec) + ((rec.caplen + 7) & ~7u);
  }
  raw_used_ = 0;
  if (!finished) raw_full_.store(false, std::memory_order_release);  // the worker goes on
  return finished;
}

bool QueryPort::CopyPacket(uint64_t uuid, const RawPacketArena::Packet& p) noexcept {
  const uint64_t need = sizeof(RawRecord) + ((p.caplen + 7) & ~7u);
  if (raw_used_ + need > raw_capacity_) return false;
  const RawRecord rec{uuid, p.timestamp_ns, p.wire_length, p.caplen, p.link_type, p.index};
  std::memcpy(raw_buffer_.get() + raw_used_, &rec, sizeof(rec));
  std::memcpy(raw_buffer_.get() + raw_used_ + sizeof(rec), p.data, p.caplen);
  raw_used_ += need;
  return true;
}

template <typename ForEach>
bool QueryPort::CopyFlow(const Request& r, size_t i, WorkBudget* budget,
                         ForEach&& for_each) noexcept {
  const uint64_t uuid = (*r.uuids)[i];
  const uint64_t start = raw_used_;
  bool fits = true;
  // A whole flow in one go (at most N + M packets): the packets must come
  // from one state of the flow. Their cost counts against the budget without
  // stopping the copy (a spent budget stops the next flow).
  for_each([&](const RawPacketArena::Packet& p) {
    (void)budget->Charge(kPacketCopyCost);
    fits = fits && CopyPacket(uuid, p);
  });
  if (!fits && start > 0) {
    raw_used_ = start;  // not this flow: hand the buffer over, copy it again later
    raw_full_.store(true, std::memory_order_release);
    return false;
  }
  // An empty buffer holds any flow (Create sizes it so); were it not so, the
  // packets that fit are kept rather than the export stalling.
  raw_done_[i] = 1;
  return true;
}

bool QueryPort::ServeKeptRawPackets(const Request& r, const FlowTable& table,
                                    WorkBudget* budget) noexcept {
  const ExpiredFlows* kept = table.kept();
  const RawPacketArena* arena = table.raw_packets();
  if (kept == nullptr) return true;
  const std::vector<uint64_t>& uuids = *r.uuids;
  // Entries may have aged out since the last call: resume at the oldest left.
  if (kept_cursor_ < kept->front_seq()) kept_cursor_ = kept->front_seq();
  for (; kept_cursor_ < kept->end_seq(); ++kept_cursor_) {
    if (budget->Charge(kKeptCheckCost)) return false;
    const auto it = std::lower_bound(uuids.begin(), uuids.end(), kept->UuidAt(kept_cursor_));
    if (it == uuids.end() || *it != kept->UuidAt(kept_cursor_)) continue;
    const size_t i = static_cast<size_t>(it - uuids.begin());
    if (raw_done_[i] != 0) continue;  // copied while it was live
    const uint64_t raw_id = kept->At(kept_cursor_).raw_id;
    const auto packets = [&](auto&& copy) { arena->ForEachParked(raw_id, copy); };
    if (!CopyFlow(r, i, budget, packets)) return false;
  }
  return true;
}

bool QueryPort::ServeRawPackets(const Request& r, FlowTable* table, WorkBudget* budget) noexcept {
  const RawPacketArena* arena = table->raw_packets();
  if (arena == nullptr) return true;  // capture off here: no flow of this table has packets
  if (raw_full_.load(std::memory_order_acquire)) return false;  // not taken yet
  const std::vector<uint64_t>& uuids = *r.uuids;
  if (!kept_started_) {
    // Raw capture always keeps a UUID index (flow_table_setup.cc): one probe a flow.
    for (; cursor_ < uuids.size(); ++cursor_) {
      if (raw_done_[cursor_] != 0) continue;
      if (budget->Charge(kLookupCost)) return false;
      const int32_t pos = table->FindUuid(uuids[cursor_]);
      if (pos < 0) continue;  // another shard's, expired, or gone
      const auto packets = [&](auto&& copy) { arena->ForEach(static_cast<uint32_t>(pos), copy); };
      if (!CopyFlow(r, cursor_, budget, packets)) return false;
    }
    kept_started_ = true;
  }
  // Not live: perhaps expired a moment ago (--keep-expired).
  if (!ServeKeptRawPackets(r, *table, budget)) return false;
  ResetScan();
  return true;
}

}  // namespace skyprobe
