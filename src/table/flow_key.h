// flow_key.h: Skydive's flow keys, bit for bit (Skydive's flow/packet.go, Packet.Keys).
//
// The key bytes of one sub-packet, in order. Endpoint pairs are written in a
// canonical order (so both directions hash alike), each pair followed by its
// gopacket endpoint type, 8 bytes big endian (IPv4 1, IPv6 2, MAC 3, TCP port
// 4, UDP port 5, SCTP port 6, synthetic 0):
//   1. the IP pair of the first IPv4 layer, else of the first IPv6 layer;
//   2. the port pair of the first UDP, else TCP, else SCTP layer; an outer
//      VXLAN/Geneve sub-packet writes instead VNI (4 bytes) and UDP destination
//      port (2 bytes), type 0: its source port is entropy;
//   3. ICMP: one 4-byte word, mapped type << 24 | code << 16 | identifier
//      (ICMPv6 echo: type << 24 | identifier), then 8 zero bytes;
//      XXH64 (seed 0) of the bytes so far is the L3TrackingID;
//   4. the MAC pair, in L2 mode with an Ethernet layer or without IP: with it,
//      the TrackingID;
//   5. the parent flow's UUID as hex text (nothing for the outer sub-packet):
//      the table key, which seeds the UUID (FlowUuid).
// VLAN IDs, GRE keys and Network/Transport IDs are never hashed.
//
// Owner: stateless functions, called on the RX lcore per sub-packet.
// Skydive's key bytes are laid out in a small buffer (KeyBytes) when a flow is
// created: the table key is one XXH64 over all of it, and the two tracking
// IDs are XXH64 over its prefixes. Per packet only LookupKey runs: it gives
// the same identity as a FlowTableKey, the words a shard compares whole.
//
//   KeyOrientation o;
//   FlowTableKey key;
//   LookupKey(frame, sub, KeyMode::kL2, parent_uuid, has_parent, &key, &o, pkt.input);
//   uint32_t sig = TableHashSig(key);                                        // its bucket
//   KeyBytes kb;                        // on flow creation only:
//   BuildKeyBytes(frame, sub, KeyMode::kL2, parent_uuid, has_parent, &kb);
//   FlowIds ids = TrackingIds(kb);
//   uint64_t uuid = FlowUuid(TableKey(kb), start_ms, tid, len);
#pragma once

#include <cstdint>

#include "config/config.h"
#include "parse/parsed_packet.h"
#include "skyprobe/compiler.h"

