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
// BM_FloodAtLimit/<policy>/<flows>: a table full at --max-flows <flows>
// receives nothing but frames of flows it does not hold (a flood of new
// flows): policy 0 drop-new (each frame refused and counted), 1
// evict-oldest (each frame evicts the oldest flow, with its record, and
// takes its place). refused/evicted per frame must be exactly 1.
// BM_FloodOneBucket/<flows>: what the keyed table hash prevents: every key
// in one bucket (an injected hash, as an attacker who could compute an
// unkeyed hash would arrange), so every lookup walks the chain.
// BM_FloodCollidingKeys/<flows>: the attack itself, with the table's own
// hash: <flows> conversations an attacker chose because, under the public
// hash (XXH3 of the key's words without a secret, what the table used
// before it was keyed), they all fall in one primary and one alternate
// bucket of a --max-flows 1024 table; then every frame is a hit on them.
// The same frames in a tree with and without the key: before, each lookup
// walks the extendable-bucket chain; with the key they are ordinary flows.
// BM_WorkerRandom/<flows>: BM_Worker's conversations, created in order and
// then visited in a shuffled order (fixed seed): each packet's flow is at
// a random place in the table, as on a real link, where BM_Worker's walk
// in creation order reads the records one after the other.
// BM_Retire/<flows>: the records of a replay's end (below).
// BM_RetireRing/<flows>: the same records written into a ring of 4608 slots
// (a record channel's pool at the default --ring-size), each given a
// Community ID as the control lcore's enhancer gives it: a slot is out of
// the worker's nearest caches when it comes round again, as in a probe.
// BM_WorkerNic/<flows>: BM_Worker's traffic in a NIC-like set of 1024 mbufs
// recycled burst after burst (bench_common.h RecycledFrames): the same
// conversations without BM_Worker's mbuf cache misses.
// BM_WorkerScale/<flows>/threads:<N>: N workers at once, each on a thread
// of its own with its own table (a shard of <flows> conversations) and its
// own NIC-like frames, as N RX lcores with RSS would run; wall-time rates,
// total and per worker (scripts/bench_scale.sh runs N = 1 .. the CPUs).
// BM_WorkerTcp/<flows>/<mix>/<trackers>: the cost of the TCP trackers
// (--tcp-stream-metrics --tcp-health) with <trackers> 1 against 0, on the
// plain mix above (<mix> 0) or with 20 % of the frames TCP handshake
// packets (<mix> 1: SYN, SYN/ACK, ACK of flows/15 conversations, replayed
// round after round: the trackers see each again as a retransmission).
// BM_WorkerApp/<flows>/<mix>/<app>: the cost of application metadata and
// the extra layers: <app> 0 off, 1 --app-metadata --extra-layers ALL, 2 the
// same and both TCP trackers (everything on); on the plain mix (<mix> 0) or
// the TLS mix (<mix> 1: 20 % of the frames are TCP frames, SYN, SYN/ACK, ACK
// and a 240-byte ClientHello of flows/20 conversations, replayed round
// after round: steady state, each ClientHello read once).
// BM_WorkerAppNew/<flows>/<app>: the TLS mix with the table emptied at each
// round (outside the timing): every ClientHello is read and fingerprinted,
// every flow is new: the cost per new TLS flow, metadata off (0) or on (1).
#include <rte_mbuf_dyn.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"
#include "benchmark/benchmark.h"
#include "capture/rx_worker.h"
#include "parse/parser.h"
#include "table/flow_key.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

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

// The injected table hash (FlowTableOptions::hash_fn); a tree without it
// (a baseline build of this file) ignores it.
template <typename O>
void SetHashFn(O& o, uint32_t (*fn)(const void*, uint32_t, uint32_t)) {
  if constexpr (requires { o.hash_fn = fn; }) o.hash_fn = fn;
}

// Reworked setups describe every port by id (the bench's mbufs are port 0).
template <typename S>
void AddPort(S& ws, const RxQueueSpec& q) {
  if constexpr (requires { ws.ports.push_back(q); }) ws.ports.push_back(q);
}

