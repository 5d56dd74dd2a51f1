// flow_index.cc: see flow_index.h.
#include "table/flow_index.h"

#include <rte_malloc.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace skyprobe {
namespace {

// Buckets for `capacity` keys: a power of two with at least 1.25 times as
// many entries, so that an index at capacity is at most 80 % full.
uint64_t BucketsFor(uint32_t capacity, int ways) {
  uint64_t n = 1;
  while (n * ways < uint64_t{capacity} + capacity / 4) n <<= 1;
  return n;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FlowIndex>> FlowIndex::Create(uint32_t capacity, int socket_id,
                                                             FlowTableKey* keys,
                                                             uint32_t key_stride) {
  if (capacity == 0 || capacity > (1u << 30)) {
    return absl::InvalidArgumentError(absl::StrCat("flow index: bad capacity ", capacity));
  }
  std::unique_ptr<FlowIndex> x(new FlowIndex());
  const uint64_t buckets = BucketsFor(capacity, kWays);
  x->capacity_ = capacity;
  x->mask_ = static_cast<uint32_t>(buckets - 1);
  // Zeroed memory is an empty index; pages become resident as they are used.
  x->buckets_ = static_cast<Bucket*>(
      rte_zmalloc_socket("flow_index", sizeof(Bucket) * buckets, 64, socket_id));
  if (keys == nullptr) {
    x->own_keys_ = static_cast<FlowTableKey*>(
        rte_zmalloc_socket("flow_keys", sizeof(FlowTableKey) * capacity, 64, socket_id));
    keys = x->own_keys_;
    key_stride = sizeof(FlowTableKey);
  }
  x->keys_ = reinterpret_cast<uint8_t*>(keys);
  x->stride_ = key_stride;
  x->free_ = static_cast<uint32_t*>(
      rte_zmalloc_socket("flow_free", sizeof(uint32_t) * capacity, 64, socket_id));
  if (x->buckets_ == nullptr || x->keys_ == nullptr || x->free_ == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot allocate the flow index of ", capacity,
                                                     " flows (", x->bytes() >> 20, " MiB)"));
  }
  return x;
}

FlowIndex::~FlowIndex() {
  rte_free(buckets_);
  rte_free(own_keys_);
  rte_free(free_);
}

void FlowIndex::LeaveToProcessExit() noexcept {
  buckets_ = nullptr;
  own_keys_ = nullptr;
  free_ = nullptr;
}

uint64_t FlowIndex::bytes() const {
  return sizeof(Bucket) * (uint64_t{mask_} + 1) + sizeof(uint32_t) * uint64_t{capacity_} +
         (own_keys_ != nullptr ? sizeof(FlowTableKey) * uint64_t{capacity_} : 0);
}

void FlowIndex::Candidates(const uint32_t* sigs, uint32_t n, int32_t* cand) const noexcept {
  for (uint32_t j = 0; j < n; ++j) {
    const Bucket& b = buckets_[sigs[j] & mask_];
    const uint32_t m = Matches(b, TagOf(sigs[j]));
    if (m == 0) {
      cand[j] = -1;
      continue;
    }
    const uint32_t pos = b.pos[__builtin_ctz(m)];
    SKYPROBE_PREFETCH0(&KeyAt(pos));
    cand[j] = static_cast<int32_t>(pos);
  }
}

void FlowIndex::Confirm(const FlowTableKey* keys, const uint32_t* sigs, uint32_t n,
                        const int32_t* cand, int32_t* positions) const noexcept {
  for (uint32_t j = 0; j < n; ++j) {
    const int32_t c = cand[j];
    if (SKYPROBE_LIKELY(c >= 0 && SameKey(KeyAt(static_cast<uint32_t>(c)), keys[j]))) {
      positions[j] = c;
    } else if (c < 0 && buckets_[sigs[j] & mask_].overflow == 0) {
      positions[j] = -1;  // no tag in its home, and nothing homed there sits past it
    } else {
      positions[j] = Lookup(keys[j], sigs[j]);
    }
  }
}

int32_t FlowIndex::Lookup(const FlowTableKey& key, uint32_t sig) const noexcept {
  const uint16_t tag = TagOf(sig);
  uint32_t i = sig & mask_;
  for (uint32_t walked = 0; walked <= mask_; ++walked, i = (i + 1) & mask_) {
    const Bucket& b = buckets_[i];
    for (uint32_t m = Matches(b, tag); m != 0; m &= m - 1) {
      const uint32_t pos = b.pos[__builtin_ctz(m)];
      if (SameKey(KeyAt(pos), key)) return static_cast<int32_t>(pos);
    }
    if (b.overflow == 0) return -1;
  }
  return -1;
}

int32_t FlowIndex::Add(const FlowTableKey& key, uint32_t sig) noexcept {
  if (size_ == capacity_) return -1;
  uint32_t pos;
  if (free_top_ > 0) {
    pos = free_[--free_top_];
  } else {
    pos = fresh_.load(std::memory_order_relaxed);
    fresh_.store(pos + 1, std::memory_order_relaxed);
  }
  MutableKeyAt(pos) = key;
  // The first bucket with room from the home on: there is one, the index is
  // at most 80 % full. Every bucket passed counts the key as overflow.
  uint32_t i = sig & mask_;
  for (;;) {
    Bucket& b = buckets_[i];
    const uint32_t room = ~static_cast<uint32_t>(b.used) & ((1u << kWays) - 1);
    if (room != 0) {
      const int w = __builtin_ctz(room);
      b.pos[w] = pos;
      b.tag[w] = TagOf(sig);
      b.used = static_cast<uint16_t>(b.used | (1u << w));
      break;
    }
    if (b.overflow != kOverflowStuck) ++b.overflow;
    i = (i + 1) & mask_;
  }
  ++size_;
  return static_cast<int32_t>(pos);
}

bool FlowIndex::Remove(uint32_t pos, uint32_t sig) noexcept {
  const uint16_t tag = TagOf(sig);
  const uint32_t home = sig & mask_;
  uint32_t i = home;
  for (uint32_t walked = 0; walked <= mask_; ++walked, i = (i + 1) & mask_) {
    Bucket& b = buckets_[i];
    for (uint32_t m = Matches(b, tag); m != 0; m &= m - 1) {
      const int w = __builtin_ctz(m);
      if (b.pos[w] != pos) continue;
      b.used = static_cast<uint16_t>(b.used & ~(1u << w));
      // The buckets the key passed no longer hold it past them.
      for (uint32_t k = home; k != i; k = (k + 1) & mask_) {
        if (buckets_[k].overflow != kOverflowStuck) --buckets_[k].overflow;
      }
      free_[free_top_++] = pos;
      --size_;
      return true;
    }
    if (b.overflow == 0) return false;
  }
  return false;
}

void FlowIndex::Reset() noexcept {
  if (fresh() == 0) return;  // never used: nothing to clear (and no page to touch)
  std::memset(buckets_, 0, sizeof(Bucket) * (uint64_t{mask_} + 1));
  free_top_ = 0;
  fresh_.store(0, std::memory_order_relaxed);
  size_ = 0;
}

}  // namespace skyprobe
