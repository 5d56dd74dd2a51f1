// filter_bench.cc: what one FlowPredicate::Matches() costs on one flow, for
// the filters that decide where a query's filter is evaluated: just under
// the in-shard cost limit (compiled_filter.cc kShardCostMax: the worker
// evaluates it between bursts), and the costliest filter the limits allow
// (query/filter_limits.h: the requester's thread evaluates it). No DPDK.
//
//   build/tests/bench/filter_bench --benchmark_counters_tabular=true
//
// Each case prints `costly` (1: evaluated by the requester) and the ns per
// flow; a case whose `costly` is not what its name says fails itself.
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "query/compiled_filter.h"
#include "worst_filter.h"

namespace skyprobe {
namespace {

FlowSnapshot Flow() {
  FlowSnapshot s;
  s.uuid = 0x1234567890abcdefull;
  s.tracking_id = 0x1111;
  s.has_link = true;
  s.ip_version = 4;
  const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
  std::memcpy(s.network_a, a, 4);
  std::memcpy(s.network_b, b, 4);
  s.num_layers = 3;
  s.layers[0] = Layer::kEthernet;
  s.layers[1] = Layer::kIpv4;
  s.layers[2] = Layer::kTcp;
  s.transport = FlowProtocol::kTcp;
  s.transport_a = 40000;
  s.transport_b = 443;
  s.start = 1'700'000'000'000;
  s.last = s.start + 10;
  return s;
}

void Run(benchmark::State& state, const std::string& expr, bool want_costly) {
  auto f = query::CompiledFilter::Compile(expr, nullptr, {.node_tid = "bench"});
  if (!f.ok()) {
    state.SkipWithError(std::string(f.status().message()).c_str());
    return;
  }
  FlowSnapshot s = Flow();
  bool any = false;
  uint32_t i = 0;
  for (auto _ : state) {
    // Another flow's addresses each time, as in a table scan.
    ++i;
    s.network_a[2] = static_cast<uint8_t>(i >> 8);
    s.network_a[3] = static_cast<uint8_t>(i);
    s.network_b[3] = static_cast<uint8_t>(i >> 4);
    any |= (*f)->Matches(s);
    benchmark::DoNotOptimize(any);
  }
  state.counters["costly"] = (*f)->costly() ? 1 : 0;
  state.counters["ns_per_flow"] =
      benchmark::Counter(static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  if ((*f)->costly() != want_costly) state.SkipWithError("costly() is not what the case expects");
  if (any) state.SkipWithError("the filter matched: it must evaluate every term");
}

void BM_Typical(benchmark::State& state) {
  Run(state, "Network.A = '10.9.9.9' and Transport.B = 443", false);
}
// The most integer terms the worker evaluates itself.
void BM_InShardIntLimit(benchmark::State& state) {
  Run(state, bench::InList("Transport.B", 63, 1000), false);
}
void BM_JustCostlyIntList(benchmark::State& state) {
  Run(state, bench::InList("Transport.B", 64, 1000), true);
}
// The most formatted-string terms the worker evaluates itself.
void BM_JustCostlyStringList(benchmark::State& state) {
  Run(state, bench::InList("LayersPath", 13, 0), true);
}
void BM_InShardStringLimit(benchmark::State& state) {
  Run(state, bench::InList("LayersPath", 12, 0), false);
}
void BM_OneRegex(benchmark::State& state) { Run(state, "LayersPath =~ '^UDP'", true); }
// The costliest filter within the limits (worst_filter.h).
void BM_Worst(benchmark::State& state) { Run(state, bench::WorstFilter(), true); }

BENCHMARK(BM_Typical);
BENCHMARK(BM_InShardIntLimit);
BENCHMARK(BM_JustCostlyIntList);
BENCHMARK(BM_InShardStringLimit);
BENCHMARK(BM_JustCostlyStringList);
BENCHMARK(BM_OneRegex);
BENCHMARK(BM_Worst)->MinTime(2.0);

}  // namespace
}  // namespace skyprobe

BENCHMARK_MAIN();
