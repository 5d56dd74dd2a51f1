// stream_watchdog.h: cuts off server streams (QueryStream, ExportPcap,
// Subscribe) whose client has not taken a message for the idle deadline
// (--grpc-idle-timeout).
//
// Owner: the service; one thread of its own that wakes a few times per
// deadline. Reactors call Watch/Busy/Idle/Forget from gRPC threads.
//
//   StreamWatchdog::Id id = watchdog->Watch(ctx);   // in the reactor's constructor
//   watchdog->Busy(id); StartWrite(&msg);          // OnWriteDone: watchdog->Idle(id)
//   watchdog->Forget(id); delete this;             // in OnDone
//
// Why: gRPC completes a write only once the client's flow-control window
// has room, so a client that never reads leaves a write pending forever and
// the stream's answer (up to the whole table) alive with it. A write pending
// for longer than the deadline cancels the call (ServerContext::TryCancel):
// the pending write fails, the reactor finishes, its answer is freed. A
// stream that waits for data of its own (an idle subscription) is not idle.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/synchronization/mutex.h"

namespace skyprobe {

class StreamWatchdog {
 public:
  using Id = uint64_t;
  using Clock = std::chrono::steady_clock;

  // `idle` zero: never cuts (no thread). `cut` counts the streams cut off.
  StreamWatchdog(std::chrono::milliseconds idle, std::atomic<uint64_t>* cut);
  // Stops the thread. Every watched stream must have been forgotten.
  ~StreamWatchdog();
  StreamWatchdog(const StreamWatchdog&) = delete;
  StreamWatchdog& operator=(const StreamWatchdog&) = delete;

  Id Watch(grpc::CallbackServerContext* ctx);
  // A write started (the client's clock runs) / completed (it stops).
  void Busy(Id id);
  void Idle(Id id);
  // The stream is done: from OnDone, before the reactor (and its context)
  // goes away. Waits while the watchdog is cancelling that very stream.
  void Forget(Id id);

 private:
  struct Entry {
    grpc::CallbackServerContext* ctx = nullptr;
    Clock::time_point busy_since{};  // valid while busy
    bool busy = false;
    bool cut = false;         // cancelled once already
    bool cancelling = false;  // TryCancel running on the watchdog thread
  };

  void Run();

  const std::chrono::milliseconds idle_;
  std::atomic<uint64_t>* const cut_;
  absl::Mutex mu_;
  absl::CondVar changed_;
  std::map<Id, Entry> entries_ ABSL_GUARDED_BY(mu_);
  Id next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace skyprobe
