#include "table/flow_table.h"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>

#include <algorithm>
#include <cstring>

#include "skyprobe/status.h"

namespace skyprobe {
namespace {

constexpr uint32_t kLookupMax = 64;     // RTE_HASH_LOOKUP_BULK_MAX
constexpr uint32_t kTimerBudget = 1024; // flows visited per AdvanceClock call
constexpr uint32_t kWheelSlots = 4096;

inline uint32_t Sig(uint64_t key) { return static_cast<uint32_t>(key ^ (key >> 32)); }
inline int64_t Ms(int64_t ns) { return ns / 1'000'000; }

inline bool IsEchoRequest(const SubPacket& s) {
  return (s.icmp_version == 4 && s.icmp_raw_type == 8) ||
         (s.icmp_version == 6 && s.icmp_raw_type == 128);
}
inline bool IsEchoReply(const SubPacket& s) {
  return (s.icmp_version == 4 && s.icmp_raw_type == 0) ||
         (s.icmp_version == 6 && s.icmp_raw_type == 129);
}

}  // namespace

FlowTable::FlowTable(const FlowTableOptions& opts, RecordSink sink) : opts_(opts), sink_(sink) {}

absl::StatusOr<std::unique_ptr<FlowTable>> FlowTable::Create(const FlowTableOptions& opts,
                                                             RecordSink sink) {
  if (opts.max_flows == 0) return absl::InvalidArgumentError("max_flows must be > 0");
  if (opts.tick_ns <= 0 || opts.expire_ns <= 0 || opts.update_ns <= 0) {
    return absl::InvalidArgumentError("timer periods must be > 0");
  }
  if (sink.acquire == nullptr || sink.publish == nullptr) {
    return absl::InvalidArgumentError("flow table needs a record sink");
  }
  std::unique_ptr<FlowTable> t(new FlowTable(opts, sink));
  SKYPROBE_RETURN_IF_ERROR(Annotate(t->Init(), opts.name));
  return t;
}

absl::Status FlowTable::Init() {
  rte_hash_parameters params{};
  params.name = opts_.name.c_str();
  params.entries = std::max<uint32_t>(opts_.max_flows, 8);
  params.key_len = sizeof(uint64_t);
  params.hash_func = rte_jhash;
  params.hash_func_init_val = 0;
  params.socket_id = opts_.socket_id;
  // Extendable buckets: inserts succeed up to `entries` whatever the key mix,
  // so the table limit is ours (max_flows), not cuckoo displacement luck.
  params.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  hash_ = rte_hash_create(&params);
  if (hash_ == nullptr) return ErrnoToStatus(-rte_errno, "rte_hash_create");
  capacity_ = params.entries + 64;
  hot_ = static_cast<FlowHot*>(
      rte_zmalloc_socket("flow_hot", sizeof(FlowHot) * capacity_, 64, opts_.socket_id));
  warm_ = static_cast<FlowWarm*>(
      rte_zmalloc_socket("flow_warm", sizeof(FlowWarm) * capacity_, 64, opts_.socket_id));
  cold_ = static_cast<FlowCold*>(
      rte_zmalloc_socket("flow_cold", sizeof(FlowCold) * capacity_, 64, opts_.socket_id));
  if (hot_ == nullptr || warm_ == nullptr || cold_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate ", capacity_, " flow records (",
                     (sizeof(FlowHot) + sizeof(FlowWarm) + sizeof(FlowCold)) * capacity_ >> 20,
                     " MiB): lower --max-flows or give EAL more memory"));
  }
  for (uint32_t i = 0; i < capacity_; ++i) warm_[i] = FlowWarm();
  wheel_ = std::make_unique<TimerWheel>(warm_, opts_.tick_ns, kWheelSlots);
  touched_.reserve(std::min<uint32_t>(capacity_, 1u << 22));
  reporting_.reserve(touched_.capacity());
  return absl::OkStatus();
}

