// device_clock.h: a NIC's receive timestamps (RTE_ETH_RX_OFFLOAD_TIMESTAMP, in
// the device's clock ticks) as Unix nanoseconds.
//
// Owner: the main thread fits a port's clock at start-up (port.cc), the
// control lcore refits it (LiveDeviceClock::Refit); RX workers and the
// dispatcher only read it (ToNs: a seqlock read and one multiply per frame).
//
//   DeviceClock c = FitDeviceClock(first, second).value();   // two samples 100 ms apart
//   ts_ns = c.ToNs(raw_ticks);                                // per frame
//
// DPDK's rule (rte_eth_read_clock's documentation): the mbuf's timestamp field
// holds the device's clock in its own unit; read that clock twice some time
// apart beside the host's to learn its rate, and keep one pair as the common
// reference: ns = base_ns + (ticks - base_ticks) / rate. A sample brackets the
// device's reading between two host readings and takes their midpoint, so its
// error is at most half the bracket, and the rate's relative error at most the
// two brackets over the gap (1 us of brackets over 100 ms: 10 ppm, 10 us a
// second away from the base). The NIC's oscillator and the host's clock drift
// apart by their frequency difference (tens of ppm is common: a second a day),
// so a running port's fit is renewed: LiveDeviceClock, refitted by the control
// lcore about once a second from its previous sample to a new one, which the
// workers read without a lock.
//
//   LiveDeviceClock live(c, second_sample);          // start-up
//   live.Refit(sample_now);                          // control lcore, each second
//   ts_ns = live.ToNs(raw_ticks);                    // RX workers, per frame
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>
#include <limits>

#include "absl/status/statusor.h"

namespace skyprobe {

// One reading of the device's clock between two readings of the host's
// (CLOCK_REALTIME, ns since 1970).
struct DeviceClockSample {
  uint64_t ticks = 0;
  int64_t host_before_ns = 0;
  int64_t host_after_ns = 0;
  // The host's time of the reading: the middle of its bracket.
  int64_t mid_ns() const noexcept { return host_before_ns + (host_after_ns - host_before_ns) / 2; }
};

// A reading of `clock` (CLOCK_REALTIME: the host's clock that samples bracket
// a device's reading with) in ns.
int64_t HostNs(clockid_t clock = CLOCK_REALTIME) noexcept;

struct DeviceClock {
  uint64_t base_ticks = 0;  // the reference pair: this reading of the device...
  int64_t base_ns = 0;      // ...was this host time
  // Nanoseconds per tick in fixed point, kFractionBits after the point (a
  // 1 GHz clock: 1 << 40): 2^-40 ns a tick is under 0.2 ns after 1000 s at
  // 156.25 MHz, far below the rate's own uncertainty (see above).
  static constexpr int kFractionBits = 40;
  uint64_t ns_per_tick_fixed = 0;  // at most 2^63 (8 ms a tick): products fit in 128 bits

  // Unix nanoseconds of a device reading. Ticks before the base come out
  // before base_ns (the difference is taken modulo 2^64, as a signed count,
  // so a counter that wrapped since the base still converts); a result past
  // int64 saturates (the capture clock then counts it as a jump).
  int64_t ToNs(uint64_t ticks) const noexcept {
    const auto diff = static_cast<int64_t>(ticks - base_ticks);
    const __int128 ns = static_cast<__int128>(diff) * static_cast<__int128>(ns_per_tick_fixed);
    // Rounded to the nearest nanosecond.
    const __int128 t = static_cast<__int128>(base_ns) +
                       ((ns + (static_cast<__int128>(1) << (kFractionBits - 1))) >> kFractionBits);
    if (t > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
    if (t < 0) return 0;
    return static_cast<int64_t>(t);
  }
};

// The clock through two samples, `later` taken after `earlier` (100 ms is
// DPDK's suggestion): its rate from their differences, its base at `later`.
// An error when the samples cannot give a rate (the device's clock did not
// move forward, the host's did not, or a bracket is wider than the gap).
absl::StatusOr<DeviceClock> FitDeviceClock(const DeviceClockSample& earlier,
                                           const DeviceClockSample& later);

// A port's clock as the RX lcores read it while one thread refits it. The fit
// is published under a sequence number (a seqlock: a reader retries when a
// refit ran meanwhile, which happens about once a second for a few
// nanoseconds), so a reader never mixes two fits' fields and never waits.
class LiveDeviceClock {
 public:
  // What a step of the host's clock does to the times it gives. kFollow: they
  // follow the host's new time, as the kernel's stamps would (a NIC's stamps
  // are frame times only). kKeepCourse: they go on from where they were, off
  // from the host's by the step (offset_ns()), so that a clock which is also
  // a table's (the TSC's, tsc_clock.h) never stops for the length of a step
  // back nor jumps every flow past its timeouts on a step forward.
  enum class Steps : uint8_t { kFollow, kKeepCourse };

