// test_packets.h: RawPacketCopy values for the tests of the pcap writer, the
// service's pcap export and skyprobectl's capture merge.
//
// Owner: test code only.
//
//   RawPacketCopy p = UdpPacket(5'000'000'123, 1, 1);   // Ethernet, link type 1
//   RawPacketCopy q = RawIpPacket(7, 1);                // raw IPv4, link type 228
#pragma once

#include <cstdint>
#include <string>

#include "record/raw_packet.h"

namespace skyprobe::testing {

// A minimal Ethernet/IPv4/UDP frame (for pcap export tests).
inline RawPacketCopy UdpPacket(int64_t ts_ns, int64_t index, uint8_t last_octet) {
  RawPacketCopy p;
  p.timestamp_ns = ts_ns;
  p.index = index;
  p.link_type = 1;
  std::string& d = p.data;
  const unsigned char eth[14] = {2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa, 0x08, 0x00};
  d.append(reinterpret_cast<const char*>(eth), sizeof(eth));
  const unsigned char ip[20] = {0x45, 0, 0,  28 + 4, 0, 1,          0,  0, 64, 17,
                                0,    0, 10, 0,      0, last_octet, 10, 0, 0,  1};
  d.append(reinterpret_cast<const char*>(ip), sizeof(ip));
  const unsigned char udp[8] = {0x30, 0x39, 0, 53, 0, 12, 0, 0};
  d.append(reinterpret_cast<const char*>(udp), sizeof(udp));
  d.append("abcd");
  p.wire_length = static_cast<uint32_t>(d.size());
  return p;
}

// The same packet as raw IPv4 (link type 228), to force pcapng.
inline RawPacketCopy RawIpPacket(int64_t ts_ns, int64_t index) {
  RawPacketCopy p = UdpPacket(ts_ns, index, 7);
  p.data = p.data.substr(14);
  p.wire_length = static_cast<uint32_t>(p.data.size());
  p.link_type = 228;
  return p;
}

}  // namespace skyprobe::testing