FlowTable::~FlowTable() {
  if (hash_ != nullptr) rte_hash_free(hash_);
  rte_free(hot_);
  rte_free(warm_);
  rte_free(cold_);
}

void FlowTable::ProcessBurst(const uint8_t* const* frames, const ParsedPacket* pkts,
                             const int64_t* ts_ns, uint32_t n) noexcept {
  KeyBytes kb[kLookupMax];
  uint64_t keys[kLookupMax];
  const void* key_ptrs[kLookupMax];
  hash_sig_t sigs[kLookupMax];
  int32_t positions[kLookupMax];
  uint64_t parent[kLookupMax];
  bool alive[kLookupMax];
  uint32_t idx[kLookupMax];
  int32_t refused[kLookupMax];

  for (uint32_t base = 0; base < n; base += kLookupMax) {
    const uint32_t count = std::min(n - base, kLookupMax);
    for (uint32_t i = 0; i < count; ++i) alive[i] = pkts[base + i].num_sub > 0;
    bool counted[kLookupMax] = {};
    // Sub-packets level by level: a tunnel's inner flow needs its parent's UUID.
    for (uint8_t level = 0; level < kMaxSubPackets; ++level) {
      uint32_t m = 0;
      for (uint32_t i = 0; i < count; ++i) {
        const ParsedPacket& p = pkts[base + i];
        if (!alive[i] || p.num_sub <= level) continue;
        BuildKeyBytes(frames[base + i], p.sub[level], opts_.key_mode, parent[i], level > 0,
                      &kb[m]);
        keys[m] = LookupKey(kb[m]);
        key_ptrs[m] = &keys[m];
        sigs[m] = Sig(keys[m]);
        idx[m] = i;
        ++m;
      }
      if (m == 0) break;
      rte_hash_lookup_with_hash_bulk(hash_, key_ptrs, sigs, m, positions);
      for (uint32_t j = 0; j < m; ++j) {
        if (positions[j] >= 0) SKYPROBE_PREFETCH_W(&hot_[positions[j]]);
      }
      for (uint32_t j = 0; j < m; ++j) {
        const uint32_t i = idx[j];
        const uint8_t* frame = frames[base + i];
        const SubPacket& sub = pkts[base + i].sub[level];
        const int32_t pos = FindOrCreate(frame, sub, kb[j], keys[j], positions[j], ts_ns[base + i]);
        if (pos < 0) {
          alive[i] = false;  // no flow for this level: deeper levels have no parent
          if (level == 0) refused[i] = pos;
          continue;
        }
        Account(static_cast<uint32_t>(pos), frame, sub, kb[j], ts_ns[base + i]);
        parent[i] = cold_[pos].uuid;
        counted[i] = true;
      }
    }
    for (uint32_t i = 0; i < count; ++i) {
      if (pkts[base + i].num_sub == 0) continue;
      if (counted[i]) {
        ++counters_.packets_in_flows;
      } else if (refused[i] == kRefusedRing) {
        ++counters_.drop_ring_full;
      } else {
        ++counters_.drop_table_full;
      }
    }
  }
}

int32_t FlowTable::FindOrCreate(const uint8_t* frame, const SubPacket& sub, const KeyBytes& kb,
                                uint64_t key, int32_t looked_up, int64_t ts_ns) noexcept {
  // A bulk lookup result can be stale: an earlier packet of this burst may
  // have evicted that flow, or created this one.
  if (looked_up >= 0 && hot_[looked_up].key == key && (hot_[looked_up].flags & kFlowLive)) {
    return looked_up;
  }
  int32_t pos = rte_hash_lookup_with_hash(hash_, &key, Sig(key));
  if (pos >= 0) return pos;
  if (live_ >= opts_.max_flows) {
    if (opts_.overload == OverloadPolicy::kDropNew) return kRefusedFull;
    const uint32_t victim = wheel_->Oldest();
    if (victim == kNoIndex) return kRefusedFull;
    if (!Expire(victim, ExpireReason::kEvicted)) return kRefusedRing;
    ++counters_.flows_evicted;
  }
  pos = rte_hash_add_key_with_hash(hash_, &key, Sig(key));
  if (SKYPROBE_UNLIKELY(pos < 0 || static_cast<uint32_t>(pos) >= capacity_)) return kRefusedFull;
  InitFlow(static_cast<uint32_t>(pos), frame, sub, kb, key, ts_ns);
  return pos;
}

