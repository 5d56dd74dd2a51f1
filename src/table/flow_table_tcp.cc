// flow_table_tcp.cc: TCP state of a flow from the flags of its packets:
// SYN/FIN/RST times and SYN TTLs (TCPMetric), SYN -> SYN/ACK RTT, and the
// close that expires the flow after a hold. Called by Account() only for TCP
// packets with SYN, FIN or RST set.
#include <cstring>

#include "table/flow_table.h"
#include "table/internal/flow_table_util.h"

namespace skyprobe {
namespace {

using table_internal::Ms;

// memcmp(a, b, 4 or 16) == 0 with fixed-size loads.
inline bool SameIp(const uint8_t* a, const uint8_t* b, bool v4) {
  uint64_t x[2], y[2];
  if (v4) {
    uint32_t u, v;
    std::memcpy(&u, a, 4);
    std::memcpy(&v, b, 4);
    return u == v;
  }
  std::memcpy(x, a, 16);
  std::memcpy(y, b, 16);
  return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

}  // namespace

void FlowTable::TcpFlags(uint32_t pos, const uint8_t* frame, const SubPacket& sub,
                         int64_t ts_ns) noexcept {
  FlowHot& h = hot_[pos];
  FlowCold& c = cold_[pos];
  const uint8_t f = sub.tcp_flags;
  // RTT: SYN -> SYN/ACK (or RST) as seen at the probe.
  if ((f & kTcpSyn) && !(f & kTcpAck)) {
    if (h.rtt_start_ns == 0) h.rtt_start_ns = ts_ns;
  } else if (((f & kTcpSyn) && (f & kTcpAck)) || (f & kTcpRst)) {
    if (h.rtt_start_ns != 0) {
      c.rtt_ns = ts_ns - h.rtt_start_ns;
      h.rtt_start_ns = 0;
    }
  }
  // Skydive compares the source IP with Network.A (not the MAC).
  const bool from_a =
      sub.ip_version == 0 || SameIp(frame + sub.ip_src_off, c.network_a, sub.ip_version == 4);
  const int64_t ms = Ms(ts_ns);
  const bool was_closed = Closed(h);
  if (f & kTcpSyn) {
    if (from_a && c.ab_syn_start.Get() == 0) {
      c.ab_syn_start.Set(ms);
      c.ab_syn_ttl = sub.ttl;
    } else if (c.ba_syn_start.Get() == 0) {
      c.ba_syn_start.Set(ms);
      c.ba_syn_ttl = sub.ttl;
    }
  } else if (f & kTcpFin) {
    (from_a ? c.ab_fin_start : c.ba_fin_start).Set(ms);
    h.flags |= from_a ? kFlowFinAb : kFlowFinBa;
  } else if (f & kTcpRst) {
    (from_a ? c.ab_rst_start : c.ba_rst_start).Set(ms);
    h.flags |= kFlowRst;
  }
  if (!was_closed && Closed(h)) {
    // Closed both ways or reset: export after a short hold (late ACKs still count).
    wheel_->Disarm(pos);
    wheel_->Arm(pos, ts_ns + opts_.tcp_close_hold_ns);
  }
}

}  // namespace skyprobe
