#include "capture/pacer.h"

#include <rte_pause.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace skyprobe {
namespace {

// Closer than this to the due time: spin (rte_pause) instead of sleeping, as a
// sleep may overshoot by about this much.
constexpr int64_t kSpinNs = 100'000;
// Longest single sleep, so that a stop request is seen promptly even when a
// realtime replay reaches an hour-long gap.
constexpr int64_t kMaxSleepNs = 50'000'000;

}  // namespace

Pacer::Pacer(PacerOptions opts) : opts_(opts) {
  if (opts_.rate_pps != 0) {
    // About a millisecond of frames per burst, at least one.
    burst_ = static_cast<uint16_t>(std::clamp<uint32_t>(opts_.rate_pps / 1000, 1, 32));
  } else {
    burst_ = 8;  // recorded gaps are unknown in advance: keep bursts short
  }
  if (!(opts_.speed > 0)) opts_.speed = 1.0;
}

int64_t Pacer::NowNs() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t Pacer::DueNs(uint64_t first_index, uint32_t n, int64_t last_ts_ns,
                     int64_t base_ts_ns) const noexcept {
  if (n == 0) return 0;
  if (opts_.rate_pps != 0) {
    const double last = static_cast<double>(first_index + n - 1);
    return static_cast<int64_t>(last * 1e9 / opts_.rate_pps);
  }
  if (!opts_.realtime || last_ts_ns <= base_ts_ns) return 0;  // stamped before the first: now
  return static_cast<int64_t>(static_cast<double>(last_ts_ns - base_ts_ns) / opts_.speed);
}

bool Pacer::Wait(uint32_t n, int64_t first_ts_ns, int64_t last_ts_ns, const std::atomic<bool>* stop,
                 const PacerIdle* idle) noexcept {
  if (n == 0) return false;
  // Realtime pacing follows capture times: none here, so nothing to wait for
  // (and the replay's base time stays for the first burst that has one).
  if (opts_.rate_pps == 0 && last_ts_ns == kNoTime) return false;
  std::call_once(started_, [&] {
    start_ns_ = NowNs();
    base_ts_ns_ = first_ts_ns;
  });
  const uint64_t first_index = frames_.fetch_add(n, std::memory_order_relaxed);
  const int64_t target = start_ns_ + DueNs(first_index, n, last_ts_ns, base_ts_ns_);
  bool waited = false;
  for (;;) {
    const int64_t remaining = target - NowNs();
    if (remaining <= 0) break;
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) break;
    waited = true;
    if (remaining > kSpinNs) {
      const int64_t slice = std::min(remaining - kSpinNs / 2, kMaxSleepNs);
      if (idle != nullptr && idle->rest != nullptr) {
        idle->rest(idle->ctx, static_cast<uint32_t>(slice / 1000));
      } else {
        std::this_thread::sleep_for(std::chrono::nanoseconds(slice));
      }
    } else {
      rte_pause();
    }
  }
  return waited;
}

}  // namespace skyprobe
