// uuid_index.cc: see uuid_index.h.
#include "table/uuid_index.h"

#include <rte_malloc.h>

#include "absl/strings/str_cat.h"

namespace skyprobe {

absl::StatusOr<std::unique_ptr<UuidIndex>> UuidIndex::Create(uint32_t capacity, int socket_id) {
  // At most half full: short probe runs, short shifts on deletion.
  uint64_t slots = 64;
  while (slots < 2ull * capacity) slots <<= 1;
  if (slots > (1ull << 31)) return absl::InvalidArgumentError("UUID index: capacity too large");
  std::unique_ptr<UuidIndex> x(new UuidIndex());
  x->slots_ = static_cast<Entry*>(
      rte_zmalloc_socket("flow_uuid_index", sizeof(Entry) * slots, 64, socket_id));
  if (x->slots_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate the UUID index (", (sizeof(Entry) * slots) >> 20, " MiB)"));
  }
  x->mask_ = static_cast<uint32_t>(slots - 1);
  return x;
}

UuidIndex::~UuidIndex() { rte_free(slots_); }

void UuidIndex::Insert(uint64_t uuid, uint32_t pos) noexcept {
  const uint32_t tag = static_cast<uint32_t>(uuid >> 32);
  uint32_t i = Home(tag);
  while (slots_[i].pos1 != 0) i = (i + 1) & mask_;  // never full: sized 2x the table
  slots_[i] = Entry{tag, pos + 1};
  ++size_;
}

void UuidIndex::Erase(uint64_t uuid, uint32_t pos) noexcept {
  const uint32_t tag = static_cast<uint32_t>(uuid >> 32);
  uint32_t i = Home(tag);
  for (;; i = (i + 1) & mask_) {
    if (slots_[i].pos1 == 0) return;  // not indexed
    if (slots_[i].pos1 == pos + 1) break;
  }
  // Backward shift: move later entries of the run into the hole when their
  // home slot is not between the hole and them (cyclically).
  uint32_t hole = i;
  for (uint32_t j = (i + 1) & mask_; slots_[j].pos1 != 0; j = (j + 1) & mask_) {
    const uint32_t home = Home(slots_[j].tag);
    const bool stays = ((j - home) & mask_) < ((j - hole) & mask_);
    if (stays) continue;
    slots_[hole] = slots_[j];
    hole = j;
  }
  slots_[hole] = Entry{0, 0};
  --size_;
}

int32_t UuidIndex::Find(uint64_t uuid, const uint64_t* uuids) const noexcept {
  const uint32_t tag = static_cast<uint32_t>(uuid >> 32);
  for (uint32_t i = Home(tag); slots_[i].pos1 != 0; i = (i + 1) & mask_) {
    const Entry& e = slots_[i];
    if (e.tag == tag && uuids[e.pos1 - 1] == uuid) return static_cast<int32_t>(e.pos1 - 1);
  }
  return -1;
}

}  // namespace skyprobe
