// tcp_health.h: TCP health of a flow as Wireshark's sequence analysis
// defines it (tshark's tcp.analysis.* flags of Wireshark 4.0), per direction:
// retransmissions, fast retransmissions, out-of-order segments, lost
// (previous segment not captured) segments, duplicate ACKs, zero windows;
// and the handshake latency seen at the probe (docs/tcp-metrics.md).
//
// Owner: the RX lcore of the shard, through FlowTable (one TcpHealth per
// flow position, in a side array made only with --tcp-health). Bounded state,
// no allocation, no payload: each packet reads the TCP header fields only.
//
//   TcpHealthReset(&h);                         // the flow's first packet
//   TcpHealthUpdate(h, /*dir=*/0, seg, ts_ns);  // each TCP packet, 0 = A->B
#pragma once

#include <cstdint>

#include "skyprobe/compiler.h"

namespace skyprobe {

// The header fields of one TCP segment that the trackers read.
struct TcpSegment {
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint32_t len = 0;     // payload bytes (Wireshark's tcp.len)
  uint16_t window = 0;  // as on the wire, not scaled
  uint8_t flags = 0;    // FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10
};

// Wireshark's per-direction analysis state: the fields of its
// tcp_analyze_seq_flow_info and tcp_flow that the flags depend on.
struct TcpHealthDir {
  int64_t nextseq_ns;  // capture time of the segment that last moved nextseq
  int64_t lastack_ns;  // capture time of this direction's latest segment
  uint32_t nextseq;    // highest "next sequence number" seen; 0: unknown
  uint32_t lastack;    // ACK number of this direction's latest segment
  uint32_t maxseqtobeacked;
  uint32_t base_seq;  // ISN (SYN) or first seq - 1: a SYN with another ISN is a new connection
  int32_t dupacknum;  // duplicate ACKs in a row (-1: after an "ACKed unseen segment")
  uint16_t unacked;   // segments not yet acknowledged, up to kTcpMaxUnacked (see .cc)
  uint16_t window;    // raw window of the latest segment, once kHealthWindowSeen
  uint8_t flags;      // TcpHealthDirFlags
};

// Per direction: how many segments tshark flags with each filter.
struct TcpHealthCounters {
  uint32_t retransmissions;       // tcp.analysis.retransmission (fast and spurious included)
  uint32_t fast_retransmissions;  // tcp.analysis.fast_retransmission
  uint32_t out_of_order;          // tcp.analysis.out_of_order
  uint32_t lost_segments;         // tcp.analysis.lost_segment
  uint32_t dup_acks;              // tcp.analysis.duplicate_ack
  uint32_t zero_windows;          // tcp.analysis.zero_window
};

// One flow: both directions ([0] A->B, [1] B->A), the connection-wide times,
// the counters. Three cache lines; a packet reads the first two and writes
// the third only when it is flagged.
struct SKYPROBE_CACHE_ALIGNED TcpHealth {
  TcpHealthDir dir[2];
  int64_t mru_syn_ns;    // latest SYN without ACK (Wireshark's ts_mru_syn); 0: none
  int64_t first_rtt_ns;  // Wireshark's iRTT (tcp.analysis.initial_rtt); 0: not known yet
  int64_t synack_ns;     // the handshake's SYN/ACK; 0: none yet (direction: kHealthSynAckBa)
  int32_t server_hs_us;  // SYN -> SYN/ACK, valid with kHealthServerHs
  int32_t client_hs_us;  // SYN/ACK -> ACK, valid with kHealthClientHs
  uint8_t hs_flags;
  TcpHealthCounters count[2];
};
static_assert(sizeof(TcpHealth) == 192, "TcpHealth layout changed: update bytes/flow figures");

enum TcpHealthDirFlags : uint8_t {
  kHealthWindowSeen = 1u << 0,
  kHealthBaseSet = 1u << 1,
  kHealthLastKeepAlive = 1u << 2,       // the direction's latest segment was a keep-alive
  kHealthLastZeroWindowProbe = 1u << 3  // ... a zero window probe
};
enum TcpHealthHsFlags : uint8_t {
  kHealthServerHs = 1u << 0,
  kHealthClientHs = 1u << 1,
  kHealthSynAckBa = 1u << 2,  // the SYN/ACK of synack_ns went B->A
};

// Wireshark keeps at most this many unacknowledged segments per direction.
inline constexpr uint16_t kTcpMaxUnacked = 10000;

// A new flow's state (everything unknown, counters 0).
void TcpHealthReset(TcpHealth* h) noexcept;

// One segment of the flow going in direction `dir` (0 = A->B, 1 = B->A),
// captured at `ts_ns`.
void TcpHealthUpdate(TcpHealth& h, int dir, const TcpSegment& s, int64_t ts_ns) noexcept;

}  // namespace skyprobe
