// flow_record.h: one flow as a shard stores it.
//
// Owner: the RX lcore that owns the shard; nobody else reads or writes it.
// The record is split by access frequency: FlowHot is touched by every
// packet (its key's line and its counters' line) and by the timer wheel (the
// counters' line), FlowCold only when the flow
// is created, on SYN/FIN/RST/echo packets, at update ticks and when it leaves
// the worker. Both arrays are indexed by the flow's FlowIndex position. An all-zero record is a
// free slot (the arrays come from rte_zmalloc and are never initialised in bulk, so untouched slots
// cost no resident memory).
//
//   FlowHot& h = hot_[pos];                // inside FlowTable only
//   h.ab_packets++; h.last_ns = now;
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "parse/parsed_packet.h"
#include "record/flow_snapshot.h"
#include "skyprobe/compiler.h"
#include "table/flow_key.h"

namespace skyprobe {

inline constexpr uint32_t kNoIndex = 0xffffffffu;

enum FlowFlags : uint8_t {
  kFlowLive = 1u << 0,       // slot holds a flow
  kFlowFirstSwap = 1u << 1,  // key swap bit of the first packet: same bit = A->B
  kFlowTcp = 1u << 2,
  kFlowFinAb = 1u << 3,
  kFlowFinBa = 1u << 4,
  kFlowRst = 1u << 5,
  kFlowTouched = 1u << 6,  // seen since the last update tick
  kFlowUpdated = 1u << 7,  // an update record was ever emitted
};

// Per packet: two adjacent cache lines, 128-byte aligned (a pair the L2's
// adjacent-line prefetcher fetches together, in one page). The first is the
// counters' line, written by every packet and the only one the timer wheel
// reads and relinks (its links are here). The second is the flow's whole key
// (FlowTableKey), which the FlowIndex compares on lookup: kept beside the
// counters, a packet of a known flow costs its bucket line and this pair,
// one page walk, instead of a key line and a record line in two arrays.
struct alignas(128) FlowHot {
  int64_t last_ns = 0;
  int64_t ab_packets = 0;
  int64_t ab_bytes = 0;
  int64_t ba_packets = 0;
  int64_t ba_bytes = 0;
  int64_t rtt_start_ns = 0;  // pending SYN / echo request time, 0 = none
  uint32_t wheel_prev = kNoIndex;
  uint32_t wheel_next = kNoIndex;
  uint16_t wheel_slot = 0;   // timer wheel slot + 1; 0 = not armed
  uint16_t transport_a = 0;  // for Skydive's equal-endpoint tie-break
  uint8_t flags = 0;
  uint8_t icmp_type = 0;  // mapped IcmpType of the first packet
  // OR of the TCP flags of every packet each way (IPFIX tcpControlBits): one
  // OR per packet into this line, which the packet writes anyway.
  uint8_t tcp_flags_ab = 0;
  uint8_t tcp_flags_ba = 0;
  // The second line: written by FlowIndex::Add, kept over a new flow's
  // counters (InitFlow), stale in a free slot.
  SKYPROBE_CACHE_ALIGNED FlowTableKey key;
};
static_assert(offsetof(FlowHot, key) == 64, "the counters stay one cache line");
static_assert(sizeof(FlowHot) == 128, "FlowHot is the counters' line and the key's");

// A Unix time in ms in 6 bytes. Exact for every time the table stores: they
// are all ns / 10^6 of an int64 clock, so |ms| < 2^63 / 10^6 < 2^47.
struct Ms48 {
  uint8_t b[6];
  void Set(int64_t ms) { std::memcpy(b, &ms, 6); }  // little endian: the low 6 bytes
  int64_t Get() const {
    int64_t v = 0;
    std::memcpy(&v, b, 6);
    return (v << 16) >> 16;  // sign-extend bit 47
  }
};

// LayersPath in 6 bits per layer (the enum has fewer than 64 names).
struct PackedLayers {
  static_assert(static_cast<int>(Layer::kCount) <= 64, "6 bits per layer");
  static_assert(kMaxLayers * 6 <= 96, "12 bytes");
  uint8_t b[12];
  void Set(const Layer* layers, int n) {
    unsigned __int128 v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 6) | static_cast<uint8_t>(layers[i]);
    std::memcpy(b, &v, 12);
  }
  void Get(Layer* layers, int n) const {
    unsigned __int128 v = 0;
    std::memcpy(&v, b, 12);
    for (int i = 0; i < n; ++i, v >>= 6) layers[i] = static_cast<Layer>(v & 63);
  }
};

