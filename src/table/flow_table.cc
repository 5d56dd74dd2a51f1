#include "table/flow_table.h"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_malloc.h>

#include <algorithm>
#include <cstring>

#include "skyprobe/status.h"

namespace skyprobe {
namespace {

constexpr uint32_t kTimerBudget = 1024;  // flows visited per AdvanceClock call
constexpr uint32_t kWheelSlots = 4096;

inline uint32_t Sig(uint64_t key) { return static_cast<uint32_t>(key ^ (key >> 32)); }

// The rte_hash's own hash function: keys are XXH3 digests already, so it is
// the same fold as Sig. rte_hash calls it only where no signature is passed
// (rte_hash_get_key_with_position re-checks the slot with it).
uint32_t FoldKey(const void* key, uint32_t /*len*/, uint32_t /*init*/) {
  uint64_t k;
  std::memcpy(&k, key, sizeof(k));
  return Sig(k);
}

// Key compare for rte_hash: one 8-byte compare (rte_hash has no fixed-size
// compare for 8-byte keys and would call memcmp).
int KeyDiffers(const void* a, const void* b, size_t /*len*/) {
  uint64_t x, y;
  std::memcpy(&x, a, sizeof(x));
  std::memcpy(&y, b, sizeof(y));
  return x != y;
}
inline int64_t Ms(int64_t ns) { return ns / 1'000'000; }

inline bool IsEchoRequest(const SubPacket& s) {
  return (s.icmp_version == 4 && s.icmp_raw_type == 8) ||
         (s.icmp_version == 6 && s.icmp_raw_type == 128);
}
inline bool IsEchoReply(const SubPacket& s) {
  return (s.icmp_version == 4 && s.icmp_raw_type == 0) ||
         (s.icmp_version == 6 && s.icmp_raw_type == 129);
}

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
  params.hash_func = FoldKey;
  params.hash_func_init_val = 0;
  params.socket_id = opts_.socket_id;
  // Extendable buckets: inserts succeed up to `entries` whatever the key mix,
  // so the table limit is ours (max_flows), not cuckoo displacement luck.
  params.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  hash_ = rte_hash_create(&params);
  if (hash_ == nullptr) return ErrnoToStatus(-rte_errno, "rte_hash_create");
  rte_hash_set_cmp_func(hash_, KeyDiffers);
  capacity_ = params.entries + 64;
  // Zeroed memory is a free slot (FlowHot::wheel_slot 0 = not armed): no
  // initialisation pass, so a slot becomes resident only when first used.
  hot_ = static_cast<FlowHot*>(
      rte_zmalloc_socket("flow_hot", sizeof(FlowHot) * capacity_, 64, opts_.socket_id));
  cold_ = static_cast<FlowCold*>(
      rte_zmalloc_socket("flow_cold", sizeof(FlowCold) * capacity_, 64, opts_.socket_id));
  uuids_ = static_cast<uint64_t*>(
      rte_zmalloc_socket("flow_uuid", sizeof(uint64_t) * capacity_, 64, opts_.socket_id));
  if (hot_ == nullptr || cold_ == nullptr || uuids_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate ", capacity_, " flow records (",
                     (sizeof(FlowHot) + sizeof(FlowCold) + sizeof(uint64_t)) * capacity_ >> 20,
                     " MiB): lower --max-flows or give EAL more memory"));
  }
  wheel_ = std::make_unique<TimerWheel>(hot_, opts_.tick_ns, kWheelSlots);
  if (opts_.raw_first != 0 || opts_.raw_last != 0) {
    RawPacketArenaOptions ro;
    ro.first = opts_.raw_first;
    ro.last = opts_.raw_last;
    ro.capture_length = opts_.capture_length;
    ro.memory_bytes = opts_.raw_memory_bytes;
    absl::StatusOr<std::unique_ptr<RawPacketArena>> arena = RawPacketArena::Create(ro, capacity_);
    if (!arena.ok()) return arena.status();
    raw_ = *std::move(arena);
  }
  if (opts_.scaled_metrics) {
    scaled_ = static_cast<ScaledMetric*>(
        rte_zmalloc_socket("flow_scaled", sizeof(ScaledMetric) * capacity_, 64, opts_.socket_id));
    if (scaled_ == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot allocate scaled counters for ", capacity_, " flows"));
    }
  }
  if (opts_.node_tid_in_records && opts_.node_tid.size() >= kRecordNodeTidMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("node_tid '", opts_.node_tid, "' too long for records"));
  }
  if (opts_.ip_defrag) {
    if (opts_.ip_defrag_timeout_ns <= 0) {
      return absl::InvalidArgumentError("ip_defrag_timeout must be > 0");
    }
    absl::StatusOr<std::unique_ptr<Defragmenter>> d = Defragmenter::Create(opts_.ip_defrag_max);
    if (!d.ok()) return d.status();
    defrag_ = *std::move(d);
    ip_metric_ = static_cast<IpMetricSlot*>(rte_zmalloc_socket(
        "flow_ip_metric", sizeof(IpMetricSlot) * capacity_, 64, opts_.socket_id));
    if (ip_metric_ == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot allocate IPMetric of ", capacity_, " flows"));
    }
  }
  touched_.reserve(std::min<uint32_t>(capacity_, 1u << 22));
  reporting_.reserve(touched_.capacity());
  return absl::OkStatus();
}

