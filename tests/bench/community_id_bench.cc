// community_id_bench.cc: the Community ID enhancer's hash (WriteCommunityId),
// which the control lcore runs once per exported record.
//
//   build/tests/bench/community_id_bench --benchmark_counters_tabular=true
//
// BM_CommunityIdV4: a TCP/IPv4 tuple (one 39-byte SHA-1 input);
// BM_CommunityIdV6: a TCP/IPv6 tuple (63 bytes, still one SHA-1 block of input
// plus padding in a second block). The source port changes every iteration so
// that nothing can be hoisted out of the loop.
#include <cstdint>

#include "benchmark/benchmark.h"
#include "control/enhancers/community_id.h"

namespace skyprobe {
namespace {

void RunTuple(benchmark::State& state, uint8_t ip_version, const uint8_t* src, const uint8_t* dst) {
  CommunityIdTuple t;
  t.ip_version = ip_version;
  t.src = src;
  t.dst = dst;
  t.proto = kIpProtoTcp;
  t.has_ports = true;
  t.dst_port = 443;
  char out[kCommunityIdLength + 1];
  uint16_t port = 1024;
  for (auto _ : state) {
    t.src_port = port++;
    WriteCommunityId(0, t, out);
    benchmark::DoNotOptimize(out);
  }
  state.counters["ids_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_CommunityIdV4(benchmark::State& state) {
  const uint8_t a[4] = {10, 0, 0, 1};
  const uint8_t b[4] = {192, 168, 10, 20};
  RunTuple(state, 4, a, b);
}
BENCHMARK(BM_CommunityIdV4)->MinTime(1.0);

void BM_CommunityIdV6(benchmark::State& state) {
  const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  RunTuple(state, 6, a, b);
}
BENCHMARK(BM_CommunityIdV6)->MinTime(1.0);

}  // namespace
}  // namespace skyprobe

BENCHMARK_MAIN();
