// test_snapshots.h: FlowSnapshots shared by the export tests.
//
// Owner: test code only.
//
//   FlowSnapshot s = FullSnapshot();     // every optional part present
//   FlowSnapshot m = MinimalSnapshot();  // nothing optional
#pragma once

#include <cstring>

#include "record/flow_snapshot.h"

namespace skyprobe::testing {

// A TCP/IPv4 expire record with every layer and metric filled (ICMP too, so
// the golden test covers every sub-message even though a real TCP flow has
// no ICMP layer).
inline FlowSnapshot FullSnapshot() {
  FlowSnapshot s;
  s.event = FlowEvent::kExpire;
  s.expire_reason = ExpireReason::kTcpClosed;
  s.finish_type = FinishType::kTcpFin;
  s.uuid = 0x0123456789abcdefULL;
  s.has_parent = true;
  s.parent_uuid = 0xfbe08c181ff8df3aULL;
  s.tracking_id = 0x81789de63b9965cdULL;
  s.l3_tracking_id = 0x0a8b1845da6a6715ULL;
  s.num_layers = 3;
  s.layers[0] = Layer::kEthernet;
  s.layers[1] = Layer::kIpv4;
  s.layers[2] = Layer::kTcp;
  s.has_link = true;
  const uint8_t mac_a[6] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  const uint8_t mac_b[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x05};
  std::memcpy(s.link_a, mac_a, 6);
  std::memcpy(s.link_b, mac_b, 6);
  s.link_id = 10;
  s.ip_version = 4;
  const uint8_t ip_a[4] = {192, 168, 0, 2};
  const uint8_t ip_b[4] = {192, 168, 0, 1};
  std::memcpy(s.network_a, ip_a, 4);
  std::memcpy(s.network_b, ip_b, 4);
  s.network_id = 0;
  s.transport = FlowProtocol::kTcp;
  s.transport_a = 36108;
  s.transport_b = 3333;
  s.icmp_version = 4;
  s.icmp_type = IcmpType::kEcho;
  s.icmp_code = 3;
  s.icmp_id = 23604;
  s.start = 1490086703768;
  s.last = 1490086703800;
  s.metric = {5, 344, 3, 206, 1490086703768, 1490086703800, 33000};
  s.has_last_update_metric = true;
  s.last_update_metric = {1, 66, 0, 0, 1490086703790, 1490086703800, 0};
  s.has_tcp_metric = true;
  s.tcp_metric.ab_syn_start = 1490086703768;
  s.tcp_metric.ba_syn_start = 1490086703770;
  s.tcp_metric.ab_syn_ttl = 64;
  s.tcp_metric.ba_syn_ttl = 0;
  s.tcp_metric.ab_fin_start = 1490086703799;
  s.tcp_metric.ba_fin_start = 1490086703800;
  // Stream and health groups with distinct values (zeros too: present, not
  // omitted), the server-side latency measured and the client side not.
  TcpMetric& t = s.tcp_metric;
  t.has_stream = true;
  t.ab_stream = {1, 2, 3, 4, 5, 1, 0};
  t.ba_stream = {6, 7, 8, 9, 10, 0, 1};
  t.has_health = true;
  t.ab_health = {11, 12, 13, 14, 15, 0};
  t.ba_health = {16, 17, 18, 19, 0, 20};
  t.server_handshake_us = 2212;
  t.client_handshake_us = -1;
  s.has_ip_metric = true;
  s.ip_metric.fragments = 2;
  s.ip_metric.fragment_errors = 1;
  s.raw_packets_captured = 7;
  std::strcpy(s.community_id, "1:Gtsx5OozooeGFAFpbwPzYTPgCIs=");
  return s;
}

// The outer flow of GRE/MPLS packets (Ethernet/IPv4/GRE/MPLS, GRE key 7):
// a stack of three entries, as on the wire: label 1000 TC 0, label 4096 TC 5,
// label 0xFFFFF TC 0 with the bottom-of-stack bit.
inline FlowSnapshot GreMplsSnapshot() {
  FlowSnapshot s = FullSnapshot();
  s.num_layers = 4;
  s.layers[2] = Layer::kGre;
  s.layers[3] = Layer::kMpls;
  s.transport = FlowProtocol::kEthernet;
  s.transport_a = s.transport_b = 0;
  s.icmp_version = 0;
  s.has_icmp_raw_type = false;
  s.has_tcp_metric = false;
  s.tcp_metric = TcpMetric();
  s.network_id = 7;
  s.mpls_count = 3;
  const uint8_t stack[3][3] = {{0x00, 0x3e, 0x80}, {0x01, 0x00, 0x0a}, {0xff, 0xff, 0xf1}};
  std::memcpy(s.mpls, stack, sizeof(stack));
  return s;
}

// An update record with no layer, no optional metric and all ids zero.
inline FlowSnapshot MinimalSnapshot() { return FlowSnapshot{}; }

// A UDP/IPv6 flow without Ethernet (raw IP capture) inside a tunnel.
inline FlowSnapshot Ipv6Snapshot() {
  FlowSnapshot s;
  s.uuid = 0xfbe08c181ff8df3aULL;
  s.tracking_id = 0xcacfc1e6a2a24d73ULL;
  s.l3_tracking_id = 0x2fd5bf8e0cd737d9ULL;
  s.num_layers = 3;
  s.layers[0] = Layer::kIpv6;
  s.layers[1] = Layer::kUdp;
  s.layers[2] = Layer::kDns;
  s.ip_version = 6;
  const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const uint8_t b[16] = {0xfe, 0x80, 0,    0,    0,    0,    0,    0,
                         0x02, 0x0c, 0x29, 0xff, 0xfe, 0x3a, 0x00, 0x0b};
  std::memcpy(s.network_a, a, 16);
  std::memcpy(s.network_b, b, 16);
  s.network_id = 42;
  s.transport = FlowProtocol::kUdp;
  s.transport_a = 5353;
  s.transport_b = 53;
  s.start = 1;
  s.last = 2;
  s.metric = {1, 100, 1, 200, 1, 2, 0};
  return s;
}

}  // namespace skyprobe::testing
