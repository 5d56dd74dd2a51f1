// flow_table.cc: the per-packet path of a shard: bulk lookup, flow creation,
// accounting (counters, ICMP echo RTT, raw packet capture, scaled counters).
// TCP flags are in flow_table_tcp.cc, timers and expiry in
// flow_table_timers.cc, snapshots in flow_table_snapshot.cc, storage in
// flow_table_setup.cc, IP fragments in flow_table_defrag.cc.
#include "table/flow_table.h"

#include <algorithm>
#include <cstring>

#include "table/internal/flow_table_util.h"

namespace skyprobe {
namespace {

using table_internal::Ms;

inline bool IsEchoRequest(const SubPacket& s) {
  return (s.icmp_version == 4 && s.icmp_raw_type == 8) ||
         (s.icmp_version == 6 && s.icmp_raw_type == 128);
}
inline bool IsEchoReply(const SubPacket& s) {
  return (s.icmp_version == 4 && s.icmp_raw_type == 0) ||
         (s.icmp_version == 6 && s.icmp_raw_type == 129);
}

}  // namespace

void FlowTable::ProcessBurst(const uint8_t* const* frames, const ParsedPacket* pkts,
                             const int64_t* ts_ns, uint32_t n, const uint32_t* caplens,
                             const uint32_t* weights) noexcept {
  if (SKYPROBE_UNLIKELY(keys_retired_)) {  // the keys Retire left (flow_table_timers.cc)
    index_->Reset();
    keys_retired_ = false;
  }
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
        const uint32_t sig = LookupKey(frames[base + i], p.sub[level], opts_.key_mode, x.parent[i],
                                       level > 0, &x.keys[m], &x.orient[m], p.input);
        x.sigs[m] = SKYPROBE_UNLIKELY(opts_.hash_fn != nullptr) ? SigOf(x.keys[m]) : sig;
        index_->PrefetchBucket(x.sigs[m]);  // the first wave: in flight while the next key is built
        x.idx[m] = i;
        ++m;
      }
      if (m == 0) break;
      // The lookup in waves (flow_index.h): the buckets, prefetched above;
      // each key's candidate, whose record's two lines (key, counters) are
      // fetched together; then the compares, and every hit's counters
      // arrive while the first ones are accounted.
      const uint64_t removals = removals_;
      const uint64_t created = counters_.flows_created;
      ++x.generation;
      index_->Candidates(x.sigs, m, x.cand);
      for (uint32_t j = 0; j < m; ++j) {
        if (x.cand[j] >= 0) SKYPROBE_PREFETCH_W(&hot_[x.cand[j]]);
      }
      index_->Confirm(x.keys, x.sigs, m, x.cand, x.positions);
      // The TCP trackers' lines too, for the segments they will read: at 1M
      // flows each is a miss of its own.
      if (SKYPROBE_UNLIKELY(tcp_track_)) {
        for (uint32_t j = 0; j < m; ++j) {
          if (x.positions[j] < 0 || pkts[base + x.idx[j]].sub[level].tcp_off == 0) continue;
          PrefetchTcpTrackers(static_cast<uint32_t>(x.positions[j]));
        }
      }
      for (uint32_t j = 0; j < m; ++j) {
        const uint32_t i = x.idx[j];
        const ParsedPacket& p = pkts[base + i];
        const uint8_t* frame = frames[base + i];
        const SubPacket& sub = p.sub[level];
        const int32_t pos = FindOrCreate(
            frame, sub, x.parent[i], level > 0, x.keys[j], x.sigs[j], x.positions[j],
            removals_ != removals, counters_.flows_created != created, ts_ns[base + i], p.input);
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
        ++counters_.input_packets_in_flows[pkts[base + i].input % kInputSlots];
      } else {
        CountRefused(x.refused[i]);
      }
    }
  }
}

