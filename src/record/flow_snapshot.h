// flow_snapshot.h: a flow record as it leaves its worker.
//
// Owner: written by the RX lcore that owns the flow, then handed over a ring;
// from then on owned by the control lcore (enhancers, handlers, sinks) until it
// is returned to its pool. Fixed size, no pointers, so it can live in an
// rte_mempool and cross cores as one message.
//
//   table.FillSnapshot(pos, FlowEvent::kExpire, ExpireReason::kIdle, s);   // table/flow_table.h
//   AppendFlowJson(*s, ctx, &out);    // export/json_lines.h
#pragma once

#include <cstdint>
#include <string_view>

#include "parse/parsed_packet.h"
#include "record/app_meta_box.h"

namespace skyprobe {

// Why a record was emitted (the JSON "Event" field).
enum class FlowEvent : uint8_t {
  kUpdate = 0,  // periodic: flow touched during the last update window
  kExpire = 1,  // final: idle timeout, TCP close, eviction, flush or exit
};

// Skydive's FlowFinishType.
enum class FinishType : uint8_t {
  kNotFinished = 0,
  kTimeout = 1,
  kTcpFin = 2,
  kTcpRst = 3,
};

// Why an expire record was emitted (beyond Skydive; JSON "ExpireReason").
enum class ExpireReason : uint8_t {
  kNone = 0,       // update records
  kIdle = 1,       // idle longer than the expire period
  kTcpClosed = 2,  // FIN both ways or RST, after the close hold
  kEvicted = 3,    // table full, evict-oldest policy
  kFlush = 4,      // end of input, SIGINT/SIGTERM, or a Flush request
};

// Skydive's FlowMetric. Times in Unix ms, RTT in ns.
struct FlowMetric {
  int64_t ab_packets = 0;
  int64_t ab_bytes = 0;
  int64_t ba_packets = 0;
  int64_t ba_bytes = 0;
  int64_t start = 0;
  int64_t last = 0;
  int64_t rtt = 0;
};

// Skydive's stream counters of one direction (TCPMetric fields 9-15 / 16-22,
// --tcp-stream-metrics; docs/tcp-metrics.md).
struct TcpStreamCounters {
  int64_t segment_out_of_order = 0;
  int64_t segment_skipped = 0;
  int64_t segment_skipped_bytes = 0;
  int64_t packets = 0;
  int64_t bytes = 0;
  int64_t saw_start = 0;  // 0 or 1
  int64_t saw_end = 0;    // 0 or 1
};

// TCP health of one direction as Wireshark flags it (--tcp-health): segments
// tshark marks tcp.analysis.retransmission, .fast_retransmission,
// .out_of_order, .lost_segment, .duplicate_ack, .zero_window.
struct TcpHealthCounts {
  int64_t retransmissions = 0;
  int64_t fast_retransmissions = 0;
  int64_t out_of_order = 0;
  int64_t lost_segments = 0;
  int64_t dup_acks = 0;
  int64_t zero_windows = 0;
};

// The counters of TcpHealthCounts by index, in the order every output lists
// them (kTcpMetricNames, the protobuf TCPMetric, the IPFIX elements):
// retransmissions, fast_retransmissions, out_of_order, lost_segments,
// dup_acks, zero_windows. The one accessor by index: the record's writers
// and readers (record/flow_format.cc) and the IPFIX encoder use it.
inline constexpr int kTcpHealthCounters = 6;
static_assert(sizeof(TcpHealthCounts) == kTcpHealthCounters * sizeof(int64_t),
              "a new counter needs its index in TcpHealthCounter");
inline int64_t& TcpHealthCounter(TcpHealthCounts& c, int i) {
  switch (i) {
    case 0:
      return c.retransmissions;
    case 1:
      return c.fast_retransmissions;
    case 2:
      return c.out_of_order;
    case 3:
      return c.lost_segments;
    case 4:
      return c.dup_acks;
    default:
      return c.zero_windows;
  }
}
inline int64_t TcpHealthCounter(const TcpHealthCounts& c, int i) {
  return TcpHealthCounter(const_cast<TcpHealthCounts&>(c), i);
}

// Skydive's TCPMetric: the flag times and TTLs, then (each group present only
// when its option is on) the stream counters and the health counters with
// the handshake latencies (beyond Skydive).
struct TcpMetric {
  int64_t ab_syn_start = 0;
  int64_t ba_syn_start = 0;
  uint32_t ab_syn_ttl = 0;
  uint32_t ba_syn_ttl = 0;
  int64_t ab_fin_start = 0;
  int64_t ba_fin_start = 0;
  int64_t ab_rst_start = 0;
  int64_t ba_rst_start = 0;

  bool has_stream = false;
  TcpStreamCounters ab_stream;
  TcpStreamCounters ba_stream;

