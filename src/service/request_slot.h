// request_slot.h: a place among the requests of one kind in progress
// (--grpc-max-queries, --grpc-max-streams, --grpc-max-subscribers,
// --grpc-max-exports).
//
// Owner: the service's gRPC threads; the count is one atomic per kind, the
// slot belongs to the request (a stream's reactor holds it to its end).
//
//   RequestSlot slot = RequestSlot::Take(&counters_.query_streams_active, options_.max_streams);
//   if (!slot) return absl::ResourceExhaustedError("too many QueryStream calls in progress");
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

namespace skyprobe {

class RequestSlot {
 public:
  RequestSlot() = default;
  // A slot if fewer than `cap` are taken; an empty one (false) otherwise.
  static RequestSlot Take(std::atomic<uint64_t>* in_progress, uint64_t cap) {
    uint64_t n = in_progress->load(std::memory_order_relaxed);
    do {
      if (n >= cap) return RequestSlot();
    } while (!in_progress->compare_exchange_weak(n, n + 1, std::memory_order_acq_rel,
                                                 std::memory_order_relaxed));
    return RequestSlot(in_progress);
  }

  RequestSlot(RequestSlot&& other) noexcept : count_(std::exchange(other.count_, nullptr)) {}
  RequestSlot& operator=(RequestSlot&& other) noexcept {
    if (this != &other) {
      Release();
      count_ = std::exchange(other.count_, nullptr);
    }
    return *this;
  }
  RequestSlot(const RequestSlot&) = delete;
  RequestSlot& operator=(const RequestSlot&) = delete;
  ~RequestSlot() { Release(); }

  explicit operator bool() const { return count_ != nullptr; }

  void Release() {
    if (count_ != nullptr) count_->fetch_sub(1, std::memory_order_acq_rel);
    count_ = nullptr;
  }

 private:
  explicit RequestSlot(std::atomic<uint64_t>* count) : count_(count) {}
  std::atomic<uint64_t>* count_ = nullptr;
};

}  // namespace skyprobe
