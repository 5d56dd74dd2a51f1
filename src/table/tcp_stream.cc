// tcp_stream.cc: the stream counters of Skydive's TCP reassembly, kept the
// way gopacket's tcpassembly would deliver the segments to Skydive's stream,
// but holding only the sequence ranges of the segments that wait behind a
// gap, never their bytes. docs/tcp-metrics.md has the rules and where they
// part from gopacket's.
#include "table/tcp_stream.h"

#include <algorithm>

namespace skyprobe {
namespace {

constexpr uint8_t kFin = 0x01;
constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kRst = 0x04;

inline int32_t Diff(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }
inline uint32_t SeqMax(uint32_t a, uint32_t b) { return Diff(a, b) >= 0 ? a : b; }
inline uint32_t SeqMin(uint32_t a, uint32_t b) { return Diff(a, b) <= 0 ? a : b; }
inline uint32_t Units(int64_t ns) { return static_cast<uint32_t>(static_cast<uint64_t>(ns) >> 20); }
constexpr uint32_t kGiveUpUnits = static_cast<uint32_t>(kTcpStreamGiveUpNs >> 20);

inline void Inc(uint32_t& c, uint32_t n = 1) { c = c > UINT32_MAX - n ? UINT32_MAX : c + n; }

void RemoveRun(TcpStreamDir& d, int i) {
  for (int j = i; j + 1 < d.runs && j + 1 < kTcpStreamGaps; ++j) d.run[j] = d.run[j + 1];
  const uint8_t low = d.run_end & ((1u << i) - 1);
  d.run_end = static_cast<uint8_t>(low | ((d.run_end >> (i + 1)) << i));
  --d.runs;
}

void End(TcpStreamDir& d) {
  d.state |= kStreamSawEnd | kStreamEnded;
  d.runs = 0;
  d.run_end = 0;
}

// Delivers run 0, which starts at or after `next` (any gap before it is the
// caller's to count).
void DeliverFirstRun(TcpStreamDir& d) {
  const TcpStreamRun r = d.run[0];
  const bool end = d.run_end & 1u;
  const uint32_t from = SeqMax(r.lo, d.next);
  if (Diff(r.hi, from) > 0) {
    d.bytes += static_cast<uint32_t>(r.hi - from);
    d.next = r.hi;
  }
  d.packets += r.segments;
  Inc(d.out_of_order, r.overtaken);
  RemoveRun(d, 0);
  if (end) End(d);
}

// Delivers the runs that the next expected byte has reached.
void PullContiguous(TcpStreamDir& d) {
  while (d.runs > 0 && !(d.state & kStreamEnded) && Diff(d.run[0].lo, d.next) <= 0) {
    DeliverFirstRun(d);
  }
}

// Gives up the gap before run 0: it counts as skipped and the run is
// delivered (gopacket's skipFlush).
void GiveUpFirstGap(TcpStreamDir& d) {
  const int32_t gap = Diff(d.run[0].lo, d.next);
  Inc(d.skipped);
  if (gap > 0) d.skipped_bytes += static_cast<uint32_t>(gap);
  DeliverFirstRun(d);
  PullContiguous(d);
}

// A segment in order (or entirely before the next expected byte).
void DeliverInOrder(TcpStreamDir& d, uint32_t seq, uint32_t len, bool end, int64_t ts_ns) {
  const uint32_t seg_end = seq + len;
  if (Diff(seg_end, d.next) > 0) {
    d.bytes += static_cast<uint32_t>(seg_end - d.next);
    d.next = seg_end;
  }
  ++d.packets;
  // Skydive's stream: a chunk captured before the latest one delivered is
  // out of order (only capture times that go backwards do that here).
  if (ts_ns < d.latest_ns) {
    Inc(d.out_of_order);
  } else {
    d.latest_ns = ts_ns;
  }
  if (end) {
    End(d);
    return;
  }
  // Every waiting segment was captured before this one, which is delivered
  // first: each of them is now out of order whenever it is delivered.
  for (int i = 0; i < d.runs; ++i) d.run[i].overtaken = d.run[i].segments;
  PullContiguous(d);
}

// A segment arriving now beyond a gap is delivered before every waiting
// segment with a higher sequence number (gopacket delivers in sequence
// order), all captured before it: they will be delivered out of order. A run
// wholly above it is overtaken whole. Inside a run (bytes that already wait,
// sent again) the segments above it are estimated from their byte span, in
// units of this segment's length.
void Overtake(TcpStreamDir& d, uint32_t seq, uint32_t len) {
  for (int i = 0; i < d.runs; ++i) {
    TcpStreamRun& r = d.run[i];
    if (Diff(r.lo, seq) > 0) {
      r.overtaken = r.segments;
    } else if (Diff(r.hi, seq) > 0 && len > 0) {
      const int32_t above = Diff(r.hi, seq + len);
      const uint32_t est = above > 0 ? static_cast<uint32_t>(above) / len : 0;
      r.overtaken = std::min(r.segments, std::max(r.overtaken, est));
    }
  }
}

// A segment beyond a gap: it joins the run it touches, or opens one.
void Wait(TcpStreamDir& d, uint32_t seq, uint32_t len, bool end, int64_t ts_ns) {
  const uint32_t lo = seq;
  const uint32_t hi = seq + len;
  for (int i = 0; i < d.runs; ++i) {
    TcpStreamRun& r = d.run[i];
    if (Diff(hi, r.lo) < 0 || Diff(r.hi, lo) < 0) continue;
    r.lo = SeqMin(r.lo, lo);
    r.hi = SeqMax(r.hi, hi);
    Inc(r.segments);
    if (end) d.run_end |= static_cast<uint8_t>(1u << i);
    // A run that now reaches the next one merges with it.
    if (i + 1 < d.runs && Diff(r.hi, d.run[i + 1].lo) >= 0) {
      TcpStreamRun& n = d.run[i + 1];
      r.hi = SeqMax(r.hi, n.hi);
      Inc(r.segments, n.segments);
      Inc(r.overtaken, n.overtaken);
      if (Diff(n.first_t, r.first_t) < 0) r.first_t = n.first_t;
      if (d.run_end & (1u << (i + 1))) d.run_end |= static_cast<uint8_t>(1u << i);
      RemoveRun(d, i + 1);
    }
    return;
  }
  if (SKYPROBE_UNLIKELY(d.runs >= kTcpStreamGaps)) return;  // the caller made room
  int at = 0;
  while (at < d.runs && Diff(d.run[at].lo, lo) < 0) ++at;
  for (int j = d.runs; j > at; --j) d.run[j] = d.run[j - 1];
  const uint8_t low = d.run_end & ((1u << at) - 1);
  d.run_end = static_cast<uint8_t>(low | ((d.run_end >> at) << (at + 1)) | (end ? (1u << at) : 0u));
  d.run[at] = TcpStreamRun{lo, hi, 1, 0, Units(ts_ns)};
  ++d.runs;
}

}  // namespace

void TcpStreamUpdate(TcpStreamDir& d, const TcpSegment& s, int64_t ts_ns) noexcept {
  if (d.state & kStreamEnded) return;
  const bool syn = (s.flags & kSyn) != 0;
  const bool end = (s.flags & (kFin | kRst)) != 0;
  // gopacket ignores segments with no payload and no SYN, FIN or RST.
  if (!syn && !end && s.len == 0) return;
  if (!(d.state & kStreamStarted)) {
    if (syn) {
      // The stream starts at its SYN, which takes one sequence number.
      d.state |= kStreamStarted | kStreamSawStart;
      d.next = s.seq + s.len + 1;
      d.bytes += s.len;
      ++d.packets;
      d.latest_ns = ts_ns;
      return;
    }
    // A FIN or RST without data opens no stream (gopacket).
    if (s.len == 0) return;
    // First seen mid-stream: it starts here, and what came before is one
    // gap of unknown size (gopacket's Skip = -1: counted, no bytes).
    d.state |= kStreamStarted;
    d.next = s.seq;
    d.latest_ns = ts_ns;
    Inc(d.skipped);
  }
  // Runs that waited too long are given up first.
  while (d.runs > 0 && !(d.state & kStreamEnded) &&
         Units(ts_ns) - d.run[0].first_t >= kGiveUpUnits &&
         Units(ts_ns) - d.run[0].first_t < 0x80000000u) {
    GiveUpFirstGap(d);
  }
  if (d.state & kStreamEnded) return;
  if (Diff(s.seq, d.next) <= 0) {
    DeliverInOrder(d, s.seq, s.len, end, ts_ns);
    return;
  }
  // Beyond a gap. A new run when kTcpStreamGaps already wait gives up the
  // lowest gap first (gopacket's bound on buffered pages).
  const uint32_t hi = s.seq + s.len;
  bool joins = false;
  for (int i = 0; i < d.runs; ++i) {
    if (Diff(hi, d.run[i].lo) >= 0 && Diff(d.run[i].hi, s.seq) >= 0) joins = true;
  }
  if (!joins && d.runs == kTcpStreamGaps) {
    GiveUpFirstGap(d);
    if (d.state & kStreamEnded) return;
    if (Diff(s.seq, d.next) <= 0) {
      DeliverInOrder(d, s.seq, s.len, end, ts_ns);
      return;
    }
  }
  Overtake(d, s.seq, s.len);
  Wait(d, s.seq, s.len, end, ts_ns);
}

void TcpStreamFlush(TcpStreamDir* d) noexcept {
  while (d->runs > 0 && !(d->state & kStreamEnded)) GiveUpFirstGap(*d);
}

}  // namespace skyprobe
