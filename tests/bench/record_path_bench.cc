// record_path_bench.cc: records per second from a worker's table to the
// control lcore's handlers, each step beside its former self.
//
//   build/tests/bench/record_path_bench --benchmark_counters_tabular=true
//
// BM_Channel/<mode>/<lcores>: FlowSnapshot slots taken, filled (UUID and
// counters, as FillSnapshot writes them) and published by the producer, then
// drained 64 at a time and given back by the consumer (ControlLoop::DrainOnce).
// mode 0 is the channel's pool as it is (single getter and putter, a cache
// each), mode 1 DPDK's default pool (multi-producer/multi-consumer ring ops,
// no cache), what the channel used before. lcores 1: both sides on this
// thread, 32 records published then drained, in turn; lcores 2: the producer
// on EAL lcore 1 and the consumer here, each spinning (wall time: both cores
// work; on a shared machine its spread is wide).
//
// BM_SubscriberFeed/<subscribers>: the control lcore's handler that feeds
// gRPC subscribers (ProbeBackendImpl::Handler) per record; with none it takes
// no lock now. BM_SubscriberFeedBefore is the former Publish (a mutex taken
// per record, then the empty map walked), kept here as the baseline.
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "app/probe_backend_impl.h"
#include "benchmark/benchmark.h"
#include "capture/record_channel.h"

