// community_id.h: Community ID v1 of a flow (Corelight's community-id-spec),
// the flow hash Zeek, Suricata and Wireshark print, so skyprobe records can be
// joined with their logs.
//
// Owner: control lcore only (an Enhancer in the pipeline).
//
//   pipeline.AddEnhancer(std::make_unique<CommunityIdEnhancer>(/*seed=*/0));
//   // every record then carries CommunityID "1:<base64 SHA-1>"
//
// v1: base64(SHA-1(seed[2] | src ip | dst ip | proto | 0 | src port | dst port)),
// prefixed "1:", all integers big-endian. Endpoints are put in order (the
// smaller address first, ports breaking a tie) so both directions give one ID.
// ICMP and ICMPv6 use the type as source "port" and, for types with a
// request/reply counterpart, the counterpart type as destination "port"
// (otherwise the code, and the endpoints keep their order).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "control/enhancer.h"
#include "record/flow_snapshot.h"

namespace skyprobe {

// IANA protocol numbers the spec hashes.
inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;
inline constexpr uint8_t kIpProtoSctp = 132;

// The spec's input: one packet's (or one flow's first packet's) 5-tuple.
struct CommunityIdTuple {
  uint8_t ip_version = 0;        // 4 or 6
  const uint8_t* src = nullptr;  // 4 or 16 bytes
  const uint8_t* dst = nullptr;
  uint8_t proto = 0;
  bool has_ports = false;  // TCP, UDP, SCTP, ICMP, ICMPv6
  uint16_t src_port = 0;   // host order; ICMP: type
  uint16_t dst_port = 0;   // ICMP: counterpart type or code
  bool one_way = false;    // ICMP type without counterpart: never reorder
};

// The spec's ICMP/ICMPv6 type/code to "ports" mapping.
void IcmpPorts(bool ipv6, uint8_t type, uint8_t code, CommunityIdTuple* t);

// "1:" + 28 base64 characters.
inline constexpr size_t kCommunityIdLength = 30;

// Writes the NUL-terminated ID into `out` (at least kCommunityIdLength + 1
// bytes). Returns false, writing "", for an IP version other than 4 or 6, or
// when libcrypto offers no SHA-1.
bool WriteCommunityId(uint16_t seed, const CommunityIdTuple& t, char* out);

// Convenience for tests and tools.
std::string CommunityId(uint16_t seed, const CommunityIdTuple& t);

class CommunityIdEnhancer final : public Enhancer {
 public:
  static constexpr std::string_view kName = "CommunityID";

  explicit CommunityIdEnhancer(uint16_t seed = 0) : seed_(seed) {}

  std::string_view Name() const override { return kName; }

  // Sets s->community_id, or clears it when the flow has no ID: no network
  // layer (ARP), or an IP protocol the snapshot does not name (only TCP, UDP,
  // SCTP, ICMP and ICMPv6 flows carry their protocol), or an ICMP type whose
  // on-wire value cannot be recovered (see below).
  //
  // ICMP: a snapshot keeps Skydive's ICMPType, where request and reply are one
  // value, not the on-wire type of the first packet. For a type with a
  // counterpart, the ID depends on which of the two A sent, so this assumes A
  // sent the request/solicitation (true when the capture saw the flow start).
  // Exact for one-way types.
  void Enhance(FlowSnapshot* s) override;

 private:
  uint16_t seed_;
};

}  // namespace skyprobe