// Slots in turn, as a record channel's pool hands them out; publishing a
// record does to it what the control lcore's Community ID enhancer does.
struct RingSink {
  static constexpr size_t kSlots = 4096 + 512;
  std::vector<FlowSnapshot> slots = std::vector<FlowSnapshot>(kSlots);
  size_t next = 0;
  static FlowSnapshot* Acquire(void* ctx) {
    auto* r = static_cast<RingSink*>(ctx);
    FlowSnapshot* s = &r->slots[r->next];
    r->next = r->next + 1 == kSlots ? 0 : r->next + 1;
    return s;
  }
  static void Publish(void*, FlowSnapshot* s) {
    static constexpr char kId[] = "1:p2mFo/qqnJKWY7y1t2PvE8hjnJ8=";
    std::memcpy(s->community_id, kId, sizeof(kId));
  }
  RecordSink AsSink() { return RecordSink{this, &Acquire, &Publish}; }
};

struct Rig {
  bench::DiscardSink sink;
  std::unique_ptr<FlowTable> table;
  std::unique_ptr<RxWorker> worker;

  explicit Rig(uint32_t max_flows, OverloadPolicy overload = OverloadPolicy::kEvictOldest,
               uint32_t (*hash_fn)(const void*, uint32_t, uint32_t) = nullptr,
               bool tcp_trackers = false, uint32_t keep_expired_max = 0, int64_t expire_ns = 0,
               bool app = false, const RecordSink* records = nullptr) {
    static std::atomic<int> n = 0;  // BM_WorkerScale builds rigs in several threads
    FlowTableOptions o;
    o.name = "bench" + std::to_string(n++);
    o.max_flows = max_flows;
    o.overload = overload;
    SetHashFn(o, hash_fn);
    o.tcp_stream_metrics = tcp_trackers;
    o.tcp_health = tcp_trackers;
    o.keep_expired_ns = keep_expired_max != 0 ? 60'000'000'000 : 0;
    o.keep_expired_max = keep_expired_max;
    if (expire_ns != 0) {
      o.expire_ns = expire_ns;
      o.tick_ns = 1'000'000;
    }
    if constexpr (requires { o.app_metadata; }) {
      o.app_metadata = app;
      o.extra_layers = app ? 7 : 0;
    }
    table = std::move(FlowTable::Create(o, records != nullptr ? *records : sink.AsSink()).value());
    WorkerSetup ws;
    if constexpr (requires { ws.app_payload; }) ws.app_payload = app;
    RxQueueSpec q;
    q.name = "memory";
    ws.queues.push_back(q);
    AddPort(ws, q);
    ws.table = table.get();
    worker = std::make_unique<RxWorker>(ws);
  }
};

// Puts every one of `flows` conversations in the table (one burst each of
// burst(i), i = 0, kBurst, ...), then times the same bursts in a loop.
template <typename BurstAt>
void SteadyBursts(benchmark::State& state, Rig& rig, uint32_t flows, BurstAt burst) {
  for (uint32_t i = 0; i + kBurst <= flows; i += kBurst) Handle(*rig.worker, burst(i), kBurst);
  uint32_t i = 0;
  for (auto _ : state) {
    Handle(*rig.worker, burst(i), kBurst);
    i += kBurst;
    if (i + kBurst > flows) i = 0;
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
  state.counters["Mpps"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kBurst) / 1e6, benchmark::Counter::kIsRate);
  state.counters["flows"] = rig.table->size();
}

void RunWorker(benchmark::State& state, bench::Frames::Kind kind, bool tcp_trackers = false,
               bool app = false) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  bench::Frames frames(flows, kind);
  // Room to spare, as a deployment would size --max-flows.
  Rig rig(flows + flows / 4 + 1024, OverloadPolicy::kEvictOldest, nullptr, tcp_trackers, 0, 0, app);
  SteadyBursts(state, rig, flows, [&](uint32_t i) { return frames.at(i); });
}

void BM_Worker(benchmark::State& state) { RunWorker(state, bench::Frames::Kind::kUdp); }

