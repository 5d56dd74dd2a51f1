// batch_queue.h: the bounded hand-over of encoded records from the control
// lcore to a destination's exporter thread.
//
// Owner: one producer (the control lcore: TakeFree, Push) and one consumer
// (the exporter thread: Pop, Release). A fixed set of batches, allocated at
// start, circulates between a free ring and a full ring (single-producer
// single-consumer, lock-free); nothing is allocated afterwards. The producer
// never blocks: with no free batch it gets null and decides (drop and count,
// or wait for a file). An eventfd wakes the consumer when a batch arrives.
//
//   BatchQueue q(64, 1 << 16);
//   Batch* b = q.TakeFree();  ... fill b->bytes ...  q.Push(b);     // control
//   while (Batch* b = q.Pop()) { Use(*b); q.Release(b); }           // exporter
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "export/ipfix/entry.h"

namespace skyprobe::ipfix {

struct Batch {
  ByteBuffer bytes;           // entries (entry.h)
  uint32_t flow_records = 0;  // data entries that are flow records
};

// A fixed-capacity single-producer single-consumer ring of pointers.
class PointerRing {
 public:
  explicit PointerRing(size_t capacity_pow2) : slots_(capacity_pow2), mask_(capacity_pow2 - 1) {}
  bool Push(Batch* b) {
    const uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_.load(std::memory_order_acquire) > mask_) return false;
    slots_[t & mask_] = b;
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }
  Batch* Pop() {
    Batch* b = Peek();
    if (b != nullptr)
      head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    return b;
  }
  // The next Pop's batch, left in the ring (consumer only).
  Batch* Peek() const {
    const uint64_t h = head_.load(std::memory_order_relaxed);
    if (h == tail_.load(std::memory_order_acquire)) return nullptr;
    return slots_[h & mask_];
  }
  bool Empty() const {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }

 private:
  std::vector<Batch*> slots_;
  const uint64_t mask_;
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
};

class BatchQueue {
 public:
  // `batches` (a power of two) buffers of `batch_bytes` each.
  static absl::StatusOr<std::unique_ptr<BatchQueue>> Create(size_t batches, size_t batch_bytes);
  ~BatchQueue();
  BatchQueue(const BatchQueue&) = delete;
  BatchQueue& operator=(const BatchQueue&) = delete;

  // Producer.
  Batch* TakeFree() { return free_.Pop(); }
  void Push(Batch* b);  // then wakes the consumer
  // Consumer.
  Batch* Pop() { return full_.Pop(); }
  Batch* Peek() const { return full_.Peek(); }
  void Release(Batch* b);  // cleared and back to the free ring
  bool Empty() const { return full_.Empty(); }
  // Readable when a batch was pushed since the last Drain (poll(2) on it).
  int event_fd() const { return event_fd_; }
  void DrainEvents();
  // Wakes the consumer without a batch (close, flush).
  void Wake();

  size_t batch_bytes() const { return batch_bytes_; }

 private:
  BatchQueue(size_t batches, size_t batch_bytes, int event_fd);

  std::vector<std::unique_ptr<Batch>> storage_;
  PointerRing free_;
  PointerRing full_;
  size_t batch_bytes_;
  int event_fd_;
};

}  // namespace skyprobe::ipfix
