// worker_bench.cc: one RX worker's per-packet cost (parse + key + shard +
// metrics) on prebuilt in-memory mbufs: no NIC, no pcap I/O.
//
//   build/tests/bench/worker_bench --benchmark_counters_tabular=true
//
// BM_Worker/<flows>: 64-byte Ethernet/IPv4/UDP frames cycling over <flows>
// distinct conversations already in the table (steady state): Mpps per core.
// BM_NewFlows/<flows>: every frame opens a new flow (table emptied between
// rounds, outside the timing): new flows per second.
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "capture/rx_worker.h"
#include "table/flow_table.h"

namespace skyprobe {
namespace {

constexpr uint16_t kBurst = 32;

struct DiscardSink {
  FlowSnapshot slot;
  uint64_t records = 0;
  static FlowSnapshot* Acquire(void* ctx) { return &static_cast<DiscardSink*>(ctx)->slot; }
  static void Publish(void* ctx, FlowSnapshot*) { ++static_cast<DiscardSink*>(ctx)->records; }
};

rte_mempool* Pool() {
  static rte_mempool* pool = rte_pktmbuf_pool_create(
      "bench_mbufs", (1u << 20) + 4096, 256, 0, RTE_PKTMBUF_HEADROOM + 128, rte_socket_id());
  return pool;
}

// 64-byte frames (60 on the wire without FCS): flow i is 10.<i>:1024 -> 192.168.0.1:4000.
std::vector<rte_mbuf*> MakeFrames(uint32_t flows, uint32_t salt) {
  std::vector<rte_mbuf*> out(flows);
  for (uint32_t i = 0; i < flows; ++i) {
    rte_mbuf* m = rte_pktmbuf_alloc(Pool());
    uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, 60));
    std::memset(p, 0, 60);
    const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 1}, src[6] = {0x02, 0, 0, 0, 0, 2};
    std::memcpy(p, dst, 6);
    std::memcpy(p + 6, src, 6);
    p[12] = 0x08;
    uint8_t* ip = p + 14;
    ip[0] = 0x45;
    ip[3] = 46;  // total length: 20 + 8 + 18
    ip[8] = 64;
    ip[9] = 17;
    const uint32_t a = i ^ (salt << 24);
    ip[12] = 10;
    ip[13] = static_cast<uint8_t>(a >> 16);
    ip[14] = static_cast<uint8_t>(a >> 8);
    ip[15] = static_cast<uint8_t>(a);
    ip[16] = 192, ip[17] = 168, ip[19] = 1;
    uint8_t* udp = ip + 20;
    udp[0] = 0x04;  // 1024
    udp[2] = 0x0f, udp[3] = 0xa0;  // 4000: no port-selected L7 decoder
    udp[5] = 26;
    out[i] = m;
  }
  return out;
}

struct Rig {
  DiscardSink sink;
  std::unique_ptr<FlowTable> table;
  std::unique_ptr<RxWorker> worker;

  explicit Rig(uint32_t max_flows) {
    static int n = 0;
    FlowTableOptions o;
    o.name = "bench" + std::to_string(n++);
    o.max_flows = max_flows;
    table = std::move(FlowTable::Create(o, RecordSink{&sink, &DiscardSink::Acquire,
                                                      &DiscardSink::Publish})
                          .value());
    WorkerSetup ws;
    RxQueueSpec q;
    q.name = "memory";
    ws.queues.push_back(q);
    ws.table = table.get();
    worker = std::make_unique<RxWorker>(ws);
  }
};

void BM_Worker(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  auto frames = MakeFrames(flows, 1);
  Rig rig(flows + flows / 4 + 1024);
  for (uint32_t i = 0; i + kBurst <= flows; i += kBurst) rig.worker->HandleBurst(&frames[i], kBurst);
  uint32_t i = 0;
  for (auto _ : state) {
    rig.worker->HandleBurst(&frames[i], kBurst);
    i += kBurst;
    if (i + kBurst > flows) i = 0;
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
  state.counters["Mpps"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kBurst) / 1e6,
                         benchmark::Counter::kIsRate);
  state.counters["flows"] = rig.table->size();
  for (rte_mbuf* m : frames) rte_pktmbuf_free(m);
}

void BM_NewFlows(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  auto frames = MakeFrames(flows, 2);
  Rig rig(flows + 1024);
  uint32_t i = 0;
  for (auto _ : state) {
    if (i + kBurst > flows) {
      state.PauseTiming();
      rig.table->FlushAll();
      i = 0;
      state.ResumeTiming();
    }
    rig.worker->HandleBurst(&frames[i], kBurst);
    i += kBurst;
  }
  state.counters["new_flows_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kBurst),
                         benchmark::Counter::kIsRate);
  for (rte_mbuf* m : frames) rte_pktmbuf_free(m);
}

BENCHMARK(BM_Worker)->Arg(1 << 10)->Arg(100'000)->Arg(1 << 20)->MinTime(2.0);
BENCHMARK(BM_NewFlows)->Arg(1 << 20)->MinTime(2.0);

}  // namespace
}  // namespace skyprobe

int main(int argc, char** argv) {
  const char* eal[] = {"worker_bench", "--no-huge", "--no-pci", "--no-shconf", "--no-telemetry",
                       "-m", "3072", "--log-level=*:error", "-l", "0"};
  if (rte_eal_init(sizeof(eal) / sizeof(eal[0]), const_cast<char**>(eal)) < 0) return 1;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  rte_eal_cleanup();
  return 0;
}
