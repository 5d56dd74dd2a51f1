#include "table/expired_flows.h"

#include <cstdlib>
#include <new>

#include "absl/strings/str_cat.h"

namespace skyprobe {

absl::StatusOr<std::unique_ptr<ExpiredFlows>> ExpiredFlows::Create(uint32_t capacity) {
  if (capacity == 0) return absl::InvalidArgumentError("expired flow ring of no entry");
  std::unique_ptr<ExpiredFlows> k(new ExpiredFlows(capacity));
  k->uuids_.reset(new (std::nothrow) uint64_t[capacity]);
  // malloc, not new Entry[]: no constructor pass over the whole ring, so its
  // pages become resident only as flows expire into them (PushBack constructs
  // an entry when first used; a snapshot may own its application metadata's
  // storage, record/app_meta_box.h, allocated once per entry).
  k->entries_ = static_cast<Entry*>(std::malloc(sizeof(Entry) * uint64_t{capacity}));
  if (k->uuids_ == nullptr || k->entries_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate ", (sizeof(Entry) + 8) * uint64_t{capacity} >> 20,
                     " MiB for recently expired flows: lower --keep-expired-max"));
  }
  return k;
}

ExpiredFlows::~ExpiredFlows() {
  if (entries_ != nullptr) {
    const uint64_t constructed = end_ < capacity_ ? end_ : capacity_;
    for (uint64_t i = 0; i < constructed; ++i) entries_[i].~Entry();
  }
  std::free(entries_);
}

}  // namespace skyprobe
