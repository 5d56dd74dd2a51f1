// parser.h: decodes one captured frame into ParsedPacket (gopacket/Skydive semantics).
//
// Owner: RX lcore only. Pure functions over a byte span: no allocation, no
// exceptions, no EAL; every read stays inside the `caplen` bytes given.
//
//   ParserConfig cfg{.link_type = LinkType::kEthernet};
//   if (ParseFrame(data, caplen, wire_len, cfg, &pkt) == 0) CountDrop(pkt.error);
#pragma once

#include <cstdint>

#include "parse/parsed_packet.h"

namespace skyprobe {

struct ParserConfig {
  LinkType link_type = LinkType::kEthernet;
  // Affects SubPacket::length for Ethernet-less tunnel payloads only: in L2
  // mode they count their IP length field, in L3 mode the running length
  // (SetLengths in parser.cc).
  bool l3_key_mode = false;
  // IP defragmentation on (--ip-defrag): an offset-0 IPv4 fragment is decoded
  // through its payload ("Ethernet/IPv4/Fragment/ICMPv4"), as is an offset-0
  // IPv6 fragment ("Ethernet/IPv6/IPv6Fragment/UDP"); ParsedPacket::frag_sub
  // names the fragmented sub-packet. Later fragments stop at "Fragment" either
  // way (their payload has no header). Off: every fragment stops there.
  bool ip_defrag = false;
  // Application metadata or extra layers on (table/app_meta_store.h): TCP
  // payloads are sniffed and DNS/DHCPv4/VRRP payloads noted (SubPacket::app_*).
  // Off: the parser does none of it (SubPacket::app_hint stays kNone).
  bool app_payload = false;
  // Where the frame came from (the probe's input: DPDK port id + 1), copied
  // into ParsedPacket::input for the flow table; 0: unknown. Not used to parse.
  uint8_t input = 0;
};

// Tunnels: one frame, several sub-packets (Skydive's flow/packet.go, PacketSeqFromGoPacket).
//
// A new sub-packet starts right after each of these headers; the header
// itself ends the outer sub-packet's LayersPath:
//   - VXLAN (UDP 4789, 8472) and Geneve (UDP 6081): VNI in Network.ID, and the
//     outer flow is keyed on VNI + UDP destination port (TransportKeyKind).
//   - GRE (Network.ID = its key), unless an MPLS stack follows: the cut then
//     comes after the stack ("Ethernet/IPv4/GRE/MPLS"). Payload by protocol
//     type: IPv4, IPv6, Ethernet (0x6558), ERSPAN II (0x88BE: the 8-byte
//     ERSPAN header is skipped, no layer is named, the inner path starts at
//     the mirrored "Ethernet").
//   - An MPLS label stack (over Ethernet, GRE or UDP kMplsUdpPorts). Payload:
//     first nibble 4 -> IPv4, 6 -> IPv6, else Ethernet (Skydive's decoder).
//   Beyond Skydive (which keeps these in one flow, the outer IP being the
//   Network layer):
//   - IPv4/IPv6 inside IPv4/IPv6 (protocols 4 and 41): the inner IP header
//     starts a sub-packet ("Ethernet/IPv4", then "IPv4/ICMPv4").
//   - GTPv1-U (UDP 2152): TEID in Network.ID; a G-PDU's inner IP packet
//     starts a sub-packet.
//
// Where skyprobe departs from Skydive on purpose:
//   - A label stack of any depth is ONE "MPLS" layer and one cut, after the
//     bottom-of-stack label. gopacket names each label, so Skydive would cut
//     between labels and key a sub-packet made of a bare "MPLS" (no link, no
//     network layer: a crash in Skydive). A one-label stack gives the same
//     paths as Skydive.
//   - Each sub-packet's transport and ICMP fields come from its own layers.
//     Skydive's outer sub-packet borrows gopacket's first transport layer of
//     the whole frame, so an outer GRE/MPLS/ERSPAN flow would be keyed on the
//     inner TCP/UDP ports (one outer flow per inner conversation).
//   - A sub-packet with neither a link nor a network layer makes no flow (its
//     inner packet takes its place in the parent chain).
//   - ERSPAN II: the inner sub-packet counts its Ethernet frame; Skydive also
//     counts the 8-byte ERSPAN header, which is no gopacket layer.
//   - More than kMaxSubPackets levels: decoding stops at the last one that
//     fits and kAnomalyTunnelDepth is set.
//
// SubPacket::offset is the inner sub-packet's first byte in the frame. Its
// length: the outer one counts as for an untunnelled frame (wire length with
// Ethernet, else the IP length field); an inner one counts the outer length
// minus the headers before it, except in L2 key mode without an inner
// Ethernet header, where it counts its IP length field (IPv4 total length,
// IPv6 payload length), as Skydive does.

// UDP destination ports whose payload is an MPLS label stack: Contrail's
// MPLS-over-UDP (51234, which Skydive registers per capture) and RFC 7510
// (6635). Unlike Skydive's registration they rank below gopacket's own port
// table and match the destination port only: 51234 is also an ephemeral
// port, and a DNS reply sent to it stays DNS. A constant list until the
// config grows a knob for it.
inline constexpr uint16_t kMplsUdpPorts[] = {51234, 6635};

// Parses one frame. `caplen` bytes are readable at `data`; nothing past them is read.
// `wire_len` is the frame's length on the wire; 0 means unknown (cut at the snaplen):
// it is then recovered as (bytes before the first IP header) + IPv4 total length
// (IPv6: 40 + payload length), or caplen when there is no IP header.
// Returns the number of sub-packets (0 on a dropped frame; out->error says why).
// Common frames (parse_fast.cc: Ethernet, at most two VLAN tags, IPv4
// without options or IPv6 without extension headers, TCP or UDP, no
// fragment, no tunnel or application decoder to run) take a straight-line
// path that gives what ParseFrameFull gives; every other frame goes to it.
uint8_t ParseFrame(const uint8_t* data, uint32_t caplen, uint32_t wire_len, const ParserConfig& cfg,
                   ParsedPacket* out) noexcept;
// The layer-by-layer decoder alone: ParseFrame without its fast path, the
// reference the fast path is tested against (parse_unit FastPathTest).
uint8_t ParseFrameFull(const uint8_t* data, uint32_t caplen, uint32_t wire_len,
                       const ParserConfig& cfg, ParsedPacket* out) noexcept;

// Skydive's ICMP type mapping (a request and its reply share one value).
IcmpType MapIcmpv4Type(uint8_t type) noexcept;
IcmpType MapIcmpv6Type(uint8_t type) noexcept;

}  // namespace skyprobe
