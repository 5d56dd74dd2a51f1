#include "capture/rx_queue.h"

#include <rte_ethdev.h>

#include "capture/mapped_file_queue.h"

namespace skyprobe {

uint16_t RxQueue::Receive(rte_mbuf** m, const std::atomic<bool>* stop,
                          uint64_t* pacing_waits) noexcept {
  if (spec_.pause != nullptr) [[unlikely]] {
    // Kept off the device while the control lcore reopens it (port.h).
    const uint32_t r = spec_.pause->request.load(std::memory_order_acquire);
    if ((r & 1) != 0) {
      spec_.pause->acked.store(r, std::memory_order_release);
      return 0;
    }
  }
  const uint16_t max = pacer_ != nullptr ? pacer_->burst() : kMaxBurst;
  const uint16_t n = spec_.mapped != nullptr
                         ? spec_.mapped->Burst(m, max)
                         : rte_eth_rx_burst(spec_.port_id, spec_.queue_id, m, max);
  if (n == 0) {
    if (spec_.mapped != nullptr) {
      at_end_ = spec_.mapped->at_end();
      return 0;
    }
    if (spec_.is_file) {
      // net_pcap returns nothing only at the end of the file, or when the
      // mbuf pool is empty (then rx_nombuf moves): tell the two apart.
      const uint64_t nombuf = ReadPortCounters(spec_.port_id).rx_nombuf;
      if (nombuf == nombuf_seen_) at_end_ = true;
      nombuf_seen_ = nombuf;
    }
    return 0;
  }
  if (pacer_ != nullptr) {
    // Replay pacing: hold the burst until its last frame is due (resting, as
    // waiting is the point: the poller's own rest if it set one, else a
    // sleep). Flow times still come from the frames' timestamps.
    // Stamps past the limit are not believed (a year-2100 frame would hold
    // the replay for decades): the burst's first and last believable ones.
    int64_t first = Pacer::kNoTime;
    int64_t last = Pacer::kNoTime;
    for (uint16_t i = 0; i < n; ++i) {
      const int64_t t = CaptureTimeNs(m[i], ts_offset_);
      if (t > ts_limit_ns_) continue;
      if (first == Pacer::kNoTime) first = t;
      last = t;
    }
    if (pacer_->Wait(n, first, last, stop, idle_.rest != nullptr ? &idle_ : nullptr)) {
      ++*pacing_waits;
    }
  }
  return n;
}

}  // namespace skyprobe
