// stream_watchdog.cc: the scan, and the hand-over that keeps a context alive
// while it is being cancelled: TryCancel runs outside the lock (gRPC may call
// the reactor back from inside it), with the entry marked `cancelling`, and
// Forget() waits for that mark to clear unless it runs inside that very
// TryCancel, on the watchdog thread itself.

#include "service/stream_watchdog.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace skyprobe {

StreamWatchdog::StreamWatchdog(std::chrono::milliseconds idle, std::atomic<uint64_t>* cut)
    : idle_(idle), cut_(cut) {
  if (idle_.count() > 0) thread_ = std::thread([this] { Run(); });
}

StreamWatchdog::~StreamWatchdog() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    changed_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

StreamWatchdog::Id StreamWatchdog::Watch(grpc::CallbackServerContext* ctx) {
  absl::MutexLock lock(&mu_);
  const Id id = next_id_++;
  entries_[id].ctx = ctx;
  return id;
}

void StreamWatchdog::Busy(Id id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  it->second.busy = true;
  it->second.busy_since = Clock::now();
}

void StreamWatchdog::Idle(Id id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it != entries_.end()) it->second.busy = false;
}

void StreamWatchdog::Forget(Id id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  if (std::this_thread::get_id() != thread_.get_id()) {
    while (it->second.cancelling) {
      changed_.Wait(&mu_);
      it = entries_.find(id);
    }
  }
  entries_.erase(it);
}

void StreamWatchdog::Run() {
  // A few looks per deadline: a stream is cut between 1 and 1.25 deadlines
  // after its client stopped reading.
  const auto period = std::clamp<std::chrono::milliseconds>(
      idle_ / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    changed_.WaitWithTimeout(&mu_, absl::FromChrono(period));
    if (stop_) break;
    const Clock::time_point now = Clock::now();
    std::vector<std::pair<Id, grpc::CallbackServerContext*>> late;
    for (auto& [id, e] : entries_) {
      if (e.busy && !e.cut && now - e.busy_since >= idle_) {
        e.cut = true;
        e.cancelling = true;
        late.emplace_back(id, e.ctx);
      }
    }
    for (const auto& [id, ctx] : late) {
      mu_.Unlock();
      ctx->TryCancel();
      cut_->fetch_add(1, std::memory_order_relaxed);
      mu_.Lock();
      auto it = entries_.find(id);
      if (it != entries_.end()) it->second.cancelling = false;
      changed_.SignalAll();
    }
  }
}

}  // namespace skyprobe
