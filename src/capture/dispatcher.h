// dispatcher.h: dispatch mode: one RX lcore spreads frames over the workers.
//
// Owner: the dispatcher lcore runs Run(); it owns its queues and the
// producer side of one SPSC ring per worker; each worker owns the consumer
// side of its ring. Used when ports cannot give every worker its own queue
// with symmetric RSS (net_pcap, single-queue NICs).
//
// Besides frames, the rings carry clock marks, in order with the frames: a
// worker that receives no frame for a while still sees capture time move on,
// so its flows expire as they would with one worker (same answer at any N),
// and an end mark once every input has ended.
//
//   Dispatcher d(setup);
//   rte_eal_remote_launch(&Dispatcher::LaunchThunk, &d, lcore);
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "capture/capture_clock.h"
#include "capture/dispatch_item.h"
#include "capture/file_merge.h"
#include "capture/pacer.h"
#include "capture/port.h"
#include "capture/rx_queue.h"
#include "skyprobe/compiler.h"
#include "skyprobe/counters.h"

struct rte_mbuf;
struct rte_ring;

namespace skyprobe {

// The ring from the dispatcher to one worker.
class DispatchRing {
 public:
  static absl::StatusOr<std::unique_ptr<DispatchRing>> Create(int index, uint32_t size,
                                                              int socket_id);
  ~DispatchRing();
  uint32_t Enqueue(const DispatchItem* items, uint32_t n) noexcept;  // producer
  uint32_t Dequeue(DispatchItem* items, uint32_t max) noexcept;      // consumer
  uint32_t capacity() const;

 private:
  DispatchRing() = default;
  rte_ring* ring_ = nullptr;
};

// X(field, name, kind, shown, help) (skyprobe/counters.h): the dispatcher's
// counters, declared once. app/counters.cc sums every kDrop line into the
// probe's drops and reports it by name; the others it reads by field.
#define SKYPROBE_DISPATCHER_COUNTERS(X)                                                  \
  X(rx_packets, "packets_in", kEvent, kAlways, "frames taken from the queues")           \
  X(rx_bytes, "bytes_in", kEvent, kAlways, "their bytes")                                \
  X(drop_worker_ring_full, "drop_dispatch_ring_full", kDrop, kAlways,                    \
    "frames dropped: a worker's ring was full (live inputs only: a file waits instead)") \
  X(waits, "dispatcher_waits", kEvent, kAlways,                                          \
    "file inputs: times a full worker ring was waited on")                               \
  X(pacing_waits, "pacing_waits", kEvent, kAlways,                                       \
    "bursts held back by --pcap-rate / --pcap-realtime")                                 \
  X(clock_jumps, "clock_jumps", kEvent, kAlways, "frames stamped past the capture time limit")

struct SKYPROBE_CACHE_ALIGNED DispatcherCounters {
  SKYPROBE_DISPATCHER_COUNTERS(SKYPROBE_COUNTER_FIELD)
};
inline constexpr auto kDispatcherCounters =
    SKYPROBE_COUNTER_LIST(DispatcherCounters, SKYPROBE_DISPATCHER_COUNTERS);
static_assert(FrameKindsShown(kDispatcherCounters), "a dispatcher frame counter is never shown");

struct DispatcherSetup {
  std::vector<RxQueueSpec> queues;
  std::vector<DispatchRing*> rings;  // one per worker
  int timestamp_offset = -1;
  uint64_t timestamp_flag = 0;  // the ol_flags bit of a frame whose field is set (NIC time)
  // A clock mark to every other worker each time the capture time crosses a multiple.
  int64_t mark_every_ns = 100'000'000;
  const std::atomic<bool>* stop = nullptr;
  bool shares_cpu = false;  // oversubscribed: yield when waiting
  bool adaptive = false;    // --poll adaptive: sleep when idle (idle_backoff.h)
  Pacer* pacer = nullptr;   // replay pacing of file queues; may be null
};

class Dispatcher {
 public:
  explicit Dispatcher(DispatcherSetup setup);
  void Run() noexcept;
  static int LaunchThunk(void* self);

  const DispatcherCounters& counters() const { return counters_; }
  // The queues it polls, with their counters.
  const std::vector<RxQueue>& queues() const { return rxqs_; }
  bool done() const { return done_.load(std::memory_order_acquire); }

 private:
  uint16_t PollQueue(size_t qi) noexcept;
  // The file queues, two or more, in capture-time order (FileMerge).
  uint16_t PollMerged() noexcept;
  // Hands `n` frames taken from queue `qi` to the workers' rings.
  void Distribute(size_t qi, rte_mbuf* const* m, uint16_t n) noexcept;
  void Push(uint32_t worker, const DispatchItem* items, uint32_t n, bool is_file) noexcept;

  static constexpr uint16_t kBurst = 32;
  DispatcherSetup setup_;
  std::vector<RxQueue> rxqs_;
  std::unique_ptr<FileMerge> merge_;  // over rxqs_ (which never moves after construction)
  ClockMarks marks_;                  // which frames send clock marks to the other workers
  std::vector<std::vector<DispatchItem>> staged_;
  // Capture time of every frame, in the order they arrive: frames and marks
  // carry it to the workers, so that a worker's times are those one worker
  // reading every queue would give (capture_clock.h).
  CaptureClock clock_;
  DispatcherCounters counters_;
  std::atomic<bool> done_{false};
};

}  // namespace skyprobe
