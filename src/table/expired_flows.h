// expired_flows.h: the recently expired flows of one shard (--keep-expired).
//
// Owner: the flow table of one RX lcore (nothing here is thread-safe). When a
// flow leaves the table its final record is copied here, with the id of its
// raw packets parked in the RawPacketArena, so that queries still find it
// (and `skyprobectl pcap` its packets) for a while. A fixed ring allocated at
// Create(): the oldest entry goes when the ring is full or its time is up.
// Every entry has a sequence number, so a query scanning across several calls
// resumes at the same flow even when entries came and went meanwhile.
//
//   auto kept = ExpiredFlows::Create(capacity);
//   ExpiredFlows::Entry& e = kept->PushBack(seq_hint);   // after PopFront if full()
//   for (uint64_t q = kept->front_seq(); q < kept->end_seq(); ++q) Use(kept->At(q));
#pragma once

#include <cstdint>
#include <memory>
#include <new>

#include "absl/status/statusor.h"
#include "record/flow_snapshot.h"

namespace skyprobe {

class ExpiredFlows {
 public:
  struct Entry {
    int64_t expired_ns = 0;  // shard clock when the flow left the table
    uint64_t raw_id = 0;     // RawPacketArena::Park id (kNoPacketsParked: none)
    FlowSnapshot snap;       // the final record (Event EXPIRE, its reason)
  };

  static absl::StatusOr<std::unique_ptr<ExpiredFlows>> Create(uint32_t capacity);
  ~ExpiredFlows();
  ExpiredFlows(const ExpiredFlows&) = delete;
  ExpiredFlows& operator=(const ExpiredFlows&) = delete;

  uint32_t capacity() const { return capacity_; }
  uint32_t size() const { return static_cast<uint32_t>(end_ - front_); }
  bool empty() const { return end_ == front_; }
  bool full() const { return size() == capacity_; }

  // Sequence numbers of the oldest entry and one past the newest.
  uint64_t front_seq() const { return front_; }
  uint64_t end_seq() const { return end_; }

  // A new newest entry with `uuid` (the caller fills it). The ring must not be full.
  Entry& PushBack(uint64_t uuid) noexcept {
    // Entries are constructed on the ring's first lap (positions are taken
    // in order), so pages become resident only as flows expire into them.
    if (end_ < capacity_) new (&entries_[end_]) Entry();
    const uint32_t i = Index(end_++);
    uuids_[i] = uuid;
    return entries_[i];
  }
  const Entry& Front() const { return entries_[Index(front_)]; }
  void PopFront() noexcept { ++front_; }

  // The entry with sequence number `seq` (front_seq() <= seq < end_seq()).
  const Entry& At(uint64_t seq) const { return entries_[Index(seq)]; }
  uint64_t UuidAt(uint64_t seq) const { return uuids_[Index(seq)]; }

 private:
  explicit ExpiredFlows(uint32_t capacity) : capacity_(capacity) {}
  uint32_t Index(uint64_t seq) const { return static_cast<uint32_t>(seq % capacity_); }

  uint32_t capacity_;
  uint64_t front_ = 0;
  uint64_t end_ = 0;
  // Separate arrays: a look-up by UUID reads 8 bytes an entry, not a snapshot.
  std::unique_ptr<uint64_t[]> uuids_;
  Entry* entries_ = nullptr;  // constructed up to min(end_, capacity_) (PushBack)
};

}  // namespace skyprobe
