// expiry_bench.cc: how late idle flows leave the table under a replayed clock.
//
//   build/tests/bench/expiry_bench --benchmark_counters_tabular=true
//
// BM_ExpiryLateness/<flows>/<step_us>: <flows> Ethernet/IPv4/UDP flows are
// opened by one packet each, 1 us of capture time apart (a 1 Mpps replay, in
// bursts of 32, driven as RxWorker::HandleBurst drives the table). Then the
// clock moves on in steps of <step_us> (what a replay's later bursts do)
// until every flow has expired. For each IDLE record the sink takes
//   lateness = table.now_ns() when emitted - (Last + expire period)
// and the benchmark reports its p50, p99 and maximum in ms of capture time
// (Last is a whole ms in the record, so values carry up to 1 ms of rounding
// up). Defaults of the probe: expire 600 s, update 60 s, tick 100 ms.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.h"
#include "benchmark/benchmark.h"
#include "parse/parser.h"

namespace skyprobe {
namespace {

constexpr uint32_t kBurst = 32;
constexpr int64_t kUs = 1'000;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;

struct LatenessSink {
  const FlowTable* table = nullptr;
  int64_t expire_ns = 0;
  FlowSnapshot slot;
  std::vector<int64_t> lateness_ns;
  static FlowSnapshot* Acquire(void* ctx) { return &static_cast<LatenessSink*>(ctx)->slot; }
  static void Publish(void* ctx, FlowSnapshot* s) {
    auto* self = static_cast<LatenessSink*>(ctx);
    if (s->event != FlowEvent::kExpire || s->expire_reason != ExpireReason::kIdle) return;
    self->lateness_ns.push_back(self->table->now_ns() - (s->last * 1'000'000 + self->expire_ns));
  }
  RecordSink AsSink() { return RecordSink{this, &Acquire, &Publish}; }
};

double Percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]) / 1e6;
}

void BM_ExpiryLateness(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  const int64_t step_ns = state.range(1) * kUs;
  const std::vector<uint8_t> bytes = bench::FrameBytes(flows);
  std::vector<ParsedPacket> pkts(kBurst);
  const uint8_t* frames[kBurst];
  int64_t ts[kBurst];
  static int run = 0;
  for (auto _ : state) {
    LatenessSink sink;
    sink.lateness_ns.reserve(flows);
    FlowTableOptions o;
    o.name = "expiry" + std::to_string(run++);
    o.max_flows = flows + flows / 4;
    sink.expire_ns = o.expire_ns;
    auto table = std::move(FlowTable::Create(o, sink.AsSink()).value());
    sink.table = table.get();
    int64_t now = kT0;
    for (uint32_t base = 0; base < flows; base += kBurst) {
      const uint32_t n = std::min(kBurst, flows - base);
      for (uint32_t i = 0; i < n; ++i) {
        frames[i] = &bytes[static_cast<size_t>(base + i) * bench::kFrameLen];
        ParseFrame(frames[i], bench::kFrameLen, bench::kFrameLen, ParserConfig(), &pkts[i]);
        ts[i] = now;
        now += kUs;
      }
      table->AdvanceClock(ts[0]);
      table->ProcessBurst(frames, pkts.data(), ts, n);
      table->AdvanceClock(ts[n - 1]);
    }
    while (table->size() > 0) {
      now += step_ns;
      table->AdvanceClock(now);
    }
    state.counters["expired"] = static_cast<double>(sink.lateness_ns.size());
    state.counters["p50_ms"] = Percentile(sink.lateness_ns, 0.50);
    state.counters["p99_ms"] = Percentile(sink.lateness_ns, 0.99);
    state.counters["max_ms"] = Percentile(sink.lateness_ns, 1.0);
  }
}

BENCHMARK(BM_ExpiryLateness)
    ->Args({1 << 20, 32})    // bursts of 32 at 1 Mpps
    ->Args({1 << 20, 1000})  // a sparse replay: one burst per ms
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace skyprobe

int main(int argc, char** argv) {
  if (!skyprobe::bench::InitEal("expiry_bench", 2048)) return 1;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  rte_eal_cleanup();
  return 0;
}