void FlowTable::InitFlow(uint32_t pos, const uint8_t* frame, const SubPacket& sub,
                         const KeyBytes& kb, uint64_t key, int64_t ts_ns) noexcept {
  FlowHot& h = hot_[pos];
  FlowWarm& w = warm_[pos];
  FlowCold& c = cold_[pos];
  h = FlowHot();
  h.key = key;
  h.last_ns = ts_ns;
  h.flags = kFlowLive | (kb.swap ? kFlowFirstSwap : 0) |
            (sub.transport == FlowProtocol::kTcp ? kFlowTcp : 0);
  h.rule = static_cast<uint8_t>(kb.rule);
  h.icmp_type = static_cast<uint8_t>(sub.icmp_type);
  h.transport_a = sub.src_port;

  w.start_ns = ts_ns;
  w.rtt_ns = 0;
  w.snap_ab_packets = w.snap_ab_bytes = w.snap_ba_packets = w.snap_ba_bytes = 0;
  w.tcp = TcpMetric();

  const FlowIds ids = TrackingIds(kb);
  c.tracking_id = ids.tracking_id;
  c.l3_tracking_id = ids.l3_tracking_id;
  c.uuid = FlowUuid(TableKey(kb), Ms(ts_ns), opts_.node_tid.data(),
                    static_cast<uint32_t>(opts_.node_tid.size()));
  // The parent UUID is the last part of the key bytes (after l2_len).
  c.has_parent = kb.len > kb.l2_len;
  c.parent_uuid = 0;
  for (uint8_t i = kb.l2_len; i < kb.len; ++i) {
    const uint8_t ch = kb.data[i];
    c.parent_uuid = (c.parent_uuid << 4) | (ch <= '9' ? ch - '0' : ch - 'a' + 10);
  }
  c.num_layers = sub.num_layers;
  std::memcpy(c.layers, sub.layers, sub.num_layers * sizeof(Layer));
  c.has_link = sub.has_link;
  if (sub.has_link) {
    std::memcpy(c.link_a, frame + sub.mac_src_off, 6);
    std::memcpy(c.link_b, frame + sub.mac_dst_off, 6);
  }
  c.link_id = static_cast<int64_t>(sub.link_id);
  c.ip_version = sub.ip_version;
  if (sub.ip_version != 0) {
    const int len = sub.ip_version == 4 ? 4 : 16;
    std::memcpy(c.network_a, frame + sub.ip_src_off, len);
    std::memcpy(c.network_b, frame + sub.ip_dst_off, len);
  }
  c.network_id = sub.network_id;
  c.transport = sub.transport;
  c.transport_b = sub.dst_port;
  c.icmp_version = sub.icmp_version;
  c.icmp_code = sub.icmp_code;
  c.icmp_raw_type = sub.icmp_raw_type;
  c.icmp_id = sub.icmp_id;
  c.first_finish = FinishType::kNotFinished;
  if (sub.transport == FlowProtocol::kTcp) {
    if (sub.tcp_flags & kTcpFin) c.first_finish = FinishType::kTcpFin;
    if (sub.tcp_flags & kTcpRst) c.first_finish = FinishType::kTcpRst;
  }

  if (!clock_started_) AdvanceClock(ts_ns);
  wheel_->Arm(pos, ts_ns + opts_.expire_ns);
  ++live_;
  ++counters_.flows_created;
}