FlowTable::~FlowTable() {
  if (hash_ != nullptr) rte_hash_free(hash_);
  rte_free(hot_);
  rte_free(cold_);
  rte_free(uuids_);
  rte_free(scaled_);
  rte_free(ip_metric_);
}

void FlowTable::ProcessBurst(const uint8_t* const* frames, const ParsedPacket* pkts,
                             const int64_t* ts_ns, uint32_t n, const uint32_t* caplens,
                             const uint32_t* weights) noexcept {
  // Defragmentation copies fragment headers: it needs to know how many
  // bytes each frame has. Without `caplens` fragments count as parsed.
  if (defrag_ == nullptr || caplens == nullptr) {
    ProcessRun(frames, pkts, ts_ns, n, caplens, weights);
    return;
  }
  // Fragments take the slow path one by one, in order with the other
  // frames (A is the source of a flow's first packet).
  for (uint32_t i = 0; i < n;) {
    uint32_t j = i;
    while (j < n && pkts[j].frag_sub == kNoFragSub) ++j;
    if (j > i) {
      ProcessRun(frames + i, pkts + i, ts_ns + i, j - i, caplens + i,
                 weights != nullptr ? weights + i : nullptr);
    }
    if (j < n) {
      ProcessFragment(frames[j], pkts[j], ts_ns[j], caplens[j]);
      ++j;
    }
    i = j;
  }
}

