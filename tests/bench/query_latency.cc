// query_latency: RPC latency of one-flow queries against a running probe,
// over one long-lived channel (as a program such as an analyzer queries),
// apart from skyprobectl's process start-up. Used by scripts/bench_query.py.
//
//   query_latency --probe 127.0.0.1:50051 --uuids uuids.txt [--rounds 3]
//
// Prints one line: "queries N p50 X ms p99 Y ms max Z ms". Every answer must
// hold exactly the asked flow, or the tool exits 1.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "skyprobe/v1/probe_service.grpc.pb.h"

int main(int argc, char** argv) {
  std::string probe, uuids_path;
  int rounds = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--probe") probe = argv[i + 1];
    if (flag == "--uuids") uuids_path = argv[i + 1];
    if (flag == "--rounds") rounds = std::max(1, std::atoi(argv[i + 1]));
  }
  std::vector<std::string> uuids;
  std::ifstream in(uuids_path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) uuids.push_back(line);
  }
  if (probe.empty() || uuids.empty()) {
    std::fprintf(stderr, "usage: query_latency --probe HOST:PORT --uuids FILE [--rounds N]\n");
    return 2;
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(128 << 20);
  auto stub = skyprobe::v1::ProbeService::NewStub(
      grpc::CreateCustomChannel(probe, grpc::InsecureChannelCredentials(), args));
  std::vector<double> ms;
  for (int r = 0; r < rounds; ++r) {
    for (const std::string& u : uuids) {
      skyprobe::v1::FlowQuery q;
      q.set_expression("UUID = '" + u + "'");
      skyprobe::v1::FlowSet set;
      grpc::ClientContext ctx;
      const auto t0 = std::chrono::steady_clock::now();
      grpc::Status s = stub->Query(&ctx, q, &set);
      const auto t1 = std::chrono::steady_clock::now();
      if (!s.ok() || set.flows_size() != 1 || set.flows(0).uuid() != u) {
        std::fprintf(stderr, "query for %s: %s, %d flows\n", u.c_str(), s.error_message().c_str(),
                     set.flows_size());
        return 1;
      }
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * static_cast<double>(ms.size())))];
  };
  std::printf("queries %zu p50 %.2f ms p99 %.2f ms max %.2f ms\n", ms.size(), at(0.50), at(0.99),
              ms.back());
  return 0;
}