void FlowTable::Account(uint32_t pos, const uint8_t* frame, const SubPacket& sub,
                        const KeyBytes& kb, int64_t ts_ns) noexcept {
  FlowHot& h = hot_[pos];
  bool ab;
  switch (static_cast<DirectionRule>(kb.rule)) {
    case DirectionRule::kPortTie:
      ab = h.transport_a > sub.src_port;  // Skydive's inverted tie-break, kept on purpose
      break;
    case DirectionRule::kIcmpTie:
      ab = h.icmp_type > static_cast<uint8_t>(sub.icmp_type);
      break;
    default:
      ab = kb.swap == ((h.flags & kFlowFirstSwap) != 0);
  }
  if (ab) {
    ++h.ab_packets;
    h.ab_bytes += sub.length;
  } else {
    ++h.ba_packets;
    h.ba_bytes += sub.length;
  }
  h.last_ns = ts_ns;

  if (sub.icmp_version != 0) {
    if (IsEchoRequest(sub)) {
      if (h.rtt_start_ns == 0) h.rtt_start_ns = ts_ns;
    } else if (IsEchoReply(sub) && h.rtt_start_ns != 0) {
      warm_[pos].rtt_ns = ts_ns - h.rtt_start_ns;
      h.rtt_start_ns = 0;
    }
  } else if ((h.flags & kFlowTcp) && (sub.tcp_flags & (kTcpSyn | kTcpFin | kTcpRst))) {
    TcpFlags(pos, frame, sub, ts_ns);
  }

  if (!(h.flags & kFlowTouched)) {
    h.flags |= kFlowTouched;
    if (touched_.size() < touched_.capacity()) {
      touched_.push_back(pos);
    } else {
      touched_overflow_ = true;
    }
  }
}

void FlowTable::TcpFlags(uint32_t pos, const uint8_t* frame, const SubPacket& sub,
                         int64_t ts_ns) noexcept {
  FlowHot& h = hot_[pos];
  FlowWarm& w = warm_[pos];
  const FlowCold& c = cold_[pos];
  const uint8_t f = sub.tcp_flags;
  // RTT: SYN -> SYN/ACK (or RST) as seen at the probe.
  if ((f & kTcpSyn) && !(f & kTcpAck)) {
    if (h.rtt_start_ns == 0) h.rtt_start_ns = ts_ns;
  } else if (((f & kTcpSyn) && (f & kTcpAck)) || (f & kTcpRst)) {
    if (h.rtt_start_ns != 0) {
      w.rtt_ns = ts_ns - h.rtt_start_ns;
      h.rtt_start_ns = 0;
    }
  }
  // Skydive compares the source IP with Network.A (not the MAC).
  const int len = sub.ip_version == 4 ? 4 : 16;
  const bool from_a =
      sub.ip_version == 0 || std::memcmp(frame + sub.ip_src_off, c.network_a, len) == 0;
  const int64_t ms = Ms(ts_ns);
  const bool was_closed = Closed(h);
  if (f & kTcpSyn) {
    if (from_a && w.tcp.ab_syn_start == 0) {
      w.tcp.ab_syn_start = ms;
      w.tcp.ab_syn_ttl = sub.ttl;
    } else if (w.tcp.ba_syn_start == 0) {
      w.tcp.ba_syn_start = ms;
      w.tcp.ba_syn_ttl = sub.ttl;
    }
  } else if (f & kTcpFin) {
    (from_a ? w.tcp.ab_fin_start : w.tcp.ba_fin_start) = ms;
    h.flags |= from_a ? kFlowFinAb : kFlowFinBa;
  } else if (f & kTcpRst) {
    (from_a ? w.tcp.ab_rst_start : w.tcp.ba_rst_start) = ms;
    h.flags |= kFlowRst;
  }
  if (!was_closed && Closed(h)) {
    // Closed both ways or reset: export after a short hold (late ACKs still count).
    wheel_->Disarm(pos);
    wheel_->Arm(pos, ts_ns + opts_.tcp_close_hold_ns);
  }
}

