// DeviceClock: a NIC's timestamps (device ticks) as Unix ns, fitted from two
// samples of the device's clock bracketed by the host's, as DPDK documents for
// rte_eth_read_clock. The expected times are worked out here from the clock's
// rate as a fraction (exact integer arithmetic), not from the code's fixed point.
#include "capture/device_clock.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <thread>

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

// A NIC oscillator warming up: 50 ppm fast against the host at start-up,
// 0.2 ppm more each second (90 ppm after 200 s; NTP slewing the host's clock
// looks the same). The start-up fit (100 ms) knows only the first rate: after
// 200 s it is 4 ms off. Refitted each second from 1 us brackets, the
// conversion stays within 2 us of the host's time of every reading.
TEST(LiveDeviceClockTest, RefitsFollowAnOscillatorThatDrifts) {
  // Ticks counted at host time kT0 + ns: 156.25 MHz times (1 + ppm(t) 10^-6)
  // integrated, ppm(t) = 50 + 0.2 t (t in seconds).
  const auto ticks_at = [](int64_t ns) {
    const double t = static_cast<double>(ns) / 1e9;
    return uint64_t{1'000'000} +
           static_cast<uint64_t>(std::llround(156.25e6 * (t + 1e-6 * (50 * t + 0.1 * t * t))));
  };
  const auto sample = [&](int64_t ns) { return At(ticks_at(ns), kT0 + ns, 1'000); };
  const auto fit = FitDeviceClock(sample(0), sample(100 * kMs));
  ASSERT_TRUE(fit.ok()) << fit.status();
  const DeviceClock startup = *fit;
  LiveDeviceClock live(*fit, sample(100 * kMs));
  int64_t worst = 0;
  for (int64_t s = 1; s <= 200; ++s) {
    const int64_t at = 100 * kMs + s * 1'000 * kMs;
    ASSERT_TRUE(live.Refit(sample(at)).ok()) << s;
    // Readings over the next second, before the next refit.
    for (int64_t step = 0; step < 1'000 * kMs; step += 250 * kMs) {
      const int64_t err = live.ToNs(ticks_at(at + step)) - (kT0 + at + step);
      worst = std::max(worst, err < 0 ? -err : err);
    }
  }
  EXPECT_EQ(live.refits(), 200u);
  EXPECT_LT(worst, 2'000);
  const int64_t end = 100 * kMs + 200'000 * kMs;
  const int64_t startup_err = startup.ToNs(ticks_at(end)) - (kT0 + end);
  EXPECT_GT(startup_err < 0 ? -startup_err : startup_err, 3 * kMs);  // what the refits remove
}

// A step of the host's clock between two samples (an NTP step of 2 s) is no
// drift: the rate is kept and the base moves, so readings after it follow the
// host's new time; a sample that gives no rate changes nothing.
TEST(LiveDeviceClockTest, AHostClockStepMovesTheBaseNotTheRate) {
  const uint64_t t0 = 123'456'789;
  const uint64_t per_100ms = 15'625'000;  // 156.25 MHz
  const auto fit = FitDeviceClock(At(t0, kT0), At(t0 + per_100ms, kT0 + 100 * kMs));
  ASSERT_TRUE(fit.ok()) << fit.status();
  LiveDeviceClock live(*fit, At(t0 + per_100ms, kT0 + 100 * kMs));
  // One second later on the device, three on the host's stepped clock.
  const uint64_t later = t0 + 11 * per_100ms;
  ASSERT_TRUE(live.Refit(At(later, kT0 + 3'100 * kMs)).ok());
  const DeviceClock c = live.Load();
  EXPECT_EQ(c.ns_per_tick_fixed, fit->ns_per_tick_fixed);
  EXPECT_EQ(c.base_ns, kT0 + 3'100 * kMs);
  EXPECT_NEAR(live.ToNs(later + per_100ms), kT0 + 3'200 * kMs, 1);
  // The device's clock did not move: refused, the fit unchanged.
  EXPECT_FALSE(live.Refit(At(later, kT0 + 4'100 * kMs)).ok());
  EXPECT_EQ(live.Load().base_ns, c.base_ns);
  EXPECT_EQ(live.refits(), 1u);
}

// A first fit 1490 ppm off (the TSC's, through EAL's rate rounded to 10 MHz:
// 2600 MHz for 2596.13): the first refit takes it for a step of the host's
// clock and moves only the base; the second, agreeing with the first on the
// true rate, takes the rate. A single step between steady intervals is still
// only a step (AHostClockStepMovesTheBaseNotTheRate; and below, after it).
TEST(LiveDeviceClockTest, TwoIntervalsAgreeingOnAnotherRateReplaceIt) {
  constexpr uint64_t kHz = 2'596'130'000;  // the true rate
  const auto ticks_at = [](int64_t ns) {
    return static_cast<uint64_t>(static_cast<unsigned __int128>(ns) * kHz / 1'000'000'000);
  };
  const auto sample = [&](int64_t ns) { return At(ticks_at(ns) + 1'000, kT0 + ns); };
  DeviceClock wrong;
  wrong.base_ticks = sample(0).ticks;
  wrong.base_ns = kT0;
  wrong.ns_per_tick_fixed = static_cast<uint64_t>(
      (static_cast<unsigned __int128>(1'000'000'000) << DeviceClock::kFractionBits) /
      2'600'000'000);
  LiveDeviceClock live(wrong, sample(0));
  const auto err_at = [&](int64_t ns) { return live.ToNs(ticks_at(ns) + 1'000) - (kT0 + ns); };
  EXPECT_LT(err_at(1'000 * kMs), -kMs);  // 1.49 ms behind after a second
  ASSERT_TRUE(live.Refit(sample(1'000 * kMs)).ok());
  EXPECT_EQ(live.Load().ns_per_tick_fixed, wrong.ns_per_tick_fixed);  // taken for a step
  EXPECT_LT(err_at(2'000 * kMs), -kMs);
  ASSERT_TRUE(live.Refit(sample(2'000 * kMs)).ok());
  EXPECT_NE(live.Load().ns_per_tick_fixed, wrong.ns_per_tick_fixed);  // the true rate
  EXPECT_NEAR(err_at(3'000 * kMs), 0, 2);
  EXPECT_NEAR(err_at(100'000 * kMs), 0, 2);
  // A host step of 2 s now is one interval's: the rate stays.
  const uint64_t rate = live.Load().ns_per_tick_fixed;
  ASSERT_TRUE(live.Refit(At(ticks_at(3'000 * kMs) + 1'000, kT0 + 5'000 * kMs)).ok());
  EXPECT_EQ(live.Load().ns_per_tick_fixed, rate);
  ASSERT_TRUE(live.Refit(At(ticks_at(4'000 * kMs) + 1'000, kT0 + 6'000 * kMs)).ok());
  EXPECT_EQ(live.Load().ns_per_tick_fixed, rate);
  EXPECT_EQ(live.refits(), 4u);
}

// The TSC's clock (kKeepCourse): a step of the host's clock, back an hour
// then forward two seconds, is not followed: the times go on from where they
// were at the rate they had, and offset_ns() says how far they are from the
// host's. A first rate 1490 ppm off is still corrected by two agreeing
// intervals, its first interval's offset undone.
TEST(LiveDeviceClockTest, KeepingCourseTimesDoNotFollowTheHostsSteps) {
  constexpr uint64_t kHz = 2'596'130'000;
  const auto ticks_at = [](int64_t ns) {  // ns of true time since kT0
    return static_cast<uint64_t>(static_cast<unsigned __int128>(ns) * kHz / 1'000'000'000);
  };
  // The host's clock reads true time plus `host_off`.
  int64_t host_off = 0;
  const auto sample = [&](int64_t ns) { return At(ticks_at(ns), kT0 + ns + host_off); };
  DeviceClock wrong;
  wrong.base_ticks = 0;
  wrong.base_ns = kT0;
  wrong.ns_per_tick_fixed = static_cast<uint64_t>(
      (static_cast<unsigned __int128>(1'000'000'000) << DeviceClock::kFractionBits) /
      2'600'000'000);
  LiveDeviceClock live(wrong, sample(0), LiveDeviceClock::Steps::kKeepCourse);
  const auto err_at = [&](int64_t ns) { return live.ToNs(ticks_at(ns)) - (kT0 + ns); };
  ASSERT_TRUE(live.Refit(sample(1'000 * kMs)).ok());
  EXPECT_NEAR(live.offset_ns(), 1'490'000, 10'000);      // taken for a step, for now
  EXPECT_NEAR(err_at(1'000 * kMs), -1'490'000, 10'000);  // no jump at the refit
  ASSERT_TRUE(live.Refit(sample(2'000 * kMs)).ok());
  EXPECT_EQ(live.offset_ns(), 0);  // the rate was wrong: no step after all
  EXPECT_NEAR(err_at(2'500 * kMs), 0, 2);
  // The host's clock set back an hour between two refits: refused by the
  // fit (no rate), taken as a step; times go on, an hour after the host's.
  host_off = -3'600'000 * kMs;
  ASSERT_TRUE(live.Refit(sample(3'000 * kMs)).ok());
  EXPECT_NEAR(err_at(3'500 * kMs), 0, 2);
  EXPECT_NEAR(live.offset_ns(), -3'600'000 * kMs, 2);
  ASSERT_TRUE(live.Refit(sample(4'000 * kMs)).ok());
  EXPECT_NEAR(err_at(4'500 * kMs), 0, 2);
  // Then forward two seconds: the same.
  host_off += 2'000 * kMs;
  ASSERT_TRUE(live.Refit(sample(5'000 * kMs)).ok());
  ASSERT_TRUE(live.Refit(sample(6'000 * kMs)).ok());
  EXPECT_NEAR(err_at(6'500 * kMs), 0, 2);
  EXPECT_NEAR(live.offset_ns(), -3'598'000 * kMs, 2);
  EXPECT_EQ(live.refits(), 6u);
}

// The NIC's clock (kFollow) follows a step back too: the refit the fit alone
// refused (the host's clock went back, no rate) moves the base.
TEST(LiveDeviceClockTest, FollowingAStepBackMovesTheBase) {
  const uint64_t per_s = 156'250'000;
  const auto fit = FitDeviceClock(At(0, kT0), At(per_s / 10, kT0 + 100 * kMs));
  ASSERT_TRUE(fit.ok()) << fit.status();
  LiveDeviceClock live(*fit, At(per_s / 10, kT0 + 100 * kMs));
  ASSERT_TRUE(live.Refit(At(per_s / 10 + per_s, kT0 - 3'600'000 * kMs)).ok());
  EXPECT_EQ(live.Load().base_ns, kT0 - 3'600'000 * kMs);
  EXPECT_EQ(live.Load().ns_per_tick_fixed, fit->ns_per_tick_fixed);
  EXPECT_EQ(live.offset_ns(), 0);
}

}  // namespace

// Holds a refit half written, as a reader could find it between two stores.
class LiveDeviceClockTestPeer {
 public:
  static void BeginWrite(LiveDeviceClock* c, uint64_t base_ticks) {
    c->seq_.fetch_add(1, std::memory_order_relaxed);
    c->base_ticks_.store(base_ticks, std::memory_order_relaxed);
  }
  static void EndWrite(LiveDeviceClock* c, int64_t base_ns) {
    c->base_ns_.store(base_ns, std::memory_order_relaxed);
    c->seq_.fetch_add(1, std::memory_order_release);
  }
};

namespace {

// A reader that finds a fit half written waits for the whole of it: it never
// returns the new base ticks with the old base time. Then, readers loading
// while a thread refits as fast as it can (each fit's fields tied together: a
// 1 GHz clock whose host time is kT0 + its ticks) only ever see whole fits.
TEST(LiveDeviceClockTest, ReadersSeeWholeFits) {
  const auto sample = [](uint64_t n) {
    return At(n * 1'000'000'000, kT0 + static_cast<int64_t>(n) * 1'000'000'000, 0);
  };
  const auto fit = FitDeviceClock(sample(1), sample(2));
  ASSERT_TRUE(fit.ok());
  LiveDeviceClock live(*fit, sample(2));
  LiveDeviceClockTestPeer::BeginWrite(&live, 7'000'000'000);
  std::atomic<bool> loaded{false};
  DeviceClock seen;
  std::thread reader([&] {
    seen = live.Load();
    loaded.store(true);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(loaded.load());  // still waiting for the fit's end
  LiveDeviceClockTestPeer::EndWrite(&live, kT0 + 7'000'000'000);
  reader.join();
  EXPECT_EQ(seen.base_ticks, 7'000'000'000u);
  EXPECT_EQ(seen.base_ns, kT0 + 7'000'000'000);

  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (uint64_t n = 8; n < 100'000; ++n) (void)live.Refit(sample(n));
    done.store(true);
  });
  uint64_t loads = 0;
  while (!done.load()) {
    const DeviceClock c = live.Load();
    ASSERT_EQ(c.base_ns, kT0 + static_cast<int64_t>(c.base_ticks)) << loads;
    ASSERT_EQ(c.ns_per_tick_fixed, uint64_t{1} << DeviceClock::kFractionBits) << loads;
    ++loads;
  }
  writer.join();
  EXPECT_GT(loads, 0u);
}

}  // namespace
}  // namespace skyprobe
