// loop_bench.cc: the RX loop's gap (time between two rx_burst calls) and
// replay rate while the worker does something else than packets, each run
// beside the same run without the event, alternated.
//
//   scripts/bench_loop.sh             (makes the captures, runs every scenario)
//   build/tests/bench/loop_bench --scenario expiry --load FLOWS.pcap --keep KEEP.pcap
//       [--seconds 15] [--rounds 2] [--fifo 1]
//
// The in-memory replay of integration-query-load and scripts/bench_query.py,
// in-process: two net_pcap ports hot-plugged per run, --load (one frame per
// flow, read once: the table holds every flow) and --keep (1000 of the same
// flows, infinite_rx=1: replayed from memory forever, as fast as the worker
// takes it). The worker is the real RxWorker::Run() on lcore 1, on a live
// clock. Once the load is in, the window: --seconds during which the event
// happens:
//   expiry   every loaded flow but the 1000 idles out in one 2 s timer tick
//            (expire 6 s); without: expire 3600 s
//   update   an update tick reports every loaded flow (update 6 s); without: 3600 s
//   query-worst, query-inshard, query-all   a requester thread runs a
//            snapshot query in a loop from 1 s into the window: the costliest
//            filter the limits allow (worst_filter.h, evaluated by the
//            requester), the costliest one the worker evaluates itself, or no
//            filter (every flow shipped); without: no query
//   export   raw packet capture on (--raw-packets 1) in both runs; with the
//            event a requester thread runs ExportPcap's worker side in a loop
//            from 1 s into the window: every loaded flow's packets
//            (QueryPort::BeginRawPackets with all their UUIDs, collected
//            as the worker hands its buffer over); without: no export
//   flood    a table limit of half the loaded flows, evict-oldest: --load
//            replayed forever (infinite_rx=1), so once the table is full every
//            frame is a flow it no longer holds, which evicts the oldest one;
//            without: the same full table, --load read once, then --keep
//            (every frame a hit)
// --fifo 1 runs the worker's lcore at SCHED_FIFO priority 1, so that other
// processes on a shared machine do not preempt it: the gaps are then the
// loop's own (and the hypervisor's).
// Records are counted and dropped on the worker (no control lcore).
// Printed per run: the window's replay rate, the gap's p50/p99/p99.9/max
// (histogram bucket bounds, capture/loop_gap.h) and own_max (PrintGaps), the
// time the worker's thread waited for a CPU and its context switches,
// involuntary + voluntary (/proc), records,
// evictions, and the requester's answers.
#include <pthread.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "capture/loop_gap.h"
#include "capture/query_port.h"
#include "capture/rx_worker.h"
#include "query/compiled_filter.h"
#include "worst_filter.h"

