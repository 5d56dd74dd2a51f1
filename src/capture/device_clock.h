// device_clock.h: a NIC's receive timestamps (RTE_ETH_RX_OFFLOAD_TIMESTAMP, in
// the device's clock ticks) as Unix nanoseconds.
//
// Owner: the main thread fits a port's clock at start-up (port.cc); RX workers
// and the dispatcher then only read it (ToNs, one multiply per frame).
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
// second away from the base). The rate is fitted once, at start-up: the NIC's
// oscillator and the host's clock then drift apart by their frequency
// difference (tens of ppm is common), which this does not follow.
#pragma once

#include <cstdint>
#include <limits>

#include "absl/status/statusor.h"

namespace skyprobe {

// One reading of the device's clock between two readings of the host's
// (CLOCK_REALTIME, ns since 1970).
struct DeviceClockSample {
  uint64_t ticks = 0;
  int64_t host_before_ns = 0;
  int64_t host_after_ns = 0;
};

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

}  // namespace skyprobe
