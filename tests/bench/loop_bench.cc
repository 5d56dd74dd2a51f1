// loop_bench.cc: the RX loop's gap (time between two rx_burst calls) and
// replay rate while the worker does something else than packets, each run
// beside the same run without the event, alternated.
//
//   build/tests/bench/loop_bench --scenario expiry [--flows 1000000] [--seconds 15]
//       [--rounds 2] [--rate-mpps 0]
//
// A NIC-like port: a net_ring ethdev whose 1024-entry ring a producer on the
// main lcore fills with 64-byte Ethernet/IPv4/UDP frames written into
// recycled mbufs of a small pool (as a NIC's DMA does), as fast as the worker
// takes them (--rate-mpps 0) or at a fixed rate, then dropping what finds the
// ring full (a NIC's imissed). The worker is the real RxWorker::Run() on
// lcore 1, on a live clock. First every flow of --flows gets one frame (the
// load), then the window: --seconds of frames of flows 0..999 (or of new
// flows, `flood`), during which the event happens:
//   expiry   every loaded flow but the 1000 idles out in one 2 s timer tick
//            (expire 6 s); without: expire 3600 s
//   update   an update tick reports every loaded flow (update 6 s); without: 3600 s
//   query-worst, query-inshard, query-all   a requester thread runs a
//            snapshot query in a loop: the costliest filter the limits allow
//            (worst_filter.h, evaluated by the requester), the costliest one
//            the worker evaluates itself, or no filter (every flow shipped);
//            without: no query
//   flood    the table is full (--flows is the limit) and every frame is a new
//            flow: one eviction per frame; without: frames of loaded flows
// Records are counted and dropped on the worker (no control lcore).
// Printed per run: the window's replay rate, the gap's p50/p99/p99.9/max
// (histogram bucket bounds, capture/loop_gap.h), records, NIC drops.
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"
#include "capture/loop_gap.h"
#include "capture/query_port.h"
#include "capture/rx_worker.h"
#include "query/compiled_filter.h"
#include "worst_filter.h"

namespace skyprobe {
namespace {

constexpr uint32_t kBurst = 32;
constexpr uint32_t kRing = 1024;
constexpr uint32_t kKeep = 1000;

struct Options {
  std::string scenario = "expiry";
  uint32_t flows = 1'000'000;
  double seconds = 15;
  int rounds = 2;
  double rate_mpps = 0;
};

// Counts records on the worker; the time of the first and last.
struct CountingSink {
  FlowSnapshot slot;
  std::atomic<uint64_t> records{0};
  static FlowSnapshot* Acquire(void* ctx) { return &static_cast<CountingSink*>(ctx)->slot; }
  static void Publish(void* ctx, FlowSnapshot*) {
    auto* self = static_cast<CountingSink*>(ctx);
    self->records.store(self->records.load(std::memory_order_relaxed) + 1,
                        std::memory_order_relaxed);
  }
  RecordSink AsSink() { return RecordSink{this, &Acquire, &Publish}; }
};

// The port: a net_ring ethdev over one ring.
struct RingPort {
  rte_ring* ring = nullptr;
  uint16_t port = 0;
  RingPort(int n, rte_mempool* pool) {
    const std::string name = "loopbench" + std::to_string(n);
    ring = rte_ring_create(name.c_str(), kRing, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
    const int p = rte_eth_from_rings(("net_" + name).c_str(), &ring, 1, &ring, 1, rte_socket_id());
    if (ring == nullptr || p < 0) {
      std::fprintf(stderr, "loop_bench: cannot make a ring port\n");
      std::exit(1);
    }
    port = static_cast<uint16_t>(p);
    rte_eth_conf conf{};
    if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(port, 0, kRing, rte_socket_id(), nullptr, pool) != 0 ||
        rte_eth_tx_queue_setup(port, 0, kRing, rte_socket_id(), nullptr) != 0 ||
        rte_eth_dev_start(port) != 0) {
      std::fprintf(stderr, "loop_bench: cannot start the ring port\n");
      std::exit(1);
    }
  }
  ~RingPort() {
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    rte_ring_free(ring);
  }
};

// The NIC: frames of chosen flows into recycled mbufs, onto the ring.
class Producer {
 public:
  explicit Producer(int n) {
    pool_ = rte_pktmbuf_pool_create(("loopnic" + std::to_string(n)).c_str(), 8191, 256, 0,
                                    RTE_PKTMBUF_HEADROOM + 128, rte_socket_id());
    if (pool_ == nullptr) std::exit(1);
    // Every mbuf gets the frame once; later only the source address changes.
    std::vector<rte_mbuf*> all(8191);
    if (rte_pktmbuf_alloc_bulk(pool_, all.data(), all.size()) != 0) std::exit(1);
    for (rte_mbuf* m : all) {
      bench::WriteFrame(0, reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, bench::kFrameLen)));
    }
    rte_pktmbuf_free_bulk(all.data(), static_cast<unsigned>(all.size()));
  }
  ~Producer() { rte_mempool_free(pool_); }

