// flow_record.h: one flow as a shard stores it.
//
// Owner: the RX lcore that owns the shard; nobody else reads or writes it.
// The record is split by access frequency: FlowHot is touched by every
// packet (one cache line), FlowWarm by timers and SYN/FIN/RST/echo packets,
// FlowCold only when the flow is created or leaves the worker. The three
// arrays are indexed by the rte_hash position of the flow's key.
//
//   FlowHot& h = table.hot(pos);
//   h.ab_packets++; h.last_ns = now;
#pragma once

#include <cstdint>

#include "skyprobe/compiler.h"
#include "parse/parsed_packet.h"
#include "table/flow_snapshot.h"

namespace skyprobe {

inline constexpr uint32_t kNoIndex = 0xffffffffu;

enum FlowFlags : uint8_t {
  kFlowLive = 1u << 0,       // slot holds a flow
  kFlowFirstSwap = 1u << 1,  // key swap bit of the first packet: same bit = A->B
  kFlowTcp = 1u << 2,
  kFlowFinAb = 1u << 3,
  kFlowFinBa = 1u << 4,
  kFlowRst = 1u << 5,
  kFlowTouched = 1u << 6,    // seen since the last update tick
  kFlowUpdated = 1u << 7,    // an update record was ever emitted
};

// Per packet: exactly one cache line.
struct SKYPROBE_CACHE_ALIGNED FlowHot {
  uint64_t key = 0;
  int64_t last_ns = 0;
  int64_t ab_packets = 0;
  int64_t ab_bytes = 0;
  int64_t ba_packets = 0;
  int64_t ba_bytes = 0;
  int64_t rtt_start_ns = 0;  // pending SYN / echo request time, 0 = none
  uint16_t transport_a = 0;  // for Skydive's equal-endpoint tie-break
  uint8_t flags = 0;
  uint8_t rule = 0;          // DirectionRule of the flow
  uint8_t icmp_type = 0;     // mapped IcmpType of the first packet
  uint8_t pad_[3] = {};
};
static_assert(sizeof(FlowHot) == 64, "FlowHot must stay one cache line");

// Timers, update windows, RTT, TCP flag times.
struct SKYPROBE_CACHE_ALIGNED FlowWarm {
  uint32_t wheel_prev = kNoIndex;
  uint32_t wheel_next = kNoIndex;
  uint32_t wheel_slot = kNoIndex;
  uint32_t pad_ = 0;
  int64_t start_ns = 0;
  int64_t rtt_ns = 0;
  int64_t update_from_ms = 0;   // start of the current update window
  int64_t snap_ab_packets = 0;  // Metric at the last update tick
  int64_t snap_ab_bytes = 0;
  int64_t snap_ba_packets = 0;
  int64_t snap_ba_bytes = 0;
  TcpMetric tcp;
};

// Identity and first-packet description: written once, read on export.
struct FlowCold {
  uint64_t uuid = 0;
  uint64_t parent_uuid = 0;
  uint64_t tracking_id = 0;
  uint64_t l3_tracking_id = 0;
  int64_t link_id = 0;
  int64_t network_id = 0;
  uint8_t network_a[16];
  uint8_t network_b[16];
  uint8_t link_a[6];
  uint8_t link_b[6];
  uint16_t transport_b = 0;
  uint8_t num_layers = 0;
  uint8_t ip_version = 0;
  uint8_t has_link = 0;
  uint8_t has_parent = 0;
  FlowProtocol transport = FlowProtocol::kEthernet;
  uint8_t icmp_version = 0;
  uint8_t icmp_code = 0;
  uint8_t icmp_raw_type = 0;
  uint16_t icmp_id = 0;
  FinishType first_finish = FinishType::kNotFinished;
  Layer layers[kMaxLayers];
};

}  // namespace skyprobe
