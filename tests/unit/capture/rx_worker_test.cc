// RxWorker's loop on a capture clock (pcap replays): timer work due before a
// burst is finished before the burst is accounted, even when it takes many
// loop iterations (the burst is held meanwhile), so a flow idle past its
// deadline is never extended by a later frame, whatever the time budget.
// On a live port with the kernel's times (--iface-time kernel) each frame of
// a burst keeps its own time, under the capture clock's rules, and a frame
// without one takes the burst's.
// The port is a net_ring ethdev fed by the test; frames carry their capture
// time in the mbuf timestamp field, as net_pcap's do. The loop gap histogram
// records the polls. (EAL is started by record_channel_test.cc's main.)
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "capture/device_clock.h"
#include "capture/query_port.h"
#include "capture/rx_worker.h"
#include "gtest/gtest.h"
#include "tests/common/udp_frame.h"

namespace skyprobe {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;
constexpr uint32_t kFrameLen = testing::kUdpFrameLen;

struct CountingSink {
  FlowSnapshot slot;
  static FlowSnapshot* Acquire(void* ctx) { return &static_cast<CountingSink*>(ctx)->slot; }
  static void Publish(void*, FlowSnapshot*) {}
};

// Flow `flow`'s frame appended to `m` (a fresh mbuf has room for it).
void AppendUdpFrame(rte_mbuf* m, uint32_t flow) {
  char* data = rte_pktmbuf_append(m, kFrameLen);
  ASSERT_NE(data, nullptr);
  testing::WriteUdpFrame(flow, reinterpret_cast<uint8_t*>(data));
}

// A net_ring port looped on one ring the test fills (RX reads what the
// test enqueued), its pool and ring; stopped, closed and freed on the way
// out. Open("rxw", ...) names them rxw_pool, rxw_ring and net_rxw.
struct RingPort {
  rte_mempool* pool = nullptr;
  rte_ring* ring = nullptr;
  int port = -1;

