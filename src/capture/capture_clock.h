// capture_clock.h: capture time of pcap frames, and the rule for frames whose
// timestamp cannot be believed.
//
// Owner: each lcore that reads timestamps (an RX worker, the dispatcher) has
// its own CaptureClock; the limit is computed once for the process.
//
//   CaptureClock clock(CaptureTimeLimitNs());
//   ts[i] = clock.Take(CaptureTimeNs(mb, offset), &counters.clock_jumps);
//
// The rule (docs/configuration.md, "Capture time"):
//  - A frame's time is its capture timestamp, as net_pcap gives it
//    (microseconds since 1970, from the pcap or pcapng record).
//  - The clock never goes back: a frame stamped before a frame already seen
//    (merged or reordered captures) is taken at the latest time seen.
//  - The clock never goes past the present: a frame stamped after the limit
//    (the host's clock at start-up plus one day, for clock skew between the
//    capturing host and this one) cannot come from a real capture. A year-2100
//    stamp, a corrupt pcapng timestamp, anything too large for 64-bit
//    nanoseconds: the frame is taken at the latest time seen, like a frame
//    from the past, and counted in clock_jumps. Flows, expiry, update ticks
//    and pacing therefore never see such a time: no timer has to catch up
//    over centuries and no time arithmetic can overflow.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

#include "skyprobe/compiler.h"

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

namespace skyprobe {

// Nanoseconds from the PMD's microsecond timestamp; a value too large for
// int64 nanoseconds (after year 2262) saturates, so it is past any limit.
inline int64_t CaptureMicrosToNs(uint64_t us) noexcept {
  constexpr uint64_t kMaxUs = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / 1000;
  return us > kMaxUs ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(us * 1000);
}

// The PMD's timestamp field as it is (net_pcap: microseconds; a NIC: its
// clock's ticks, device_clock.h); 0 when the port gives none (`offset` < 0).
inline uint64_t CaptureStampRaw(const rte_mbuf* m, int offset) noexcept {
  if (offset < 0) return 0;
  // A copy, not a uint64_t load: the field's offset is whatever the PMD
  // registered (8-byte aligned for net_pcap's, but nothing promises it), and
  // on x86-64 the copy is the same single load.
  uint64_t raw;
  std::memcpy(&raw, RTE_MBUF_DYNFIELD(m, offset, const void*), sizeof(raw));
  return raw;
}

// Capture time of a frame from net_pcap's timestamp field (microseconds), in
// nanoseconds; 0 when the port gives none (`offset` < 0).
inline int64_t CaptureTimeNs(const rte_mbuf* m, int offset) noexcept {
  return CaptureMicrosToNs(CaptureStampRaw(m, offset));
}

// The latest capture time believed: the host's clock when first called (at
// start-up) plus one day. Computed once; every thread gets the same value.
int64_t CaptureTimeLimitNs();

// What a live clock adds to the present for its limit (set_limit): the day
// CaptureTimeLimitNs() adds to the start-up time.
inline constexpr int64_t kCaptureTimeSlackNs = int64_t{86'400} * 1'000'000'000;

class CaptureClock {
 public:
  explicit CaptureClock(int64_t limit_ns) : limit_ns_(limit_ns) {}

  // The time a frame stamped `raw_ns` is taken at (see the rule above);
  // adds one to *jumps when the stamp is past the limit.
  int64_t Take(int64_t raw_ns, uint64_t* jumps) noexcept {
    if (SKYPROBE_UNLIKELY(raw_ns > limit_ns_)) {
      ++*jumps;
      return now_ns_;
    }
    if (raw_ns > now_ns_) now_ns_ = raw_ns;
    return now_ns_;
  }
  // A live clock's limit moves with the present (RX of --iface-time kernel:
  // the kernel's receive times are checked against the host's clock of the
  // burst, plus the same day).
  void set_limit(int64_t limit_ns) noexcept { limit_ns_ = limit_ns; }
  // Moves the clock to a time that was already checked (a dispatcher's mark).
  void MoveTo(int64_t ns) noexcept {
    if (ns > now_ns_ && ns <= limit_ns_) now_ns_ = ns;
  }
  int64_t now_ns() const { return now_ns_; }
  int64_t limit_ns() const { return limit_ns_; }

 private:
  int64_t limit_ns_;
  int64_t now_ns_ = 0;  // latest time taken (0 before the first frame)
};

}  // namespace skyprobe
