#include "export/ipfix/batch_queue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace skyprobe::ipfix {

absl::StatusOr<std::unique_ptr<BatchQueue>> BatchQueue::Create(size_t batches, size_t batch_bytes) {
  if (batches == 0 || (batches & (batches - 1)) != 0) {
    return absl::InvalidArgumentError("batch count must be a power of two");
  }
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  return std::unique_ptr<BatchQueue>(new BatchQueue(batches, batch_bytes, fd));
}

BatchQueue::BatchQueue(size_t batches, size_t batch_bytes, int event_fd)
    : free_(batches), full_(batches), batch_bytes_(batch_bytes), event_fd_(event_fd) {
  for (size_t i = 0; i < batches; ++i) {
    storage_.push_back(std::make_unique<Batch>());
    // A record never makes a batch exceed this: the producer hands a batch
    // over once it passes batch_bytes.
    storage_.back()->bytes.Reserve(batch_bytes + 4096);
    free_.Push(storage_.back().get());
  }
}

BatchQueue::~BatchQueue() { close(event_fd_); }

void BatchQueue::Push(Batch* b) {
  full_.Push(b);  // cannot fail: there are only as many batches as slots
  Wake();
}

void BatchQueue::Release(Batch* b) {
  b->bytes.clear();
  b->flow_records = 0;
  free_.Push(b);
}

void BatchQueue::Wake() {
  const uint64_t one = 1;
  // Non-blocking; a full counter (never, at 2^64 - 2) would only mean the
  // consumer is already awake.
  [[maybe_unused]] const ssize_t n = write(event_fd_, &one, sizeof(one));
}

void BatchQueue::DrainEvents() {
  uint64_t v;
  [[maybe_unused]] const ssize_t n = read(event_fd_, &v, sizeof(v));
}

}  // namespace skyprobe::ipfix
