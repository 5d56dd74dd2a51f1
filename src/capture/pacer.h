// pacer.h: replay pacing of pcap inputs (--pcap-rate, --pcap-realtime).
//
// Owner: one Pacer is shared by every lcore that reads pcap queues (the RX
// workers in single/rss mode, or the dispatcher); it holds a few atomics,
// touched once per burst. Each caller counts its own waits.
//
//   Pacer pacer(PacerOptions{.rate_pps = 200});
//   n = rte_eth_rx_burst(port, queue, m, pacer.burst());
//   if (pacer.Wait(n, first_ts_ns, last_ts_ns, stop)) ++counters.pacing_waits;
//
// Pacing only delays frames: flow times keep the frames' capture timestamps,
// so a paced replay gives the same flows as an unpaced one.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "skyprobe/compiler.h"

namespace skyprobe {

// What the waiting lcore does with a wait instead of sleeping through it: a
// worker rests as a held worker does (RxWorker::Rest: its queries and expiry
// in slices, else a sleep of at most about 1 ms), so a query is answered
// while a slow replay waits for its next frames. `rest(ctx, max_us)` returns
// within about `max_us`; the pacer keeps the deadline (and spins its last
// ~100 us itself).
struct PacerIdle {
  void (*rest)(void* ctx, uint32_t max_us) noexcept = nullptr;
  void* ctx = nullptr;
};

struct PacerOptions {
  uint32_t rate_pps = 0;  // frame k (over every input) is due k / rate_pps s after the first
  bool realtime = false;  // frames are due at their capture time, relative to the first
  double speed = 1.0;     // realtime: this many times the recorded pace
};

class Pacer {
 public:
  explicit Pacer(PacerOptions opts);

  // Frames to ask rx_burst for: small bursts keep a slow pace smooth (a burst
  // is released when its last frame is due).
  uint16_t burst() const { return burst_; }

  // A burst with no believable capture time (capture_clock.h): due at once.
  static constexpr int64_t kNoTime = -1;

  // Blocks until the last of the `n` frames just received is due; `first_ts_ns`
  // and `last_ts_ns` are the capture times of the first and last of them
  // (kNoTime for both when none can be believed).
  // Returns early once `stop` is set. True if it had to wait. With `idle`
  // (may be null) the waiting lcore rests its own way instead of sleeping:
  // a slow replay's long sleeps would otherwise leave a worker's queries a
  // few microseconds per burst (a query over a 1M-slot table took the whole
  // replay).
  bool Wait(uint32_t n, int64_t first_ts_ns, int64_t last_ts_ns, const std::atomic<bool>* stop,
            const PacerIdle* idle = nullptr) noexcept;

  // The schedule alone: nanoseconds after the start at which a burst whose
  // frames are numbered [first_index, first_index + n) over the whole replay,
  // the last one captured at `last_ts_ns`, is due; `base_ts_ns` is the capture
  // time of the replay's first frame.
  int64_t DueNs(uint64_t first_index, uint32_t n, int64_t last_ts_ns,
                int64_t base_ts_ns) const noexcept;

 private:
  static int64_t NowNs() noexcept;

  PacerOptions opts_;
  uint16_t burst_ = 32;
  SKYPROBE_CACHE_ALIGNED std::atomic<uint64_t> frames_{0};  // frames taken so far
  std::once_flag started_;  // the first burst sets the two below, once
  int64_t start_ns_ = 0;    // steady clock at the first burst
  int64_t base_ts_ns_ = 0;  // capture time of its first frame
};

}  // namespace skyprobe
