// tcp_health.cc: Wireshark 4.0's TCP sequence analysis (the part of
// epan/dissectors/packet-tcp.c that sets the tcp.analysis.* flags counted
// here), reimplemented on a fixed-size state. docs/tcp-metrics.md states each
// rule; the comments below say where this code and Wireshark's may part.
//
// Sequence numbers are compared modulo 2^32 (a - b as a signed 32-bit
// difference) and a nextseq of 0 means "unknown", both as Wireshark does it
// on absolute sequence numbers.
#include "table/tcp_health.h"

#include <cstring>

namespace skyprobe {
namespace {

constexpr uint8_t kFin = 0x01;
constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kRst = 0x04;
constexpr uint8_t kAck = 0x10;

// The analysis flags of one segment (Wireshark's tcp_acked flags we need).
enum Flag : uint32_t {
  kRetransmission = 1u << 0,
  kFastRetransmission = 1u << 1,
  kSpurious = 1u << 2,
  kOutOfOrder = 1u << 3,
  kLost = 1u << 4,
  kZeroWindow = 1u << 5,
  kZeroWindowProbe = 1u << 6,
  kKeepAlive = 1u << 7,
  kDupAck = 1u << 8,
};

inline bool Gt(uint32_t a, uint32_t b) { return static_cast<int32_t>(b - a) < 0; }
inline bool Lt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
inline bool Le(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) <= 0; }

// Time between two capture times as Wireshark computes it: in unsigned
// 64-bit arithmetic, so a time before the reference is a huge value.
inline uint64_t Since(int64_t now, int64_t then) {
  return static_cast<uint64_t>(now) - static_cast<uint64_t>(then);
}

constexpr uint64_t kFastRetransmitWindowNs = 20'000'000;  // 20 ms after the latest dup ACK
constexpr uint64_t kDefaultOooThresholdNs = 3'000'000;    // 3 ms while the iRTT is unknown

inline void Inc(uint32_t& c) {
  if (c != UINT32_MAX) ++c;
}

// The sequence-number rules for one segment (Wireshark's
// tcp_analyze_sequence_number). Returns the segment's flags.
uint32_t Analyze(TcpHealth& h, TcpHealthDir& fwd, TcpHealthDir& rev, const TcpSegment& s,
                 int64_t now) {
  const uint32_t seq = s.seq;
  const uint32_t ack = s.ack;
  const uint32_t len = s.len;
  const uint8_t f = s.flags;
  const bool syn_fin_rst = (f & (kSyn | kFin | kRst)) != 0;
  // A window never seen compares unequal to every 16-bit window (Wireshark
  // starts it at G_MAXUINT32).
  const bool same_window = (fwd.flags & kHealthWindowSeen) && fwd.window == s.window;
  const bool rev_window_zero = (rev.flags & kHealthWindowSeen) && rev.window == 0;
  uint32_t ta = 0;

  if (len == 1 && seq == fwd.nextseq && rev_window_zero) {
    ta |= kZeroWindowProbe;
  } else {
    if (s.window == 0 && !syn_fin_rst) ta |= kZeroWindow;
    if (fwd.nextseq != 0 && Gt(seq, fwd.nextseq) && !(f & kRst)) ta |= kLost;
    if (len <= 1 && seq == fwd.nextseq - 1 && !syn_fin_rst) ta |= kKeepAlive;
    // Keep-alive ACK and zero-window-probe ACK end the ACK checks; the
    // remaining case of a repeated ACK is a duplicate ACK.
    const bool repeats =
        len == 0 && same_window && seq == fwd.nextseq && ack == fwd.lastack && !syn_fin_rst;
    const bool ka_ack = repeats && s.window != 0 && (rev.flags & kHealthLastKeepAlive);
    const bool zwp_ack = repeats && s.window == 0 && (rev.flags & kHealthLastZeroWindowProbe);
    if (!ka_ack && !zwp_ack && repeats && s.window != 0) {
      // (Wireshark skips this on MPTCP subflows; MPTCP is not decoded here.)
      fwd.dupacknum = fwd.dupacknum == -1 ? 1 : fwd.dupacknum + 1;
      ta |= kDupAck;
    }
  }
  if (ack != fwd.lastack) fwd.dupacknum = 0;

  // "ACKed unseen segment": only its side effect on the other direction's
  // duplicate ACK count matters here (it feeds fast retransmissions).
  if (rev.maxseqtobeacked != 0 && Gt(ack, rev.maxseqtobeacked) && (f & kAck)) {
    if (Lt(rev.maxseqtobeacked, rev.nextseq)) {
      rev.maxseqtobeacked = rev.nextseq;
    } else {
      rev.dupacknum = -1;
    }
  }

  if (len > 0 || (f & (kSyn | kFin))) {
    bool not_advanced = fwd.nextseq != 0 && Lt(seq, fwd.nextseq);
    if (!(ta & kKeepAlive)) {
      // One byte before nextseq with more than one byte: new data after a
      // zero window probe, not a retransmission.
      if (len > 1 && fwd.nextseq - 1 == seq) not_advanced = false;
      if (len > 0 && rev.lastack != 0 && Le(seq + len, rev.lastack)) {
        ta |= kSpurious;
      } else if (not_advanced && rev.dupacknum >= 2 && rev.lastack == seq &&
                 Since(now, rev.lastack_ns) < kFastRetransmitWindowNs) {
        ta |= kFastRetransmission;
      } else {
        const uint64_t threshold =
            h.first_rtt_ns != 0 ? static_cast<uint64_t>(h.first_rtt_ns) : kDefaultOooThresholdNs;
        const uint32_t end = seq + len + ((f & (kSyn | kFin)) ? 1 : 0);
        if (not_advanced && Since(now, fwd.nextseq_ns) < threshold && fwd.nextseq != end) {
          ta |= kOutOfOrder;
        } else if (not_advanced) {
          ta |= kRetransmission;
        }
      }
    }
  }

  // Wireshark lists each segment with data, SYN or FIN until it is acked,
  // up to 10000 per direction; a SYN or FIN past that limit does not count
  // its sequence number. Only the count matters here: see TcpHealthUpdate.
  uint32_t nextseq = seq + len;
  if ((len > 0 || (f & (kSyn | kFin))) && fwd.unacked < kTcpMaxUnacked) {
    ++fwd.unacked;
    if (f & (kSyn | kFin)) ++nextseq;
  }
  if ((Gt(nextseq, fwd.nextseq) || fwd.nextseq == 0) && !(ta & kZeroWindowProbe)) {
    fwd.nextseq = nextseq;
    fwd.nextseq_ns = now;
  }
  if ((seq == fwd.maxseqtobeacked || fwd.maxseqtobeacked == 0) && !(ta & kZeroWindowProbe)) {
    fwd.maxseqtobeacked = fwd.nextseq;
  }
  fwd.window = s.window;
  fwd.flags |= kHealthWindowSeen;
  fwd.lastack = ack;
  fwd.lastack_ns = now;
  fwd.flags =
      static_cast<uint8_t>((fwd.flags & ~(kHealthLastKeepAlive | kHealthLastZeroWindowProbe)) |
                           ((ta & kKeepAlive) ? kHealthLastKeepAlive : 0) |
                           ((ta & kZeroWindowProbe) ? kHealthLastZeroWindowProbe : 0));
  // Wireshark drops from the other direction's list every segment this ACK
  // number covers. Without the list: an ACK at or past everything the other
  // direction sent covers all of it. Exact while a direction's ACKs are not
  // captured at all, and whenever fewer than 10000 segments are in flight.
  if (rev.nextseq != 0 && !Lt(ack, rev.nextseq)) rev.unacked = 0;
  return ta;
}

void ResetConnection(TcpHealth* h) {
  TcpHealthCounters count[2];
  std::memcpy(count, h->count, sizeof(count));
  const uint8_t hs = h->hs_flags & (kHealthServerHs | kHealthClientHs);
  const int32_t server = h->server_hs_us;
  const int32_t client = h->client_hs_us;
  std::memset(static_cast<void*>(h), 0, sizeof(*h));
  std::memcpy(h->count, count, sizeof(count));
  h->hs_flags = hs;
  h->server_hs_us = server;
  h->client_hs_us = client;
}

int32_t Micros(int64_t ns) {
  const int64_t us = ns / 1000;
  return us > INT32_MAX ? INT32_MAX : us < INT32_MIN ? INT32_MIN : static_cast<int32_t>(us);
}

}  // namespace

