// flow_table_defrag.cc: which flows an IP fragment counts in (--ip-defrag).
//
// Owner: the shard's RX lcore, like the rest of FlowTable. Only frames the
// parser marked (ParsedPacket::frag_sub, with ParserConfig::ip_defrag) come
// here, one at a time and in order with the other frames of their burst.
//
//   table.ProcessBurst(frames, pkts, ts, n, caplens);  // fragments go through ProcessFragment
//   table.AdvanceClock(now);                          // gives up datagrams past their timeout
//   table.FlushAll();                                 // gives up every datagram, then flows
//
// Virtual reassembly: the Defragmenter keeps, per datagram, the byte ranges
// received and the leading bytes of one fragment; payloads are never copied.
//   - The offset-0 fragment carries the datagram's L4 header: the parser
//     decoded it through ("Ethernet/IPv4/Fragment/ICMPv4"), so it is counted
//     like any frame, TCP flags and ICMP echo (RTT) included, in the flow of
//     the reassembled datagram (and in the inner flows of a tunnel it carries:
//     VXLAN, Geneve, GRE, IP-in-IP, GTP-U). Its first kDefragHeaderCopy bytes
//     are kept.
//   - Every later fragment is counted as one packet of its own length in the
//     same flows up to the fragmented level, found by re-parsing the kept
//     bytes; no TCP flag or echo logic. A tunnel's inner flows only gain the
//     fragment's payload bytes: the inner packet was counted once, with its
//     first fragment, and its bytes add up to its full length (as tshark sees
//     the reassembled packet).
//   - Fragments that arrive before the offset-0 one are held (time and
//     lengths only, up to kDefragMaxHeld) and counted once it comes.
//
// Where skyprobe departs from Skydive (gopacket's ip4defrag) on purpose:
//   - Skydive never counts the bytes of the fragments it holds, and counts the
//     reassembled packet once with the last fragment's length. skyprobe counts
//     every fragment frame as a packet of the flow with its own length (the
//     same Length rule as any frame): nothing is lost, and Metric is what was
//     on the wire.
//   - Skydive does not reassemble IPv6; skyprobe does (Fragment header).
//   - A datagram that is never reassembled still counts: fragments already in
//     the datagram's flow stay there; held ones go, at give-up, to the flow
//     their own headers give (as with defrag off: ".../IPv4/Fragment", no
//     transport).
// IPMetric of the fragmented level's flow: Fragments counts the fragments
// that arrived while their datagram was incomplete (Skydive's count: 1 for a
// two-fragment datagram); FragmentErrors counts every fragment of a datagram
// that was never reassembled (overlap, inconsistent lengths, too many
// fragments, timeout, table full, flush), once.
// Not handled: fragments of an inner packet inside a fragmented outer
// datagram are keyed as parsed (the outer one is reassembled); a first
// fragment whose headers through the fragmented level exceed
// kDefragHeaderCopy bytes gives no context, and the later fragments then
// count in their own fragment flow (context_ok).
#include <algorithm>
#include <cstring>

#include "parse/parser.h"
#include "table/flow_table.h"

