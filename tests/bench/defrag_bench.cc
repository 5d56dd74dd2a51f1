// defrag_bench.cc: the cost of IP defragmentation in one RX worker (parse +
// table), on prebuilt in-memory mbufs: no NIC, no pcap I/O.
//
//   build/tests/bench/defrag_bench --benchmark_counters_tabular=true
//
// BM_Unfragmented/<defrag>: 64-byte UDP frames over 1024 flows (the
// worker_bench steady state) with --ip-defrag off (0) and on (1): what
// defragmentation costs traffic that has no fragments (should be ~0).
// BM_Fragmented/<order>: 3000-byte UDP datagrams in 3 IPv4 fragments over
// 1024 address pairs, in order (0) or last fragment first (1, held then
// counted): fragments per second, every datagram reassembled.
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.h"
#include "benchmark/benchmark.h"
#include "capture/rx_worker.h"

namespace skyprobe {
namespace {

constexpr uint16_t kBurst = 32;

struct Rig {
  bench::DiscardSink sink;
  std::unique_ptr<FlowTable> table;
  std::unique_ptr<RxWorker> worker;

  Rig(uint32_t max_flows, bool defrag) {
    static int n = 0;
    FlowTableOptions o;
    o.name = "dfbench" + std::to_string(n++);
    o.max_flows = max_flows;
    o.ip_defrag = defrag;
    table = std::move(FlowTable::Create(o, sink.AsSink()).value());
    WorkerSetup ws;
    RxQueueSpec q;
    q.name = "memory";
    ws.queues.push_back(q);
    ws.ports.push_back(q);
    ws.table = table.get();
    ws.ip_defrag = defrag;
    worker = std::make_unique<RxWorker>(ws);
  }
};

// Arbitrary frames in mbufs of their own pool.
class FrameSet {
 public:
  explicit FrameSet(const std::vector<std::vector<uint8_t>>& frames) {
    static int n = 0;
    const std::string name = "dfbench_mbufs" + std::to_string(n++);
    pool_ = rte_pktmbuf_pool_create(name.c_str(), static_cast<unsigned>(frames.size() + 1024), 256,
                                    0, RTE_PKTMBUF_HEADROOM + 1600, rte_socket_id());
    if (pool_ == nullptr) {
      std::fprintf(stderr, "bench: no memory for %zu mbufs (raise -m)\n", frames.size());
      std::abort();
    }
    for (const auto& f : frames) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
      m_.push_back(m);
    }
  }
  ~FrameSet() {
    for (rte_mbuf* m : m_) rte_pktmbuf_free(m);
    rte_mempool_free(pool_);
  }
  rte_mbuf** at(size_t i) { return &m_[i]; }
  size_t size() const { return m_.size(); }

 private:
  rte_mempool* pool_ = nullptr;
  std::vector<rte_mbuf*> m_;
};

// The fragments of a 3000-byte UDP datagram from 10.1.<pair> to 10.2.<pair>.
std::vector<std::vector<uint8_t>> Datagram(uint32_t pair, uint16_t id, bool last_first) {
  std::vector<uint8_t> payload(3000, 0xab);
  payload[0] = 0x75, payload[1] = 0x30;  // 30000 -> 40000, no L7 decoder
  payload[2] = 0x9c, payload[3] = 0x40;
  payload[4] = 3000 >> 8, payload[5] = 3000 & 0xff;
  std::vector<std::vector<uint8_t>> out;
  for (uint32_t off = 0; off < payload.size(); off += 1480) {
    const uint32_t len = std::min<uint32_t>(1480, static_cast<uint32_t>(payload.size()) - off);
    const bool more = off + len < payload.size();
    std::vector<uint8_t> f = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00};
    const uint16_t total = static_cast<uint16_t>(20 + len);
    const uint16_t frag = static_cast<uint16_t>((more ? 0x2000 : 0) | (off / 8));
    const uint8_t ip[20] = {0x45,
                            0,
                            static_cast<uint8_t>(total >> 8),
                            static_cast<uint8_t>(total),
                            static_cast<uint8_t>(id >> 8),
                            static_cast<uint8_t>(id),
                            static_cast<uint8_t>(frag >> 8),
                            static_cast<uint8_t>(frag),
                            64,
                            17,
                            0,
                            0,
                            10,
                            1,
                            static_cast<uint8_t>(pair >> 8),
                            static_cast<uint8_t>(pair),
                            10,
                            2,
                            static_cast<uint8_t>(pair >> 8),
                            static_cast<uint8_t>(pair)};
    f.insert(f.end(), ip, ip + 20);
    f.insert(f.end(), payload.begin() + off, payload.begin() + off + len);
    out.push_back(std::move(f));
  }
  if (last_first) std::swap(out.front(), out.back());
  return out;
}

void BM_Unfragmented(benchmark::State& state) {
  const bool defrag = state.range(0) != 0;
  constexpr uint32_t kFlows = 1024;
  bench::Frames frames(kFlows);
  Rig rig(kFlows * 2, defrag);
  uint32_t i = 0;
  for (auto _ : state) {
    rig.worker->HandleBurst(frames.at(i), kBurst);
    i += kBurst;
    if (i + kBurst > kFlows) i = 0;
  }
  state.counters["Mpps"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kBurst) / 1e6, benchmark::Counter::kIsRate);
  state.counters["ns_per_pkt"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kBurst) * 1e-9,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_Fragmented(benchmark::State& state) {
  const bool last_first = state.range(0) != 0;
  constexpr uint32_t kPairs = 1024;
  std::vector<std::vector<uint8_t>> all;
  // 32 datagrams per pair over the run: ids cycle, every datagram completes.
  for (uint16_t round = 0; round < 4; ++round) {
    for (uint32_t p = 0; p < kPairs; ++p) {
      for (auto& f : Datagram(p, round, last_first)) all.push_back(std::move(f));
    }
  }
  all.resize(all.size() / kBurst * kBurst);
  FrameSet frames(all);
  Rig rig(kPairs * 4, true);
  size_t i = 0;
  for (auto _ : state) {
    rig.worker->HandleBurst(frames.at(i), kBurst);
    i += kBurst;
    if (i + kBurst > frames.size()) i = 0;
  }
  const TableCounters& c = rig.table->counters();
  state.counters["Mfrags_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kBurst) / 1e6, benchmark::Counter::kIsRate);
  state.counters["ns_per_frag"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kBurst) * 1e-9,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  // Sanity: datagrams were reassembled, none given up or failed.
  state.counters["reassembled_per_frag"] =
      static_cast<double>(c.defrag_datagrams) / static_cast<double>(c.defrag_fragments);
  state.counters["errors"] = static_cast<double>(c.defrag_overlaps + c.defrag_timeouts +
                                                 c.defrag_table_full + c.defrag_too_many);
}

BENCHMARK(BM_Unfragmented)->Arg(0)->Arg(1)->MinTime(2.0);
BENCHMARK(BM_Fragmented)->Arg(0)->Arg(1)->MinTime(2.0);

}  // namespace
}  // namespace skyprobe

int main(int argc, char** argv) {
  if (!skyprobe::bench::InitEal("defrag_bench", 1024)) return 1;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  rte_eal_cleanup();
  return 0;
}
