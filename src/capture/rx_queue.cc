#include "capture/rx_queue.h"

#include <rte_ethdev.h>

namespace skyprobe {

uint16_t RxQueue::Receive(rte_mbuf** m, const std::atomic<bool>* stop,
                          uint64_t* pacing_waits) noexcept {
  const uint16_t n = rte_eth_rx_burst(spec_.port_id, spec_.queue_id, m,
                                      pacer_ != nullptr ? pacer_->burst() : kMaxBurst);
  if (n == 0) {
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
    // Replay pacing: hold the burst until its last frame is due (sleeping, as
    // waiting is the point). Flow times still come from the frames' timestamps.
    if (pacer_->Wait(n, CaptureTimeNs(m[0], ts_offset_), CaptureTimeNs(m[n - 1], ts_offset_),
                     stop)) {
      ++*pacing_waits;
    }
  }
  return n;
}

}  // namespace skyprobe
