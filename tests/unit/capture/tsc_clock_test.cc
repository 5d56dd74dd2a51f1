// The TSC as Unix time (tsc_clock.h): a fit from a sample taken early to one
// taken later predicts the host's clock at a third reading, as a refit does.
// The bounds allow for each sample's bracket (a reading preempted between its
// clock reads) and are far inside what EAL's 10 MHz rounding of the rate
// would give over the same spans (2000 ppm at worst: 200 us over 100 ms).
//
// The oracle is CLOCK_MONOTONIC_RAW, the fit's host clock here: the probe
// fits CLOCK_REALTIME the same way, but a wall clock may be slewed at
// thousands of ppm that change within a tenth of a second (a VM just
// restored or migrated, as a fresh CI machine is), and a prediction 100 ms
// ahead cannot know that. The probe follows such a slew second by second
// (LiveDeviceClock's refits, device_clock_test.cc).
#include "capture/tsc_clock.h"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "gtest/gtest.h"

namespace skyprobe {
namespace {

constexpr clockid_t kClock = CLOCK_MONOTONIC_RAW;

int64_t Bracket(const DeviceClockSample& s) { return s.host_after_ns - s.host_before_ns; }

// 20 us over 100 ms (200 ppm), plus the samples' own uncertainty scaled by
// how far past the fit the reading is (at most 2 fit spans here).
int64_t Bound(const DeviceClockSample& a, const DeviceClockSample& b, const DeviceClockSample& at) {
  return 20'000 + 2 * (Bracket(a) + Bracket(b)) + Bracket(at);
}

TEST(TscClockTest, ASampleBracketsItsReading) {
  const DeviceClockSample s = SampleTsc(kClock);
  EXPECT_LE(s.host_before_ns, s.host_after_ns);
  EXPECT_NE(s.ticks, 0u);
  const DeviceClockSample later = SampleTsc(kClock);
  EXPECT_GT(later.ticks, s.ticks);
  EXPECT_GE(later.host_after_ns, s.host_before_ns);
}

TEST(TscClockTest, AFitFromAnEarlySamplePredictsTheHostsClockLater) {
  const DeviceClockSample early = SampleTsc(kClock);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  const std::unique_ptr<LiveDeviceClock> clock = StartTscClock(early, kClock);
  const DeviceClock fit = clock->Load();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const DeviceClockSample at = SampleTsc(kClock);
  const int64_t off = clock->ToNs(at.ticks) - at.mid_ns();
  // The fit's later sample is its base: its bracket is the one we bound by.
  DeviceClockSample base;
  base.ticks = fit.base_ticks;
  base.host_before_ns = base.host_after_ns = fit.base_ns;
  EXPECT_LE(std::llabs(off), Bound(early, base, at)) << off << " ns off after 100 ms";
}

TEST(TscClockTest, ARefitKeepsPredictingAndCounts) {
  const DeviceClockSample early = SampleTsc(kClock);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  const std::unique_ptr<LiveDeviceClock> clock = StartTscClock(early, kClock);
  EXPECT_EQ(clock->refits(), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  ASSERT_TRUE(RefitTscClock(clock.get(), kClock).ok());
  EXPECT_EQ(clock->refits(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const DeviceClockSample at = SampleTsc(kClock);
  const int64_t off = clock->ToNs(at.ticks) - at.mid_ns();
  EXPECT_LE(std::llabs(off), Bound(early, early, at) + 20'000) << off << " ns off";
}

}  // namespace
}  // namespace skyprobe