namespace skyprobe {
namespace {

// What giving up a datagram costs a WorkBudget: a re-parse of its header
// copy, then one flow look-up and update per held fragment.
constexpr uint32_t kGiveUpCost = 300;
constexpr uint32_t kHeldCost = 250;

}  // namespace

// One fragment frame to count.
struct FlowTable::FragFrame {
  const uint8_t* frame;     // the bytes the sub-packet offsets point into
  const ParsedPacket* pkt;  // its sub-packets, lengths already the fragment's own
  uint8_t level;            // the fragmented sub-packet
  int64_t ts_ns;
  uint32_t caplen;       // raw packet capture; 0 when `frame` is not the frame itself
  bool events;           // the offset-0 fragment: counted as any frame, inner flows included
  uint32_t inner_bytes;  // otherwise: bytes the existing inner flows gain
  uint32_t fragments;    // IPMetric deltas of the level's flow
  uint32_t errors;
};

FlowTable::IpMetricSlot& FlowTable::IpMetricOf(uint32_t pos) noexcept {
  FlowCold& c = cold_[pos];
  if (!c.saw_fragments) {
    c.saw_fragments = 1;
    ip_metric_[pos] = IpMetricSlot{0, 0};  // the slot may hold an older flow's
  }
  return ip_metric_[pos];
}

void FlowTable::AccountFragment(const FragFrame& f) noexcept {
  const ParsedPacket& p = *f.pkt;
  RawPacketArena* const raw = f.caplen != 0 ? raw_.get() : nullptr;
  uint64_t parent = 0;
  bool counted = false;
  int32_t refused = kRefusedFull;
  for (uint8_t lv = 0; lv < p.num_sub; ++lv) {
    const SubPacket& sub = p.sub[lv];
    KeyOrientation o;
    FlowTableKey key;
    LookupKey(f.frame, sub, opts_.key_mode, parent, lv > 0, &key, &o, p.input);
    int32_t pos;
    if (!f.events && lv > f.level) {
      // Inside the datagram: the inner packet was counted with the first
      // fragment; this one adds its bytes and never creates a flow.
      if (f.inner_bytes == 0) break;
      pos = Lookup(key);
      if (pos < 0) break;
      AccountQuiet(static_cast<uint32_t>(pos), sub, o, f.ts_ns, 0, f.inner_bytes);
    } else {
      // One look-up of its own (no bulk look-up ran for it): fresh, and a
      // generation of its own for the created-keys set.
      ++scratch_.generation;
      pos = FindOrCreate(f.frame, sub, parent, lv > 0, key, SigOf(key), Lookup(key), false, false,
                         f.ts_ns, p.input);
      if (pos < 0) {
        if (lv == 0) refused = pos;
        break;
      }
      if (f.events) {
        Account(static_cast<uint32_t>(pos), f.frame, sub, o, f.ts_ns);
      } else {
        AccountQuiet(static_cast<uint32_t>(pos), sub, o, f.ts_ns, 1, sub.length);
      }
      if (raw != nullptr) CaptureRaw(static_cast<uint32_t>(pos), f.frame, f.caplen, sub, f.ts_ns);
    }
    if (lv == f.level) {
      IpMetricSlot& m = IpMetricOf(static_cast<uint32_t>(pos));
      m.fragments += f.fragments;
      m.errors += f.errors;
    }
    if (lv == 0) counted = true;
    parent = uuids_[pos];
  }
  if (counted) {
    ++counters_.packets_in_flows;
    ++counters_.input_packets_in_flows[p.input % kInputSlots];
  } else {
    CountRefused(refused);
  }
}

bool FlowTable::ParseContext(const DefragEntry& e, ParsedPacket* ctx) const noexcept {
  ParserConfig cfg;
  cfg.link_type = e.link_type;
  cfg.input = e.input;
  cfg.l3_key_mode = opts_.key_mode == KeyMode::kL3;
  cfg.ip_defrag = true;
  // The lengths are unused (each fragment brings its own): no wire length.
  return ParseFrame(e.header, e.header_len, 0, cfg, ctx) > e.level && ctx->frag_sub == e.level;
}

int32_t FlowTable::FindContextFlow(const DefragEntry& e) noexcept {
  if (!e.have_first || !e.context_ok) return -1;
  ParsedPacket ctx;
  if (!ParseContext(e, &ctx)) return -1;
  uint64_t parent = 0;
  int32_t pos = -1;
  for (uint8_t lv = 0; lv <= e.level; ++lv) {
    KeyOrientation o;
    FlowTableKey key;
    LookupKey(e.header, ctx.sub[lv], opts_.key_mode, parent, lv > 0, &key, &o, e.input);
    pos = Lookup(key);
    if (pos < 0) return -1;
    parent = uuids_[pos];
  }
  return pos;
}

void FlowTable::FailDatagram(DefragEntry& e, FragmentFit why) noexcept {
  e.failed = true;
  if (why == FragmentFit::kTooMany) {
    ++counters_.defrag_too_many;
  } else {
    ++counters_.defrag_overlaps;
  }
  // The fragments already counted in the datagram's flow become errors now;
  // the ones to come (and the held ones) as they are counted.
  if (e.accounted > 0) {
    const int32_t pos = FindContextFlow(e);
    if (pos >= 0) IpMetricOf(static_cast<uint32_t>(pos)).errors += e.accounted;
  }
}

void FlowTable::ProcessFragment(const uint8_t* frame, const ParsedPacket& pkt, int64_t ts_ns,
                                uint32_t caplen) noexcept {
  defrag_busy_ = true;
  ++counters_.defrag_fragments;
  const uint8_t level = pkt.frag_sub;
  const SubPacket& fs = pkt.sub[level];
  const DefragKey key = MakeDefragKey(frame, pkt);
  const uint32_t hash = DefragHash(key);
  uint32_t idx = defrag_->Find(key, hash);
  if (idx == kNoIndex) {
    if (defrag_->full()) GiveUpDatagram(defrag_->Oldest(), GiveUpReason::kTableFull);
    idx = defrag_->Insert(key, hash, ts_ns);
    due_ns_ = std::min(due_ns_, ts_ns + opts_.ip_defrag_timeout_ns);
  }
  DefragEntry& e = defrag_->entry(idx);
  if (!e.failed) {
    const FragmentFit fit =
        Defragmenter::AddFragment(e, fs.frag_offset, fs.frag_data_len, fs.frag_more);
    if (fit == FragmentFit::kDuplicate) {
      ++counters_.defrag_duplicates;
    } else if (fit != FragmentFit::kAdded) {
      FailDatagram(e, fit);
    }
  }
  const bool complete = Defragmenter::Complete(e);
  FragFrame f{frame, &pkt, level, ts_ns, caplen, false, 0, complete ? 0u : 1u, 0};
  const bool first = fs.frag_offset == 0;

  if (first && !e.have_first) {
    // The datagram's flows are this fragment's own sub-packets.
    f.events = true;
    f.errors = e.failed ? 1 : 0;
    AccountFragment(f);
    ++e.accounted;
    if (e.num_held > 0) {
      // The fragments that came before it, in arrival order, in the same flows.
      ParsedPacket q = pkt;
      for (uint8_t i = 0; i < e.num_held; ++i) {
        const HeldFragment& h = e.held[i];
        for (uint8_t lv = 0; lv <= level; ++lv) q.sub[lv].length = h.length[lv];
        const FragFrame hf{frame, &q, level, h.ts_ns, 0, false, h.data_len, 1, e.failed ? 1u : 0u};
        AccountFragment(hf);
        ++e.accounted;
      }
      counters_.defrag_held -= e.num_held;
      e.num_held = 0;
    }
    // Its headers key the later fragments (the held one's copy is no longer needed).
    e.have_first = true;
    e.link_type = pkt.link_type;
    e.input = pkt.input;
    e.header_len = static_cast<uint16_t>(std::min(caplen, kDefragHeaderCopy));
    std::memcpy(e.header, frame, e.header_len);
    ParsedPacket ctx;
    KeyOrientation o;
    const bool inner = level > 0;
    FlowTableKey from_header, from_frame;
    e.context_ok = ParseContext(e, &ctx);
    if (e.context_ok) {
      LookupKey(e.header, ctx.sub[level], opts_.key_mode, 0, inner, &from_header, &o);
      LookupKey(frame, fs, opts_.key_mode, 0, inner, &from_frame, &o);
      e.context_ok = SameKey(from_header, from_frame);
    }
  } else if (first || !e.have_first || !e.context_ok) {
    // No context to use: a repeated first fragment, or a fragment before the
    // first one. The latter waits for it while there is room.
    f.errors = e.failed ? 1 : 0;
    bool hold = !first && !e.have_first && !e.failed;
    if (hold && e.num_held == kDefragMaxHeld) {
      FailDatagram(e, FragmentFit::kTooMany);
      f.errors = 1;
      hold = false;
    }
    if (hold && e.num_held == 0) {
      // Its headers key the fallback flow if the first fragment never comes.
      e.link_type = pkt.link_type;
      e.input = pkt.input;
      e.header_len = static_cast<uint16_t>(std::min(caplen, kDefragHeaderCopy));
      std::memcpy(e.header, frame, e.header_len);
      ParsedPacket ctx;
      hold = ParseContext(e, &ctx);
    }
    if (hold) {
      HeldFragment& h = e.held[e.num_held++];
      h.ts_ns = ts_ns;
      for (uint8_t lv = 0; lv <= level; ++lv) h.length[lv] = pkt.sub[lv].length;
      h.data_len = fs.frag_data_len;
      ++counters_.defrag_held;
    } else {
      AccountFragment(f);
      if (first) ++e.accounted;
    }
  } else {
    // A later fragment: the flows of the first one, with this frame's lengths.
    ParsedPacket ctx;
    if (ParseContext(e, &ctx)) {
      for (uint8_t lv = 0; lv <= level; ++lv) ctx.sub[lv].length = pkt.sub[lv].length;
      f.frame = e.header;
      f.pkt = &ctx;
      f.caplen = 0;
      f.inner_bytes = fs.frag_data_len;
    }
    f.errors = e.failed ? 1 : 0;
    AccountFragment(f);
    if (f.pkt == &ctx) ++e.accounted;
    // Raw packet capture keeps the frame itself, in the datagram's flow.
    if (raw_ != nullptr && f.pkt == &ctx) {
      const int32_t pos = FindContextFlow(e);
      if (pos >= 0) CaptureRaw(static_cast<uint32_t>(pos), frame, caplen, fs, ts_ns);
    }
  }
  if (complete) {
    ++counters_.defrag_datagrams;
    defrag_->Remove(idx);
  }
  defrag_busy_ = false;
}

void FlowTable::GiveUpDatagram(uint32_t idx, GiveUpReason why) noexcept {
  DefragEntry& e = defrag_->entry(idx);
  switch (why) {
    case GiveUpReason::kTimeout:
      ++counters_.defrag_timeouts;
      break;
    case GiveUpReason::kTableFull:
      ++counters_.defrag_table_full;
      break;
    case GiveUpReason::kFlush:
      ++counters_.defrag_flushed;
      break;
  }
  // Never reassembled: what its flow holds of it becomes errors (a failed
  // datagram counted them already).
  if (!e.failed && e.accounted > 0) {
    const int32_t pos = FindContextFlow(e);
    if (pos >= 0) IpMetricOf(static_cast<uint32_t>(pos)).errors += e.accounted;
  }
  if (e.num_held > 0) {
    // No first fragment: the held ones count in the flow their own headers
    // give, as with defrag off (the copy is the first held one's; it parsed).
    ParsedPacket ctx;
    const bool ok = ParseContext(e, &ctx);
    for (uint8_t i = 0; i < e.num_held; ++i) {
      const HeldFragment& h = e.held[i];
      if (!ok) {
        ++counters_.drop_table_full;  // unreachable: held only after ParseContext succeeded
        continue;
      }
      for (uint8_t lv = 0; lv <= e.level; ++lv) ctx.sub[lv].length = h.length[lv];
      AccountFragment(FragFrame{e.header, &ctx, e.level, h.ts_ns, 0, false, 0, 1, 1});
    }
    counters_.defrag_held -= e.num_held;
    e.num_held = 0;
  }
  defrag_->Remove(idx);
}

bool FlowTable::ExpireDatagrams(WorkBudget* budget) noexcept {
  defrag_busy_ = true;
  bool done = true;
  for (;;) {
    const uint32_t idx = defrag_->Oldest();
    if (idx == kNoIndex || defrag_->entry(idx).created_ns + opts_.ip_defrag_timeout_ns > now_ns_) {
      break;
    }
    if (budget->Charge(kGiveUpCost + kHeldCost * defrag_->entry(idx).num_held)) {
      done = false;  // the next call goes on with this one (the oldest)
      break;
    }
    GiveUpDatagram(idx, GiveUpReason::kTimeout);
  }
  defrag_busy_ = false;
  return done;
}

bool FlowTable::FlushDatagrams(WorkBudget* budget) noexcept {
  defrag_busy_ = true;
  bool done = true;
  while (defrag_->Oldest() != kNoIndex) {
    if (budget->Charge(kGiveUpCost + kHeldCost * defrag_->entry(defrag_->Oldest()).num_held)) {
      done = false;
      break;
    }
    GiveUpDatagram(defrag_->Oldest(), GiveUpReason::kFlush);
  }
  defrag_busy_ = false;
  return done;
}

}  // namespace skyprobe
