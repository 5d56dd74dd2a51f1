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
  // Affects SubPacket::length for Ethernet-less tunnel payloads only (notes §3.2 item 9).
  bool l3_key_mode = false;
};

// Parses one frame. `caplen` bytes are readable at `data`; nothing past them is read.
// `wire_len` is the frame's length on the wire; 0 means unknown (cut at the snaplen):
// it is then recovered as (bytes before the first IP header) + IPv4 total length
// (IPv6: 40 + payload length), or caplen when there is no IP header.
// Returns the number of sub-packets (0 on a dropped frame; out->error says why).
uint8_t ParseFrame(const uint8_t* data, uint32_t caplen, uint32_t wire_len, const ParserConfig& cfg,
                   ParsedPacket* out) noexcept;

// Skydive's ICMP type mapping (a request and its reply share one value).
IcmpType MapIcmpv4Type(uint8_t type) noexcept;
IcmpType MapIcmpv6Type(uint8_t type) noexcept;

}  // namespace skyprobe
