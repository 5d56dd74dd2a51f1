// tsc_clock.h: the TSC as Unix nanoseconds, for the frames of live ports that
// carry no time of their own (NIC ports without a timestamp offload,
// --iface-time burst), and for a live table's clock.
//
// Owner: RunProbe samples the TSC before EAL starts, SetUpPorts fits the clock
// from that sample to one taken when the workers are made, the control lcore
// refits it about once a second (RefitTscClock); the RX workers read it (a
// seqlock read and one multiply per burst: LiveDeviceClock).
//
//   const DeviceClockSample early = SampleTsc();          // before rte_eal_init
//   std::unique_ptr<LiveDeviceClock> c = StartTscClock(early);  // later
//   RefitTscClock(c.get());                               // control lcore, each second
//   now_ns = c->ToNs(rte_rdtsc());                         // RX workers
//
// Why not EAL's rate: rte_get_tsc_hz() is the TSC measured over 100 ms and
// rounded to the nearest 10 MHz when the CPU does not state it (AMD CPUs, most
// VMs): 2596.13 MHz here becomes 2600, 1490 ppm fast, so times taken as
// start time + cycles / rte_get_tsc_hz() fell behind the host's by 5 s an hour.
// The host's clock also moves (NTP slews it, steps it); a fit renewed each
// second follows both, as LiveDeviceClock does for a NIC's oscillator.
#pragma once

#include <cstdint>
#include <memory>

#include "capture/device_clock.h"

namespace skyprobe {

// One TSC reading between two of `clock` (CLOCK_REALTIME: the host's; EAL's
// measure of the rate takes CLOCK_MONOTONIC_RAW): the tightest of a few
// tries, so that a preemption between the readings does not widen the
// bracket. Needs no EAL (the TSC is read inline).
DeviceClockSample SampleTsc(clockid_t clock = CLOCK_REALTIME) noexcept;

// The TSC's fit from `early` to a sample now of `clock`, the clock `early`
// was taken against (the probe's: CLOCK_REALTIME; tests take
// CLOCK_MONOTONIC_RAW, which nothing slews). Where the two give no rate (too
// close, the host's clock went back between them), EAL's rate from now on:
// the first refits then correct it within a second (a rate that far off is
// taken as the host's clock stepping, so each refit moves the base).
std::unique_ptr<LiveDeviceClock> StartTscClock(const DeviceClockSample& early,
                                               clockid_t clock = CLOCK_REALTIME);

// The fit through EAL's rate (rte_get_tsc_hz) with its base at `at`, for
// workers made without a probe's clock (benchmarks, tests).
DeviceClock NominalTscClock(const DeviceClockSample& at) noexcept;

// Refits `live` from its last sample to a reading of `clock` now (control
// lcore), the clock it was started on.
absl::Status RefitTscClock(LiveDeviceClock* live, clockid_t clock = CLOCK_REALTIME);

}  // namespace skyprobe
