// flow_key.h: Skydive's flow keys, bit for bit (reference notes §2.2).
//
// Owner: stateless functions, called on the RX lcore per sub-packet.
// The key bytes are laid out once in a small buffer (KeyBytes); the table key
// is one XXH64 over all of it, and the two tracking IDs are XXH64 over its
// prefixes, computed only when a flow is created.
//
//   KeyBytes kb;
//   BuildKeyBytes(frame, sub, KeyMode::kL2, parent_uuid, has_parent, &kb);
//   uint64_t key = LookupKey(kb);       // per packet: the shard's hash key
//   FlowIds ids = TrackingIds(kb);      // on flow creation only
//   uint64_t uuid = FlowUuid(TableKey(kb), start_ms, tid, len);
#pragma once

#include <cstdint>

#include "config/config.h"
#include "parse/parsed_packet.h"

namespace skyprobe {

// How the direction of a packet inside its flow is decided (notes §2.4).
enum class DirectionRule : uint8_t {
  kEndpoints = 0,  // by MAC or IP order: "same swap bit as the first packet" = A->B
  kPortTie = 1,    // equal MACs and IPs: A->B iff Transport.A > this packet's source port
  kIcmpTie = 2,    // equal MACs and IPs, ICMP: A->B iff Flow.ICMP.Type > packet's type
};

// Bytes fed to XXH64 for one sub-packet, with the digest cut points.
struct KeyBytes {
  uint8_t data[128];
  uint8_t l3_len = 0;    // prefix hashed for L3TrackingID
  uint8_t l2_len = 0;    // prefix hashed for TrackingID (== l3_len when no MACs)
  uint8_t len = 0;       // everything, parent UUID included: the table key
  bool swap = false;     // endpoints were written destination first
  DirectionRule rule = DirectionRule::kEndpoints;
};

struct FlowIds {
  uint64_t tracking_id = 0;
  uint64_t l3_tracking_id = 0;
};

// Lays out the key bytes of `sub` (a sub-packet of `frame`). `parent_uuid` is
// hashed as Skydive's hex string when `has_parent`.
void BuildKeyBytes(const uint8_t* frame, const SubPacket& sub, KeyMode mode, uint64_t parent_uuid,
                   bool has_parent, KeyBytes* kb) noexcept;

// Skydive's table key (XXH64 of all the key bytes): the UUID's seed.
uint64_t TableKey(const KeyBytes& kb) noexcept;

// The key a shard indexes flows by: XXH3 over the same bytes, so it
// identifies exactly the same flows as TableKey at a third of the cost per
// packet (Skydive's XXH64 is only needed when a flow is created).
uint64_t LookupKey(const KeyBytes& kb) noexcept;
FlowIds TrackingIds(const KeyBytes& kb) noexcept;

// Skydive's UUID: XXH64 seeded with the table key over Start (ms, 8 bytes big
// endian) followed by the NodeTID string.
uint64_t FlowUuid(uint64_t table_key, int64_t start_ms, const char* node_tid,
                  uint32_t node_tid_len) noexcept;

// Lowercase hex without leading zeros (Go's strconv.FormatUint(v, 16)).
// Writes at most 16 chars plus NUL into `out`; returns the length.
int FormatHex64(uint64_t v, char* out) noexcept;

}  // namespace skyprobe
