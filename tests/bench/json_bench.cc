// json_bench.cc: the probe's JSON-lines writer (AppendFlowJson), which renders
// --json output and QueryStream's JSON_LINES answers (a 1M-flow dump).
//
//   build/tests/bench/json_bench --benchmark_counters_tabular=true
//
// BM_AppendFlowJson: one TCP flow with TCPMetric and LastUpdateMetric, into a
// buffer of one message's size (1000 flows) that is reused, as the service does.
#include <string>

#include "benchmark/benchmark.h"
#include "export/json_lines.h"
#include "tests/unit/query/test_flows.h"

namespace skyprobe {
namespace {

void BM_AppendFlowJson(benchmark::State& state) {
  FlowSnapshot s =
      testing::TcpFlow(0x1234567890abcdef, "10.0.0.1", "192.168.10.20", 40000, 443, 123456);
  const JsonContext ctx{"probe-1", ""};
  std::string out;
  out.reserve(1000 * 1100);
  int64_t n = 0;
  for (auto _ : state) {
    if (n % 1000 == 0) out.clear();
    s.metric.ab_packets = n++;
    AppendFlowJson(s, ctx, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["flows_per_s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
  state.counters["bytes_per_flow"] =
      static_cast<double>(out.size()) / static_cast<double>(n % 1000 == 0 ? 1000 : n % 1000);
}
BENCHMARK(BM_AppendFlowJson)->MinTime(2.0);

}  // namespace
}  // namespace skyprobe

BENCHMARK_MAIN();
