// memory_bench.cc: resident memory per flow of a full shard.
//
//   build/tests/bench/memory_bench --benchmark_counters_tabular=true
//
// BM_BytesPerFlow/<flows>: a table created with --max-flows = <flows> and
// filled with as many distinct Ethernet/IPv4/UDP flows. `rss_per_flow` is
// the growth of VmRSS from before FlowTable::Create to after the fill,
// divided by the flows (the flow index, the record arrays and the touched list
// included: EAL runs with --no-huge, so its memory becomes resident when
// touched). `reserved_per_flow` is what the DPDK heap handed out, touched
// or not (all of it is resident on hugepages).
// BM_IndexBytesPerFlow/<flows>: the same for a bare FlowIndex of <flows>
// keys (table/flow_index.h: buckets, keys, free positions), to split the figure.
// BM_BytesPerTcpFlow/<flows>/<trackers>: the same with TCP flows (a SYN each),
// the TCP trackers (--tcp-stream-metrics --tcp-health) off (0) or on (1).
// BM_BytesPerAppFlow/<flows>/<app>: TCP flows of a SYN and a ClientHello
// each (bench_common.h WriteClientHelloFrame), <app> 0 nothing on, 1
// --app-metadata --extra-layers ALL with a metadata slot for every flow
// (--app-meta-flows = --max-flows: each flow holds its TLS metadata), 2 the
// same and both TCP trackers (everything on).
#include <rte_malloc.h>

#include <memory>
#include <string>
#include <vector>

#include "bench_common.h"
#include "benchmark/benchmark.h"
#include "parse/parser.h"
#include "table/flow_index.h"