namespace skyprobe {
namespace {

struct Options {
  std::string scenario = "expiry";
  std::string load, keep;
  bool fifo = false;
  double seconds = 15;
  int rounds = 2;
};

// Counts records on the worker.
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

// A net_pcap port made for one run: `file` read once, or forever (infinite_rx).
struct PcapPort {
  std::string name;
  uint16_t port = 0;
  PcapPort(const std::string& vdev, const std::string& file, bool forever, rte_mempool* pool)
      : name(vdev) {
    const std::string args = name + ",rx_pcap=" + file + (forever ? ",infinite_rx=1" : "");
    rte_eth_conf conf{};
    if (rte_dev_probe(args.c_str()) != 0 ||
        rte_eth_dev_get_port_by_name(name.c_str(), &port) != 0 ||
        rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(port, 0, 1024, rte_socket_id(), nullptr, pool) != 0 ||
        rte_eth_tx_queue_setup(port, 0, 1024, rte_socket_id(), nullptr) != 0 ||
        rte_eth_dev_start(port) != 0) {
      std::fprintf(stderr, "loop_bench: cannot start %s\n", args.c_str());
      std::exit(1);
    }
  }
  ~PcapPort() {
    rte_eth_dev_info info{};
    rte_eth_dev_info_get(port, &info);
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    if (info.device != nullptr) rte_dev_remove(info.device);
  }
};

struct Gaps {
  uint64_t b[LoopGapHistogram::kBuckets];
  uint64_t max;
  void Read(const LoopGapHistogram& h) {
    for (int i = 0; i < LoopGapHistogram::kBuckets; ++i) b[i] = h.bucket(i);
    max = h.max();
  }
};

// Percentile bounds (us) of the gaps recorded between two reads.
// `switched`: how many times the worker's thread left its CPU in the window
// (context switches): each can lengthen at most one gap, so the largest gap
// once the `switched` largest are set aside bounds every gap the operating
// system had no part in ("own max", an upper bound: the hypervisor's steal
// is still in it).
void PrintGaps(const Gaps& before, const Gaps& after, double ns_per_cycle, uint64_t switched) {
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
  if (LoopGapHistogram::Bucket(after.max) == top) {
    max = static_cast<double>(after.max) * ns_per_cycle;
  }
  double own_max = 0;
  uint64_t above = 0;  // gaps in buckets above i
  for (int i = top; i >= 0; --i) {
    if (above + d[i] > switched) {
      own_max = static_cast<double>(LoopGapHistogram::BucketMax(i)) * ns_per_cycle;
      if (i == top && switched == 0) own_max = max;
      break;
    }
    above += d[i];
  }
  // Gaps over the targets (50 us, 200 us): every gap of a bucket that
  // reaches past the target counts, so these never understate.
  const auto over = [&](double ns) {
    uint64_t c = 0;
    for (int i = 0; i < LoopGapHistogram::kBuckets; ++i) {
      if (static_cast<double>(LoopGapHistogram::BucketMax(i)) * ns_per_cycle > ns) c += d[i];
    }
    return static_cast<unsigned long long>(c);
  };
  std::printf(
      " gaps %llu p50 %.1f p99 %.1f p99.9 %.1f max %.1f own_max %.1f us over50us %llu"
      " over200us %llu",
      static_cast<unsigned long long>(n), pct(0.5) / 1e3, pct(0.99) / 1e3, pct(0.999) / 1e3,
      max / 1e3, own_max / 1e3, over(50'000), over(200'000));
}

uint32_t FlowsIn(const std::string& pcap) {
  // scripts/gen_flows_pcap.py: one 60-byte frame per flow, 16 + 60 bytes a record.
  FILE* f = std::fopen(pcap.c_str(), "rb");
  if (f == nullptr) std::exit(1);
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::fclose(f);
  return static_cast<uint32_t>((size - 24) / 76);
}

// What the scheduler did to the worker's thread: time runnable but not
// running (another thread had the CPU, /proc/.../schedstat) and involuntary
// switches. A gap longer than the loop's own work is usually one of these.
struct Sched {
  uint64_t run_ns = 0, wait_ns = 0, nivcsw = 0, nvcsw = 0;
  static Sched Of(pid_t tid) {
    Sched s;
    const std::string dir = "/proc/self/task/" + std::to_string(tid);
    std::ifstream st(dir + "/schedstat");
    st >> s.run_ns >> s.wait_ns;
    std::ifstream status(dir + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
        s.nivcsw = std::strtoull(line.c_str() + 27, nullptr, 10);
      } else if (line.rfind("voluntary_ctxt_switches:", 0) == 0) {
        s.nvcsw = std::strtoull(line.c_str() + 24, nullptr, 10);
      }
    }
    return s;
  }
};

struct Launch {
  RxWorker* worker;
  bool fifo;
  std::atomic<pid_t> tid{0};
  static int Run(void* self) {
    auto* l = static_cast<Launch*>(self);
    if (l->fifo) {
      const sched_param prio{.sched_priority = 1};
      if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &prio) != 0) {
        std::fprintf(stderr, "loop_bench: SCHED_FIFO refused\n");
        std::exit(1);
      }
    }
    l->tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
    l->worker->Run();
    return 0;
  }
};