  // One burst of flows first..first+31 (mod 2^24); `wait`: until the ring
  // takes all of it, else drops what does not fit. Returns frames enqueued.
  uint32_t Send(rte_ring* ring, uint32_t first, bool wait) {
    rte_mbuf* m[kBurst];
    while (rte_pktmbuf_alloc_bulk(pool_, m, kBurst) != 0) rte_pause();
    for (uint32_t k = 0; k < kBurst; ++k) {
      const uint32_t flow = (first + k) & 0xffffff;
      rte_pktmbuf_append(m[k], bench::kFrameLen);
      uint8_t* ip = rte_pktmbuf_mtod(m[k], uint8_t*) + 14;
      ip[13] = static_cast<uint8_t>(flow >> 16);
      ip[14] = static_cast<uint8_t>(flow >> 8);
      ip[15] = static_cast<uint8_t>(flow);
    }
    uint32_t done = 0;
    for (;;) {
      done +=
          rte_ring_enqueue_burst(ring, reinterpret_cast<void**>(m + done), kBurst - done, nullptr);
      if (done == kBurst || !wait) break;
      rte_pause();
    }
    if (done < kBurst) {
      rte_pktmbuf_free_bulk(m + done, kBurst - done);
      drops += kBurst - done;
    }
    return done;
  }
  uint64_t drops = 0;
  rte_mempool* pool() const { return pool_; }

 private:
  rte_mempool* pool_ = nullptr;
};

struct Gaps {
  uint64_t b[LoopGapHistogram::kBuckets];
  uint64_t max;
  void Read(const LoopGapHistogram& h) {
    for (int i = 0; i < LoopGapHistogram::kBuckets; ++i) b[i] = h.bucket(i);
    max = h.max();
  }
};

// Percentile bounds (ns) of the gaps recorded between two reads.
void PrintGaps(const Gaps& before, const Gaps& after, double ns_per_cycle) {
  uint64_t d[LoopGapHistogram::kBuckets], n = 0;
  int top = 0;
  for (int i = 0; i < LoopGapHistogram::kBuckets; ++i) {
    d[i] = after.b[i] - before.b[i];
    n += d[i];
    if (d[i] != 0) top = i;
  }
  const auto pct = [&](double q) {
    const uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(n) + 0.999999);
    uint64_t seen = 0;
    for (int i = 0; i < LoopGapHistogram::kBuckets; ++i) {
      seen += d[i];
      if (seen >= rank) return static_cast<double>(LoopGapHistogram::BucketMax(i)) * ns_per_cycle;
    }
    return 0.0;
  };
  // The window's max: its highest bucket's bound, or the exact max if it is in that bucket.
  double max = static_cast<double>(LoopGapHistogram::BucketMax(top)) * ns_per_cycle;
  if (LoopGapHistogram::Bucket(after.max) == top)
    max = static_cast<double>(after.max) * ns_per_cycle;
  std::printf(" gaps %llu p50 %.1f us p99 %.1f us p99.9 %.1f us max %.1f us",
              static_cast<unsigned long long>(n), pct(0.5) / 1e3, pct(0.99) / 1e3, pct(0.999) / 1e3,
              max / 1e3);
}

