// test_flows.h: hand-built FlowSnapshots for the query and service tests.
//
// Owner: test code only.
//
//   FlowSnapshot tcp = TcpFlow(0xa1, "10.0.0.1", "10.0.0.2", 40000, 443, /*ab_bytes=*/1500);
//   FlowSnapshot ping = IcmpFlow(0xb2, "10.0.0.3", "10.0.0.4");
#pragma once

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "record/flow_snapshot.h"

namespace skyprobe::testing {

inline void SetIp(FlowSnapshot* s, const std::string& a, const std::string& b) {
  if (inet_pton(AF_INET, a.c_str(), s->network_a) == 1) {
    s->ip_version = 4;
    inet_pton(AF_INET, b.c_str(), s->network_b);
  } else {
    s->ip_version = 6;
    inet_pton(AF_INET6, a.c_str(), s->network_a);
    inet_pton(AF_INET6, b.c_str(), s->network_b);
  }
}

inline FlowSnapshot BaseFlow(uint64_t uuid, const std::string& a, const std::string& b) {
  FlowSnapshot s;
  s.uuid = uuid;
  s.tracking_id = uuid * 3;
  s.l3_tracking_id = uuid * 5;
  s.has_link = true;
  const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
  const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};
  std::memcpy(s.link_a, mac_a, 6);
  std::memcpy(s.link_b, mac_b, 6);
  SetIp(&s, a, b);
  s.start = 1000 + static_cast<int64_t>(uuid);
  s.last = s.start + 10;
  s.metric.start = s.start;
  s.metric.last = s.last;
  return s;
}

inline FlowSnapshot TcpFlow(uint64_t uuid, const std::string& a, const std::string& b,
                            uint16_t port_a, uint16_t port_b, int64_t ab_bytes) {
  FlowSnapshot s = BaseFlow(uuid, a, b);
  s.num_layers = 3;
  s.layers[0] = Layer::kEthernet;
  s.layers[1] = s.ip_version == 4 ? Layer::kIpv4 : Layer::kIpv6;
  s.layers[2] = Layer::kTcp;
  s.transport = FlowProtocol::kTcp;
  s.transport_a = port_a;
  s.transport_b = port_b;
  s.metric.ab_packets = 2;
  s.metric.ab_bytes = ab_bytes;
  s.metric.ba_packets = 1;
  s.metric.ba_bytes = 60;
  s.has_tcp_metric = true;
  s.tcp_metric.ab_syn_start = s.start;
  s.finish_type = FinishType::kTcpFin;
  return s;
}

inline FlowSnapshot UdpFlow(uint64_t uuid, const std::string& a, const std::string& b,
                            uint16_t port_a, uint16_t port_b, int64_t ab_bytes) {
  FlowSnapshot s = TcpFlow(uuid, a, b, port_a, port_b, ab_bytes);
  s.layers[2] = Layer::kUdp;
  s.transport = FlowProtocol::kUdp;
  s.has_tcp_metric = false;
  s.tcp_metric = TcpMetric{};
  s.finish_type = FinishType::kNotFinished;
  return s;
}

inline FlowSnapshot IcmpFlow(uint64_t uuid, const std::string& a, const std::string& b) {
  FlowSnapshot s = BaseFlow(uuid, a, b);
  s.num_layers = 3;
  s.layers[0] = Layer::kEthernet;
  s.layers[1] = Layer::kIpv4;
  s.layers[2] = Layer::kIcmpv4;
  s.icmp_version = 4;
  s.icmp_type = IcmpType::kEcho;
  s.icmp_id = 7;
  s.metric.ab_packets = 1;
  s.metric.ab_bytes = 98;
  return s;
}

}  // namespace skyprobe::testing
