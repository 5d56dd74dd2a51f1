// flow_table_snapshot.cc: a flow of the shard as a FlowSnapshot, for its
// records and for queries (both read the same fields the same way).
#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

#include "table/flow_key.h"
#include "table/flow_table.h"
#include "table/internal/flow_table_util.h"

namespace skyprobe {

using table_internal::Ms;

void FlowTable::FillSnapshot(uint32_t pos, FlowEvent event, ExpireReason reason,
                             FlowSnapshot* s) const {
  const FlowHot& h = hot_[pos];
  const FlowCold& c = cold_[pos];
  // Reset in place: `*s = FlowSnapshot()` built a zeroed temporary and then
  // copied it over, writing the record's bytes twice. The metadata box keeps
  // its storage (a reused slot allocates once), emptied.
  AppMetaBox app;
  swap(app, s->app);
  std::destroy_at(s);
  ::new (static_cast<void*>(s)) FlowSnapshot();
  swap(app, s->app);
  s->app.Clear();
  s->event = event;
  s->expire_reason = reason;
  s->worker = opts_.worker_id;
  s->uuid = uuids_[pos];
  // Identity from the key: its parent, its IDs (hashes of Skydive's key
  // bytes, rebuilt from it), its addresses in the first packet's order.
  s->has_parent = KeyParentUuid(h.key, &s->parent_uuid);
  KeyBytes kb;
  KeyBytesOf(h.key, &kb);
  const FlowIds ids = TrackingIds(kb);
  s->tracking_id = ids.tracking_id;
  s->l3_tracking_id = ids.l3_tracking_id;
  s->num_layers = c.num_layers;
  c.layers.Get(s->layers, c.num_layers);
  s->has_link = c.has_link;
  std::memcpy(s->link_a, c.link_a, 6);
  std::memcpy(s->link_b, c.link_b, 6);
  s->link_id = c.link_id;
  s->ip_version = KeyIpVersion(h.key);
  if (const uint8_t* first = KeyIp(h.key, false); first != nullptr) {
    const uint8_t* second = KeyIp(h.key, true);
    const bool swapped = (h.flags & kFlowFirstSwap) != 0;
    const size_t len = s->ip_version == 4 ? 4 : 16;
    std::memcpy(s->network_a, swapped ? second : first, len);
    std::memcpy(s->network_b, swapped ? first : second, len);
  }
  s->network_id = c.network_id;
  s->transport = static_cast<FlowProtocol>(c.transport);
  s->transport_a = h.transport_a;
  s->transport_b = c.transport_b;
  s->icmp_version = KeyHasIcmp(h.key) ? (c.icmp_v6 ? 6 : 4) : 0;
  s->icmp_type = static_cast<IcmpType>(h.icmp_type);
  s->icmp_code = c.icmp_code;
  s->icmp_raw_type = c.icmp_raw_type;
  s->has_icmp_raw_type = s->icmp_version != 0;
  s->icmp_id = c.icmp_id;
  s->input = KeyInput(h.key);
  s->start = c.start_ms.Get();
  s->last = Ms(h.last_ns);
  s->metric = {h.ab_packets, h.ab_bytes, h.ba_packets, h.ba_bytes, s->start, s->last, c.rtt_ns};
  s->has_last_update_metric = true;
  // The window since the last update tick; a flow untouched since then has
  // an empty window at the tick (Skydive resets it there).
  const int64_t window_start = std::max(s->start, last_tick_ms_);
  s->last_update_metric = {h.ab_packets - c.snap_ab_packets,
                           h.ab_bytes - c.snap_ab_bytes,
                           h.ba_packets - c.snap_ba_packets,
                           h.ba_bytes - c.snap_ba_bytes,
                           window_start,
                           std::max(s->last, window_start),
                           0};
  if (raw_ != nullptr) s->raw_packets_captured = raw_->kept(pos);
  if (app_ != nullptr) app_->Fill(pos, &s->app);  // nothing to copy when the flow has none
  if (scaled_ != nullptr) {
    s->has_scaled_metric = true;
    s->scaled_metric = scaled_[pos];
  }
  if (opts_.node_tid_in_records) {
    std::memcpy(s->node_tid, opts_.node_tid.data(), opts_.node_tid.size());  // checked at Init
  }
  s->has_ip_metric = c.saw_fragments != 0;
  if (s->has_ip_metric) s->ip_metric = {ip_metric_[pos].fragments, ip_metric_[pos].errors};
  // The label stack, for a flow whose path ends in one (never a TCP flow).
  if (!(h.flags & kFlowTcp)) {
    s->mpls_count = c.mpls_count;
    std::memcpy(s->mpls, c.mpls, sizeof(c.mpls));
  }
  s->has_tcp_metric = (h.flags & kFlowTcp) != 0;
  if (s->has_tcp_metric) {
    TcpMetric& t = s->tcp_metric;
    t.ab_syn_start = c.ab_syn_start.Get();
    t.ba_syn_start = c.ba_syn_start.Get();
    t.ab_syn_ttl = c.ab_syn_ttl;
    t.ba_syn_ttl = c.ba_syn_ttl;
    t.ab_fin_start = c.ab_fin_start.Get();
    t.ba_fin_start = c.ba_fin_start.Get();
    t.ab_rst_start = c.ab_rst_start.Get();
    t.ba_rst_start = c.ba_rst_start.Get();
    s->tcp_flags_ab = h.tcp_flags_ab;
    s->tcp_flags_ba = h.tcp_flags_ba;
    if (tcp_track_) FillTcpTrackers(pos, event, &t);
  }
  // How the flow ended, the same in every record and live answer: a RST,
  // FIN both ways, or what its first packet said (Skydive's rule); an
  // expiry without any of them is a TIMEOUT. A flow still open has none.
  if (h.flags & kFlowRst) {
    s->finish_type = FinishType::kTcpRst;
  } else if ((h.flags & (kFlowFinAb | kFlowFinBa)) == (kFlowFinAb | kFlowFinBa)) {
    s->finish_type = FinishType::kTcpFin;
  } else if (static_cast<FinishType>(c.first_finish) != FinishType::kNotFinished) {
    s->finish_type = static_cast<FinishType>(c.first_finish);
  } else if (event == FlowEvent::kExpire) {
    s->finish_type = FinishType::kTimeout;
  }
}

void FlowTable::FillLiveSnapshot(uint32_t pos, FlowSnapshot* s) const {
  FillSnapshot(pos, FlowEvent::kUpdate, ExpireReason::kNone, s);
  s->has_last_update_metric = (hot_[pos].flags & kFlowUpdated) != 0;
  if (!s->has_last_update_metric) s->last_update_metric = FlowMetric();
}

}  // namespace skyprobe
