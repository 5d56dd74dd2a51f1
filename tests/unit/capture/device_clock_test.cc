// DeviceClock: a NIC's timestamps (device ticks) as Unix ns, fitted from two
// samples of the device's clock bracketed by the host's, as DPDK documents for
// rte_eth_read_clock. The expected times are worked out here from the clock's
// rate as a fraction (exact integer arithmetic), not from the code's fixed point.
#include "capture/device_clock.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace skyprobe {
namespace {

constexpr int64_t kT0 = int64_t{1'700'000'000} * 1'000'000'000;  // a host time, ns
constexpr int64_t kMs = 1'000'000;

DeviceClockSample At(uint64_t ticks, int64_t host_ns, int64_t bracket_ns = 0) {
  return DeviceClockSample{ticks, host_ns - bracket_ns / 2, host_ns + bracket_ns / 2};
}

// A 156.25 MHz clock (6.4 ns a tick, an Intel 10G NIC's SYSTIM at its
// default increment) sampled 100 ms apart: every later reading lands within
// 1 ns of base + ticks * 64 / 10.
TEST(DeviceClockTest, ConvertsTicksAtTheFittedRateFromTheLaterSample) {
  const uint64_t t0 = 123'456'789;
  const uint64_t per_100ms = 15'625'000;
  const auto clock = FitDeviceClock(At(t0, kT0), At(t0 + per_100ms, kT0 + 100 * kMs));
  ASSERT_TRUE(clock.ok()) << clock.status();
  EXPECT_EQ(clock->base_ticks, t0 + per_100ms);
  EXPECT_EQ(clock->base_ns, kT0 + 100 * kMs);
  for (const uint64_t later : {uint64_t{0}, uint64_t{1}, uint64_t{5}, uint64_t{156'250},
                               uint64_t{156'250'000'000} /* 1000 s */}) {
    const int64_t want = kT0 + 100 * kMs + static_cast<int64_t>(later * 64 / 10);
    EXPECT_NEAR(clock->ToNs(t0 + per_100ms + later), want, 1) << later;
  }
}

// A clock counting nanoseconds (1 GHz) converts exactly, and a frame stamped
// before the base (it arrived before start-up's second sample) comes out
// before the base time, not after.
TEST(DeviceClockTest, NanosecondClockIsExactAndEarlierTicksGoBack) {
  const auto clock = FitDeviceClock(At(1'000, kT0), At(1'000 + 100 * kMs, kT0 + 100 * kMs));
  ASSERT_TRUE(clock.ok()) << clock.status();
  const uint64_t base = 1'000 + 100 * kMs;
  EXPECT_EQ(clock->ToNs(base + 1), kT0 + 100 * kMs + 1);
  EXPECT_EQ(clock->ToNs(base + 3'600 * 1'000 * kMs), kT0 + 100 * kMs + 3'600 * 1'000 * kMs);
  EXPECT_EQ(clock->ToNs(base - 7), kT0 + 100 * kMs - 7);
  EXPECT_EQ(clock->ToNs(1'000), kT0);
}

// Each sample's host time is the middle of its bracket.
TEST(DeviceClockTest, TakesTheMiddleOfEachBracket) {
  DeviceClockSample a{0, kT0, kT0 + 4'000};                                   // middle kT0 + 2 us
  DeviceClockSample b{100 * kMs, kT0 + 100 * kMs, kT0 + 100 * kMs + 10'000};  // + 5 us
  const auto clock = FitDeviceClock(a, b);
  ASSERT_TRUE(clock.ok()) << clock.status();
  EXPECT_EQ(clock->base_ns, kT0 + 100 * kMs + 5'000);
  // Rate: 100 ms of ticks over 100 ms + 3 us of host time.
  const int64_t host = 100 * kMs + 3'000;
  EXPECT_NEAR(clock->ToNs(100 * kMs + 1'000'000'000),
              kT0 + 100 * kMs + 5'000 + 1'000'000'000 * host / (100 * kMs), 1);
}

// A 64-bit counter that wrapped between the samples, or after them, still
// converts (differences are taken modulo 2^64).
TEST(DeviceClockTest, ACounterThatWrapsStillConverts) {
  const uint64_t near_end = std::numeric_limits<uint64_t>::max() - 50 * kMs;
  const auto clock = FitDeviceClock(At(near_end, kT0), At(near_end + 100 * kMs, kT0 + 100 * kMs));
  ASSERT_TRUE(clock.ok()) << clock.status();
  EXPECT_EQ(clock->ToNs(near_end + 100 * kMs + 25), kT0 + 100 * kMs + 25);
  EXPECT_EQ(clock->ToNs(near_end), kT0);
}

// Samples that give no rate are refused, never divided by.
TEST(DeviceClockTest, RefusesSamplesThatGiveNoRate) {
  // The device's clock did not move (a PMD that reads a stopped counter).
  EXPECT_FALSE(FitDeviceClock(At(5, kT0), At(5, kT0 + 100 * kMs)).ok());
  // It went back (as a huge forward step: more than 2^63 ticks).
  EXPECT_FALSE(FitDeviceClock(At(1'000, kT0), At(10, kT0 + 100 * kMs)).ok());
  // The host's clock did not move forward between the samples.
  EXPECT_FALSE(FitDeviceClock(At(0, kT0), At(100 * kMs, kT0)).ok());
  EXPECT_FALSE(FitDeviceClock(At(0, kT0), At(100 * kMs, kT0 - kMs)).ok());
  // A bracket wider than the gap between the samples.
  EXPECT_FALSE(FitDeviceClock(At(0, kT0, 60 * kMs), At(100 * kMs, kT0 + 10 * kMs, 60 * kMs)).ok());
  // A bracket that ends before it starts.
  EXPECT_FALSE(
      FitDeviceClock(DeviceClockSample{0, kT0, kT0 - 1}, At(100 * kMs, kT0 + 100 * kMs)).ok());
  // A rate below the fixed point's resolution (2^62 ticks in 1 us), or a tick
  // longer than 8 ms (whose products could overflow): no plausible NIC clock.
  EXPECT_FALSE(FitDeviceClock(At(0, kT0), At(uint64_t{1} << 62, kT0 + 1'000)).ok());
  EXPECT_FALSE(FitDeviceClock(At(0, kT0), At(1, kT0 + 100 * kMs)).ok());
}

// Stamps too far from the base saturate instead of wrapping: past int64 ns a
// frame is counted as a clock jump by the capture clock; before 1970, 0.
TEST(DeviceClockTest, SaturatesInsteadOfOverflowing) {
  // A slow clock (1 kHz: 1 ms a tick): 2^62 ticks are far past year 2262.
  const auto clock = FitDeviceClock(At(0, kT0), At(100, kT0 + 100 * kMs));
  ASSERT_TRUE(clock.ok()) << clock.status();
  EXPECT_EQ(clock->ToNs(100 + 1), kT0 + 101 * kMs);
  EXPECT_EQ(clock->ToNs(uint64_t{1} << 62), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(clock->ToNs(100 - (uint64_t{1} << 62)), 0);
}

}  // namespace
}  // namespace skyprobe