void FlowTable::ProcessRun(const uint8_t* const* frames, const ParsedPacket* pkts,
                           const int64_t* ts_ns, uint32_t n, const uint32_t* caplens,
                           const uint32_t* weights) noexcept {
  Scratch& x = scratch_;
  // The one test raw packet capture costs per sub-packet when it is off.
  RawPacketArena* const raw = caplens != nullptr ? raw_.get() : nullptr;
  // Same for the scaled counters (sFlow tables only).
  const bool scale = weights != nullptr && scaled_ != nullptr;
  for (uint32_t base = 0; base < n; base += kLookupMax) {
    const uint32_t count = std::min(n - base, kLookupMax);
    for (uint32_t i = 0; i < count; ++i) {
      x.alive[i] = pkts[base + i].num_sub > 0;
      x.counted[i] = false;
    }
    // Sub-packets level by level: a tunnel's inner flow needs its parent's UUID.
    for (uint8_t level = 0; level < kMaxSubPackets; ++level) {
      uint32_t m = 0;
      for (uint32_t i = 0; i < count; ++i) {
        const ParsedPacket& p = pkts[base + i];
        if (!x.alive[i] || p.num_sub <= level) continue;
        const uint64_t key = LookupKey(frames[base + i], p.sub[level], opts_.key_mode, x.parent[i],
                                       level > 0, &x.orient[m]);
        x.keys[m] = key;
        x.key_ptrs[m] = &x.keys[m];
        x.sigs[m] = Sig(key);
        x.idx[m] = i;
        ++m;
      }
      if (m == 0) break;
      // The bulk lookup prefetches every key's buckets and key slots before
      // comparing; then every hit's record line is fetched while the first
      // ones are accounted.
      const uint64_t removals = removals_;
      rte_hash_lookup_with_hash_bulk(hash_, x.key_ptrs, x.sigs, m, x.positions);
      for (uint32_t j = 0; j < m; ++j) {
        if (x.positions[j] >= 0) SKYPROBE_PREFETCH_W(&hot_[x.positions[j]]);
      }
      for (uint32_t j = 0; j < m; ++j) {
        const uint32_t i = x.idx[j];
        const ParsedPacket& p = pkts[base + i];
        const uint8_t* frame = frames[base + i];
        const SubPacket& sub = p.sub[level];
        const int32_t pos = FindOrCreate(frame, sub, x.parent[i], level > 0, x.keys[j],
                                         x.positions[j], removals_ != removals, ts_ns[base + i]);
        if (pos < 0) {
          x.alive[i] = false;  // no flow for this level: deeper levels have no parent
          if (level == 0) x.refused[i] = pos;
          continue;
        }
        const bool ab =
            Account(static_cast<uint32_t>(pos), frame, sub, x.orient[j], ts_ns[base + i]);
        if (SKYPROBE_UNLIKELY(scale)) Scale(static_cast<uint32_t>(pos), sub, ab, weights[base + i]);
        if (SKYPROBE_UNLIKELY(raw != nullptr)) {
          CaptureRaw(static_cast<uint32_t>(pos), frame, caplens[base + i], sub, ts_ns[base + i]);
        }
        // Only a tunnel's inner level reads the UUID: no cold line per packet.
        if (p.num_sub > level + 1) x.parent[i] = uuids_[pos];
        x.counted[i] = true;
      }
    }
    for (uint32_t i = 0; i < count; ++i) {
      if (pkts[base + i].num_sub == 0) continue;
      if (x.counted[i]) {
        ++counters_.packets_in_flows;
      } else if (x.refused[i] == kRefusedRing) {
        ++counters_.drop_ring_full;
      } else {
        ++counters_.drop_table_full;
      }
    }
  }
}

int32_t FlowTable::FindOrCreate(const uint8_t* frame, const SubPacket& sub, uint64_t parent_uuid,
                                bool has_parent, uint64_t key, int32_t looked_up, bool stale,
                                int64_t ts_ns) noexcept {
  // A bulk lookup result is stale once a flow left the table since (an
  // earlier packet of this burst evicted it, and its slot may hold another
  // flow now); a miss is stale if an earlier packet created this flow.
  if (looked_up >= 0 && !stale) return looked_up;
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
  // Skydive's key bytes, for its IDs: only now that a flow is created.
  KeyBytes kb;
  BuildKeyBytes(frame, sub, opts_.key_mode, parent_uuid, has_parent, &kb);
  InitFlow(static_cast<uint32_t>(pos), frame, sub, kb, ts_ns);
  return pos;
}

int32_t FlowTable::Lookup(uint64_t key) const noexcept {
  return rte_hash_lookup_with_hash(hash_, &key, Sig(key));
}

