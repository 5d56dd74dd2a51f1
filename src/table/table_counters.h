// table_counters.h: the counters of one flow table shard, declared once.
//
// Owner: the shard's lcore writes them (plain uint64_t, one writer); the
// control lcore, gRPC and metrics threads read them with RelaxedCopy
// (skyprobe/counter_read.h). Each counter is one line of
// SKYPROBE_TABLE_COUNTERS: its field, summary name, kind, when it is shown and
// what it counts (skyprobe/counters.h); the struct and kTableCounters are made
// from that line, and app/counters.cc reports every line, so a new drop reason
// is one line here.
//
//   const TableCounters t = RelaxedCopy(table.counters());
//   uint64_t drops = FrameDrops(t);   // every kDrop line
#pragma once

#include <cstdint>

#include "skyprobe/compiler.h"
#include "skyprobe/counters.h"

// X(field, name, kind, shown, help). Names are stable: tests and scripts read them.
#define SKYPROBE_TABLE_COUNTERS(X)                                                                 \
  X(packets_in_flows, "packets_in_flows", kInFlows, kAlways,                                       \
    "frames counted in at least one flow")                                                         \
  X(drop_table_full, "drop_table_full", kDrop, kAlways,                                            \
    "frames dropped: drop-new policy at the limit")                                                \
  X(drop_ring_full, "drop_ring_full", kDrop, kAlways,                                              \
    "frames dropped: evicting needed a record slot, none free")                                    \
  X(drop_table_error, "drop_table_error", kDrop, kAlways,                                          \
    "frames dropped: the flow index had no position below the limit")                              \
  /* Flow index operations that failed where they cannot: a key not found at expiry, an add        \
     refused below the limit (table/flow_index.h). */                                              \
  X(table_inconsistencies, "table_inconsistencies", kEvent, kAlways,                               \
    "flow index operations that failed where they cannot (handled and counted)")                   \
  X(record_stalls, "ring_stalls", kEvent, kAlways, "records delayed because the sink had no slot") \
  X(flows_created, "flows_created", kFlowsCreated, kAlways, "flows created")                       \
  X(flows_evicted, "expired_evicted", kFlowsOut, kAlways,                                          \
    "flows expired early by the evict-oldest policy")                                              \
  X(expired_idle, "expired_idle", kFlowsOut, kAlways, "flows expired idle")                        \
  X(expired_tcp_closed, "expired_tcp_closed", kFlowsOut, kAlways, "flows expired at a TCP close")  \
  X(expired_flush, "expired_flush", kFlowsOut, kAlways, "flows expired by a flush")                \
  X(update_records, "update_records", kEvent, kAlways, "update records sent for live flows")       \
  X(touched_overflow, "touched_overflow", kEvent, kNever,                                          \
    "update ticks that had to scan the table")                                                     \
  X(raw_packets_kept, "raw_packets_kept", kEvent, kRawPackets,                                     \
    "packet copies made by raw packet capture")                                                    \
  X(raw_packets_dropped, "raw_packets_dropped", kEvent, kRawPackets,                               \
    "packets raw capture wanted but had no slot for")                                              \
  X(defrag_fragments, "defrag_fragments", kEvent, kDefrag, "fragment frames seen")                 \
  X(defrag_datagrams, "defrag_datagrams", kEvent, kDefrag, "datagrams reassembled")                \
  X(defrag_timeouts, "defrag_timeouts", kEvent, kDefrag,                                           \
    "datagrams given up incomplete at their timeout")                                              \
  X(defrag_table_full, "defrag_table_full", kEvent, kDefrag,                                       \
    "datagrams given up to make room (oldest first)")                                              \
  X(defrag_flushed, "defrag_flushed", kEvent, kDefrag,                                             \
    "datagrams given up incomplete at flush / end of input")                                       \
  X(defrag_overlaps, "defrag_overlaps", kEvent, kDefrag,                                           \
    "datagrams failed: overlap or inconsistent lengths")                                           \
  X(defrag_too_many, "defrag_too_many", kEvent, kDefrag,                                           \
    "datagrams failed: too many fragments (or held ones)")                                         \
  X(defrag_duplicates, "defrag_duplicates", kEvent, kDefrag,                                       \
    "fragments received twice (counted, add nothing)")                                             \
  X(defrag_held, "defrag_held", kHeld, kDefrag,                                                    \
    "frames held right now, waiting for their first fragment")                                     \
  X(kept_expired, "kept_expired", kEvent, kKeptExpired, "final records kept for queries")          \
  X(kept_expired_now, "kept_expired_flows", kLevel, kKeptExpired, "kept right now")                \
  X(kept_expired_overflow, "kept_expired_overflow", kEvent, kKeptExpired,                          \
    "kept ones pushed out early (keep_expired_max)")                                               \
  X(kept_expired_raw_reclaimed, "kept_expired_raw_reclaimed", kEvent, kKeptRaw,                    \
    "kept ones whose raw packets went to live flows")                                              \
  X(app_flows, "app_flows", kEvent, kAppMeta, "flows given a metadata slot")                       \
  X(app_no_slot, "app_no_slot", kEvent, kAppMeta, "flows whose metadata found no free slot")       \
  X(app_pending_full, "app_pending_full", kEvent, kAppMeta,                                        \
    "multi-segment ClientHellos/requests with no reader free")                                     \
  X(app_gave_up, "app_gave_up", kEvent, kAppMeta,                                                  \
    "readers given up: a gap, too many segments, too old")                                         \
  X(app_tls_malformed, "app_tls_malformed", kEvent, kAppMeta, "ClientHellos that did not parse")   \
  X(app_tls_unfingerprinted, "app_tls_unfingerprinted", kEvent, kAppMeta,                          \
    "ClientHellos with lists longer than kept: no JA3/JA4")                                        \
  X(app_message_too_long, "app_message_too_long", kEvent, kAppMeta,                                \
    "DNS/DHCPv4/VRRP layers longer than kept")

namespace skyprobe {

// Capture points a shard counts apart: inputs (ParsedPacket::input) are
// 0..kInputSlots-1 (DPDK port id + 1, RTE_MAX_ETHPORTS 32 on Debian 12).
inline constexpr uint32_t kInputSlots = 64;

// Single-writer counters of one shard (read by the control lcore for stats).
struct SKYPROBE_CACHE_ALIGNED TableCounters {
  SKYPROBE_TABLE_COUNTERS(SKYPROBE_COUNTER_FIELD)
  // By capture point (input): frames counted in a flow, flows created, flows
  // live now (a flow counts at the input of its first packet). Reported by
  // capture point (app/counters.cc), not summed.
  uint64_t input_packets_in_flows[kInputSlots] = {};
  uint64_t input_flows_created[kInputSlots] = {};
  uint64_t input_flows_live[kInputSlots] = {};
};

inline constexpr auto kTableCounters =
    SKYPROBE_COUNTER_LIST(TableCounters, SKYPROBE_TABLE_COUNTERS);
static_assert(FrameKindsShown(kTableCounters), "a frame counter of TableCounters is never shown");

// Frames the shard dropped, every reason.
inline uint64_t FrameDrops(const TableCounters& c) {
  return SumOfKind(c, kTableCounters, CounterKind::kDrop);
}
// Flows that ended, every reason.
inline uint64_t FlowsOut(const TableCounters& c) {
  return SumOfKind(c, kTableCounters, CounterKind::kFlowsOut);
}

}  // namespace skyprobe
