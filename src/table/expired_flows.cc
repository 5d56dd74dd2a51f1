#include "table/expired_flows.h"

#include <cstdlib>
#include <new>
#include <type_traits>

#include "absl/strings/str_cat.h"

namespace skyprobe {

absl::StatusOr<std::unique_ptr<ExpiredFlows>> ExpiredFlows::Create(uint32_t capacity) {
  if (capacity == 0) return absl::InvalidArgumentError("expired flow ring of no entry");
  std::unique_ptr<ExpiredFlows> k(new ExpiredFlows(capacity));
  k->uuids_.reset(new (std::nothrow) uint64_t[capacity]);
  // malloc, not new Entry[]: no constructor pass over the whole ring, so its
  // pages become resident only as flows expire into them. Entry is plain data
  // (every field is written by PushBack's caller before it is read).
  static_assert(std::is_trivially_copyable_v<Entry>);
  k->entries_ = static_cast<Entry*>(std::malloc(sizeof(Entry) * uint64_t{capacity}));
  if (k->uuids_ == nullptr || k->entries_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate ", (sizeof(Entry) + 8) * uint64_t{capacity} >> 20,
                     " MiB for recently expired flows: lower --keep-expired-max"));
  }
  return k;
}

ExpiredFlows::~ExpiredFlows() { std::free(entries_); }

}  // namespace skyprobe