bool FlowTable::AdvanceClock(int64_t now_ns) noexcept {
  if (!clock_started_) {
    clock_started_ = true;
    now_ns_ = now_ns;
    wheel_->Start(now_ns);
    next_update_ns_ = now_ns + opts_.update_ns;
    last_tick_ms_ = Ms(now_ns);
  }
  if (now_ns > now_ns_) now_ns_ = now_ns;
  if (report_active_) ContinueUpdateTick();
  if (now_ns_ >= next_update_ns_ && !report_active_) {
    StartUpdateTick(next_update_ns_);
    // Catch up over idle gaps without emitting empty windows.
    while (next_update_ns_ <= now_ns_) next_update_ns_ += opts_.update_ns;
    ContinueUpdateTick();
  }
  return wheel_->Advance(now_ns_, kTimerBudget, [this](uint32_t pos) { OnTimer(pos); }) &&
         !report_active_;
}

void FlowTable::OnTimer(uint32_t pos) noexcept {
  const FlowHot& h = hot_[pos];
  const bool closed = Closed(h);
  const int64_t deadline = h.last_ns + (closed ? opts_.tcp_close_hold_ns : opts_.expire_ns);
  if (deadline > now_ns_) {
    wheel_->Arm(pos, deadline);
  } else if (!Expire(pos, closed ? ExpireReason::kTcpClosed : ExpireReason::kIdle)) {
    wheel_->Arm(pos, now_ns_ + 1);  // no record slot: retry at the next tick
  }
}

void FlowTable::StartUpdateTick(int64_t tick_ns) noexcept {
  // New touches go to a fresh list while this window is reported.
  std::swap(touched_, reporting_);
  touched_.clear();
  report_scan_ = touched_overflow_;
  touched_overflow_ = false;
  if (report_scan_) ++counters_.touched_overflow;
  report_cursor_ = 0;
  report_tick_ms_ = Ms(tick_ns);
  report_active_ = true;
}

bool FlowTable::ContinueUpdateTick() noexcept {
  const size_t end = report_scan_ ? capacity_ : reporting_.size();
  for (; report_cursor_ < end; ++report_cursor_) {
    const uint32_t pos =
        report_scan_ ? static_cast<uint32_t>(report_cursor_) : reporting_[report_cursor_];
    // Entries of flows expired since (or duplicated by slot reuse) are skipped.
    if ((hot_[pos].flags & (kFlowLive | kFlowTouched)) != (kFlowLive | kFlowTouched)) continue;
    if (!EmitUpdate(pos, report_tick_ms_)) return false;  // resume here next call
  }
  reporting_.clear();
  report_active_ = false;
  last_tick_ms_ = report_tick_ms_;
  return true;
}

bool FlowTable::EmitUpdate(uint32_t pos, int64_t tick_ms) noexcept {
  FlowSnapshot* s = sink_.acquire(sink_.ctx);
  if (SKYPROBE_UNLIKELY(s == nullptr)) {
    ++counters_.record_stalls;
    return false;
  }
  FillSnapshot(pos, FlowEvent::kUpdate, ExpireReason::kNone, s);
  s->last_update_metric.last = tick_ms;
  sink_.publish(sink_.ctx, s);
  FlowHot& h = hot_[pos];
  FlowWarm& w = warm_[pos];
  w.snap_ab_packets = h.ab_packets;
  w.snap_ab_bytes = h.ab_bytes;
  w.snap_ba_packets = h.ba_packets;
  w.snap_ba_bytes = h.ba_bytes;
  h.flags = static_cast<uint8_t>((h.flags & ~kFlowTouched) | kFlowUpdated);
  ++counters_.update_records;
  return true;
}

bool FlowTable::Expire(uint32_t pos, ExpireReason reason) noexcept {
  FlowSnapshot* s = sink_.acquire(sink_.ctx);
  if (SKYPROBE_UNLIKELY(s == nullptr)) {
    ++counters_.record_stalls;
    return false;  // the flow stays, whole, until a slot is free
  }
  FillSnapshot(pos, FlowEvent::kExpire, reason, s);
  sink_.publish(sink_.ctx, s);
  switch (reason) {
    case ExpireReason::kIdle: ++counters_.expired_idle; break;
    case ExpireReason::kTcpClosed: ++counters_.expired_tcp_closed; break;
    case ExpireReason::kFlush: ++counters_.expired_flush; break;
    default: break;  // evictions are counted by the caller
  }
  wheel_->Disarm(pos);
  FlowHot& h = hot_[pos];
  rte_hash_del_key_with_hash(hash_, &h.key, Sig(h.key));
  h.flags = 0;
  --live_;
  return true;
}

