// flow_index.h: a shard's index from flow key (FlowTableKey) to table
// position, and the keys themselves, by position.
//
// Owner: the RX lcore that owns the shard; nothing here is thread-safe.
// The keys are kept by position either in an array of the index's own or,
// for the table, in its records (FlowHot::key): a stride apart, so that a
// known flow's key and counters share a page and an adjacent-line pair.
//
// Why our own and not rte_hash. Per packet of a flow the index reads one
// bucket line and the key's line, both at addresses known from the key's
// signature and the bucket's entry, so a burst's lookups are three waves of
// prefetches (buckets; keys and records; compares). rte_hash's bulk lookup
// prefetches two buckets a key (cuckoo) and an 80-byte key-store slot that
// often spans two lines, and its extendable buckets and free-slot ring are
// memory and failure modes the table does not need.
//
// Layout. Buckets of one cache line: ten entries, each a position and a
// 16-bit tag (the signature's high half), a bitmap of the used entries and
// an overflow count. The home bucket is the signature's low bits. A key
// whose home is full goes to the next bucket with room (linear probing by
// whole lines); every bucket it passed counts one overflow, so a lookup
// stops at the first bucket whose count is 0, and a removal just takes the
// counts back (no tombstones, no shifting). A count that reaches 0xffff
// stays there (a lookup then walks on, never wrongly stops) until Reset.
// Buckets are sized for at most 80 % of the entries used at capacity: an
// insert always finds room, and with the keyed signature (table_hash.h) a
// full home is the exception. Positions come from a stack of freed ones, then fresh ones in
// order, so slots are touched (made resident) only as the table fills.
//
//   auto index = FlowIndex::Create(capacity, socket_id);   // keys of its own, or
//   auto index = FlowIndex::Create(capacity, socket_id, &hot[0].key, sizeof(FlowHot));
//   index->PrefetchBucket(sigs[j]);                // wave 1, for each key
//   index->Candidates(sigs, n, cand);              // wave 2 (prefetches keys)
//   index->Confirm(keys, sigs, n, cand, positions) // wave 3: position or -1
//   int32_t pos = index->Add(key, sig);            // a key known absent
//   index->Remove(pos, sig);                       // the key at pos
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "skyprobe/compiler.h"
#include "table/flow_key.h"

namespace skyprobe {

class FlowIndex {
 public:
  // Room for `capacity` keys at positions 0..capacity-1. The key of
  // position p is kept at `keys` + p * `key_stride` bytes (memory the
  // caller owns, `capacity` strides long), or with no `keys` in an array of
  // the index's own.
  static absl::StatusOr<std::unique_ptr<FlowIndex>> Create(uint32_t capacity, int socket_id,
                                                           FlowTableKey* keys = nullptr,
                                                           uint32_t key_stride = 0);
  ~FlowIndex();
  FlowIndex(const FlowIndex&) = delete;
  FlowIndex& operator=(const FlowIndex&) = delete;

  // Lookups of `n` keys in three waves, each over all of them, so that the
  // misses of one wave overlap: the home buckets' lines; then each key's
  // first tag match (cand[j], or -1 with no match), whose key line is
  // prefetched (the caller prefetches its own lines of cand[j] too); then
  // the whole key compared, with the rare rest (another tag match, a walk
  // past an overflowed bucket) done by Lookup.
  void PrefetchBucket(uint32_t sig) const noexcept { SKYPROBE_PREFETCH0(&buckets_[sig & mask_]); }
  void Candidates(const uint32_t* sigs, uint32_t n, int32_t* cand) const noexcept;
  void Confirm(const FlowTableKey* keys, const uint32_t* sigs, uint32_t n, const int32_t* cand,
               int32_t* positions) const noexcept;

  // The position of `key` (whose signature is `sig`), or -1.
  int32_t Lookup(const FlowTableKey& key, uint32_t sig) const noexcept;
  // Adds `key`, which must be absent; returns its position, or -1 when all
  // `capacity` positions are taken.
  int32_t Add(const FlowTableKey& key, uint32_t sig) noexcept;
  // Removes the key at `pos`, added with signature `sig`; its position is
  // free again. False if no entry holds `pos` (nothing changes).
  bool Remove(uint32_t pos, uint32_t sig) noexcept;
  // How many positions were ever given out (0..fresh()-1 have been written):
  // the one member safe to read from another thread, as a prefaulter does to
  // stay ahead of the owner (table_prefault.h).
  uint32_t fresh() const noexcept { return fresh_.load(std::memory_order_relaxed); }
  // Empties the index: every position is free.
  void Reset() noexcept;
  // The key at `pos` (meaningful while it is in the index).
  const FlowTableKey& KeyAt(uint32_t pos) const noexcept {
    return *reinterpret_cast<const FlowTableKey*>(keys_ + uint64_t{pos} * stride_);
  }

  uint32_t size() const { return size_; }
  uint32_t capacity() const { return capacity_; }
  // Bytes of memory it holds at most (buckets, free stack, its own keys).
  uint64_t bytes() const;
  // Leaves its memory to the process exit (FlowTable::LeaveToProcessExit).
  void LeaveToProcessExit() noexcept;

 private:
  static constexpr int kWays = 10;
  static constexpr uint16_t kOverflowStuck = 0xffff;
  struct SKYPROBE_CACHE_ALIGNED Bucket {
    uint32_t pos[kWays];
    uint16_t tag[kWays];
    uint16_t used;      // bit w: entry w holds a key
    uint16_t overflow;  // keys homed at or before this bucket that sit past it
  };
  static_assert(sizeof(Bucket) == 64, "a bucket is one cache line");

  FlowIndex() = default;
  FlowTableKey& MutableKeyAt(uint32_t pos) noexcept {
    return *reinterpret_cast<FlowTableKey*>(keys_ + uint64_t{pos} * stride_);
  }
  static uint16_t TagOf(uint32_t sig) { return static_cast<uint16_t>(sig >> 16); }
  // The used entries of `b` whose tag is `tag`, as a bitmap.
  static uint32_t Matches(const Bucket& b, uint16_t tag) noexcept {
    uint32_t m = 0;
    for (int w = 0; w < kWays; ++w) m |= static_cast<uint32_t>(b.tag[w] == tag) << w;
    return m & b.used;
  }

  Bucket* buckets_ = nullptr;
  uint8_t* keys_ = nullptr;  // the key of position p at keys_ + p * stride_
  uint32_t stride_ = 0;
  FlowTableKey* own_keys_ = nullptr;  // null when the caller keeps the keys
  uint32_t* free_ = nullptr;          // positions given back, a stack
  uint32_t free_top_ = 0;
  // Positions from here on were never given out. Written by the owner only;
  // atomic so that fresh() may be read from another thread (relaxed: plain
  // moves on x86, nothing per packet).
  std::atomic<uint32_t> fresh_{0};
  uint32_t mask_ = 0;  // buckets - 1
  uint32_t capacity_ = 0;
  uint32_t size_ = 0;
};

}  // namespace skyprobe