void BM_WorkerRandom(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  std::vector<uint32_t> order(flows);
  for (uint32_t i = 0; i < flows; ++i) order[i] = i;
  std::mt19937 rng(7);
  std::shuffle(order.begin(), order.end(), rng);
  Rig rig(flows + flows / 4 + 1024);
  {
    bench::Frames in_order(flows);  // creates the flows in order, then goes
    for (uint32_t i = 0; i + kBurst <= flows; i += kBurst) {
      Handle(*rig.worker, in_order.at(i), kBurst);
    }
  }
  bench::Frames shuffled(order);
  SteadyBursts(state, rig, flows, [&](uint32_t i) { return shuffled.at(i); });
  if (rig.table->size() != flows) state.SkipWithError("not every conversation is in the table");
}

void BM_WorkerTcp(benchmark::State& state) {
  RunWorker(state, state.range(1) ? bench::Frames::Kind::kTcpMix : bench::Frames::Kind::kUdp,
            state.range(2) != 0);
}

void BM_WorkerApp(benchmark::State& state) {
  const int64_t app = state.range(2);
  RunWorker(state, state.range(1) ? bench::Frames::Kind::kTlsMix : bench::Frames::Kind::kUdp,
            app == 2, app != 0);
}

void BM_WorkerAppNew(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  const bool app = state.range(1) != 0;
  bench::Frames frames(flows, bench::Frames::Kind::kTlsMix);
  Rig rig(flows + flows / 4 + 1024, OverloadPolicy::kEvictOldest, nullptr, false, 0, 0, app);
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
  state.counters["Mpps"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kBurst) / 1e6, benchmark::Counter::kIsRate);
  // With metadata on, every ClientHello must have given a TLS slot.
  if constexpr (requires { rig.table->counters().app_flows; }) {
    const uint64_t rounds = state.iterations() * kBurst / (flows / kBurst * kBurst);
    state.counters["tls_flows_per_round"] =
        rounds == 0
            ? 0.0
            : static_cast<double>(rig.table->counters().app_flows) / static_cast<double>(rounds);
  }
}

// The end of a replay: a table of <flows> conversations (filled outside the
// timing, each round) retired, every flow's final record built
// (FillSnapshot) and handed to a sink that discards it: records per second.
void RunRetire(benchmark::State& state, const RecordSink* sink) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  bench::Frames frames(flows);
  Rig rig(flows + flows / 4 + 1024, OverloadPolicy::kEvictOldest, nullptr, false, 0, 0, false,
          sink);
  uint64_t records = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (uint32_t i = 0; i + kBurst <= flows; i += kBurst)
      Handle(*rig.worker, frames.at(i), kBurst);
    const uint64_t live = rig.table->size();
    state.ResumeTiming();
    if (!rig.table->Retire()) state.SkipWithError("Retire stopped early");
    records += live;
  }
  state.counters["records_per_s"] =
      benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
  state.counters["ns_per_record"] = benchmark::Counter(
      static_cast<double>(records), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_Retire(benchmark::State& state) { RunRetire(state, nullptr); }

void BM_RetireRing(benchmark::State& state) {
  RingSink ring;
  const RecordSink sink = ring.AsSink();
  RunRetire(state, &sink);
}

void BM_WorkerNic(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  bench::RecycledFrames frames;
  Rig rig(flows + flows / 4 + 1024);
  SteadyBursts(state, rig, flows, [&](uint32_t i) { return frames.Next(i, kBurst); });
  // Steady state: every conversation already in the table, none created while timed.
  if (rig.table->size() != flows) state.SkipWithError("not every conversation is in the table");
}

void BM_WorkerScale(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  bench::RecycledFrames frames;
  Rig rig(flows + flows / 4 + 1024);
  SteadyBursts(state, rig, flows, [&](uint32_t i) { return frames.Next(i, kBurst); });
  // SteadyBursts' Mpps is summed over the threads: the total; this is its mean.
  state.counters["Mpps_per_worker"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kBurst) / 1e6,
                         benchmark::Counter::kIsRate | benchmark::Counter::kAvgThreads);
  if (rig.table->size() != flows) state.SkipWithError("not every conversation is in the table");
}

