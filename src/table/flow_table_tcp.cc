// flow_table_tcp.cc: TCP state of a flow from the flags of its packets:
// SYN/FIN/RST times and SYN TTLs (TCPMetric), SYN -> SYN/ACK RTT, and the
// close that expires the flow after a hold (TcpFlags, called by Account()
// only for TCP packets with SYN, FIN or RST set); and the sequence trackers'
// side arrays (TrackTcp on every TCP packet when on, their record fields).
#include <cstring>

#include "table/flow_key.h"
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

inline uint32_t Be32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}

void FillStream(const TcpStreamDir& d, TcpStreamCounters* out) {
  out->segment_out_of_order = d.out_of_order;
  out->segment_skipped = d.skipped;
  out->segment_skipped_bytes = static_cast<int64_t>(d.skipped_bytes);
  out->packets = static_cast<int64_t>(d.packets);
  out->bytes = static_cast<int64_t>(d.bytes);
  out->saw_start = (d.state & kStreamSawStart) ? 1 : 0;
  out->saw_end = (d.state & kStreamSawEnd) ? 1 : 0;
}

void FillHealth(const TcpHealthCounters& c, TcpHealthCounts* out) {
  out->retransmissions = c.retransmissions;
  out->fast_retransmissions = c.fast_retransmissions;
  out->out_of_order = c.out_of_order;
  out->lost_segments = c.lost_segments;
  out->dup_acks = c.dup_acks;
  out->zero_windows = c.zero_windows;
}

}  // namespace

void FlowTable::TrackTcp(uint32_t pos, const uint8_t* frame, const SubPacket& sub, bool from_a,
                         int64_t ts_ns) noexcept {
  // The header's first 16 bytes: the parser read them already (same lines).
  const uint8_t* th = frame + sub.tcp_off;
  TcpSegment seg;
  seg.seq = Be32(th + 4);
  seg.ack = Be32(th + 8);
  seg.flags = th[13];
  seg.window = static_cast<uint16_t>((th[14] << 8) | th[15]);
  seg.len = sub.tcp_seg_len;
  const int dir = from_a ? 0 : 1;
  if (tcp_health_ != nullptr) TcpHealthUpdate(tcp_health_[pos], dir, seg, ts_ns);
  if (tcp_stream_ != nullptr) TcpStreamUpdate(tcp_stream_[pos].dir[dir], seg, ts_ns);
}

void FlowTable::FillTcpTrackers(uint32_t pos, FlowEvent event, TcpMetric* out) const noexcept {
  if (tcp_stream_ != nullptr) {
    out->has_stream = true;
    TcpStreamDir ab = tcp_stream_[pos].dir[0];
    TcpStreamDir ba = tcp_stream_[pos].dir[1];
    // The final record gives up the gaps still waiting (Skydive's flush).
    if (event == FlowEvent::kExpire) {
      TcpStreamFlush(&ab);
      TcpStreamFlush(&ba);
    }
    FillStream(ab, &out->ab_stream);
    FillStream(ba, &out->ba_stream);
  }
  if (tcp_health_ != nullptr) {
    const TcpHealth& h = tcp_health_[pos];
    out->has_health = true;
    FillHealth(h.count[0], &out->ab_health);
    FillHealth(h.count[1], &out->ba_health);
    out->server_handshake_us = (h.hs_flags & kHealthServerHs) ? h.server_hs_us : -1;
    out->client_handshake_us = (h.hs_flags & kHealthClientHs) ? h.client_hs_us : -1;
  }
}

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
  // Skydive compares the source IP with Network.A (not the MAC): the key's
  // second address when the first packet's were swapped into key order.
  const bool from_a = sub.ip_version == 0 ||
                      SameIp(frame + sub.ip_src_off, KeyIp(h.key, (h.flags & kFlowFirstSwap) != 0),
                             sub.ip_version == 4);
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
    // At least 1 ns: a timer a frame arms is never due at the frame's own
    // time (FlowTable::QuietUntil).
    ArmTimer(pos, ts_ns + std::max<int64_t>(opts_.tcp_close_hold_ns, 1));
  }
}

}  // namespace skyprobe
