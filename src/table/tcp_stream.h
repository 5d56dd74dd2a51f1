// tcp_stream.h: Skydive's TCP reassembly statistics (the 14 stream counters
// of TCPMetric) without reassembling anything: per direction, a sequence
// tracker that delivers segments in sequence order as gopacket's
// tcpassembly does, and counts what Skydive's stream counts: segments and
// bytes delivered, segments delivered out of order, gaps skipped and their
// bytes, whether the stream started with a SYN and ended with a FIN or RST.
// The exact definitions are in docs/tcp-metrics.md.
//
// Owner: the RX lcore of the shard, through FlowTable (one TcpStream per flow
// position, in a side array made only with --tcp-stream-metrics). Bounded
// state (at most kTcpStreamGaps gaps waiting per direction), no payload copy,
// no allocation.
//
//   TcpStreamUpdate(stream.dir[0], seg, ts_ns);   // each TCP packet A->B
//   TcpStreamDir end = stream.dir[0]; TcpStreamFlush(&end);   // final record
#pragma once

#include <cstdint>

#include "skyprobe/compiler.h"
#include "table/tcp_health.h"

namespace skyprobe {

// Segments waiting behind a gap: one contiguous run of sequence space
// [lo, hi) beyond the next expected byte.
struct TcpStreamRun {
  uint32_t lo;
  uint32_t hi;
  uint32_t segments;   // segments that fell in the run
  uint32_t overtaken;  // of those, how many a later-captured segment was delivered before
  uint32_t first_t;    // capture time of its first segment, in 2^20 ns units (wraps)
};

inline constexpr int kTcpStreamGaps = 2;

struct TcpStreamDir {
  int64_t latest_ns;  // capture time of the latest segment delivered in order
  uint64_t packets;
  uint64_t bytes;
  uint64_t skipped_bytes;
  uint32_t out_of_order;
  uint32_t skipped;
  uint32_t next;    // next expected sequence number, once kStreamStarted
  uint8_t state;    // TcpStreamState bits
  uint8_t runs;     // waiting runs in run[], lowest sequence first
  uint8_t run_end;  // bit i: run i holds a FIN or RST
  TcpStreamRun run[kTcpStreamGaps];
};

enum TcpStreamState : uint8_t {
  kStreamStarted = 1u << 0,
  kStreamEnded = 1u << 1,  // a FIN or RST was delivered: nothing more is counted
  kStreamSawStart = 1u << 2,
  kStreamSawEnd = 1u << 3,
};

// Both directions of a flow: [0] A->B, [1] B->A.
struct SKYPROBE_CACHE_ALIGNED TcpStream {
  TcpStreamDir dir[2];
};
static_assert(sizeof(TcpStream) == 192, "TcpStream layout changed: update bytes/flow figures");

// Waiting segments are given up (their gap skipped) when a segment arrives
// this long after the first of them was captured (Skydive flushes streams
// older than 30 s).
inline constexpr int64_t kTcpStreamGiveUpNs = 30'000'000'000;

// One segment of the direction, captured at `ts_ns`.
void TcpStreamUpdate(TcpStreamDir& d, const TcpSegment& s, int64_t ts_ns) noexcept;

// Gives up every gap still waiting, as Skydive's final flush does: call it on
// a copy for the flow's final record.
void TcpStreamFlush(TcpStreamDir* d) noexcept;

}  // namespace skyprobe