int32_t FlowTable::FindOrCreate(const uint8_t* frame, const SubPacket& sub, uint64_t parent_uuid,
                                bool has_parent, const FlowTableKey& key, uint32_t sig,
                                int32_t looked_up, bool removed, bool created, int64_t ts_ns,
                                uint8_t input) noexcept {
  // A bulk lookup hit is out of date once a flow left the table since (an
  // earlier packet of this burst evicted it, and its slot may hold another
  // flow now): ask the index again. A miss is out of date only if an earlier
  // packet of the burst created this very flow: the small set of keys
  // created since the lookup says so without a probe (a flood of new flows
  // would otherwise probe twice per packet). The index holds the keys of
  // live flows only (Expire takes a key out with its flow).
  if (looked_up >= 0) {
    if (SKYPROBE_LIKELY(!removed)) return looked_up;
    const int32_t pos = index_->Lookup(key, sig);
    if (pos >= 0) return pos;
  } else if (created) {
    const int32_t pos = CreatedSinceLookup(key, sig);
    if (pos >= 0) return pos;
  }
  if (live_ >= opts_.max_flows) {
    if (opts_.overload == OverloadPolicy::kDropNew) return kRefusedFull;
    // The earliest armed timer's flow (timer_wheel.h: constant time).
    const uint32_t victim = wheel_->Oldest();
    if (victim == kNoIndex) return kRefusedFull;
    if (!Expire(victim, ExpireReason::kEvicted)) return kRefusedRing;
    ++counters_.flows_evicted;
  }
  // Below the limit the index has a free position (it holds max_flows keys).
  const int32_t pos = index_->Add(key, sig);
  if (SKYPROBE_UNLIKELY(pos < 0)) {
    ++counters_.table_inconsistencies;
    return kRefusedError;
  }
  // Skydive's key bytes, for its IDs: only now that a flow is created.
  KeyBytes kb;
  BuildKeyBytes(frame, sub, opts_.key_mode, parent_uuid, has_parent, &kb);
  InitFlow(static_cast<uint32_t>(pos), frame, sub, kb, ts_ns, input);
  NoteCreated(sig, pos);
  return pos;
}

int32_t FlowTable::CreatedSinceLookup(const FlowTableKey& key, uint32_t sig) const noexcept {
  const Scratch& x = scratch_;
  for (uint32_t i = sig % Scratch::kCreatedSlots;; i = (i + 1) % Scratch::kCreatedSlots) {
    if (x.created_gen[i] != x.generation) return -1;  // not created since the lookup
    if (x.created_sig[i] != sig) continue;
    // Gone unless no flow left since (it may have been this one): then the
    // index knows.
    if (x.created_removals[i] != removals_) return index_->Lookup(key, sig);
    // The same signature: the same flow only if the whole key is (the index
    // keeps the key of every position).
    if (SameKey(index_->KeyAt(static_cast<uint32_t>(x.created_pos[i])), key)) {
      return x.created_pos[i];
    }
  }
}

void FlowTable::NoteCreated(uint32_t sig, int32_t pos) noexcept {
  // At most kLookupMax creations per lookup: the set (twice that) never fills.
  Scratch& x = scratch_;
  uint32_t i = sig % Scratch::kCreatedSlots;
  while (x.created_gen[i] == x.generation) i = (i + 1) % Scratch::kCreatedSlots;
  x.created_gen[i] = x.generation;
  x.created_sig[i] = sig;
  x.created_pos[i] = pos;
  x.created_removals[i] = removals_;
}

int32_t FlowTable::FindUuid(uint64_t uuid) const noexcept {
  if (uuid_index_ == nullptr) return kNoUuidIndex;
  return uuid_index_->Find(uuid, uuids_);  // only live flows are indexed
}

int32_t FlowTable::Lookup(const FlowTableKey& key) const noexcept {
  if (keys_retired_) return -1;  // the keys left by Retire stand for no flow
  const int32_t pos = index_->Lookup(key, SigOf(key));
  return pos >= 0 && IsLive(static_cast<uint32_t>(pos)) ? pos : -1;
}

