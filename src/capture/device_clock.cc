#include "capture/device_clock.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace skyprobe {

int64_t HostNs(clockid_t clock) noexcept {
  timespec ts{};
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

absl::StatusOr<DeviceClock> FitDeviceClock(const DeviceClockSample& earlier,
                                           const DeviceClockSample& later) {
  if (earlier.host_after_ns < earlier.host_before_ns ||
      later.host_after_ns < later.host_before_ns) {
    return absl::InvalidArgumentError("device clock: the host's clock went back within a sample");
  }
  const int64_t host_ns = later.mid_ns() - earlier.mid_ns();
  const int64_t bracket = (earlier.host_after_ns - earlier.host_before_ns) +
                          (later.host_after_ns - later.host_before_ns);
  if (host_ns <= 0 || bracket >= host_ns) {
    return absl::InvalidArgumentError(absl::StrCat("device clock: samples ", host_ns,
                                                   " ns apart with ", bracket,
                                                   " ns of uncertainty cannot give a rate"));
  }
  const uint64_t ticks = later.ticks - earlier.ticks;
  if (ticks == 0 || ticks > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return absl::InvalidArgumentError(
        absl::StrCat("device clock: it moved ", static_cast<int64_t>(ticks),
                     " ticks while the host's moved ", host_ns, " ns"));
  }
  // Rounded to the nearest step of the fixed point.
  const unsigned __int128 fixed =
      ((static_cast<unsigned __int128>(host_ns) << DeviceClock::kFractionBits) + ticks / 2) / ticks;
  if (fixed == 0 || fixed > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return absl::InvalidArgumentError(
        absl::StrCat("device clock: ", ticks, " ticks in ", host_ns, " ns is no plausible rate"));
  }
  DeviceClock c;
  c.base_ticks = later.ticks;
  c.base_ns = later.mid_ns();
  c.ns_per_tick_fixed = static_cast<uint64_t>(fixed);
  return c;
}

void LiveDeviceClock::Publish(const DeviceClock& c) noexcept {
  const uint64_t seq = seq_.load(std::memory_order_relaxed);
  seq_.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  base_ticks_.store(c.base_ticks, std::memory_order_relaxed);
  base_ns_.store(c.base_ns, std::memory_order_relaxed);
  ns_per_tick_fixed_.store(c.ns_per_tick_fixed, std::memory_order_relaxed);
  seq_.store(seq + 2, std::memory_order_release);
}

namespace {

// Whether `a` is more than `ppm` millionths away from `b`.
bool Apart(uint64_t a, uint64_t b, uint64_t ppm) {
  const uint64_t diff = a > b ? a - b : b - a;
  return static_cast<unsigned __int128>(diff) * 1'000'000 > static_cast<unsigned __int128>(b) * ppm;
}

}  // namespace

absl::Status LiveDeviceClock::Refit(const DeviceClockSample& now) {
  const DeviceClock current = Load();
  absl::StatusOr<DeviceClock> fit = FitDeviceClock(last_, now);
  bool step = false;
  if (!fit.ok()) {
    // The host's clock went back between two good samples while the
    // device's went forward: a step back. Anything else tells nothing.
    const uint64_t ticks = now.ticks - last_.ticks;
    if (now.host_after_ns < now.host_before_ns || now.mid_ns() >= last_.mid_ns() || ticks == 0 ||
        ticks > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return fit.status();
    }
    fit = DeviceClock{now.ticks, now.mid_ns(), current.ns_per_tick_fixed};
    step = true;
    outlier_rate_ = 0;
  } else if (!Apart(fit->ns_per_tick_fixed, current.ns_per_tick_fixed, kStepPpm)) {
    outlier_rate_ = 0;
  } else if (outlier_rate_ != 0 && !Apart(fit->ns_per_tick_fixed, outlier_rate_, kStepPpm)) {
    // The second interval in a row at that rate: the clock's, not a step.
    outlier_rate_ = 0;
    offset_ns_ -= last_step_ns_;
  } else {
    outlier_rate_ = fit->ns_per_tick_fixed;
    fit->ns_per_tick_fixed = current.ns_per_tick_fixed;
    step = true;
  }
  last_step_ns_ = 0;
  if (step && steps_ == Steps::kKeepCourse) {
    // Times go on from the current fit's: the host's jump is kept apart.
    last_step_ns_ = now.mid_ns() - offset_ns_ - current.ToNs(now.ticks);
    offset_ns_ += last_step_ns_;
  }
  fit->base_ns -= offset_ns_;
  Publish(*fit);
  last_ = now;
  return absl::OkStatus();
}

}  // namespace skyprobe