void TcpHealthReset(TcpHealth* h) noexcept { std::memset(static_cast<void*>(h), 0, sizeof(*h)); }

void TcpHealthUpdate(TcpHealth& h, int dir, const TcpSegment& s, int64_t ts_ns) noexcept {
  const uint8_t f = s.flags;
  // A SYN (without ACK) with another ISN than this direction's first one
  // starts a new connection on the same ports: Wireshark opens a new
  // conversation with fresh state. The same ISN again (a retransmitted
  // SYN) first rewinds nextseq to what the other side has acknowledged.
  if ((f & (kSyn | kAck)) == kSyn && (h.dir[dir].flags & kHealthBaseSet)) {
    if (s.seq != h.dir[dir].base_seq) {
      ResetConnection(&h);
    } else {
      h.dir[dir].nextseq = h.dir[dir].maxseqtobeacked;
    }
  }
  TcpHealthDir& fwd = h.dir[dir];
  TcpHealthDir& rev = h.dir[dir ^ 1];
  if ((f & (kSyn | kAck)) == (kSyn | kAck) && (fwd.flags & kHealthBaseSet) &&
      s.seq != fwd.base_seq) {
    fwd.base_seq = s.seq;
  }
  if (!(fwd.flags & kHealthBaseSet)) {
    fwd.base_seq = (f & kSyn) ? s.seq : s.seq - 1;
    fwd.flags |= kHealthBaseSet;
  }
  if (!(rev.flags & kHealthBaseSet) && (f & kAck)) {
    rev.base_seq = s.ack - 1;
    rev.flags |= kHealthBaseSet;
  }

  const uint32_t ta = Analyze(h, fwd, rev, s, ts_ns);
  if (SKYPROBE_UNLIKELY(ta & (kRetransmission | kFastRetransmission | kSpurious | kOutOfOrder |
                              kLost | kZeroWindow | kDupAck))) {
    TcpHealthCounters& c = h.count[dir];
    if (ta & (kRetransmission | kFastRetransmission | kSpurious)) Inc(c.retransmissions);
    if (ta & kFastRetransmission) Inc(c.fast_retransmissions);
    if (ta & kOutOfOrder) Inc(c.out_of_order);
    if (ta & kLost) Inc(c.lost_segments);
    if (ta & kDupAck) Inc(c.dup_acks);
    if (ta & kZeroWindow) Inc(c.zero_windows);
  }

  // Handshake times, after the analysis as in Wireshark: the latest SYN,
  // the iRTT at the first segment with ACK and without SYN after it. Times
  // of 0 mean "none", as Wireshark's nstime_is_zero.
  if ((f & (kSyn | kAck)) == kSyn) {
    h.mru_syn_ns = ts_ns;
  } else if ((f & (kSyn | kAck)) == (kSyn | kAck)) {
    if (h.mru_syn_ns != 0 && h.synack_ns == 0) {
      h.synack_ns = ts_ns;
      h.hs_flags =
          static_cast<uint8_t>((h.hs_flags & ~kHealthSynAckBa) | (dir == 1 ? kHealthSynAckBa : 0));
      if (!(h.hs_flags & kHealthServerHs)) {
        h.server_hs_us = Micros(ts_ns - h.mru_syn_ns);
        h.hs_flags |= kHealthServerHs;
      }
    }
  } else if (f & kAck) {
    if (h.mru_syn_ns != 0 && h.first_rtt_ns == 0) h.first_rtt_ns = ts_ns - h.mru_syn_ns;
    // The client side ends at the client's ACK: the other direction than
    // the SYN/ACK's.
    const int synack_dir = (h.hs_flags & kHealthSynAckBa) ? 1 : 0;
    if (h.synack_ns != 0 && dir != synack_dir && !(h.hs_flags & kHealthClientHs)) {
      h.client_hs_us = Micros(ts_ns - h.synack_ns);
      h.hs_flags |= kHealthClientHs;
    }
  }
}

}  // namespace skyprobe
