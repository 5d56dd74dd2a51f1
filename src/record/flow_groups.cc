// flow_groups.cc: the GroupTable (see flow_groups.h).

#include "record/flow_groups.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace skyprobe {
namespace {

// FNV-1a then a final mix: keys are short (a few addresses and ports), and a
// worker hashes one per flow it groups.
uint64_t HashKey(std::string_view key) noexcept {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : key) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

void TakeEarliest(int64_t* at, int64_t v) {
  if (v != 0 && (*at == 0 || v < *at)) *at = v;
}

}  // namespace

void GroupSums::Add(const FlowMetric& m) noexcept {
  ++flows;
  ab_packets += m.ab_packets;
  ab_bytes += m.ab_bytes;
  ba_packets += m.ba_packets;
  ba_bytes += m.ba_bytes;
  TakeEarliest(&start, m.start);
  last = std::max(last, m.last);
}

void GroupSums::Add(const GroupSums& o) noexcept {
  flows += o.flows;
  ab_packets += o.ab_packets;
  ab_bytes += o.ab_bytes;
  ba_packets += o.ba_packets;
  ba_bytes += o.ba_bytes;
  TakeEarliest(&start, o.start);
  last = std::max(last, o.last);
}

GroupTable::GroupTable(uint32_t max_groups) : max_groups_(max_groups) {
  uint64_t slots = 16;
  while (slots < static_cast<uint64_t>(max_groups) * 3 / 2) slots *= 2;
  mask_ = static_cast<uint32_t>(slots - 1);
  index_ = std::make_unique<uint32_t[]>(slots);  // zeroed: every slot free
  entry_ = std::make_unique<Entry[]>(max_groups);
}

void GroupTable::Clear() {
  if (size_ == 0) return;
  std::memset(index_.get(), 0, (static_cast<size_t>(mask_) + 1) * sizeof(uint32_t));
  size_ = 0;
}

bool GroupTable::Insert(std::string_view key, const GroupSums* sums, const FlowMetric* m) noexcept {
  const uint64_t hash = HashKey(key);
  // Linear probing: at most two thirds of the slots are used, a free one is near.
  uint32_t i = static_cast<uint32_t>(hash) & mask_;
  for (; index_[i] != 0; i = (i + 1) & mask_) {
    Entry& e = entry_[index_[i] - 1];
    if (e.hash == hash && e.view() == key) {
      if (m != nullptr) {
        e.sums.Add(*m);
      } else {
        e.sums.Add(*sums);
      }
      return true;
    }
  }
  if (size_ >= max_groups_ || key.size() > GroupKey::kMaxBytes) return false;
  Entry& e = entry_[size_];
  e.hash = hash;
  e.sums = GroupSums{};
  e.size = static_cast<uint32_t>(key.size());
  std::memcpy(e.bytes, key.data(), key.size());
  index_[i] = ++size_;
  if (m != nullptr) {
    e.sums.Add(*m);
  } else {
    e.sums.Add(*sums);
  }
  return true;
}

bool GroupTable::Add(const GroupKey& key, const FlowMetric& m) noexcept {
  return Insert(key.view(), nullptr, &m);
}

bool GroupTable::Merge(const GroupTable& other) {
  bool ok = true;
  other.ForEach([&](std::string_view key, const GroupSums& sums) {
    if (ok) ok = Insert(key, &sums, nullptr);
  });
  return ok;
}

absl::Status GroupsOverflowError(uint32_t max_groups) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "more than ", max_groups,
      " groups (the most one answer holds): group by fewer or coarser keys, or narrow the filter"));
}

absl::Status GroupKeyTooLongError() {
  return absl::ResourceExhaustedError(absl::StrCat(
      "a group's key takes more than ", GroupKey::kMaxBytes,
      " bytes (a string value of more than 255, or many long values): group by fewer keys"));
}

}  // namespace skyprobe