// Everything but the per-packet fields: first-packet description, RTT,
// update-window snapshot, TCP flag times. Written at creation, read on
// export; TCP times and RTT on the few packets that set them. 128 bytes, two
// cache lines (the array is 64-byte aligned: a record never straddles a third). What
// the flow's key (FlowHot::key) already holds is not here: the IP addresses
// (FlowHot's kFlowFirstSwap says which of the key's two is A), the parent
// UUID, and the TrackingIDs, which are hashes of the key's bytes (KeyBytesOf)
// and are derived when a record is made. The UUID is not here either: the
// table keeps UUIDs in a dense array of their own, which a query for one
// flow scans at 8 bytes per slot. Neither is IPMetric (FlowTable::ip_metric_,
// only with --ip-defrag).
struct FlowCold {
  int64_t rtt_ns;
  int64_t snap_ab_packets;  // Metric at the last update tick
  int64_t snap_ab_bytes;
  int64_t snap_ba_packets;
  int64_t snap_ba_bytes;
  int64_t link_id;
  uint32_t network_id;  // a VNI, GRE key or GTP-U TEID: 32 bits on the wire
  uint8_t link_a[6];
  uint8_t link_b[6];
  Ms48 start_ms;
  Ms48 ab_syn_start;  // TCPMetric times, 0 = not seen
  Ms48 ba_syn_start;
  Ms48 ab_fin_start;
  Ms48 ba_fin_start;
  // TCP flows: the RST times and the SYNs' TTLs (one byte on the wire). A
  // flow whose path ends in an MPLS label stack is never a TCP flow (the
  // stack ends its sub-packet: no transport layer follows it there, so
  // TcpFlags never runs for it): the same bytes hold the top entries of its
  // first packet's stack (3 bytes each as on the wire: label, TC, S) and how
  // many there are.
  union {
    struct {
      Ms48 ab_rst_start;
      Ms48 ba_rst_start;
      uint8_t ab_syn_ttl;
      uint8_t ba_syn_ttl;
    };
    struct {
      uint8_t mpls[kMaxMplsEntries * 3];
      uint8_t mpls_count;
    };
  };
  PackedLayers layers;
  uint16_t transport_b;
  uint16_t icmp_id;
  uint8_t num_layers;
  uint8_t icmp_code;
  uint8_t icmp_raw_type;
  uint8_t has_link : 1;
  uint8_t first_finish : 2;   // FinishType of the first packet
  uint8_t saw_fragments : 1;  // IP fragments counted here: IPMetric is exported
  uint8_t transport : 3;      // FlowProtocol
  uint8_t icmp_v6 : 1;        // the ICMP layer is ICMPv6 (the key says if there is one)
  // Neither the IP version nor the capture point (ParsedPacket::input) is
  // here, nor whether the flow has an ICMP layer: the key says all three
  // (KeyIpVersion, KeyInput, KeyHasIcmp).
};
static_assert(kMaxMplsEntries * 3 + 1 <= 2 * sizeof(Ms48) + 2,
              "the label stack fits the RST times and TTLs");
static_assert(static_cast<int>(FlowProtocol::kIcmpv6) < 8, "FlowCold::transport is 3 bits");
static_assert(sizeof(FlowCold) == 128, "FlowCold layout changed: update bytes/flow figures");

}  // namespace skyprobe
