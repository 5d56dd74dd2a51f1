// rx_queue.h: one RX queue as polled by a worker or the dispatcher.
//
// Owner: the lcore that polls the queue (exactly one). Wraps rx_burst with
// what both pollers need: telling the end of a pcap file from an empty mbuf
// pool, replay pacing, and what was taken from the queue.
//
//   RxQueue rxq(spec, pacer, timestamp_offset);
//   uint16_t n = rxq.Receive(mbufs, stop, &pacing_waits);   // 0 and rxq.at_end(): done
#pragma once

#include <atomic>
#include <cstdint>

#include "capture/capture_clock.h"
#include "capture/pacer.h"
#include "capture/port.h"
#include "skyprobe/compiler.h"

namespace skyprobe {

// What the poller took from one queue (one writer: the polling lcore; read
// with relaxed loads by stats and the metrics endpoint).
struct SKYPROBE_CACHE_ALIGNED RxQueueCounters {
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

class RxQueue {
 public:
  static constexpr uint16_t kMaxBurst = 32;

  RxQueue(const RxQueueSpec& spec, Pacer* pacer, int timestamp_offset)
      : spec_(spec),
        pacer_(spec.is_file ? pacer : nullptr),
        ts_offset_(timestamp_offset),
        ts_limit_ns_(CaptureTimeLimitNs()) {}

  // Up to kMaxBurst frames into `m`. With pacing, waits until the burst's
  // last frame is due (counting the wait in `*pacing_waits`); frames stamped
  // past the capture time limit (capture_clock.h) are due at once.
  uint16_t Receive(rte_mbuf** m, const std::atomic<bool>* stop, uint64_t* pacing_waits) noexcept;

  // How the poller rests while pacing waits (Pacer::Wait; unset: a sleep);
  // set by the polling lcore before it polls.
  void set_pacer_idle(PacerIdle idle) { idle_ = idle; }

  bool at_end() const { return at_end_; }
  const RxQueueSpec& spec() const { return spec_; }

  // The poller counts each burst it took (per burst, not per packet).
  void Count(uint16_t packets, uint64_t bytes) noexcept {
    counters_.packets += packets;
    counters_.bytes += bytes;
  }
  const RxQueueCounters& counters() const { return counters_; }

 private:
  RxQueueSpec spec_;
  Pacer* pacer_;
  int ts_offset_;
  int64_t ts_limit_ns_;
  bool at_end_ = false;
  uint64_t nombuf_seen_ = 0;
  PacerIdle idle_;
  RxQueueCounters counters_;
};

}  // namespace skyprobe
