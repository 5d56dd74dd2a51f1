#include "capture/tsc_clock.h"

#include <rte_cycles.h>

namespace skyprobe {

DeviceClockSample SampleTsc(clockid_t clock) noexcept {
  constexpr int kTries = 3;
  DeviceClockSample best;
  for (int i = 0; i < kTries; ++i) {
    DeviceClockSample s;
    s.host_before_ns = HostNs(clock);
    s.ticks = rte_rdtsc_precise();
    s.host_after_ns = HostNs(clock);
    if (i == 0 || s.host_after_ns - s.host_before_ns < best.host_after_ns - best.host_before_ns) {
      best = s;
    }
  }
  return best;
}

DeviceClock NominalTscClock(const DeviceClockSample& at) noexcept {
  DeviceClock c;
  c.base_ticks = at.ticks;
  c.base_ns = at.mid_ns();
  const uint64_t hz = rte_get_tsc_hz();
  c.ns_per_tick_fixed = static_cast<uint64_t>(
      ((static_cast<unsigned __int128>(1'000'000'000) << DeviceClock::kFractionBits) + hz / 2) /
      (hz != 0 ? hz : 1));
  return c;
}

std::unique_ptr<LiveDeviceClock> StartTscClock(const DeviceClockSample& early, clockid_t clock) {
  const DeviceClockSample now = SampleTsc(clock);
  absl::StatusOr<DeviceClock> fit = FitDeviceClock(early, now);
  return std::make_unique<LiveDeviceClock>(fit.ok() ? *fit : NominalTscClock(now), now,
                                           LiveDeviceClock::Steps::kKeepCourse);
}

absl::Status RefitTscClock(LiveDeviceClock* live, clockid_t clock) {
  return live->Refit(SampleTsc(clock));
}

}  // namespace skyprobe
