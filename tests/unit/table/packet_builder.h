// packet_builder.h: hand-made frames and their SubPacket, for table tests
// that must not depend on the parser.
#pragma once

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "parse/parsed_packet.h"

namespace skyprobe::testing {

using Mac = std::array<uint8_t, 6>;
using Ip4 = std::array<uint8_t, 4>;

// A frame holding just the addresses the key reads, plus its SubPacket.
struct TestPacket {
  std::vector<uint8_t> frame = std::vector<uint8_t>(64, 0);
  ParsedPacket parsed;
  SubPacket& sub() { return parsed.sub[0]; }
};

inline TestPacket Make(const Mac& src_mac, const Mac& dst_mac, const Ip4& src_ip, const Ip4& dst_ip,
                       FlowProtocol transport, uint16_t sport, uint16_t dport, uint32_t length,
                       uint8_t tcp_flags = 0) {
  TestPacket p;
  std::memcpy(&p.frame[0], dst_mac.data(), 6);
  std::memcpy(&p.frame[6], src_mac.data(), 6);
  std::memcpy(&p.frame[26], src_ip.data(), 4);
  std::memcpy(&p.frame[30], dst_ip.data(), 4);
  p.parsed.num_sub = 1;
  SubPacket& s = p.sub();
  s = SubPacket();
  s.has_link = true;
  s.mac_dst_off = 0;
  s.mac_src_off = 6;
  s.ip_version = 4;
  s.ip_src_off = 26;
  s.ip_dst_off = 30;
  s.ttl = 64;
  s.layers[s.num_layers++] = Layer::kEthernet;
  s.layers[s.num_layers++] = Layer::kIpv4;
  s.length = length;
  if (transport == FlowProtocol::kIcmpv4) {
    s.layers[s.num_layers++] = Layer::kIcmpv4;
    s.icmp_version = 4;
    s.icmp_type = IcmpType::kEcho;
    s.icmp_raw_type = static_cast<uint8_t>(tcp_flags);  // 8 request, 0 reply
    s.icmp_id = sport;
  } else {
    s.layers[s.num_layers++] = transport == FlowProtocol::kTcp ? Layer::kTcp : Layer::kUdp;
    s.transport = transport;
    s.transport_key = TransportKeyKind::kPorts;
    s.src_port = sport;
    s.dst_port = dport;
    s.tcp_flags = tcp_flags;
  }
  return p;
}

// The same packet seen in the other direction.
inline TestPacket Reverse(const TestPacket& p) {
  TestPacket r = p;
  if (r.frame.size() < 34 || p.frame.size() < 34) std::abort();  // Ethernet + IPv4 addresses
  std::memcpy(&r.frame[0], &p.frame[6], 6);
  std::memcpy(&r.frame[6], &p.frame[0], 6);
  std::memcpy(&r.frame[26], &p.frame[30], 4);
  std::memcpy(&r.frame[30], &p.frame[26], 4);
  std::swap(r.sub().src_port, r.sub().dst_port);
  return r;
}

}  // namespace skyprobe::testing