void FlowTable::InitFlow(uint32_t pos, const uint8_t* frame, const SubPacket& sub,
                         const KeyBytes& kb, int64_t ts_ns) noexcept {
  FlowHot& h = hot_[pos];
  FlowCold& c = cold_[pos];
  h = FlowHot();
  h.last_ns = ts_ns;
  h.flags = kFlowLive | (kb.swap ? kFlowFirstSwap : 0) |
            (sub.transport == FlowProtocol::kTcp ? kFlowTcp : 0);
  h.rule = static_cast<uint8_t>(kb.rule);
  h.icmp_type = static_cast<uint8_t>(sub.icmp_type);
  h.transport_a = sub.src_port;

  c = FlowCold{};
  c.start_ms.Set(Ms(ts_ns));

  const FlowIds ids = TrackingIds(kb);
  c.tracking_id = ids.tracking_id;
  c.l3_tracking_id = ids.l3_tracking_id;
  uuids_[pos] = FlowUuid(TableKey(kb), Ms(ts_ns), opts_.node_tid.data(),
                         static_cast<uint32_t>(opts_.node_tid.size()));
  // The parent UUID is the last part of the key bytes (after l2_len).
  c.has_parent = kb.len > kb.l2_len;
  c.parent_uuid = 0;
  for (uint8_t i = kb.l2_len; i < kb.len; ++i) {
    const uint8_t ch = kb.data[i];
    c.parent_uuid = (c.parent_uuid << 4) | (ch <= '9' ? ch - '0' : ch - 'a' + 10);
  }
  c.num_layers = sub.num_layers;
  c.layers.Set(sub.layers, sub.num_layers);
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
  FinishType first_finish = FinishType::kNotFinished;
  if (sub.transport == FlowProtocol::kTcp) {
    if (sub.tcp_flags & kTcpFin) first_finish = FinishType::kTcpFin;
    if (sub.tcp_flags & kTcpRst) first_finish = FinishType::kTcpRst;
  }
  c.first_finish = static_cast<uint8_t>(first_finish) & 3;
  if (scaled_ != nullptr) scaled_[pos] = ScaledMetric();

  if (!clock_started_) AdvanceClock(ts_ns);
  wheel_->Arm(pos, ts_ns + opts_.expire_ns);
  ++live_;
  ++counters_.flows_created;
}

void FlowTable::Scale(uint32_t pos, const SubPacket& sub, bool ab, uint32_t weight) noexcept {
  ScaledMetric& m = scaled_[pos];
  const int64_t w = weight != 0 ? weight : 1;  // a rate of 0 means nothing: count the sample once
  if (ab) {
    m.ab_packets += w;
    m.ab_bytes += w * sub.length;
  } else {
    m.ba_packets += w;
    m.ba_bytes += w * sub.length;
  }
  m.sampling_rate = weight;
}

inline bool FlowTable::IsAb(uint32_t pos, const SubPacket& sub, KeyOrientation o) const noexcept {
  const FlowHot& h = hot_[pos];
  switch (o.rule) {
    case DirectionRule::kPortTie:
      return h.transport_a > sub.src_port;  // Skydive's inverted tie-break, kept on purpose
    case DirectionRule::kIcmpTie:
      return h.icmp_type > static_cast<uint8_t>(sub.icmp_type);
    default:
      return o.swap == ((h.flags & kFlowFirstSwap) != 0);
  }
}

bool FlowTable::Account(uint32_t pos, const uint8_t* frame, const SubPacket& sub, KeyOrientation o,
                        int64_t ts_ns) noexcept {
  FlowHot& h = hot_[pos];
  const bool ab = IsAb(pos, sub, o);
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
      cold_[pos].rtt_ns = ts_ns - h.rtt_start_ns;
      h.rtt_start_ns = 0;
    }
  } else if ((h.flags & kFlowTcp) && (sub.tcp_flags & (kTcpSyn | kTcpFin | kTcpRst))) {
    TcpFlags(pos, frame, sub, ts_ns);
  }

  MarkTouched(pos, &h);
  return ab;
}

void FlowTable::AccountQuiet(uint32_t pos, const SubPacket& sub, KeyOrientation o, int64_t ts_ns,
                             int64_t packets, int64_t bytes) noexcept {
  // A fragment without the datagram's L4 header: counted, but no TCP flag
  // or ICMP echo logic, and held fragments (older) never move Last back.
  FlowHot& h = hot_[pos];
  if (IsAb(pos, sub, o)) {
    h.ab_packets += packets;
    h.ab_bytes += bytes;
  } else {
    h.ba_packets += packets;
    h.ba_bytes += bytes;
  }
  h.last_ns = std::max(h.last_ns, ts_ns);
  MarkTouched(pos, &h);
}