void FlowTable::InitFlow(uint32_t pos, const uint8_t* frame, const SubPacket& sub,
                         const KeyBytes& kb, int64_t ts_ns, uint8_t input) noexcept {
  FlowHot& h = hot_[pos];
  FlowCold& c = cold_[pos];
  const FlowTableKey key = h.key;  // the index's (FlowIndex::Add wrote it)
  h = FlowHot();
  h.key = key;
  h.last_ns = ts_ns;
  h.flags = kFlowLive | (kb.swap ? kFlowFirstSwap : 0) |
            (sub.transport == FlowProtocol::kTcp ? kFlowTcp : 0);
  h.icmp_type = static_cast<uint8_t>(sub.icmp_type);
  h.transport_a = sub.src_port;

  c = FlowCold{};
  c.start_ms.Set(Ms(ts_ns));

  const std::string& tag = input < opts_.uuid_tags.size() ? opts_.uuid_tags[input] : opts_.node_tid;
  uuids_[pos] = FlowUuid(TableKey(kb), Ms(ts_ns), tag.data(), static_cast<uint32_t>(tag.size()));
  if (uuid_index_ != nullptr) uuid_index_->Insert(uuids_[pos], pos);
  c.num_layers = sub.num_layers;
  c.layers.Set(sub.layers, sub.num_layers);
  c.has_link = sub.has_link;
  if (sub.has_link) {
    std::memcpy(c.link_a, frame + sub.mac_src_off, 6);
    std::memcpy(c.link_b, frame + sub.mac_dst_off, 6);
  }
  c.link_id = static_cast<int64_t>(sub.link_id);
  // The IP version and addresses are the key's.
  c.network_id = static_cast<uint32_t>(sub.network_id);
  if (sub.mpls_entries != 0 && sub.transport != FlowProtocol::kTcp) {
    // Never a TCP flow (flow_record.h): the RST times' bytes are free.
    c.mpls_count = std::min<uint8_t>(sub.mpls_entries, kMaxMplsEntries);
    for (size_t i = 0; i < c.mpls_count; ++i) {
      std::memcpy(c.mpls + 3 * i, frame + sub.mpls_off + 4 * i, 3);
    }
  }
  c.transport = static_cast<uint8_t>(sub.transport) & 7;
  c.transport_b = sub.dst_port;
  c.icmp_v6 = sub.icmp_version == 6;
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
  if (SKYPROBE_UNLIKELY(tcp_track_) && sub.transport == FlowProtocol::kTcp) {
    if (tcp_stream_ != nullptr) tcp_stream_[pos] = TcpStream{};
    if (tcp_health_ != nullptr) TcpHealthReset(&tcp_health_[pos]);
  }

  if (!clock_started_) AdvanceClock(ts_ns);
  ArmTimer(pos, ts_ns + opts_.expire_ns);
  ++live_;
  ++counters_.flows_created;
  ++counters_.input_flows_created[input % kInputSlots];
  ++counters_.input_flows_live[input % kInputSlots];
}

namespace {

// Scaled counters saturate at INT64_MAX instead of wrapping: a sampling rate
// and a frame length of 0xffffffff make almost 2^64 bytes from one sample
// (the product itself fits in 64 unsigned bits).
inline void AddSaturating(int64_t& counter, uint64_t v) noexcept {
  const uint64_t room = static_cast<uint64_t>(INT64_MAX - counter);
  counter = v >= room ? INT64_MAX : counter + static_cast<int64_t>(v);
}

}  // namespace

void FlowTable::Scale(uint32_t pos, const SubPacket& sub, bool ab, uint32_t weight) noexcept {
  ScaledMetric& m = scaled_[pos];
  const uint64_t w = weight != 0 ? weight : 1;  // a rate of 0 means nothing: count the sample once
  const uint64_t bytes = w * sub.length;
  if (ab) {
    AddSaturating(m.ab_packets, w);
    AddSaturating(m.ab_bytes, bytes);
  } else {
    AddSaturating(m.ba_packets, w);
    AddSaturating(m.ba_bytes, bytes);
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
    h.tcp_flags_ab |= sub.tcp_flags;  // 0 but for TCP
  } else {
    ++h.ba_packets;
    h.ba_bytes += sub.length;
    h.tcp_flags_ba |= sub.tcp_flags;
  }
  h.last_ns = ts_ns;

  if (sub.icmp_version != 0) {
    if (IsEchoRequest(sub)) {
      if (h.rtt_start_ns == 0) h.rtt_start_ns = ts_ns;
    } else if (IsEchoReply(sub) && h.rtt_start_ns != 0) {
      cold_[pos].rtt_ns = ts_ns - h.rtt_start_ns;
      h.rtt_start_ns = 0;
    }
  } else if (h.flags & kFlowTcp) {
    if (sub.tcp_flags & (kTcpSyn | kTcpFin | kTcpRst)) TcpFlags(pos, frame, sub, ts_ns);
    if (SKYPROBE_UNLIKELY(tcp_track_) && sub.tcp_off != 0) {
      // A->B of the trackers is from Network.A and Transport.A, as Skydive's
      // stream decides it: the Metric direction except between equal
      // endpoints, where Skydive's Metric tie-break is inverted (IsAb).
      const bool from_a = o.rule == DirectionRule::kPortTie ? sub.src_port == h.transport_a : ab;
      TrackTcp(pos, frame, sub, from_a, ts_ns);
    }
  }
  // Application metadata: one predictable test when off, two when on and the
  // payload is nothing it looks for.
  if (SKYPROBE_UNLIKELY(app_ != nullptr) && app_->Wants(sub.app_hint)) {
    app_->OnPayload(pos, frame, sub, ab, h.ab_packets + h.ba_packets, ts_ns);
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

}  // namespace skyprobe
