// eal_tsc_rate.cc: EAL's measure of the TSC's rate, in 10 ms instead of 100.
//
// When the CPU does not state its TSC's rate (no CPUID leaf 0x15: AMD CPUs,
// most VMs), rte_eal_init measures it against CLOCK_MONOTONIC_RAW over a
// 100 ms sleep (get_tsc_freq, lib/eal/linux/eal_timer.c) and rounds it to the
// nearest 10 MHz: most of a replay's start-up here (docs/BENCHMARKS.md, "A
// replay sized to its files"), and of every probe a test starts. Linked
// statically (-Ddpdk_link=static), the skyprobe binary replaces that function
// (the link's --wrap=get_tsc_freq, meson.build) with the same measure over
// 10 ms, unrounded: each end is the tightest of three readings bracketed by
// the clock, so the rate is within about 10 ppm, against the 10 MHz rounding's
// 2000 ppm. EAL's rate paces work budgets and the control loop's timers; the
// time of live frames comes from the probe's own fit (capture/tsc_clock.h).
//
// If a later DPDK renames the function, the wrap matches nothing and EAL
// measures as before: nothing here is called, nothing breaks.
#include <cstdint>
#include <ctime>

#include "capture/tsc_clock.h"

// The name EAL's caller links against, through --wrap: the linker's, hence
// reserved and not in our case style. 0 (only if the clock failed) sends EAL
// to its last resort.
// NOLINTBEGIN(bugprone-reserved-identifier,readability-identifier-naming)
extern "C" uint64_t __wrap_get_tsc_freq(void);

extern "C" uint64_t __wrap_get_tsc_freq(void) {
  constexpr timespec kGap{0, 10'000'000};
  const skyprobe::DeviceClockSample a = skyprobe::SampleTsc(CLOCK_MONOTONIC_RAW);
  nanosleep(&kGap, nullptr);
  const skyprobe::DeviceClockSample b = skyprobe::SampleTsc(CLOCK_MONOTONIC_RAW);
  const int64_t ns = b.mid_ns() - a.mid_ns();
  if (ns <= 0 || b.ticks <= a.ticks) return 0;
  return static_cast<uint64_t>(static_cast<unsigned __int128>(b.ticks - a.ticks) * 1'000'000'000u /
                               static_cast<uint64_t>(ns));
}
// NOLINTEND(bugprone-reserved-identifier,readability-identifier-naming)