// The cost of decapsulation: the same inner conversations inside VXLAN (124
// bytes), each frame accounted in its outer flow and its inner flow.
void BM_WorkerVxlan(benchmark::State& state) {
  RunWorker(state, bench::Frames::Kind::kVxlan);
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

void BM_FloodAtLimit(benchmark::State& state) {
  const bool evict = state.range(0) != 0;
  const uint32_t flows = static_cast<uint32_t>(state.range(1));
  // Flows [0, flows) fill the table; the flood is [flows, 2 flows), over and
  // over: with drop-new none of it ever gets in; with evict-oldest each frame
  // evicts the flow seen `flows` frames before, so none is ever a hit.
  bench::Frames frames(2 * flows);
  Rig rig(flows, evict ? OverloadPolicy::kEvictOldest : OverloadPolicy::kDropNew);
  for (uint32_t i = 0; i + kBurst <= flows; i += kBurst) Handle(*rig.worker, frames.at(i), kBurst);
  const TableCounters before = rig.table->counters();
  uint32_t i = flows;
  uint64_t sent = 0;
  for (auto _ : state) {
    Handle(*rig.worker, frames.at(i), kBurst);
    sent += kBurst;
    i += kBurst;
    if (i + kBurst > 2 * flows) i = evict ? 0 : flows;
  }
  const TableCounters& c = rig.table->counters();
  state.counters["Mpps"] =
      benchmark::Counter(static_cast<double>(sent) / 1e6, benchmark::Counter::kIsRate);
  // The policy's counts, exact: every flood frame refused, or evicting one.
  state.counters["refused_per_frame"] =
      static_cast<double>(c.drop_table_full - before.drop_table_full) / static_cast<double>(sent);
  state.counters["evicted_per_frame"] =
      static_cast<double>(c.flows_evicted - before.flows_evicted) / static_cast<double>(sent);
  state.counters["flows"] = rig.table->size();
  if (c.drop_table_full - before.drop_table_full != (evict ? 0 : sent) ||
      c.flows_evicted - before.flows_evicted != (evict ? sent : 0)) {
    state.SkipWithError("the policy's counts are not exactly one per flood frame");
  }
}

uint32_t OneBucket(const void*, uint32_t, uint32_t) { return 0x5eed; }

void BM_FloodOneBucket(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  bench::Frames frames(flows);
  Rig rig(flows + 1024, OverloadPolicy::kEvictOldest, OneBucket);
  for (uint32_t i = 0; i + kBurst <= flows; i += kBurst) Handle(*rig.worker, frames.at(i), kBurst);
  uint32_t i = 0;
  for (auto _ : state) {
    Handle(*rig.worker, frames.at(i), kBurst);
    i += kBurst;
    if (i + kBurst > flows) i = 0;
  }
  state.counters["Mpps"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kBurst) / 1e6, benchmark::Counter::kIsRate);
  state.counters["flows"] = rig.table->size();
}

// The bucket signature of a flow's key as the table computed it before it
// was keyed (what an attacker can compute): XXH3 of the key's words, no
// secret, folded to 32 bits. A baseline tree's LookupKey returns that
// digest itself; a keyed tree's gives the words.
uint32_t UnkeyedSig(const uint8_t* frame, const SubPacket& sub, KeyMode mode) {
  KeyOrientation o;
#if __has_include("table/table_hash.h")
  FlowTableKey k;
  LookupKey(frame, sub, mode, 0, false, &k, &o);
  const uint64_t h = XXH3_64bits(k.w, static_cast<size_t>(KeyWords(k)) * sizeof(uint64_t));
#else
  const uint64_t h = LookupKey(frame, sub, mode, 0, false, &o);
#endif
  return static_cast<uint32_t>(h ^ (h >> 32));
}