  bool has_health = false;
  TcpHealthCounts ab_health;
  TcpHealthCounts ba_health;
  // Microseconds from the SYN to the SYN/ACK (server side of the probe) and
  // from the SYN/ACK to the client's ACK (client side); -1: not measured.
  int64_t server_handshake_us = -1;
  int64_t client_handshake_us = -1;
};

struct IpMetric {
  int64_t fragments = 0;
  int64_t fragment_errors = 0;
};

// Counters scaled by the sampling rate (sFlow flows only; beyond Skydive,
// which reports the raw sampled counts alone): each sampled packet counts
// for `rate` packets and `rate` x its length bytes, per direction. The raw
// samples stay in FlowMetric. `sampling_rate` is the rate of the latest sample.
struct ScaledMetric {
  int64_t ab_packets = 0;
  int64_t ab_bytes = 0;
  int64_t ba_packets = 0;
  int64_t ba_bytes = 0;
  int64_t sampling_rate = 0;
};

// Longest NodeTID a record carries itself (an IPv6 address in text is 45).
inline constexpr int kRecordNodeTidMax = 48;
// MPLS label stack entries a record keeps (the top ones: a deeper stack is
// cut, as IPFIX exporters commonly do).
inline constexpr int kMaxMplsEntries = 3;

struct FlowSnapshot {
  FlowEvent event = FlowEvent::kUpdate;
  ExpireReason expire_reason = ExpireReason::kNone;
  FinishType finish_type = FinishType::kNotFinished;
  uint8_t worker = 0;       // which worker's shard held the flow
  bool has_parent = false;  // parent_uuid is set (here: it fills the first word)

  // Identity. Hex-formatted (no leading zeros) on output, as Skydive does.
  uint64_t uuid = 0;
  uint64_t parent_uuid = 0;
  uint64_t tracking_id = 0;     // L2 key (== L3 key in L3 mode with IP)
  uint64_t l3_tracking_id = 0;  // L3 key

  // LayersPath from the first packet; Application is its last element.
  uint8_t num_layers = 0;
  Layer layers[kMaxLayers];

  // Endpoints, A = source of the first packet. Raw wire bytes.
  bool has_link = false;
  uint8_t link_a[6] = {};
  uint8_t link_b[6] = {};
  int64_t link_id = 0;

  uint8_t ip_version = 0;  // 0: no Network layer
  uint8_t network_a[16] = {};
  uint8_t network_b[16] = {};
  int64_t network_id = 0;

  FlowProtocol transport = FlowProtocol::kEthernet;  // kEthernet: no Transport layer
  uint16_t transport_a = 0;
  uint16_t transport_b = 0;

  uint8_t icmp_version = 0;  // 0: no ICMP layer
  IcmpType icmp_type = IcmpType::kUnknown;
  bool has_icmp_raw_type = false;
  uint8_t icmp_raw_type = 0;  // on-wire type of the first packet (A -> B)
  uint8_t icmp_code = 0;
  uint16_t icmp_id = 0;

  int64_t start = 0;  // Unix ms
  int64_t last = 0;

  FlowMetric metric;
  bool has_last_update_metric = false;
  FlowMetric last_update_metric;
  bool has_tcp_metric = false;
  TcpMetric tcp_metric;
  bool has_ip_metric = false;
  IpMetric ip_metric;

  int64_t raw_packets_captured = 0;

  // sFlow flows: counters scaled by the sampling rate.
  bool has_scaled_metric = false;
  ScaledMetric scaled_metric;
  // The flow's own NodeTID (sFlow: its agent's address), NUL-terminated;
  // empty: the probe's --node-tid applies (RecordNodeTid).
  char node_tid[kRecordNodeTidMax] = {};

  // Filled by the control lcore's enhancers (empty string: not computed).
  char community_id[64] = {};

  // Beyond Skydive's record, for exporters (IPFIX ingressInterface and
  // tcpControlBits); not in JSON or the protobuf Flow.
  // The input the flow's first packet came from, 1-based: DPDK port id + 1
  // (the k-th --pcap file is input k when each file is a port); 0: unknown
  // (sFlow flows). Later, a capture point's index.
  uint8_t input = 0;
  // OR of the TCP flags (FIN 0x01 ... CWR 0x80) of the packets each way; 0
  // for other transports and for fragments without their TCP header.
  uint8_t tcp_flags_ab = 0;
  uint8_t tcp_flags_ba = 0;
  // The MPLS label stack of the flow's first packet, when its path ends in
  // "MPLS" (the stack belongs to the flow it ends, as in LayersPath): the top
  // mpls_count entries (at most kMaxMplsEntries) as on the wire, 3 bytes each
  // (20-bit label, 3-bit traffic class, bottom-of-stack bit).
  uint8_t mpls_count = 0;
  uint8_t mpls[kMaxMplsEntries][3] = {};
  // Application metadata and Skydive's extra layers (record/app_meta.h),
  // out of line (record/app_meta_box.h): empty when off or when the flow
  // has none.
  AppMetaBox app;
};

// The NodeTID a record reports: its own when it has one, else the probe's.
inline std::string_view RecordNodeTid(const FlowSnapshot& s, std::string_view probe_node_tid) {
  return s.node_tid[0] != '\0' ? std::string_view(s.node_tid) : probe_node_tid;
}

}  // namespace skyprobe