bool FlowTable::FlushAll() noexcept {
  for (; flush_cursor_ < capacity_ && live_ > 0; ++flush_cursor_) {
    if ((hot_[flush_cursor_].flags & kFlowLive) && !Expire(flush_cursor_, ExpireReason::kFlush)) {
      return false;
    }
  }
  flush_cursor_ = 0;
  touched_.clear();
  touched_overflow_ = false;
  reporting_.clear();
  report_active_ = false;
  return true;
}

void FlowTable::FillSnapshot(uint32_t pos, FlowEvent event, ExpireReason reason,
                             FlowSnapshot* s) const {
  const FlowHot& h = hot_[pos];
  const FlowWarm& w = warm_[pos];
  const FlowCold& c = cold_[pos];
  *s = FlowSnapshot();
  s->event = event;
  s->expire_reason = reason;
  s->worker = opts_.worker_id;
  s->uuid = c.uuid;
  s->parent_uuid = c.parent_uuid;
  s->has_parent = c.has_parent;
  s->tracking_id = c.tracking_id;
  s->l3_tracking_id = c.l3_tracking_id;
  s->num_layers = c.num_layers;
  std::memcpy(s->layers, c.layers, c.num_layers * sizeof(Layer));
  s->has_link = c.has_link;
  std::memcpy(s->link_a, c.link_a, 6);
  std::memcpy(s->link_b, c.link_b, 6);
  s->link_id = c.link_id;
  s->ip_version = c.ip_version;
  std::memcpy(s->network_a, c.network_a, 16);
  std::memcpy(s->network_b, c.network_b, 16);
  s->network_id = c.network_id;
  s->transport = c.transport;
  s->transport_a = h.transport_a;
  s->transport_b = c.transport_b;
  s->icmp_version = c.icmp_version;
  s->icmp_type = static_cast<IcmpType>(h.icmp_type);
  s->icmp_code = c.icmp_code;
  s->icmp_raw_type = c.icmp_raw_type;
  s->has_icmp_raw_type = c.icmp_version != 0;
  s->icmp_id = c.icmp_id;
  s->start = Ms(w.start_ns);
  s->last = Ms(h.last_ns);
  s->metric = {h.ab_packets, h.ab_bytes, h.ba_packets, h.ba_bytes, s->start, s->last, w.rtt_ns};
  s->has_last_update_metric = true;
  // The window since the last update tick; a flow untouched since then has
  // an empty window at the tick (Skydive resets it there).
  const int64_t window_start = std::max(s->start, last_tick_ms_);
  s->last_update_metric = {h.ab_packets - w.snap_ab_packets, h.ab_bytes - w.snap_ab_bytes,
                           h.ba_packets - w.snap_ba_packets, h.ba_bytes - w.snap_ba_bytes,
                           window_start, std::max(s->last, window_start), 0};
  s->has_tcp_metric = (h.flags & kFlowTcp) != 0;
  if (s->has_tcp_metric) s->tcp_metric = w.tcp;
  if (event == FlowEvent::kExpire) {
    if (h.flags & kFlowRst) {
      s->finish_type = FinishType::kTcpRst;
    } else if ((h.flags & (kFlowFinAb | kFlowFinBa)) == (kFlowFinAb | kFlowFinBa)) {
      s->finish_type = FinishType::kTcpFin;
    } else if (c.first_finish != FinishType::kNotFinished) {
      s->finish_type = c.first_finish;
    } else {
      s->finish_type = FinishType::kTimeout;
    }
  } else {
    s->finish_type = c.first_finish;
  }
}

}  // namespace skyprobe