// `n` flow numbers (bench frames) whose unkeyed signatures share one
// primary and one alternate bucket of an rte_hash with mask+1 buckets
// (DPDK: primary = sig & mask, alternate = (primary ^ sig >> 16) & mask).
std::vector<uint32_t> CollidingFlows(uint32_t n, uint32_t mask) {
  uint8_t frame[bench::kFrameLen];
  bench::WriteFrame(0, frame);
  ParsedPacket p;
  if (ParseFrame(frame, bench::kFrameLen, bench::kFrameLen, ParserConfig(), &p) != 1) std::abort();
  const KeyMode mode = FlowTableOptions().key_mode;
  const auto pair = [&](uint32_t i) {
    frame[14 + 13] = static_cast<uint8_t>(i >> 16);  // only the address changes
    frame[14 + 14] = static_cast<uint8_t>(i >> 8);
    frame[14 + 15] = static_cast<uint8_t>(i);
    const uint32_t sig = UnkeyedSig(frame, p.sub[0], mode);
    const uint32_t prim = sig & mask;
    return uint64_t{prim} << 32 | ((prim ^ (sig >> 16)) & mask);
  };
  const uint64_t target = pair(0);
  std::vector<uint32_t> ids;
  for (uint32_t i = 0; ids.size() < n && i < (1u << 24); ++i) {
    if (pair(i) == target) ids.push_back(i);
  }
  if (ids.size() < n) std::abort();
  return ids;
}

void BM_FloodCollidingKeys(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  constexpr uint32_t kMaxFlows = 1024;
  // The unkeyed table had align32pow2(1024) / 8 = 128 buckets for it.
  bench::Frames frames(CollidingFlows(flows, 127));
  Rig rig(kMaxFlows);
  for (uint32_t i = 0; i + kBurst <= flows; i += kBurst) Handle(*rig.worker, frames.at(i), kBurst);
  uint32_t i = 0;
  for (auto _ : state) {
    Handle(*rig.worker, frames.at(i), kBurst);
    i += kBurst;
    if (i + kBurst > flows) i = 0;
  }
  state.counters["Mpps"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kBurst) / 1e6, benchmark::Counter::kIsRate);
  state.counters["flows"] = rig.table->size();
}

// Churn: 1M conversations, each back after about 0.3 s, through a table whose
// flows expire after 1 ms idle: nearly every frame opens a flow, and about as
// many flows leave by idle expiry. The worst case of --keep-expired, which
// copies each final record into its ring (Arg: kept flows; 0: off, the
// probe keeps 64k by default).
void BM_IdleChurn(benchmark::State& state) {
  constexpr uint32_t kConversations = 1 << 20;
  bench::Frames frames(kConversations);
  Rig rig(kConversations + 1024, OverloadPolicy::kEvictOldest, nullptr, /*tcp_trackers=*/false,
          static_cast<uint32_t>(state.range(0)), /*expire_ns=*/1'000'000);
  uint32_t i = 0;
  for (auto _ : state) {
    Handle(*rig.worker, frames.at(i), kBurst);
    i += kBurst;
    if (i + kBurst > kConversations) i = 0;
  }
  const TableCounters& c = rig.table->counters();
  const double frames_in = static_cast<double>(state.iterations() * kBurst);
  state.counters["Mpps"] = benchmark::Counter(frames_in / 1e6, benchmark::Counter::kIsRate);
  state.counters["expired_per_frame"] = static_cast<double>(c.expired_idle) / frames_in;
  state.counters["evicted_per_frame"] = static_cast<double>(c.flows_evicted) / frames_in;
}

// BM_WorkerCaptureClock/<flows>/<update_s>: BM_WorkerNic's traffic on a
// capture clock, as a pcap replay runs: each frame stamped 1 us after the
// one before (in the mbuf's timestamp field, written before each burst), an
// update tick every <update_s> seconds of capture time. With 60 nothing falls
// due while timed (the common case: one compare a burst); with 1 a tick over
// every flow falls inside a burst every million frames.
void BM_WorkerCaptureClock(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  static int ts_offset = -1;
  static uint64_t ts_flag = 0;
  if (ts_offset < 0 && rte_mbuf_dyn_rx_timestamp_register(&ts_offset, &ts_flag) != 0) {
    state.SkipWithError("no timestamp field");
    return;
  }
  static int n = 0;
  bench::DiscardSink sink;
  FlowTableOptions o;
  o.name = "benchclock" + std::to_string(n++);
  o.max_flows = flows + flows / 4 + 1024;
  o.update_ns = state.range(1) * 1'000'000'000;
  auto table = std::move(FlowTable::Create(o, sink.AsSink()).value());
  WorkerSetup ws;
  RxQueueSpec q;
  q.name = "memory";
  AddPort(ws, q);
  ws.table = table.get();
  ws.timestamp_offset = ts_offset;
  ws.timestamp_flag = ts_flag;
  RxWorker worker(ws);
  bench::RecycledFrames frames;
  uint64_t us = 1'700'000'000'000'000;
  const auto burst = [&](uint32_t i) {
    rte_mbuf** m = frames.Next(i, kBurst);
    for (uint16_t k = 0; k < kBurst; ++k) {
      *RTE_MBUF_DYNFIELD(m[k], ts_offset, uint64_t*) = us++;
      m[k]->ol_flags |= ts_flag;
    }
    return m;
  };
  for (uint32_t i = 0; i + kBurst <= flows; i += kBurst) Handle(worker, burst(i), kBurst);
  uint32_t i = 0;
  const uint64_t updates = table->counters().update_records;
  for (auto _ : state) {
    Handle(worker, burst(i), kBurst);
    i += kBurst;
    if (i + kBurst > flows) i = 0;
  }
  state.counters["Mpps"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kBurst) / 1e6, benchmark::Counter::kIsRate);
  state.counters["updates"] = static_cast<double>(table->counters().update_records - updates);
}

