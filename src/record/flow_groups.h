// flow_groups.h: flows counted by group (Aggregate, `skyprobectl flows
// --group-by`): a grouper turns a flow into its group's key, a GroupTable
// sums the flows of each key (count, Metric counters, earliest Start, latest
// Last) in fixed memory.
//
// Owner: the grouper is built by the control plane (query/group_by.h), then
// immutable and shared like a FlowPredicate: RX lcores call Key() between
// bursts. A GroupTable is allocated by the requester (a gRPC thread) and
// filled by one thread at a time: a worker during an Aggregate query, then
// the requester that merges the workers' tables.
//
//   GroupTable t(kMaxGroups);                      // requester: allocates
//   if (grouper.Key(snap, &key) && !t.Add(key, snap.metric)) overflow = true;   // worker
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "record/flow_snapshot.h"

namespace skyprobe {

// A group's key: the encoded values of the group-by keys, in order. An
// encoding is the grouper's own; the table only compares bytes.
struct GroupKey {
  static constexpr uint32_t kMaxBytes = 192;
  uint32_t size = 0;
  uint8_t bytes[kMaxBytes];
  std::string scratch;  // the grouper's text buffer (reserved by the owner: no allocation)

  std::string_view view() const {
    return std::string_view(reinterpret_cast<const char*>(bytes), size);
  }
};

class FlowGrouper {
 public:
  virtual ~FlowGrouper() = default;
  // `key` set to the group of `s`; false when the values do not fit
  // GroupKey::kMaxBytes (a NodeTID of hundreds of bytes). Never allocates
  // once key->scratch holds 256 bytes.
  virtual bool Key(const FlowSnapshot& s, GroupKey* key) const = 0;
};

// What a group adds up.
struct GroupSums {
  int64_t flows = 0;
  int64_t ab_packets = 0;
  int64_t ab_bytes = 0;
  int64_t ba_packets = 0;
  int64_t ba_bytes = 0;
  int64_t start = 0;  // earliest Metric.Start of its flows (0: none)
  int64_t last = 0;   // latest Metric.Last

  void Add(const FlowMetric& m) noexcept;
  void Add(const GroupSums& o) noexcept;
};

// At most `max_groups` groups, stored densely in insertion order and found
// through an open-addressing index of at least 1.5 times as many slots
// (never resized: a worker may fill it). Memory: about 270 bytes a group.
class GroupTable {
 public:
  explicit GroupTable(uint32_t max_groups);
  GroupTable(const GroupTable&) = delete;
  GroupTable& operator=(const GroupTable&) = delete;

  // Forgets every group (O(index slots); the requester does it before a query).
  void Clear();
  // Adds a flow to the group of `key`; false (and nothing added) when that
  // group is new and the table already holds max_groups.
  bool Add(const GroupKey& key, const FlowMetric& m) noexcept;
  // Adds every group of `other`; false as soon as a new group does not fit
  // (the table then holds part of `other`).
  bool Merge(const GroupTable& other);

  uint32_t size() const { return size_; }
  uint32_t max_groups() const { return max_groups_; }
  // Calls f(key bytes, sums) for every group, in the order they came.
  template <typename F>
  void ForEach(F&& f) const {
    for (uint32_t i = 0; i < size_; ++i) f(entry_[i].view(), entry_[i].sums);
  }

 private:
  struct Entry {
    uint64_t hash = 0;
    GroupSums sums;
    uint32_t size = 0;
    uint8_t bytes[GroupKey::kMaxBytes];
    std::string_view view() const {
      return std::string_view(reinterpret_cast<const char*>(bytes), size);
    }
  };
  bool Insert(std::string_view key, const GroupSums* sums, const FlowMetric* m) noexcept;

  uint32_t max_groups_;
  uint32_t mask_;  // index slots - 1 (a power of two)
  uint32_t size_ = 0;
  std::unique_ptr<uint32_t[]> index_;  // entry + 1 per slot; 0: free
  std::unique_ptr<Entry[]> entry_;
};

// The answers of a grouping that stopped early (RESOURCE_EXHAUSTED).
absl::Status GroupsOverflowError(uint32_t max_groups);
absl::Status GroupKeyTooLongError();

}  // namespace skyprobe