void FlowTable::CaptureRaw(uint32_t pos, const uint8_t* frame, uint32_t caplen,
                           const SubPacket& sub, int64_t ts_ns) noexcept {
  // Skydive's RawPacket.Data is the sub-packet from its first layer on; an
  // inner packet without Ethernet is raw IP.
  if (SKYPROBE_UNLIKELY(sub.offset >= caplen)) return;
  uint16_t link_type = 1;  // LINKTYPE_ETHERNET
  if (sub.num_layers == 0 || sub.layers[0] != Layer::kEthernet) {
    link_type = (sub.num_layers > 0 && sub.layers[0] == Layer::kIpv6) ? 229 : 228;
  }
  const RawPacketArena::Result r =
      raw_->Capture(pos, frame + sub.offset, caplen - sub.offset, sub.length, link_type, ts_ns);
  if (r == RawPacketArena::Result::kKept) {
    ++counters_.raw_packets_kept;
  } else if (r == RawPacketArena::Result::kDropped) {
    ++counters_.raw_packets_dropped;
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

bool FlowTable::AdvanceClock(int64_t now_ns) noexcept {
  if (!clock_started_) {
    clock_started_ = true;
    now_ns_ = now_ns;
    wheel_->Start(now_ns);
    next_update_ns_ = now_ns + opts_.update_ns;
    last_tick_ms_ = Ms(now_ns);
  }
  if (now_ns > now_ns_) now_ns_ = now_ns;
  if (defrag_ != nullptr && !defrag_busy_) ExpireDatagrams();
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
  FlowCold& c = cold_[pos];
  c.snap_ab_packets = h.ab_packets;
  c.snap_ab_bytes = h.ab_bytes;
  c.snap_ba_packets = h.ba_packets;
  c.snap_ba_bytes = h.ba_bytes;
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
    case ExpireReason::kIdle:
      ++counters_.expired_idle;
      break;
    case ExpireReason::kTcpClosed:
      ++counters_.expired_tcp_closed;
      break;
    case ExpireReason::kFlush:
      ++counters_.expired_flush;
      break;
    default:
      break;  // evictions are counted by the caller
  }
  wheel_->Disarm(pos);
  // The key lives only in the rte_hash key store.
  void* stored = nullptr;
  if (rte_hash_get_key_with_position(hash_, static_cast<int32_t>(pos), &stored) == 0) {
    uint64_t key;
    std::memcpy(&key, stored, sizeof(key));
    rte_hash_del_key_with_hash(hash_, &key, Sig(key));
  }
  // The final record is out: the flow's raw packets are no longer needed.
  if (raw_ != nullptr) raw_->Release(pos);
  hot_[pos].flags = 0;
  --live_;
  ++removals_;
  return true;
}

bool FlowTable::FlushAll() noexcept {
  // Fragments still held go into their flows first: every frame is counted.
  if (defrag_ != nullptr) {
    defrag_busy_ = true;
    while (defrag_->Oldest() != kNoIndex) GiveUpDatagram(defrag_->Oldest(), GiveUpReason::kFlush);
    defrag_busy_ = false;
  }
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
  const FlowCold& c = cold_[pos];
  *s = FlowSnapshot();
  s->event = event;
  s->expire_reason = reason;
  s->worker = opts_.worker_id;
  s->uuid = uuids_[pos];
  s->parent_uuid = c.parent_uuid;
  s->has_parent = c.has_parent;
  s->tracking_id = c.tracking_id;
  s->l3_tracking_id = c.l3_tracking_id;
  s->num_layers = c.num_layers;
  c.layers.Get(s->layers, c.num_layers);
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
  if (scaled_ != nullptr) {
    s->has_scaled_metric = true;
    s->scaled_metric = scaled_[pos];
  }
  if (opts_.node_tid_in_records) {
    std::memcpy(s->node_tid, opts_.node_tid.data(), opts_.node_tid.size());  // checked at Init
  }
  s->has_ip_metric = c.saw_fragments != 0;
  if (s->has_ip_metric) s->ip_metric = {ip_metric_[pos].fragments, ip_metric_[pos].errors};
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
  }
  if (event == FlowEvent::kExpire) {
    if (h.flags & kFlowRst) {
      s->finish_type = FinishType::kTcpRst;
    } else if ((h.flags & (kFlowFinAb | kFlowFinBa)) == (kFlowFinAb | kFlowFinBa)) {
      s->finish_type = FinishType::kTcpFin;
    } else if (static_cast<FinishType>(c.first_finish) != FinishType::kNotFinished) {
      s->finish_type = static_cast<FinishType>(c.first_finish);
    } else {
      s->finish_type = FinishType::kTimeout;
    }
  } else {
    s->finish_type = static_cast<FinishType>(c.first_finish);
  }
}

}  // namespace skyprobe