BENCHMARK(BM_Worker)->Arg(1 << 10)->Arg(100'000)->Arg(1 << 20)->Arg(4 << 20)->MinTime(2.0);
BENCHMARK(BM_WorkerRandom)->Arg(1 << 20)->MinTime(2.0);
BENCHMARK(BM_WorkerNic)->Arg(1 << 10)->Arg(1 << 20)->Arg(4 << 20)->Arg(16 << 20)->MinTime(2.0);
BENCHMARK(BM_NewFlows)->Arg(1 << 20)->MinTime(2.0);
BENCHMARK(BM_Retire)->Arg(1 << 20)->Iterations(5)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RetireRing)->Arg(1 << 20)->Iterations(5)->Unit(benchmark::kMillisecond);
// Trackers off and on side by side, for each mix, at 1k and 1M flows.
BENCHMARK(BM_WorkerTcp)
    ->ArgsProduct({{1 << 10, 1 << 20}, {0, 1}, {0, 1}})
    ->ArgNames({"flows", "mix", "trackers"})
    ->MinTime(2.0);
// Metadata off and on side by side, for each mix, at 1k and 1M flows.
BENCHMARK(BM_WorkerApp)
    ->ArgsProduct({{1 << 10, 1 << 20}, {0, 1}, {0, 1, 2}})
    ->ArgNames({"flows", "mix", "app"})
    ->MinTime(2.0);
BENCHMARK(BM_WorkerAppNew)
    ->ArgsProduct({{1 << 16}, {0, 1}})
    ->ArgNames({"flows", "app"})
    ->MinTime(2.0);
BENCHMARK(BM_WorkerVxlan)->Arg(1 << 10)->Arg(1 << 20)->MinTime(2.0);
BENCHMARK(BM_FloodAtLimit)->Args({0, 1 << 20})->Args({1, 1 << 20})->MinTime(2.0);
BENCHMARK(BM_FloodOneBucket)->Arg(1 << 10)->Arg(1 << 13)->MinTime(1.0);
BENCHMARK(BM_FloodCollidingKeys)->Arg(512)->MinTime(1.0);
BENCHMARK(BM_IdleChurn)->Arg(0)->Arg(1 << 16)->MinTime(2.0);
BENCHMARK(BM_WorkerCaptureClock)
    ->ArgsProduct({{1 << 10, 1 << 20}, {60, 1}})
    ->ArgNames({"flows", "update_s"})
    ->MinTime(2.0);

}  // namespace
}  // namespace skyprobe

int main(int argc, char** argv) {
  // 4M frames (~1.8 GiB of mbufs) plus a 5M-flow table.
  if (!skyprobe::bench::InitEal("worker_bench", 8192)) return 1;
  // One to as many workers as there are CPUs, at 1k and 1M flows each.
  const int cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  benchmark::RegisterBenchmark("BM_WorkerScale", skyprobe::BM_WorkerScale)
      ->Arg(1 << 10)
      ->Arg(1 << 20)
      ->DenseThreadRange(1, cpus)
      ->UseRealTime()
      ->MinTime(2.0);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  rte_eal_cleanup();
  return 0;
}
