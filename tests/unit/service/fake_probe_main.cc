// fake_probe_main.cc: a gRPC server over a FakeBackend for skyprobectl's tests.
//
//   fake_probe --node-tid probe-1 --set a --port-file /tmp/p1 [--token-file F]
//
// Serves until SIGTERM or SIGINT. Set "a", "b" or "c" picks the flows (b shares a
// TrackingID with a, for fan-out dedup; c has IPv6 endpoints and big counters,
// for tables and CSV). While anyone subscribes it pushes an
// UPDATE record every 50 ms.

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "service/grpc_server.h"
#include "tests/unit/query/test_flows.h"
#include "tests/unit/service/fake_backend.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

}  // namespace

int main(int argc, char** argv) {
  using namespace skyprobe::testing;  // NOLINT: test helper
  std::string node_tid = "probe-1", set = "a", port_file, token_file;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--node-tid") node_tid = argv[i + 1];
    if (flag == "--set") set = argv[i + 1];
    if (flag == "--port-file") port_file = argv[i + 1];
    if (flag == "--token-file") token_file = argv[i + 1];
  }
  FakeBackend backend(node_tid);
  if (set == "a") {
    backend.AddFlow(TcpFlow(0x11, "10.0.0.1", "10.0.0.2", 40000, 443, 1500),
                    {UdpPacket(1'000'000'000, 1, 1), UdpPacket(3'000'000'500, 2, 1)});
    backend.AddFlow(TcpFlow(0x12, "10.0.0.1", "10.0.0.3", 40001, 22, 500),
                    {UdpPacket(2'000'000'000, 1, 2)});
    backend.AddFlow(UdpFlow(0x13, "10.0.0.4", "10.0.0.1", 5353, 53, 80));
    backend.AddFlow(IcmpFlow(0x14, "10.0.0.9", "10.0.0.1"), {RawIpPacket(2'500'000'000, 1)});
  } else if (set == "c") {
    // Wide IPv6 endpoints, big counters, a long flow, an ICMP flow without
    // ports: what tables with human units and CSV must get right.
    skyprobe::FlowSnapshot big =
        TcpFlow(0x31, "2001:db8:85a3:1234:5678:8a2e:370:7334", "2001:db8:85a3:1234:5678:8a2e:370:1",
                50000, 443, 123'456'789);
    big.metric.ab_packets = 98'765;
    big.start = big.metric.start = 1'275'393'605'123;    // 2010-06-01T12:00:05.123Z
    big.last = big.metric.last = big.start + 3'723'000;  // 1h02m03s later
    backend.AddFlow(big);
    skyprobe::FlowSnapshot mdns = UdpFlow(0x32, "fe80::1", "ff02::fb", 5353, 5353, 999);
    mdns.start = mdns.metric.start = 1'275'393'600'000;
    mdns.last = mdns.metric.last = mdns.start + 1'500;
    backend.AddFlow(mdns);
    backend.AddFlow(IcmpFlow(0x33, "10.0.0.1", "10.0.0.2"));
  } else {
    skyprobe::FlowSnapshot same = TcpFlow(0x21, "10.0.0.1", "10.0.0.2", 40000, 443, 2000);
    same.tracking_id = 0x11 * 3;  // the conversation of flow 11, seen here too
    backend.AddFlow(same, {UdpPacket(1'500'000'000, 1, 21), UdpPacket(2'500'000'001, 2, 21)});
    backend.AddFlow(TcpFlow(0x22, "10.0.0.7", "10.0.0.8", 1234, 80, 700));
  }
  skyprobe::ServiceOptions options{.listen = "127.0.0.1:0", .token_file = token_file};
  auto server = skyprobe::StartGrpcServer(options, &backend);
  if (!server.ok()) {
    std::fprintf(stderr, "fake_probe: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  {
    std::ofstream tmp(port_file + ".tmp");
    tmp << (*server)->port() << "\n";
  }
  std::rename((port_file + ".tmp").c_str(), port_file.c_str());  // appears complete
  uint64_t n = 0;
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (backend.subscriber_count() != 0) {
      backend.Push(TcpFlow(0x1000 + n, "10.1.0.1", "10.1.0.2", 1000, n % 2 ? 443 : 80, 10));
      ++n;
    }
  }
  (*server)->Shutdown();
  return 0;
}
