#include "table/defragmenter.h"

#include <cstdlib>
#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace skyprobe {

DefragKey MakeDefragKey(const uint8_t* frame, const ParsedPacket& pkt) noexcept {
  const SubPacket& s = pkt.sub[pkt.frag_sub];
  DefragKey k;
  std::memset(&k, 0, sizeof(k));
  k.ip_version = s.ip_version;
  k.proto = s.frag_proto;
  k.level = pkt.frag_sub;
  k.input = pkt.input;  // capture points never share a datagram
  k.id = s.frag_id;
  k.link_id = s.link_id;
  const size_t n = s.ip_version == 4 ? 4 : 16;
  std::memcpy(k.src, frame + s.ip_src_off, n);
  std::memcpy(k.dst, frame + s.ip_dst_off, n);
  return k;
}

uint32_t DefragHash(const DefragKey& key) noexcept {
  const uint64_t h = XXH3_64bits(&key, sizeof(key));
  return static_cast<uint32_t>(h ^ (h >> 32));
}

absl::StatusOr<std::unique_ptr<Defragmenter>> Defragmenter::Create(uint32_t max_datagrams) {
  if (max_datagrams == 0) return absl::InvalidArgumentError("ip_defrag_max must be > 0");
  std::unique_ptr<Defragmenter> d(new Defragmenter());
  d->max_ = max_datagrams;
  // At most half full: short probe chains.
  uint32_t slots = 16;
  while (slots < 2ull * max_datagrams) slots <<= 1;
  d->mask_ = slots - 1;
  // calloc: zeroed pages cost nothing until a datagram lands there.
  d->slots_ = static_cast<uint32_t*>(std::calloc(slots, sizeof(uint32_t)));
  d->entries_ = static_cast<DefragEntry*>(std::calloc(max_datagrams, sizeof(DefragEntry)));
  d->free_ = static_cast<uint32_t*>(std::calloc(max_datagrams, sizeof(uint32_t)));
  if (d->slots_ == nullptr || d->entries_ == nullptr || d->free_ == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot allocate ", max_datagrams, " defragmentation entries (",
        (uint64_t{max_datagrams} * sizeof(DefragEntry)) >> 20, " MiB): lower --ip-defrag-max"));
  }
  // Pop order 0, 1, 2, ...: the entries in use stay packed at the front.
  for (uint32_t i = 0; i < max_datagrams; ++i) d->free_[i] = max_datagrams - 1 - i;
  d->free_top_ = max_datagrams;
  return d;
}

Defragmenter::~Defragmenter() {
  std::free(slots_);
  std::free(entries_);
  std::free(free_);
}

uint32_t Defragmenter::Find(const DefragKey& key, uint32_t hash) const noexcept {
  for (uint32_t i = hash & mask_;; i = (i + 1) & mask_) {
    const uint32_t v = slots_[i];
    if (v == 0) return kNoIndex;
    const DefragEntry& e = entries_[v - 1];
    if (e.hash == hash && std::memcmp(&e.key, &key, sizeof(key)) == 0) return v - 1;
  }
}

uint32_t Defragmenter::Insert(const DefragKey& key, uint32_t hash, int64_t now_ns) noexcept {
  const uint32_t idx = free_[--free_top_];
  DefragEntry& e = entries_[idx];
  // Only the header is reset; the arrays are read up to their counts.
  std::memset(&e, 0, offsetof(DefragEntry, frag_begin));
  e.key = key;
  e.hash = hash;
  e.created_ns = now_ns;
  e.level = key.level;
  e.older = newest_;
  e.newer = kNoIndex;
  if (newest_ != kNoIndex) entries_[newest_].newer = idx;
  newest_ = idx;
  if (oldest_ == kNoIndex) oldest_ = idx;
  uint32_t i = hash & mask_;
  while (slots_[i] != 0) i = (i + 1) & mask_;
  slots_[i] = idx + 1;
  ++size_;
  return idx;
}

void Defragmenter::Remove(uint32_t idx) noexcept {
  DefragEntry& e = entries_[idx];
  // Age list.
  if (e.older != kNoIndex) {
    entries_[e.older].newer = e.newer;
  } else {
    oldest_ = e.newer;
  }
  if (e.newer != kNoIndex) {
    entries_[e.newer].older = e.older;
  } else {
    newest_ = e.older;
  }
  // Hash slot, then backward-shift the probe chain behind it (no tombstones).
  uint32_t i = e.hash & mask_;
  while (slots_[i] != idx + 1) i = (i + 1) & mask_;
  uint32_t hole = i;
  for (uint32_t j = (hole + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
    const uint32_t home = entries_[slots_[j] - 1].hash & mask_;
    // Move j into the hole unless its home lies cyclically in (hole, j].
    const bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!stays) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = 0;
  free_[free_top_++] = idx;
  --size_;
}

FragmentFit Defragmenter::AddFragment(DefragEntry& e, uint32_t begin, uint32_t len,
                                      bool more) noexcept {
  const uint32_t end = begin + len;
  if (len == 0 || end > 0xFFFF) return FragmentFit::kInconsistent;
  if (more && (len % 8) != 0) return FragmentFit::kInconsistent;
  if (!more && e.have_last && end != e.end) return FragmentFit::kInconsistent;
  if (e.have_last && end > e.end) return FragmentFit::kInconsistent;
  for (uint32_t i = 0; i < e.num_frags; ++i) {
    if (e.frag_begin[i] == begin && e.frag_end[i] == end) return FragmentFit::kDuplicate;
    if (begin < e.frag_end[i] && e.frag_begin[i] < end) return FragmentFit::kOverlap;
  }
  if (!more) {
    // The last fragment fixes the end: nothing received may lie beyond it.
    for (uint32_t i = 0; i < e.num_frags; ++i) {
      if (e.frag_end[i] > end) return FragmentFit::kInconsistent;
    }
  }
  if (e.num_frags >= kDefragMaxFragments) return FragmentFit::kTooMany;
  e.frag_begin[e.num_frags] = static_cast<uint16_t>(begin);
  e.frag_end[e.num_frags] = static_cast<uint16_t>(end);
  ++e.num_frags;
  e.covered += len;
  if (!more) {
    e.have_last = true;
    e.end = end;
  }
  return FragmentFit::kAdded;
}

}  // namespace skyprobe