  // The start-up fit and the later of its two samples (the next refit's
  // first).
  LiveDeviceClock(const DeviceClock& fit, const DeviceClockSample& last,
                  Steps steps = Steps::kFollow)
      : last_(last), steps_(steps) {
    Publish(fit);
  }

  // The current fit (any thread).
  DeviceClock Load() const noexcept {
    for (;;) {
      const uint64_t seq = seq_.load(std::memory_order_acquire);
      DeviceClock c;
      c.base_ticks = base_ticks_.load(std::memory_order_relaxed);
      c.base_ns = base_ns_.load(std::memory_order_relaxed);
      c.ns_per_tick_fixed = ns_per_tick_fixed_.load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if ((seq & 1) == 0 && seq_.load(std::memory_order_relaxed) == seq) return c;
    }
  }
  int64_t ToNs(uint64_t ticks) const noexcept { return Load().ToNs(ticks); }

  // The refitting thread only: fits from the last sample to `now` and
  // publishes it (its base at `now`); `now` becomes the last sample. A pair
  // that gives no rate (FitDeviceClock's errors) changes nothing, unless the
  // host's clock went back between them while the device's went on: a step.
  // A rate more than kStepPpm from the current one is no oscillator's drift
  // but a step of the host's clock (settimeofday, an NTP step) between the
  // samples: the rate is kept, and the base moves to `now` (kFollow) or to
  // the current fit's time at `now` (kKeepCourse). A step is one interval's;
  // two intervals in a row that agree (within kStepPpm) on a rate that far
  // from the current one are the clock's true rate (the first fit was wrong:
  // the TSC's from EAL's rounded rate, tsc_clock.h), and it is taken, the
  // first interval's offset undone.
  absl::Status Refit(const DeviceClockSample& now);
  static constexpr uint64_t kStepPpm = 1000;

  // Refits published since start-up (the refitting thread's count).
  uint64_t refits() const noexcept { return (seq_.load(std::memory_order_relaxed) >> 1) - 1; }
  // kKeepCourse: the sum of the host's steps the times did not follow (the
  // refitting thread's): times are this much before the host's (after it
  // when negative).
  int64_t offset_ns() const noexcept { return offset_ns_; }

 private:
  friend class LiveDeviceClockTestPeer;  // a fit caught half written (device_clock_test.cc)
  void Publish(const DeviceClock& c) noexcept;

  std::atomic<uint64_t> seq_{0};  // odd while a fit is being written
  std::atomic<uint64_t> base_ticks_{0};
  std::atomic<int64_t> base_ns_{0};
  std::atomic<uint64_t> ns_per_tick_fixed_{0};
  // The refitting thread's:
  DeviceClockSample last_;
  Steps steps_;
  uint64_t outlier_rate_ = 0;  // the last interval's rate if it was kStepPpm off, else 0
  int64_t offset_ns_ = 0;      // kKeepCourse: the steps not followed
  int64_t last_step_ns_ = 0;   // the part of offset_ns_ the last interval added
};

}  // namespace skyprobe
