// packet_builder.h: tiny helpers that assemble test frames byte by byte.
//
// Owner: test code only.
//
//   Bytes f = Eth(0x0800) + Ipv4(6, Tcp(1234, 80, kTcpSyn).size()) + Tcp(1234, 80, kTcpSyn);
//   ParseFrame(f.data(), f.size(), f.size(), cfg, &pkt);
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "parse/parsed_packet.h"
#include "parse/parser.h"

namespace skyprobe::testing {

using Bytes = std::vector<uint8_t>;

inline Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

inline void Put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

inline Bytes Eth(uint16_t type) {
  Bytes b = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};  // dst, src
  Put16(b, type);
  return b;
}

inline Bytes Vlan(uint16_t vid, uint16_t type) {
  Bytes b;
  Put16(b, vid);
  Put16(b, type);
  return b;
}

// IPv4 header for `payload_len` bytes of payload; `total` overrides the length field.
inline Bytes Ipv4(uint8_t proto, uint32_t payload_len, int total = -1, uint8_t ihl = 5,
                  uint16_t flags_frag = 0) {
  Bytes b = {static_cast<uint8_t>(0x40 | ihl), 0};
  Put16(b, static_cast<uint16_t>(total >= 0 ? total : 20 + payload_len));
  Put16(b, 0x1234);
  Put16(b, flags_frag);
  b.push_back(64);
  b.push_back(proto);
  Put16(b, 0);
  for (uint8_t x : {10, 0, 0, 1, 10, 0, 0, 2}) b.push_back(x);
  return b;
}

inline Bytes Ipv6(uint8_t next, uint16_t payload_len) {
  Bytes b = {0x60, 0, 0, 0};
  Put16(b, payload_len);
  b.push_back(next);
  b.push_back(255);
  for (int i = 0; i < 16; ++i) b.push_back(i == 0 ? 0xfe : (i == 15 ? 1 : 0));
  for (int i = 0; i < 16; ++i) b.push_back(i == 0 ? 0xfe : (i == 15 ? 2 : 0));
  return b;
}

// HopByHop/Destination header of 8 bytes: next header, length 0, one PadN option.
inline Bytes Ext8(uint8_t next) { return {next, 0, 1, 4, 0, 0, 0, 0}; }

inline Bytes Tcp(uint16_t src, uint16_t dst, uint8_t flags, uint8_t data_offset = 5) {
  Bytes b;
  Put16(b, src);
  Put16(b, dst);
  for (int i = 0; i < 8; ++i) b.push_back(0);
  b.push_back(static_cast<uint8_t>(data_offset << 4));
  b.push_back(flags);
  Put16(b, 65535);
  Put16(b, 0);
  Put16(b, 0);
  return b;
}

inline Bytes Udp(uint16_t src, uint16_t dst, const Bytes& payload, int length = -1) {
  Bytes b;
  Put16(b, src);
  Put16(b, dst);
  Put16(b, static_cast<uint16_t>(length >= 0 ? length : 8 + payload.size()));
  Put16(b, 0);
  return b + payload;
}

inline Bytes Icmp(uint8_t type, uint8_t code, uint16_t id, size_t data_len = 0) {
  Bytes b = {type, code, 0, 0};
  Put16(b, id);
  Put16(b, 1);
  b.resize(b.size() + data_len, 0xab);
  return b;
}

// A DNS query for "www.example.com" A IN.
inline Bytes DnsQuery() {
  Bytes b = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  for (uint8_t x : std::initializer_list<uint8_t>{3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l',
                                                  'e', 3, 'c', 'o', 'm', 0})
    b.push_back(x);
  Put16(b, 1);
  Put16(b, 1);
  return b;
}

// The response: the question, then one A answer whose name is a pointer to it.
inline Bytes DnsResponse() {
  Bytes b = DnsQuery();
  b[2] = 0x81;
  b[3] = 0x80;
  b[7] = 1;  // ANCOUNT
  for (uint8_t x : {0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 93, 184, 216, 34}) b.push_back(x);
  return b;
}

