// The records of a capture clock (pcap replays) depend on the frames, not on
// how the reader cut them into bursts: the same frames handed to RxWorker in
// bursts of 1, 7, 32 and of mixed sizes give the same records, with update
// ticks and expiries falling inside bursts, thousands of records due at once
// (far more than one loop iteration's budget: the rest of a burst waits).
// The UPDATE windows are also checked against the test's own reckoning from
// the frame list: a frame at or after an update tick is counted after it.
// Frames are in-memory mbufs with their capture time in the timestamp field,
// as net_pcap and the mapped reader give them; dispatch mode's path (each
// frame's time given with the burst) is run the same way. (EAL is started by
// record_channel_test.cc's main.)
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capture/rx_worker.h"
#include "gtest/gtest.h"
#include "tests/common/udp_frame.h"

namespace skyprobe {
namespace {

constexpr int64_t kUs = 1'000;
constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0Us = 1'700'000'000'000'000;  // capture time of the first frame, in us
constexpr int64_t kUpdateNs = kSec;
constexpr uint32_t kFrameLen = testing::kUdpFrameLen;

uint32_t FlowOf(const FlowSnapshot& s) {
  return uint32_t{s.network_a[1]} << 16 | uint32_t{s.network_a[2]} << 8 | s.network_a[3];
}

struct Frame {
  uint32_t flow;
  int64_t us;  // capture time
};

// 12 s of capture, times in steps of 50 us (so that some frames fall exactly
// on an update tick): 3000 flows for 4 s, then 1000 of them for 4 s (the
// others expire 3 s after their last frame, inside bursts), then 2000 (1000
// come back as new flows).
std::vector<Frame> MakeFrames() {
  std::vector<Frame> frames;
  uint64_t x = 88172645463325252ull;
  const auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  int64_t us = kT0Us;
  while (us < kT0Us + 12'000'000) {
    const int64_t into = us - kT0Us;
    const uint32_t flows = into < 4'000'000 ? 3000 : into < 8'000'000 ? 1000 : 2000;
    frames.push_back(Frame{static_cast<uint32_t>(next() % flows), us});
    us += 50 * static_cast<int64_t>(next() % 20);  // 0 (same time) .. 950 us
  }
  return frames;
}

// What a record says, all of it that a reader's cut could change.
using Key = std::tuple<uint32_t, uint64_t, int, int, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;
Key KeyOf(const FlowSnapshot& s) {
  const FlowMetric& m = s.metric;
  const FlowMetric& w = s.last_update_metric;
  return Key{FlowOf(s),
             s.uuid,
             static_cast<int>(s.event),
             static_cast<int>(s.expire_reason),
             m.ab_packets,
             m.ab_bytes,
             m.start,
             m.last,
             w.ab_packets,
             w.ab_bytes,
             w.ba_packets,
             w.start,
             w.last,
             s.start,
             s.last,
             static_cast<int64_t>(s.finish_type)};
}

struct Collector {
  FlowSnapshot slot;
  std::vector<FlowSnapshot> records;
  static FlowSnapshot* Acquire(void* ctx) { return &static_cast<Collector*>(ctx)->slot; }
  static void Publish(void* ctx, FlowSnapshot* s) {
    static_cast<Collector*>(ctx)->records.push_back(*s);
  }
};

class BurstCutTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(rte_mbuf_dyn_rx_timestamp_register(&ts_offset_, &ts_flag_), 0);
    pool_ = rte_pktmbuf_pool_create("cut_pool", 255, 0, 0, 2048, rte_socket_id());
    ASSERT_NE(pool_, nullptr);
  }
  static void TearDownTestSuite() { rte_mempool_free(pool_); }

  // Runs `frames` through a capture-clock worker in bursts of sizes
  // cuts[0], cuts[1], ... (round and round), frame times in the mbufs or
  // (`given`) handed with the burst as dispatch mode does; returns every
  // record, the final ones (end of input) included.
  std::vector<FlowSnapshot> Run(const std::vector<Frame>& frames, const std::vector<uint16_t>& cuts,
                                bool given) {
    static int n = 0;
    Collector sink;
    FlowTableOptions o;
    o.name = "cut" + std::to_string(n++);
    o.max_flows = 1u << 14;
    o.update_ns = kUpdateNs;
    o.expire_ns = 3 * kSec;
    o.tick_ns = 100'000'000;
    auto table = std::move(
        FlowTable::Create(o, RecordSink{&sink, &Collector::Acquire, &Collector::Publish}).value());
    WorkerSetup ws;
    RxQueueSpec q;
    q.name = "memory";
    ws.ports.push_back(q);
    ws.table = table.get();
    ws.timestamp_offset = ts_offset_;  // a capture clock
    ws.timestamp_flag = ts_flag_;
    RxWorker worker(ws);
    rte_mbuf* m[32];
    int64_t times[32];
    size_t c = 0;
    for (size_t i = 0; i < frames.size();) {
      const uint16_t b =
          static_cast<uint16_t>(std::min<size_t>(cuts[c++ % cuts.size()], frames.size() - i));
      EXPECT_EQ(rte_pktmbuf_alloc_bulk(pool_, m, b), 0);
      for (uint16_t k = 0; k < b; ++k) {
        const Frame& f = frames[i + k];
        char* data = rte_pktmbuf_append(m[k], kFrameLen);
        if (data == nullptr) {
          ADD_FAILURE() << "no room in the mbuf";
          return {};
        }
        testing::WriteUdpFrame(f.flow, reinterpret_cast<uint8_t*>(data));
        *RTE_MBUF_DYNFIELD(m[k], ts_offset_, uint64_t*) = static_cast<uint64_t>(f.us);
        m[k]->ol_flags |= ts_flag_;
        times[k] = f.us * kUs;
      }
      worker.HandleBurst(m, b, given ? times : nullptr);
      rte_pktmbuf_free_bulk(m, b);
      i += b;
    }
    EXPECT_EQ(worker.counters().rx_packets, frames.size());
    EXPECT_EQ(table->counters().packets_in_flows, frames.size());
    while (!table->AdvanceClock(table->now_ns())) {
    }
    EXPECT_TRUE(table->FlushAll());
    return std::move(sink.records);
  }