namespace skyprobe {

// How the direction of a packet inside its flow is decided. A is the source of
// the flow's first packet at every layer; a later packet is A->B when its
// source MAC is Link.A (L2 mode with Ethernet), else its source IP is
// Network.A, with the tie-breaks below (Skydive's flow/flow.go).
enum class DirectionRule : uint8_t {
  kEndpoints = 0,  // by MAC or IP order: "same swap bit as the first packet" = A->B
  kPortTie = 1,    // equal MACs and IPs: A->B iff Transport.A > this packet's source port
  kIcmpTie = 2,    // equal MACs and IPs, ICMP: A->B iff Flow.ICMP.Type > packet's type
};

// Bytes fed to XXH64 for one sub-packet, with the digest cut points. No
// default member initializers: BuildKeyBytes sets every field, and arrays of
// these are per-burst scratch that must cost nothing to declare.
struct KeyBytes {
  uint8_t data[128];
  uint8_t l3_len;  // prefix hashed for L3TrackingID
  uint8_t l2_len;  // prefix hashed for TrackingID (== l3_len when no MACs)
  uint8_t len;     // everything, parent UUID included: the table key
  bool swap;       // endpoints were written destination first
  DirectionRule rule;
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

// Where a packet sits in its flow's canonical order (KeyBytes::swap, ::rule).
struct KeyOrientation {
  bool swap;
  DirectionRule rule;
};

// The key a shard indexes flows by: a fixed-layout word encoding of exactly
// what BuildKeyBytes lays out, in the same canonical order, unused words 0,
// and of the capture point the packet came from (ParsedPacket::input, in the
// first word's top byte). Equal keys <=> equal Skydive key bytes at one
// capture point, so a shard that compares whole keys never puts two flows in
// one slot, whatever their hashes, and the same conversation seen at two
// points is two flows (Skydive's table per capture) with equal tracking IDs. 8 words
// hold every shape exactly (the longest, IPv6 with MACs inside a tunnel:
// shape and ports, 4 address words, 2 MAC words, the parent UUID); 64 bytes
// is also a size rte_hash compares with vector instructions.
inline constexpr int kTableKeyWords = 8;
struct FlowTableKey {
  uint64_t w[kTableKeyWords];
};
inline bool SameKey(const FlowTableKey& a, const FlowTableKey& b) noexcept {
  uint64_t diff = 0;
  for (int i = 0; i < kTableKeyWords; ++i) diff |= a.w[i] ^ b.w[i];
  return diff == 0;
}

// Builds the key of `sub` straight from the packet (per packet), without
// writing Skydive's byte string (needed, with XXH64, only when a flow is
// created). Sets `orientation` as BuildKeyBytes would. Returns the key's
// TableHashSig, computed on the way.
uint32_t LookupKey(const uint8_t* frame, const SubPacket& sub, KeyMode mode, uint64_t parent_uuid,
                   bool has_parent, FlowTableKey* key, KeyOrientation* orientation,
                   uint8_t input = 0) noexcept;

// Skydive's key bytes rebuilt from a table key, without the packet: the
// inverse of LookupKey's encoding (equal words <=> equal bytes), so `kb`
// holds what BuildKeyBytes laid out from the flow's first packet, with the
// same cut points. A flow's TrackingIDs are derived from its key this way
// when it is exported instead of being stored with it. `kb->swap` and
// `kb->rule` are left false/kEndpoints: a key is in canonical order and does
// not say how the first packet had it.
void KeyBytesOf(const FlowTableKey& key, KeyBytes* kb) noexcept;

// The IP version of a key's addresses (0: none).
inline uint8_t KeyIpVersion(const FlowTableKey& key) noexcept {
  return static_cast<uint8_t>(key.w[0] & 0xf);
}

// Where a key keeps its IP addresses (the first or the second in canonical
// order: the first packet's source is the first unless it was swapped), 4 or
// 16 bytes as on the wire; nullptr when the key has no IP layer. Points into
// `key`. The words hold the addresses as LookupKey loaded them (native
// little-endian loads), so the bytes are at fixed places in the words.
inline const uint8_t* KeyIp(const FlowTableKey& key, bool second) noexcept {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the key's words are little-endian");
  const auto* w1 = reinterpret_cast<const uint8_t*>(&key.w[1]);
  switch (KeyIpVersion(key)) {
    case 4:
      return second ? w1 : w1 + 4;  // one word: first << 32 | second
    case 6:
      return second ? w1 + 16 : w1;  // four words: first, then second
    default:
      return nullptr;
  }
}

// The capture point a key's flow was seen at (LookupKey's `input`: the
// first word's top byte).
inline uint8_t KeyInput(const FlowTableKey& key) noexcept {
  return static_cast<uint8_t>(key.w[0] >> 56);
}

// Whether a key's flow has an ICMP layer (its key has the ICMP section).
inline bool KeyHasIcmp(const FlowTableKey& key) noexcept { return (key.w[0] >> 9) & 1; }

// A key's parent UUID (the flow is a tunnel's inner flow), if it has one.
bool KeyParentUuid(const FlowTableKey& key, uint64_t* parent_uuid) noexcept;

// Where a key sits in a shard's rte_hash: XXH3 of the words it uses (its
// first word says how many) with the process's secret (table_hash.h),
// folded to rte_hash's 32-bit signature.
uint32_t TableHashSig(const FlowTableKey& key) noexcept;
// How many words of `key` are used (the rest are 0).
int KeyWords(const FlowTableKey& key) noexcept;
FlowIds TrackingIds(const KeyBytes& kb) noexcept;

// Skydive's UUID: XXH64 seeded with the table key over Start (ms, 8 bytes big
// endian) followed by the NodeTID string.
uint64_t FlowUuid(uint64_t table_key, int64_t start_ms, const char* node_tid,
                  uint32_t node_tid_len) noexcept;

// Lowercase hex without leading zeros (Go's strconv.FormatUint(v, 16)).
// Writes at most 16 chars plus NUL into `out`; returns the length.
int FormatHex64(uint64_t v, char* out) noexcept;

}  // namespace skyprobe