// Tunnel headers.
inline Bytes Gre(uint16_t proto, bool with_key = false, uint32_t key = 0, bool with_seq = false) {
  Bytes b = {static_cast<uint8_t>((with_key ? 0x20 : 0) | (with_seq ? 0x10 : 0)), 0};
  Put16(b, proto);
  if (with_key) {
    Put16(b, static_cast<uint16_t>(key >> 16));
    Put16(b, static_cast<uint16_t>(key));
  }
  if (with_seq) {
    Put16(b, 0);
    Put16(b, 7);
  }
  return b;
}

// One 4-byte MPLS label stack entry.
inline Bytes MplsLabel(uint32_t label, bool bottom, uint8_t ttl = 64) {
  return {static_cast<uint8_t>(label >> 12), static_cast<uint8_t>(label >> 4),
          static_cast<uint8_t>(((label & 0xF) << 4) | (bottom ? 1 : 0)), ttl};
}

// A stack of `depth` labels (100, 101, ...), the last one bottom-of-stack.
inline Bytes MplsStack(int depth) {
  Bytes b;
  for (int i = 0; i < depth; ++i) b = b + MplsLabel(100 + i, i == depth - 1);
  return b;
}

inline Bytes Vxlan(uint32_t vni) {
  Bytes b = {0x08, 0, 0, 0};
  Put16(b, static_cast<uint16_t>(vni >> 8));
  b.push_back(static_cast<uint8_t>(vni));
  b.push_back(0);
  return b;
}

// Geneve with `opt_words` 4-byte words of options (one TLV spanning them).
inline Bytes Geneve(uint32_t vni, uint16_t proto, uint8_t opt_words = 0) {
  Bytes b = {opt_words, 0};
  Put16(b, proto);
  b.push_back(static_cast<uint8_t>(vni >> 16));
  b.push_back(static_cast<uint8_t>(vni >> 8));
  b.push_back(static_cast<uint8_t>(vni));
  b.push_back(0);
  if (opt_words > 0) {
    b.push_back(0x01);
    b.push_back(0x02);
    b.push_back(0x03);
    b.push_back(static_cast<uint8_t>(opt_words - 1));
    b.resize(b.size() + 4u * (opt_words - 1), 0xee);
  }
  return b;
}

// GTPv1-U header (flags 0x30: version 1, PT 1, no optional fields) + payload.
inline Bytes Gtpu(uint32_t teid, const Bytes& payload, uint8_t type = 0xFF) {
  Bytes b = {0x30, type};
  Put16(b, static_cast<uint16_t>(payload.size()));
  Put16(b, static_cast<uint16_t>(teid >> 16));
  Put16(b, static_cast<uint16_t>(teid));
  return b + payload;
}

// Sets the last address bytes of an Ipv4() header: 10.0.0.<src> -> 10.0.0.<dst>
// become <net>.0.0.<src> -> <net>.0.0.<dst>.
inline Bytes Net(Bytes ip, uint8_t net) {
  ip[12] = net;
  ip[16] = net;
  return ip;
}

inline std::string Path(const SubPacket& s) {
  std::string out;
  for (int i = 0; i < s.num_layers; ++i) {
    if (i > 0) out += "/";
    out += LayerName(s.layers[i]);
  }
  return out;
}

inline ParsedPacket Parse(const Bytes& f, uint32_t wire_len = UINT32_MAX,
                          LinkType link = LinkType::kEthernet) {
  ParsedPacket pkt;
  ParserConfig cfg;
  cfg.link_type = link;
  ParseFrame(f.data(), static_cast<uint32_t>(f.size()),
             wire_len == UINT32_MAX ? static_cast<uint32_t>(f.size()) : wire_len, cfg, &pkt);
  return pkt;
}

}  // namespace skyprobe::testing