namespace skyprobe {
namespace {

constexpr uint32_t kChannelSize = 4096;  // --ring-size default
constexpr uint32_t kDrainBatch = 64;     // ControlLoop::DrainOnce

RecordChannel::PoolMode Mode(int64_t m) {
  return m == 0 ? RecordChannel::PoolMode::kSingleCached : RecordChannel::PoolMode::kSharedUncached;
}

std::unique_ptr<RecordChannel> NewChannel(RecordChannel::PoolMode mode) {
  static int n = 0;
  auto ch = RecordChannel::Create("bench" + std::to_string(n++), kChannelSize, 0, mode);
  if (!ch.ok()) {
    std::fprintf(stderr, "bench: %s\n", ch.status().ToString().c_str());
    std::abort();
  }
  return std::move(*ch);
}

// What the table writes of a record in the cache lines it owns: enough to
// move the slot's first lines to the producer's core.
inline void Fill(FlowSnapshot* s, uint64_t i) {
  s->uuid = i;
  s->tracking_id = i * 3;
  s->metric.ab_packets = static_cast<int64_t>(i);
  s->metric.ab_bytes = static_cast<int64_t>(i) * 64;
  s->metric.last = static_cast<int64_t>(i);
}

// Drains what is there; returns the records seen (and checks one field).
inline uint32_t DrainAll(RecordChannel* ch, uint64_t* sum) {
  FlowSnapshot* recs[kDrainBatch];
  uint32_t total = 0;
  while (const uint32_t n = ch->Drain(recs, kDrainBatch)) {
    for (uint32_t i = 0; i < n; ++i) *sum += recs[i]->uuid;
    ch->Release(recs, n);
    total += n;
  }
  return total;
}

void OneLcore(benchmark::State& state, RecordChannel* ch) {
  RecordSink sink = ch->Sink();
  constexpr uint32_t kBurst = 32;
  uint64_t i = 0, sum = 0, records = 0;
  for (auto _ : state) {
    for (uint32_t k = 0; k < kBurst; ++k) {
      FlowSnapshot* s = sink.acquire(sink.ctx);
      if (s == nullptr) std::abort();  // the consumer keeps up: never empty here
      Fill(s, i++);
      sink.publish(sink.ctx, s);
    }
    records += DrainAll(ch, &sum);
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<int64_t>(records));
}

struct Producer {
  RecordChannel* ch;
  uint64_t records;
  std::atomic<uint64_t> stalls{0};
  static int Run(void* arg) {
    auto* p = static_cast<Producer*>(arg);
    RecordSink sink = p->ch->Sink();
    uint64_t stalls = 0;
    for (uint64_t i = 0; i < p->records; ++i) {
      FlowSnapshot* s;
      while ((s = sink.acquire(sink.ctx)) == nullptr) {
        ++stalls;
        rte_pause();
      }
      Fill(s, i);
      sink.publish(sink.ctx, s);
    }
    p->stalls.store(stalls, std::memory_order_relaxed);
    return 0;
  }
};

void TwoLcores(benchmark::State& state, RecordChannel* ch) {
  const unsigned worker = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
  if (worker >= RTE_MAX_LCORE) {
    state.SkipWithError("needs EAL lcore 1");
    return;
  }
  constexpr uint64_t kRecords = 1 << 20;
  uint64_t sum = 0, records = 0, stalls = 0;
  for (auto _ : state) {
    Producer p{ch, kRecords};
    if (rte_eal_remote_launch(&Producer::Run, &p, worker) != 0) std::abort();
    uint64_t got = 0;
    while (got < kRecords) {
      const uint32_t n = DrainAll(ch, &sum);
      if (n == 0) rte_pause();
      got += n;
    }
    rte_eal_wait_lcore(worker);
    records += got;
    stalls += p.stalls.load(std::memory_order_relaxed);
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<int64_t>(records));
  state.counters["stalls_per_record"] =
      records == 0 ? 0 : static_cast<double>(stalls) / static_cast<double>(records);
}

void BM_Channel(benchmark::State& state) {
  std::unique_ptr<RecordChannel> ch = NewChannel(Mode(state.range(0)));
  if (state.range(1) == 1) {
    OneLcore(state, ch.get());
  } else {
    TwoLcores(state, ch.get());
  }
  state.SetLabel(state.range(0) == 0 ? "single+cache" : "dpdk default (before)");
}
BENCHMARK(BM_Channel)->Args({0, 1})->Args({1, 1});
BENCHMARK(BM_Channel)->Args({0, 2})->Args({1, 2})->UseRealTime()->MinTime(2.0);

void BM_SubscriberFeed(benchmark::State& state) {
  ProbeBackendImpl backend({}, {}, nullptr, "");
  std::unique_ptr<FlowHandler> feed = backend.Handler();
  uint64_t seen = 0;
  for (int64_t i = 0; i < state.range(0); ++i) {
    backend.Subscribe([&seen](const FlowSnapshot& s) { seen += s.uuid; });
  }
  FlowSnapshot s;
  for (auto _ : state) {
    ++s.uuid;
    feed->OnRecord(s);
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(seen);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SubscriberFeed)->Arg(0)->Arg(1);

// The former ProbeBackendImpl::Publish, for the baseline: a mutex per record
// and the (empty) map walked under it, behind the same virtual handler call.
class FeedBefore final : public FlowHandler {
 public:
  void OnRecord(const FlowSnapshot& s) override { publish_(s); }
  std::function<void(const FlowSnapshot&)> publish_ = [this](const FlowSnapshot& s) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, fn] : subs_) fn(s);
  };
  std::mutex mu_;
  std::map<uint64_t, std::function<void(const FlowSnapshot&)>> subs_;
};

void BM_SubscriberFeedBefore(benchmark::State& state) {
  std::unique_ptr<FlowHandler> feed = std::make_unique<FeedBefore>();
  FlowSnapshot s;
  for (auto _ : state) {
    ++s.uuid;
    feed->OnRecord(s);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SubscriberFeedBefore);

}  // namespace
}  // namespace skyprobe

int main(int argc, char** argv) {
  // Two lcores (0: this thread, the consumer; 1: the producer), no hugepages.
  const char* eal[] = {argv[0], "--no-huge", "--no-pci", "--no-shconf", "--no-telemetry",
                       "-m",    "256",       "-l",       "0,1",         "--log-level=*:error"};
  if (rte_eal_init(sizeof(eal) / sizeof(eal[0]), const_cast<char**>(eal)) < 0) {
    std::fprintf(stderr, "bench: rte_eal_init failed\n");
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  rte_eal_cleanup();
  return 0;
}