namespace skyprobe {
namespace {

constexpr uint32_t kBurst = 32;

int64_t HeapBytes() {
  rte_malloc_socket_stats st{};
  rte_malloc_get_socket_stats(rte_socket_id(), &st);
  return static_cast<int64_t>(st.heap_allocsz_bytes);
}

void FillAndMeasure(benchmark::State& state, bool tcp, bool trackers) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  std::vector<uint8_t> bytes = bench::FrameBytes(flows);
  if (tcp) {
    for (uint32_t i = 0; i < flows; ++i) {
      bench::WriteTcpHandshakeFrame(i, 0, &bytes[static_cast<size_t>(i) * bench::kFrameLen]);
    }
  }
  std::vector<ParsedPacket> pkts(kBurst);
  const uint8_t* frames[kBurst];
  int64_t ts[kBurst];
  for (auto _ : state) {
    bench::DiscardSink sink;
    const int64_t rss0 = bench::ResidentBytes();
    const int64_t heap0 = HeapBytes();
    FlowTableOptions o;
    o.name = "mem" + std::to_string(tcp) + std::to_string(trackers);
    o.max_flows = flows;
    o.tcp_stream_metrics = trackers;
    o.tcp_health = trackers;
    auto table = std::move(FlowTable::Create(o, sink.AsSink()).value());
    int64_t now = 1'700'000'000'000'000'000;
    for (uint32_t base = 0; base < flows; base += kBurst) {
      const uint32_t n = std::min(kBurst, flows - base);
      for (uint32_t i = 0; i < n; ++i) {
        frames[i] = &bytes[static_cast<size_t>(base + i) * bench::kFrameLen];
        ParseFrame(frames[i], bench::kFrameLen, bench::kFrameLen, ParserConfig(), &pkts[i]);
        ts[i] = now++;
      }
      table->AdvanceClock(ts[0]);
      table->ProcessBurst(frames, pkts.data(), ts, n);
    }
    const int64_t rss1 = bench::ResidentBytes();
    const int64_t heap1 = HeapBytes();
    if (table->size() != flows) state.SkipWithError("table did not take every flow");
    state.counters["flows"] = table->size();
    state.counters["rss_per_flow"] = static_cast<double>(rss1 - rss0) / flows;
    state.counters["reserved_per_flow"] = static_cast<double>(heap1 - heap0) / flows;
    // Kept: DPDK's heap zeroes memory on free, which would make the next
    // measurement's pages resident before it starts.
    table.release();
  }
}

void BM_BytesPerAppFlow(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  const int64_t app = state.range(1);
  // Each flow: its SYN (60 bytes), then its ClientHello (kHelloFrameLen).
  constexpr uint32_t kStride = bench::kHelloFrameLen;
  std::vector<uint8_t> bytes(static_cast<size_t>(flows) * 2 * kStride);
  for (uint32_t i = 0; i < flows; ++i) {
    bench::WriteTcpHandshakeFrame(i, 0, &bytes[(2 * static_cast<size_t>(i)) * kStride]);
    bench::WriteClientHelloFrame(i, &bytes[(2 * static_cast<size_t>(i) + 1) * kStride]);
  }
  ParserConfig pc;
  pc.app_payload = app != 0;
  std::vector<ParsedPacket> pkts(kBurst);
  const uint8_t* frames[kBurst];
  int64_t ts[kBurst];
  for (auto _ : state) {
    bench::DiscardSink sink;
    const int64_t rss0 = bench::ResidentBytes();
    const int64_t heap0 = HeapBytes();
    FlowTableOptions o;
    o.name = "mema" + std::to_string(app);
    o.max_flows = flows;
    o.tcp_stream_metrics = app == 2;
    o.tcp_health = app == 2;
    o.app_metadata = app != 0;
    o.extra_layers = app != 0 ? 7 : 0;
    o.app_meta_flows = flows;
    auto table = std::move(FlowTable::Create(o, sink.AsSink()).value());
    int64_t now = 1'700'000'000'000'000'000;
    const uint32_t frames_total = 2 * flows;
    for (uint32_t base = 0; base < frames_total; base += kBurst) {
      const uint32_t n = std::min(kBurst, frames_total - base);
      for (uint32_t i = 0; i < n; ++i) {
        frames[i] = &bytes[static_cast<size_t>(base + i) * kStride];
        const uint32_t len = (base + i) % 2 == 0 ? bench::kFrameLen : bench::kHelloFrameLen;
        ParseFrame(frames[i], len, len, pc, &pkts[i]);
        ts[i] = now++;
      }
      table->AdvanceClock(ts[0]);
      table->ProcessBurst(frames, pkts.data(), ts, n);
    }
    const int64_t rss1 = bench::ResidentBytes();
    const int64_t heap1 = HeapBytes();
    if (table->size() != flows) state.SkipWithError("table did not take every flow");
    if (app != 0 && table->counters().app_flows != flows) {
      state.SkipWithError("not every flow kept its ClientHello's metadata");
    }
    state.counters["flows"] = table->size();
    state.counters["rss_per_flow"] = static_cast<double>(rss1 - rss0) / flows;
    state.counters["reserved_per_flow"] = static_cast<double>(heap1 - heap0) / flows;
    table.release();  // kept, as in FillAndMeasure
  }
}

void BM_BytesPerFlow(benchmark::State& state) { FillAndMeasure(state, false, false); }
void BM_BytesPerTcpFlow(benchmark::State& state) {
  FillAndMeasure(state, true, state.range(1) != 0);
}

void BM_IndexBytesPerFlow(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  for (auto _ : state) {
    const int64_t rss0 = bench::ResidentBytes();
    const int64_t heap0 = HeapBytes();
    auto index = FlowIndex::Create(flows, rte_socket_id());
    if (!index.ok()) {
      state.SkipWithError(std::string(index.status().message()).c_str());
      return;
    }
    uint64_t x = 0x9e3779b97f4a7c15ull;
    FlowTableKey key{};
    for (uint32_t i = 0; i < flows; ++i) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      key.w[0] = x;
      key.w[1] = ~x;
      (*index)->Add(key, static_cast<uint32_t>(x ^ (x >> 32)));
    }
    state.counters["rss_per_flow"] = static_cast<double>(bench::ResidentBytes() - rss0) / flows;
    state.counters["reserved_per_flow"] = static_cast<double>(HeapBytes() - heap0) / flows;
    index->release();  // kept, as the table above
  }
}

// One iteration each: the figure is a size, not a time.
BENCHMARK(BM_BytesPerFlow)->Arg(1 << 20)->Iterations(1);
BENCHMARK(BM_IndexBytesPerFlow)->Arg(1 << 20)->Iterations(1);
BENCHMARK(BM_BytesPerTcpFlow)->Args({1 << 20, 0})->Args({1 << 20, 1})->Iterations(1);
BENCHMARK(BM_BytesPerAppFlow)
    ->Args({1 << 18, 0})
    ->Args({1 << 18, 1})
    ->Args({1 << 18, 2})
    ->Iterations(1);

}  // namespace
}  // namespace skyprobe

int main(int argc, char** argv) {
  if (!skyprobe::bench::InitEal("memory_bench", 4096)) return 1;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  rte_eal_cleanup();
  return 0;
}