  RingPort() = default;
  RingPort(const RingPort&) = delete;
  RingPort& operator=(const RingPort&) = delete;
  ~RingPort() {
    if (port >= 0) {
      rte_eth_dev_stop(port);
      rte_eth_dev_close(port);
    }
    rte_ring_free(ring);
    rte_mempool_free(pool);
  }
  // `mbufs` in the pool; `slots` in the ring and each queue.
  ::testing::AssertionResult Open(const std::string& name, unsigned mbufs, unsigned slots) {
    pool = rte_pktmbuf_pool_create((name + "_pool").c_str(), mbufs, 0, 0, 2048, rte_socket_id());
    if (pool == nullptr) return ::testing::AssertionFailure() << "no pool";
    ring = rte_ring_create((name + "_ring").c_str(), slots, rte_socket_id(),
                           RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (ring == nullptr) return ::testing::AssertionFailure() << "no ring";
    port = rte_eth_from_rings(("net_" + name).c_str(), &ring, 1, &ring, 1, rte_socket_id());
    if (port < 0) return ::testing::AssertionFailure() << "no port";
    rte_eth_conf conf{};
    const auto p = static_cast<uint16_t>(port);
    if (rte_eth_dev_configure(p, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(p, 0, slots, rte_socket_id(), nullptr, pool) != 0 ||
        rte_eth_tx_queue_setup(p, 0, slots, rte_socket_id(), nullptr) != 0 ||
        rte_eth_dev_start(p) != 0) {
      return ::testing::AssertionFailure() << "the port did not start";
    }
    return ::testing::AssertionSuccess();
  }
};

TEST(RxWorkerTest, ACaptureClockFinishesDueExpiryBeforeTheNextBurst) {
  int ts_offset = -1;
  uint64_t ts_flag = 0;
  ASSERT_EQ(rte_mbuf_dyn_rx_timestamp_register(&ts_offset, &ts_flag), 0);
  RingPort ring_port;
  ASSERT_TRUE(ring_port.Open("rxw", 4095, 1024));
  auto& [pool, ring, port] = ring_port;

  CountingSink sink;
  FlowTableOptions o;
  o.name = "rxw";
  o.max_flows = 1u << 16;
  o.expire_ns = 10 * kSec;
  o.tick_ns = 100'000'000;
  auto table = std::move(
      FlowTable::Create(o, RecordSink{&sink, &CountingSink::Acquire, &CountingSink::Publish})
          .value());
  std::atomic<bool> stop{false};
  WorkerSetup ws;
  RxQueueSpec q;
  q.port_id = static_cast<uint16_t>(port);
  q.name = "ring";
  ws.queues.push_back(q);
  ws.table = table.get();
  ws.timestamp_offset = ts_offset;  // a capture clock, as with net_pcap
  ws.stop = &stop;
  RxWorker worker(ws);
  std::thread run([&] { worker.Run(); });

  // Flows 0..N-1 at T0 (1 us apart), then flow 0 again 20 s later: every
  // flow is due by then (expire 10 s), thousands of them, far more than one
  // loop iteration's budget expires.
  constexpr uint32_t kFlows = 20000;
  const auto send = [&](uint32_t flow, int64_t ts_ns) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    while (m == nullptr) {
      std::this_thread::yield();
      m = rte_pktmbuf_alloc(pool);
    }
    AppendUdpFrame(m, flow);
    *RTE_MBUF_DYNFIELD(m, ts_offset, uint64_t*) = static_cast<uint64_t>(ts_ns / 1000);
    m->ol_flags |= ts_flag;
    while (rte_ring_enqueue(ring, m) != 0) std::this_thread::yield();
  };
  for (uint32_t i = 0; i < kFlows; ++i) send(i, kT0 + i * 1000);
  // The late frame in a burst of its own (the first frame of a burst is the
  // time the due work is done up to).
  while (table->counters().packets_in_flows < kFlows) std::this_thread::yield();
  send(0, kT0 + 20 * kSec);
  while (table->counters().packets_in_flows < kFlows + 1) std::this_thread::yield();
  // Read while running: the last frame made a new flow 0, after the old one left.
  EXPECT_EQ(table->counters().flows_created, kFlows + 1);
  EXPECT_EQ(table->counters().expired_idle, kFlows);
  EXPECT_EQ(table->size(), 1u);
  stop = true;
  run.join();
  EXPECT_EQ(table->counters().expired_flush, 1u);
  EXPECT_EQ(worker.counters().rx_packets, kFlows + 1);
  uint64_t gaps = 0;
  for (int b = 0; b < LoopGapHistogram::kBuckets; ++b) gaps += worker.loop_gaps().bucket(b);
  EXPECT_GT(gaps, 0u);
}

// Keeps a copy of every record, by the last byte of its A address (the flow number).
struct CollectingSink {
  FlowSnapshot slot;
  std::map<int, FlowSnapshot> by_flow;
  static FlowSnapshot* Acquire(void* ctx) { return &static_cast<CollectingSink*>(ctx)->slot; }
  static void Publish(void* ctx, FlowSnapshot* s) {
    static_cast<CollectingSink*>(ctx)->by_flow[s->network_a[3]] = *s;
  }
};

int64_t WallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A frame of flow `flow` whose mbuf timestamp field holds `field` (us for a
// kernel time, ticks for a NIC's), flagged as set when `stamped`.
struct StampedFrame {
  uint32_t flow;
  uint64_t field;
  bool stamped;
};

// What a worker made of one burst: its records by flow, its counters, and
// the wall clock (ms) just before it started and once it had every frame.
struct BurstResult {
  std::map<int, FlowSnapshot> by_flow;
  WorkerCounters counters;
  int64_t before_ms = 0;
  int64_t after_ms = 0;
};

// Puts `frames` in the ring of `port` (all there before the worker starts:
// one burst) and runs one worker on the port's only queue `q`, with the
// timestamp field registered as `ts_offset`/`ts_flag`, until every frame is
// in a flow; then stops it (its table flushed into the records).
void RunOneBurst(const RingPort& port, RxQueueSpec q, const char* table_name, int ts_offset,
                 uint64_t ts_flag, const std::vector<StampedFrame>& frames, BurstResult* out) {
  CollectingSink sink;
  FlowTableOptions o;
  o.name = table_name;
  o.max_flows = 1024;
  auto table =
      FlowTable::Create(o, RecordSink{&sink, &CollectingSink::Acquire, &CollectingSink::Publish});
  ASSERT_TRUE(table.ok()) << table.status();
  std::atomic<bool> stop{false};
  WorkerSetup ws;
  q.port_id = static_cast<uint16_t>(port.port);
  ws.queues.push_back(q);
  ws.ports.resize(static_cast<size_t>(port.port) + 1);
  ws.ports[static_cast<size_t>(port.port)] = q;
  ws.table = table->get();
  ws.timestamp_offset = ts_offset;
  ws.timestamp_flag = ts_flag;
  ws.stop = &stop;
  for (const StampedFrame& f : frames) {
    rte_mbuf* m = rte_pktmbuf_alloc(port.pool);
    ASSERT_NE(m, nullptr);
    AppendUdpFrame(m, f.flow);
    *RTE_MBUF_DYNFIELD(m, ts_offset, uint64_t*) = f.field;
    if (f.stamped) m->ol_flags |= ts_flag;
    ASSERT_EQ(rte_ring_enqueue(port.ring, m), 0);
  }
  constexpr int64_t kMs = 1'000'000;
  out->before_ms = WallNs() / kMs;
  RxWorker worker(ws);
  std::thread run([&] { worker.Run(); });
  while ((*table)->counters().packets_in_flows < frames.size()) std::this_thread::yield();
  out->after_ms = WallNs() / kMs;
  stop = true;
  run.join();
  out->by_flow = sink.by_flow;
  out->counters = worker.counters();
}

// The six frames both timestamp tests send, as the worker must take them,
// `t1_ms` being the first one's millisecond and `first_ms` its offset from
// it: flow 1 twice (its Last 3 ms after t1); flow 2 stamped before the
// latest and flow 3 two days ahead (a clock jump), both held at the latest
// (t1 + 3 ms); flow 4 without a stamp, at the burst's time; flow 5 at t1 + 4 ms.
void ExpectTheSixFrames(const BurstResult& r, int64_t t1_ms, int64_t first_ms) {
  ASSERT_EQ(r.by_flow.size(), 5u);
  EXPECT_EQ(r.by_flow.at(1).start, t1_ms + first_ms);
  EXPECT_EQ(r.by_flow.at(1).last, t1_ms + 3);
  EXPECT_EQ(r.by_flow.at(2).start, t1_ms + 3);
  EXPECT_EQ(r.by_flow.at(3).start, t1_ms + 3);
  EXPECT_GE(r.by_flow.at(4).start, r.before_ms);
  EXPECT_LE(r.by_flow.at(4).start, r.after_ms);
  EXPECT_EQ(r.by_flow.at(5).start, t1_ms + 4);
  EXPECT_EQ(r.counters.clock_jumps, 1u);
  EXPECT_EQ(r.counters.rx_packets, 6u);
}

// One burst on a port like --iface-time kernel's: stamped frames keep their own
// times (not the burst's), a stamp before the latest is taken at the latest, one
// past the present plus a day is counted and taken at the latest, and a frame
// without a stamp (the flag unset: a port that gives none) takes the burst's time.
TEST(RxWorkerTest, KernelTimeFramesKeepTheirOwnTimesInOneBurst) {
  int ts_offset = -1;
  uint64_t ts_flag = 0;
  ASSERT_EQ(rte_mbuf_dyn_rx_timestamp_register(&ts_offset, &ts_flag), 0);
  RingPort port;
  ASSERT_TRUE(port.Open("rxk", 1023, 1024));
  RxQueueSpec q;
  q.name = "veth0";
  q.is_kernel = true;
  q.kernel_time = true;

  // The field holds microseconds, as libpcap's time.
  constexpr int64_t kMs = 1'000'000;
  const int64_t t1 = (WallNs() / kMs - 500) * kMs;  // half a second ago, whole ms
  const auto us = [](int64_t ns) { return static_cast<uint64_t>(ns / 1000); };
  BurstResult r;
  RunOneBurst(port, q, "rxk", ts_offset, ts_flag,
              {{1, us(t1), true},
               {1, us(t1 + 3 * kMs), true},
               {2, us(t1 - 7 * kMs), true},               // before the latest: held there
               {3, us(t1 + 2 * 86'400'000 * kMs), true},  // two days ahead: a clock jump
               {4, 0, false},                             // no time of its own
               {5, us(t1 + 4 * kMs), true}},
              &r);
  ASSERT_FALSE(HasFatalFailure());
  ExpectTheSixFrames(r, t1 / kMs, 0);
}

// A NIC port that stamps frames (RTE_ETH_RX_OFFLOAD_TIMESTAMP) puts its
// clock's ticks in the timestamp field: each frame of one burst is taken at
// its ticks converted by the port's clock (device_clock.h), under the capture
// clock's rules; a frame the NIC did not stamp takes the burst's time. No NIC
// here: the port is a net_ring fed by the test, its clock a 156.25 MHz one
// (6.4 ns a tick) fitted from two made-up samples; the expected times are
// worked out from that rate.
TEST(RxWorkerTest, NicTimestampsAreConvertedByThePortsClock) {
  int ts_offset = -1;
  uint64_t ts_flag = 0;
  ASSERT_EQ(rte_mbuf_dyn_rx_timestamp_register(&ts_offset, &ts_flag), 0);
  RingPort port;
  ASSERT_TRUE(port.Open("rxn", 1023, 1024));

  constexpr int64_t kMs = 1'000'000;
  const int64_t t1 = (WallNs() / kMs - 500) * kMs;  // half a second ago, whole ms
  const uint64_t base_ticks = 987'654'321;
  const DeviceClockSample second{base_ticks, t1, t1};
  const auto fit = FitDeviceClock(
      DeviceClockSample{base_ticks - 15'625'000, t1 - 100 * kMs, t1 - 100 * kMs}, second);
  ASSERT_TRUE(fit.ok()) << fit.status();
  const LiveDeviceClock clock(*fit, second);
  RxQueueSpec q;
  q.name = "nic0";
  q.device_clock = &clock;

  // ms after t1 -> ticks: 156,250 ticks a millisecond; stamps in the middle
  // of a millisecond, as Start/Last are whole Unix ms.
  BurstResult r;
  RunOneBurst(port, q, "rxn", ts_offset, ts_flag,
              {{1, base_ticks + 156'250 + 78'125, true},                    // t1 + 1.5 ms
               {1, base_ticks + 3 * 156'250 + 78'125, true},                // t1 + 3.5 ms
               {2, base_ticks - 2 * 156'250, true},                         // before the latest
               {3, base_ticks + uint64_t{2} * 86'400'000 * 156'250, true},  // two days ahead
               {4, base_ticks, false},                                      // not stamped
               {5, base_ticks + 4 * 156'250 + 78'125, true}},               // t1 + 4.5 ms
              &r);
  ASSERT_FALSE(HasFatalFailure());
  ExpectTheSixFrames(r, t1 / kMs, 1);
}

// A paced replay (--pcap-realtime) whose next frame is an hour away: the
// worker answers a query while it waits for it (its wait is a rest, as a
// held table's), and the answer is the table before that frame. Before, the
// worker slept through the wait and the query waited for the frame.
TEST(RxWorkerTest, APacedReplayAnswersQueriesWhileItWaitsForItsNextFrames) {
  int ts_offset = -1;
  uint64_t ts_flag = 0;
  ASSERT_EQ(rte_mbuf_dyn_rx_timestamp_register(&ts_offset, &ts_flag), 0);
  RingPort ring_port;
  ASSERT_TRUE(ring_port.Open("rxp", 255, 64));
  auto& [pool, ring, port] = ring_port;

  // Eight flows at T0 (one pacer burst, due at once), then a ninth an hour
  // later: all in the ring before the worker starts (an empty file queue is
  // its end).
  Pacer pacer(PacerOptions{.realtime = true});
  ASSERT_EQ(pacer.burst(), 8);
  constexpr uint32_t kFirst = 8;
  for (uint32_t i = 0; i <= kFirst; ++i) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    ASSERT_NE(m, nullptr);
    AppendUdpFrame(m, i);
    const int64_t ts = i < kFirst ? kT0 + i * 1000 : kT0 + 3600 * kSec;
    *RTE_MBUF_DYNFIELD(m, ts_offset, uint64_t*) = static_cast<uint64_t>(ts / 1000);
    m->ol_flags |= ts_flag;
    ASSERT_EQ(rte_ring_enqueue(ring, m), 0);
  }

  CountingSink sink;
  FlowTableOptions o;
  o.name = "rxp";
  o.max_flows = 1u << 10;
  o.expire_ns = 7200 * kSec;
  o.tick_ns = 100'000'000;
  auto table = std::move(
      FlowTable::Create(o, RecordSink{&sink, &CountingSink::Acquire, &CountingSink::Publish})
          .value());
  auto queries = std::move(QueryPort::Create(97, static_cast<int>(rte_socket_id())).value());
  std::atomic<bool> stop{false};
  WorkerSetup ws;
  RxQueueSpec q;
  q.port_id = static_cast<uint16_t>(port);
  q.name = "paced.pcap";
  q.is_file = true;  // paced, as a --pcap input
  ws.queues.push_back(q);
  ws.table = table.get();
  ws.timestamp_offset = ts_offset;
  ws.stop = &stop;
  ws.pacer = &pacer;
  ws.queries = queries.get();
  ws.adaptive = true;
  RxWorker worker(ws);
  std::thread run([&] { worker.Run(); });

  // The first eight accounted and the ninth taken from the ring: the worker
  // is in the pacer's wait for it (an hour), unless stopped.
  while (table->counters().packets_in_flows < kFirst || rte_ring_count(ring) != 0) {
    std::this_thread::yield();
  }
  queries->Begin(QueryPort::Kind::kSnapshot, nullptr);
  std::vector<uint32_t> hosts;  // the last byte of each flow's source address
  bool finished = false;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!finished && std::chrono::steady_clock::now() < give_up) {
    finished = queries->Collect([&](const FlowSnapshot& s) { hosts.push_back(s.network_a[3]); });
    std::this_thread::yield();
  }
  const uint64_t packets_when_answered = table->counters().packets_in_flows;
  stop = true;
  run.join();
  EXPECT_TRUE(finished) << "the query was not answered during the wait";
  EXPECT_EQ(packets_when_answered, kFirst);
  std::sort(hosts.begin(), hosts.end());
  EXPECT_EQ(hosts, (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_GT(worker.counters().pacing_waits, 0u);  // the ninth frame was waited for
}

TEST(LoopGapHistogramTest, BucketsCoverEveryValueAndPercentilesNeverUnderstate) {
  // Every value falls in a bucket whose bounds hold it.
  for (uint64_t v :
       {0ull, 1ull, 7ull, 8ull, 9ull, 15ull, 16ull, 1000ull, 123456789ull, ~0ull >> 1, ~0ull}) {
    const int b = LoopGapHistogram::Bucket(v);
    ASSERT_LT(b, LoopGapHistogram::kBuckets);
    EXPECT_LE(v, LoopGapHistogram::BucketMax(b)) << v;
    if (b > 0) {
      EXPECT_GT(v, LoopGapHistogram::BucketMax(b - 1)) << v;
    }
  }
  // 998 gaps of 1000 cycles and two of 10^6: p50 and p99 about 1000, never
  // below it; p99.9 (the 999th) and max the long one, exactly (at 1 GHz,
  // cycles = ns).
  LoopGapHistogram h;
  for (int i = 0; i < 998; ++i) h.Record(1000);
  h.Record(1'000'000);
  h.Record(1'000'000);
  const LoopGapStats s = SummarizeLoopGaps({&h}, 1'000'000'000);
  EXPECT_EQ(s.count, 1000u);
  EXPECT_GE(s.p50_ns, 1000u);
  EXPECT_LT(s.p50_ns, 1250u);  // a quarter of a power of two at most
  EXPECT_EQ(s.p99_ns, s.p50_ns);
  EXPECT_EQ(s.p999_ns, 1'000'000u);  // capped at the max seen
  EXPECT_EQ(s.max_ns, 1'000'000u);
}

}  // namespace
}  // namespace skyprobe