  static std::vector<Key> Sorted(const std::vector<FlowSnapshot>& records) {
    std::vector<Key> keys;
    for (const FlowSnapshot& s : records) keys.push_back(KeyOf(s));
    std::sort(keys.begin(), keys.end());
    return keys;
  }
  // Equal record lists, or how many differ and the first that does (the
  // flow number, uuid, event, reason, Metric AB packets/bytes/Start/Last,
  // LastUpdateMetric AB packets/bytes, BA packets, Start, Last, ...).
  static ::testing::AssertionResult Same(const std::vector<Key>& got,
                                         const std::vector<Key>& want) {
    if (got == want) return ::testing::AssertionSuccess();
    size_t differ = 0, first = got.size();
    for (size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
      if (i < got.size() && i < want.size() && got[i] == want[i]) continue;
      ++differ;
      first = std::min(first, i);
    }
    auto text = [](const std::vector<Key>& v, size_t i) {
      if (i >= v.size()) return std::string("none");
      const Key& k = v[i];
      return absl::StrCat("flow ", std::get<0>(k), " event ", std::get<2>(k), " reason ",
                          std::get<3>(k), " packets ", std::get<4>(k), " last ", std::get<7>(k),
                          " window packets ", std::get<8>(k), " window ", std::get<11>(k), "..",
                          std::get<12>(k));
    };
    return ::testing::AssertionFailure()
           << got.size() << " records against " << want.size() << ", " << differ
           << " differ from the sorted lists' place " << first << ": " << text(got, first)
           << " | bursts of 1: " << text(want, first);
  }

  static inline int ts_offset_ = -1;
  static inline uint64_t ts_flag_ = 0;
  static inline rte_mempool* pool_ = nullptr;
};

TEST_F(BurstCutTest, RecordsDoNotDependOnWhereBurstsAreCut) {
  const std::vector<Frame> frames = MakeFrames();
  const std::vector<FlowSnapshot> ones = Run(frames, {1}, false);

  // The oracle: the update windows, reckoned from the frame list. The table's
  // clock starts at the first frame; tick k is at t0 + k s, and a frame at
  // or after it is counted after it. Every flow touched in a window has an
  // UPDATE record at its end (expiry, 3 s after a flow's last frame, comes
  // after the next tick).
  std::map<std::pair<uint32_t, int64_t>, int64_t> expected;  // (flow, tick ms) -> frames
  for (const Frame& f : frames) {
    const int64_t k = (f.us - kT0Us) * kUs / kUpdateNs + 1;
    const int64_t tick_ms = (kT0Us * kUs + k * kUpdateNs) / 1'000'000;
    if (tick_ms * 1'000'000 > frames.back().us * kUs) continue;  // after the end: no tick
    ++expected[{f.flow, tick_ms}];
  }
  std::map<std::pair<uint32_t, int64_t>, int64_t> got;
  uint64_t expired = 0;
  for (const FlowSnapshot& s : ones) {
    if (s.event == FlowEvent::kUpdate) {
      got[{FlowOf(s), s.last_update_metric.last}] += s.last_update_metric.ab_packets;
    } else if (s.expire_reason == ExpireReason::kIdle) {
      ++expired;
    }
  }
  EXPECT_EQ(got, expected);
  // Flows 1000..2999 are idle from 4 s on: each leaves at least once (and
  // flows idle 3 s between two frames leave and come back).
  EXPECT_GE(expired, 2000u);

  const std::vector<Key> want = Sorted(ones);
  for (const std::vector<uint16_t>& cuts :
       std::vector<std::vector<uint16_t>>{{7}, {32}, {32, 1, 5, 32, 17, 2, 32, 9, 31, 3}}) {
    EXPECT_TRUE(Same(Sorted(Run(frames, cuts, false)), want)) << "bursts of " << cuts[0] << "...";
    EXPECT_TRUE(Same(Sorted(Run(frames, cuts, true)), want))
        << "times given, bursts of " << cuts[0] << "...";
  }
}

}  // namespace
}  // namespace skyprobe