void RunOnce(const Options& o, bool with_event, int n) {
  const std::string& sc = o.scenario;
  const bool flood = sc == "flood";
  const uint32_t loaded = FlowsIn(o.load);
  CountingSink sink;
  FlowTableOptions to;
  to.name = "loopbench" + std::to_string(n);
  to.max_flows = flood ? loaded / 2 : loaded + loaded / 4 + 4096;
  to.overload = OverloadPolicy::kEvictOldest;
  to.expire_ns = (sc == "expiry" && with_event ? 6 : 3600) * 1'000'000'000ll;
  to.update_ns = (sc == "update" && with_event ? 6 : 3600) * 1'000'000'000ll;
  // The loaded flows all fall in one tick (expiry, update); the flood keeps
  // the default tick: evict-oldest takes the newest flow of the earliest
  // slot, so a slot must span much less than a table's worth of frames, or
  // a flow just created may be evicted and some frames would be hits.
  to.tick_ns = flood ? FlowTableOptions().tick_ns : 2'000'000'000;
  const bool raw = sc == "export";
  if (raw) {
    // The generated frames are 60 bytes: one 64-byte copy per flow.
    to.raw_first = 1;
    to.capture_length = 64;
    to.raw_memory_bytes = uint64_t{to.max_flows} * 128;
  }
  auto table = std::move(FlowTable::Create(to, sink.AsSink()).value());
  // The export buffer as the probe sizes it (inputs.cc): 1 MiB.
  auto queries = std::move(
      QueryPort::Create(n, static_cast<int>(rte_socket_id()), raw ? uint64_t{1} << 20 : 0).value());
  // net_pcap's infinite_rx holds the whole file in mbufs: one per frame of
  // the forever-replayed file (--load itself for the flood), 60-byte frames.
  const uint32_t mbufs = (flood && with_event ? loaded : 1000) + 32768;
  rte_mempool* pool = rte_pktmbuf_pool_create(("loopbench_pool" + std::to_string(n)).c_str(), mbufs,
                                              256, 0, RTE_PKTMBUF_HEADROOM + 256, rte_socket_id());
  if (pool == nullptr) std::exit(1);
  std::atomic<bool> stop{false};
  WorkerSetup ws;
  std::vector<std::unique_ptr<PcapPort>> ports;
  if (flood && with_event) {
    ports.push_back(
        std::make_unique<PcapPort>("net_pcap_l" + std::to_string(n), o.load, true, pool));
  } else {
    ports.push_back(
        std::make_unique<PcapPort>("net_pcap_l" + std::to_string(n), o.load, false, pool));
    ports.push_back(
        std::make_unique<PcapPort>("net_pcap_k" + std::to_string(n), o.keep, true, pool));
  }
  for (const auto& p : ports) {
    RxQueueSpec q;
    q.port_id = p->port;
    q.name = p->name;
    ws.queues.push_back(q);
  }
  ws.table = table.get();
  ws.queries = queries.get();
  ws.stop = &stop;
  RxWorker worker(ws);
  const unsigned lcore = rte_get_next_lcore(-1, 1, 0);
  Launch launch{&worker, o.fifo};
  rte_eal_remote_launch(&Launch::Run, &launch, lcore);
  while (launch.tid.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // The load is in (the table holds every flow of the file; flood: it is
  // full, and without the flood the file was read whole).
  const uint32_t want = flood ? static_cast<uint32_t>(to.max_flows) : loaded;
  const bool read_once = !(flood && with_event);
  for (;;) {
    rte_eth_stats st{};
    rte_eth_stats_get(ports[0]->port, &st);
    if (table->size() >= want && (!read_once || st.ipackets >= loaded)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

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
    std::shared_ptr<const FlowPredicate> pred;
    if (!expr.empty()) pred = *f;
    requester = std::thread([&, pred] {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      const std::function<bool()> over = [&] { return window_over.load(); };
      while (!window_over.load()) {
        queries->Begin(QueryPort::Kind::kSnapshot, pred);
        bool finished = false;
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

  // The export, if any: every flow's UUID (a snapshot query before the
  // window), then the export in a loop from 1 s into the window.
  if (with_event && raw) {
    auto uuids = std::make_shared<std::vector<uint64_t>>();
    queries->Begin(QueryPort::Kind::kSnapshot, nullptr);
    while (!queries->Collect([&](const FlowSnapshot& f) { uuids->push_back(f.uuid); })) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    std::sort(uuids->begin(), uuids->end());
    uuids->erase(std::unique(uuids->begin(), uuids->end()), uuids->end());
    requester = std::thread([&, uuids] {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      while (!window_over.load()) {
        queries->BeginRawPackets(uuids);
        bool finished = false;
        while (!finished && !window_over.load()) {
          finished = queries->CollectRawPackets(
              [&](uint64_t, const RawPacketArena::Packet&) { ++visited; });
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
  const uint64_t ev0 = table->counters().flows_evicted;
  const Sched s0 = Sched::Of(launch.tid.load());
  const uint64_t t0 = rte_rdtsc();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  const uint64_t t1 = rte_rdtsc();
  const Sched s1 = Sched::Of(launch.tid.load());
  g1.Read(worker.loop_gaps());
  const uint64_t rx1 = worker.counters().rx_packets;
  const uint64_t rec1 = sink.records.load();
  const uint64_t ev1 = table->counters().flows_evicted;
  window_over.store(true);
  if (requester.joinable()) requester.join();
  stop.store(true);
  rte_eal_wait_lcore(lcore);

  const double secs = static_cast<double>(t1 - t0) / static_cast<double>(hz);
  // The rate over the window, and over the worker thread's own CPU time in
  // it (what a loaded machine disturbs least).
  const double cpu_secs = static_cast<double>(s1.run_ns - s0.run_ns) / 1e9;
  std::printf("%-14s %-7s rate %6.3f Mpps cpu_rate %6.3f Mpps", sc.c_str(),
              with_event ? "with" : "without", static_cast<double>(rx1 - rx0) / secs / 1e6,
              cpu_secs > 0 ? static_cast<double>(rx1 - rx0) / cpu_secs / 1e6 : 0.0);
  PrintGaps(g0, g1, 1e9 / static_cast<double>(hz), (s1.nivcsw - s0.nivcsw) + (s1.nvcsw - s0.nvcsw));
  std::printf(" runq_wait %.1f ms switches %llu+%llu",
              static_cast<double>(s1.wait_ns - s0.wait_ns) / 1e6,
              static_cast<unsigned long long>(s1.nivcsw - s0.nivcsw),
              static_cast<unsigned long long>(s1.nvcsw - s0.nvcsw));
  std::printf(" records %llu evicted %llu", static_cast<unsigned long long>(rec1 - rec0),
              static_cast<unsigned long long>(ev1 - ev0));
  if (answers.load() || visited.load()) {
    std::printf(" answers %llu flows_visited %llu", static_cast<unsigned long long>(answers.load()),
                static_cast<unsigned long long>(visited.load()));
  }
  std::printf("\n");
  std::fflush(stdout);
  ports.clear();
  rte_mempool_free(pool);
}

}  // namespace
}  // namespace skyprobe

int main(int argc, char** argv) {
  skyprobe::Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--scenario") {
      o.scenario = v;
    } else if (k == "--load") {
      o.load = v;
    } else if (k == "--keep") {
      o.keep = v;
    } else if (k == "--fifo") {
      o.fifo = v != "0";
    } else if (k == "--seconds") {
      o.seconds = std::stod(v);
    } else if (k == "--rounds") {
      o.rounds = std::stoi(v);
    } else {
      std::fprintf(stderr, "loop_bench: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (o.load.empty() || o.keep.empty()) {
    std::fprintf(stderr, "loop_bench: --load and --keep are needed\n");
    return 2;
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
