// worker_bench.cc: one RX worker's per-packet cost (parse + key + shard +
// metrics) on prebuilt in-memory mbufs: no NIC, no pcap I/O.
//
//   build/tests/bench/worker_bench --benchmark_counters_tabular=true
//
// BM_Worker/<flows>: 64-byte Ethernet/IPv4/UDP frames cycling over <flows>
// distinct conversations already in the table (steady state): Mpps per core.
// BM_WorkerVxlan/<flows>: the same conversations inside VXLAN (124-byte
// frames): each is parsed twice over and counted in two flows.
// BM_NewFlows/<flows>: every frame opens a new flow (table emptied between
// rounds, outside the timing): new flows per second.
#include <memory>
#include <string>
#include <vector>

#include "bench_common.h"
#include "benchmark/benchmark.h"
#include "capture/rx_worker.h"

namespace skyprobe {
namespace {

constexpr uint16_t kBurst = 32;

// RxWorker's burst entry point is being reworked for several workers (it
// loses its queue argument); either shape builds.
template <typename W>
void Handle(W& w, rte_mbuf* const* m, uint16_t n) {
  if constexpr (requires { w.HandleBurst(m, n); }) {
    w.HandleBurst(m, n);
  } else {
    w.HandleBurst(m, n, 0);
  }
}

// Reworked setups describe every port by id (the bench's mbufs are port 0).
template <typename S>
void AddPort(S& ws, const RxQueueSpec& q) {
  if constexpr (requires { ws.ports.push_back(q); }) ws.ports.push_back(q);
}

struct Rig {
  bench::DiscardSink sink;
  std::unique_ptr<FlowTable> table;
  std::unique_ptr<RxWorker> worker;

  explicit Rig(uint32_t max_flows) {
    static int n = 0;
    FlowTableOptions o;
    o.name = "bench" + std::to_string(n++);
    o.max_flows = max_flows;
    table = std::move(FlowTable::Create(o, sink.AsSink()).value());
    WorkerSetup ws;
    RxQueueSpec q;
    q.name = "memory";
    ws.queues.push_back(q);
    AddPort(ws, q);
    ws.table = table.get();
    worker = std::make_unique<RxWorker>(ws);
  }
};

void RunWorker(benchmark::State& state, bool vxlan) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  bench::Frames frames(flows, vxlan);
  // Room to spare, as a deployment would size --max-flows.
  Rig rig(flows + flows / 4 + 1024);
  for (uint32_t i = 0; i + kBurst <= flows; i += kBurst) {
    Handle(*rig.worker, frames.at(i), kBurst);
  }
  uint32_t i = 0;
  for (auto _ : state) {
    Handle(*rig.worker, frames.at(i), kBurst);
    i += kBurst;
    if (i + kBurst > flows) i = 0;
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
  state.counters["Mpps"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kBurst) / 1e6, benchmark::Counter::kIsRate);
  state.counters["flows"] = rig.table->size();
}

void BM_Worker(benchmark::State& state) { RunWorker(state, false); }

// The cost of decapsulation: the same inner conversations inside VXLAN (124
// bytes), each frame accounted in its outer flow and its inner flow.
void BM_WorkerVxlan(benchmark::State& state) {
  RunWorker(state, true);
  // Every inner conversation plus the one outer flow must be in the table.
  if (static_cast<uint32_t>(state.counters["flows"]) != state.range(0) + 1) {
    state.SkipWithError("VXLAN frames did not make one outer and one inner flow each");
  }
}

void BM_NewFlows(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  bench::Frames frames(flows);
  Rig rig(flows + 1024);
  uint32_t i = 0;
  for (auto _ : state) {
    if (i + kBurst > flows) {
      state.PauseTiming();
      rig.table->FlushAll();
      i = 0;
      state.ResumeTiming();
    }
    Handle(*rig.worker, frames.at(i), kBurst);
    i += kBurst;
  }
  state.counters["new_flows_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kBurst), benchmark::Counter::kIsRate);
  // Every frame must have opened a flow for the rate to mean anything.
  state.counters["created_per_frame"] = static_cast<double>(rig.table->counters().flows_created) /
                                        static_cast<double>(state.iterations() * kBurst);
}

BENCHMARK(BM_Worker)->Arg(1 << 10)->Arg(100'000)->Arg(1 << 20)->Arg(4 << 20)->MinTime(2.0);
BENCHMARK(BM_NewFlows)->Arg(1 << 20)->MinTime(2.0);
BENCHMARK(BM_WorkerVxlan)->Arg(1 << 10)->Arg(1 << 20)->MinTime(2.0);

}  // namespace
}  // namespace skyprobe

int main(int argc, char** argv) {
  // 4M frames (~1.8 GiB of mbufs) plus a 5M-flow table.
  if (!skyprobe::bench::InitEal("worker_bench", 8192)) return 1;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  rte_eal_cleanup();
  return 0;
}