void RunOnce(const Options& o, bool with_event, int n) {
  const std::string& sc = o.scenario;
  CountingSink sink;
  FlowTableOptions to;
  to.name = "loopbench" + std::to_string(n);
  to.max_flows = sc == "flood" ? o.flows : o.flows + o.flows / 4 + 4096;
  to.expire_ns = (sc == "expiry" && with_event ? 6 : 3600) * 1'000'000'000ll;
  to.update_ns = (sc == "update" && with_event ? 6 : 3600) * 1'000'000'000ll;
  to.tick_ns = 2'000'000'000;  // the loaded flows all fall in one tick
  auto table = std::move(FlowTable::Create(to, sink.AsSink()).value());
  auto queries = std::move(QueryPort::Create(n, static_cast<int>(rte_socket_id())).value());
  Producer nic(n);
  RingPort port(n, nic.pool());
  std::atomic<bool> stop{false};
  WorkerSetup ws;
  RxQueueSpec q;
  q.port_id = port.port;
  q.name = "ring";
  ws.queues.push_back(q);
  ws.table = table.get();
  ws.queries = queries.get();
  ws.stop = &stop;
  RxWorker worker(ws);
  const unsigned lcore = rte_get_next_lcore(-1, 1, 0);
  rte_eal_remote_launch(&RxWorker::LaunchThunk, &worker, lcore);

  // The load: one frame of each flow, waiting for the ring.
  for (uint32_t f = 0; f < o.flows; f += kBurst) nic.Send(port.ring, f, true);
  while (worker.counters().rx_packets < (o.flows + kBurst - 1) / kBurst * kBurst) rte_pause();

  // The query, if any: a requester thread, from 1 s into the window.
  std::atomic<bool> window_over{false};
  std::atomic<uint64_t> answers{0}, visited{0};
  std::thread requester;
  if (with_event && sc.rfind("query", 0) == 0) {
    std::string expr;
    if (sc == "query-worst") expr = bench::WorstFilter();
    if (sc == "query-inshard") expr = bench::InList("Transport.B", 63, 5000);
    auto f = query::CompiledFilter::Compile(expr, nullptr, {.node_tid = "bench"});
    if (!f.ok()) std::exit(1);
    std::shared_ptr<const FlowPredicate> pred = expr.empty() ? nullptr : *f;
    requester = std::thread([&, pred] {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      while (!window_over.load()) {
        queries->Begin(QueryPort::Kind::kSnapshot, pred);
        bool finished = false;
        const std::function<bool()> over = [&] { return window_over.load(); };
        while (!finished && !window_over.load()) {
          finished = queries->Collect([&](const FlowSnapshot&) { ++visited; }, &over);
          std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
        if (finished) {
          ++answers;
        } else {
          queries->Cancel(nullptr);
        }
      }
    });
  }

  // The window.
  const uint64_t hz = rte_get_tsc_hz();
  Gaps g0, g1;
  g0.Read(worker.loop_gaps());
  const uint64_t rx0 = worker.counters().rx_packets;
  const uint64_t rec0 = sink.records.load();
  const uint64_t t0 = rte_rdtsc();
  const uint64_t end = t0 + static_cast<uint64_t>(o.seconds * static_cast<double>(hz));
  const bool paced = o.rate_mpps > 0;
  const double cycles_per_burst =
      paced ? kBurst * static_cast<double>(hz) / (o.rate_mpps * 1e6) : 0;
  uint64_t sent = 0, bursts = 0;
  uint32_t next_new = 1u << 23;  // flood: flows never loaded
  uint32_t keep = 0;
  for (;;) {
    const uint64_t now = rte_rdtsc();
    if (now >= end) break;
    if (paced && now < t0 + static_cast<uint64_t>(static_cast<double>(bursts) * cycles_per_burst)) {
      continue;
    }
    uint32_t first;
    if (sc == "flood" && with_event) {
      first = next_new;
      next_new = next_new + kBurst >= (1u << 24) ? (1u << 23) : next_new + kBurst;
    } else {
      const uint32_t span = sc == "flood" ? o.flows : kKeep;
      first = keep;
      keep = keep + kBurst >= span ? 0 : keep + kBurst;
    }
    sent += nic.Send(port.ring, first, !paced);
    ++bursts;
  }
  const uint64_t t1 = rte_rdtsc();
  g1.Read(worker.loop_gaps());
  const uint64_t rx1 = worker.counters().rx_packets;
  const uint64_t rec1 = sink.records.load();
  window_over.store(true);
  if (requester.joinable()) requester.join();
  stop.store(true);
  rte_eal_wait_lcore(lcore);

  const double secs = static_cast<double>(t1 - t0) / static_cast<double>(hz);
  std::printf("%-14s %-7s rate %6.3f Mpps", sc.c_str(), with_event ? "with" : "without",
              static_cast<double>(rx1 - rx0) / secs / 1e6);
  PrintGaps(g0, g1, 1e9 / static_cast<double>(hz));
  std::printf(" records %llu", static_cast<unsigned long long>(rec1 - rec0));
  if (paced) std::printf(" nic_drops %llu", static_cast<unsigned long long>(nic.drops));
  if (answers.load() || visited.load()) {
    std::printf(" answers %llu flows_visited %llu", static_cast<unsigned long long>(answers.load()),
                static_cast<unsigned long long>(visited.load()));
  }
  std::printf(" evicted %llu\n", static_cast<unsigned long long>(table->counters().flows_evicted));
  std::fflush(stdout);
}

}  // namespace
}  // namespace skyprobe

int main(int argc, char** argv) {
  skyprobe::Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--scenario")
      o.scenario = v;
    else if (k == "--flows")
      o.flows = static_cast<uint32_t>(std::stoul(v));
    else if (k == "--seconds")
      o.seconds = std::stod(v);
    else if (k == "--rounds")
      o.rounds = std::stoi(v);
    else if (k == "--rate-mpps")
      o.rate_mpps = std::stod(v);
    else {
      std::fprintf(stderr, "loop_bench: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  const char* eal[] = {
      argv[0], "--no-huge",           "--no-pci", "--no-shconf", "--no-telemetry", "-m",
      "6144",  "--log-level=*:error", "-l",       "0,1"};
  if (rte_eal_init(sizeof(eal) / sizeof(eal[0]), const_cast<char**>(eal)) < 0) return 1;
  int n = 0;
  for (int r = 0; r < o.rounds; ++r) {
    skyprobe::RunOnce(o, false, n++);
    skyprobe::RunOnce(o, true, n++);
  }
  rte_eal_cleanup();
  return 0;
}
