// uuid_index.h: a shard's index from flow UUID to table position, so that a
// query for one flow's raw packets (ExportPcap asks once per matching flow)
// costs one probe instead of a scan of the shard's whole UUID array.
//
// Owner: the RX lcore that owns the shard (FlowTable keeps one only with raw
// packet capture on, inserts at creation, erases at removal). Open
// addressing with linear probing at most half full, backward-shift deletion;
// an entry is 8 bytes: the UUID's high 32 bits (its home slot and a tag) and
// the position + 1 (0: empty). A tag match is confirmed against the table's
// dense UUID array. Allocated once (rte_zmalloc: pages resident when used).
//
//   auto index = UuidIndex::Create(capacity, socket_id);
//   index->Insert(uuid, pos);                       // flow created
//   int32_t pos = index->Find(uuid, uuids);         // -1: none
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"

namespace skyprobe {

class UuidIndex {
 public:
  // Room for `capacity` positions (the table's array size).
  static absl::StatusOr<std::unique_ptr<UuidIndex>> Create(uint32_t capacity, int socket_id);
  ~UuidIndex();
  UuidIndex(const UuidIndex&) = delete;
  UuidIndex& operator=(const UuidIndex&) = delete;

  void Insert(uint64_t uuid, uint32_t pos) noexcept;
  // Removes the entry of `pos` (inserted with `uuid`); nothing if absent.
  void Erase(uint64_t uuid, uint32_t pos) noexcept;
  // A position whose UUID (uuids[pos]) is `uuid`, or -1. With two live flows
  // of one UUID (a 64-bit collision) either may come back.
  int32_t Find(uint64_t uuid, const uint64_t* uuids) const noexcept;
  uint32_t size() const { return size_; }

 private:
  struct Entry {
    uint32_t tag;   // uuid >> 32
    uint32_t pos1;  // position + 1; 0 = empty
  };
  UuidIndex() = default;
  uint32_t Home(uint32_t tag) const { return tag & mask_; }

  Entry* slots_ = nullptr;
  uint32_t mask_ = 0;
  uint32_t size_ = 0;
};

}  // namespace skyprobe
