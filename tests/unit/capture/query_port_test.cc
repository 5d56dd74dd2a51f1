// QueryPort: a worker's shard answers snapshot queries in slices metered by
// a WorkBudget (a fake clock here: each read is one tick), with and without
// a UUID hint (the one-flow fast path); the requester side sees exactly the
// matching live flows (raw packet exports: query_port_raw_test.cc). A costly
// predicate is never evaluated by the worker. Aggregates group the shard in
// the worker (no flow leaves it) and equal the snapshots summed. (EAL is started by
// record_channel_test.cc's main, in the same binary.)
#include "capture/query_port.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "../table/eal_env.h"
#include "../table/packet_builder.h"
#include "../table/recording_sink.h"
#include "../table/ticking_clock.h"
#include "gtest/gtest.h"

namespace skyprobe {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;

// Matches flows by destination port; may carry a UUID hint, may say it is costly.
class PortPredicate final : public FlowPredicate {
 public:
  PortPredicate(int port, std::vector<uint64_t> hint, bool costly = false) : port_(port) {
    uuid_hint_ = hint;
    costly_ = costly;
  }
  bool Matches(const FlowSnapshot& s) const override {
    ++calls;
    return port_ < 0 || s.transport_b == port_;
  }
  mutable std::atomic<int> calls{0};

 private:
  int port_;
};

class QueryPortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> n{0};
    FlowTableOptions o;
    o.name = "qp" + std::to_string(n++);
    o.max_flows = 20000;  // more slots than one slice: queries take several Serve calls
    auto t = FlowTable::Create(o, sink_.AsSink());
    ASSERT_TRUE(t.ok()) << t.status();
    table_ = std::move(*t);
    auto p = QueryPort::Create(n++, -1);
    ASSERT_TRUE(p.ok()) << p.status();
    port_ = std::move(*p);
    for (uint16_t i = 0; i < kFlows; ++i) {
      testing::TestPacket pkt = testing::Make(
          {2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}, {10, 0, 0, 1}, {10, 0, 0, 2}, FlowProtocol::kUdp,
          static_cast<uint16_t>(1024 + i), static_cast<uint16_t>(i % 10), 100);
      const uint8_t* frame = pkt.frame.data();
      const int64_t ts = kT0 + i;
      table_->ProcessBurst(&frame, &pkt.parsed, &ts, 1);
    }
    ASSERT_EQ(table_->size(), kFlows);
  }

  // One loop iteration's budget: kSliceTicks reads of the fake clock.
  WorkBudget Slice() { return WorkBudget::For(kSliceTicks, &testing::TickingClock::Read, &clock_); }

  // Runs a query to the end, serving between collects as a worker would.
  std::vector<FlowSnapshot> Run(std::shared_ptr<const FlowPredicate> pred, int* serves) {
    std::vector<FlowSnapshot> got;
    port_->Begin(QueryPort::Kind::kSnapshot, std::move(pred));
    *serves = 0;
    while (true) {
      WorkBudget b = Slice();
      port_->Serve(table_.get(), &b);
      ++*serves;
      EXPECT_LT(*serves, 1'000'000) << "the query never finishes";
      if (*serves >= 1'000'000) break;
      if (port_->Collect([&](const FlowSnapshot& s) { got.push_back(s); })) break;
    }
    return got;
  }

  // UUIDs of every live flow, from a full scan.
  std::vector<uint64_t> AllUuids() {
    int serves;
    std::vector<uint64_t> out;
    for (const FlowSnapshot& s : Run(nullptr, &serves)) out.push_back(s.uuid);
    return out;
  }

  static constexpr uint16_t kFlows = 3000;
  static constexpr uint64_t kSliceTicks = 16;
  testing::TickingClock clock_;
  testing::DiscardingSink sink_;
  std::unique_ptr<FlowTable> table_;
  std::unique_ptr<QueryPort> port_;
};

TEST_F(QueryPortTest, FullScanSeesEveryFlowOnce) {
  int serves = 0;
  auto pred = std::make_shared<PortPredicate>(3, std::vector<uint64_t>{});
  std::vector<FlowSnapshot> got = Run(pred, &serves);
  EXPECT_EQ(got.size(), kFlows / 10);
  for (const FlowSnapshot& s : got) EXPECT_EQ(s.transport_b, 3);
  EXPECT_EQ(pred->calls.load(), kFlows);  // no hint: every live flow is tested
  // In slices (RX goes on between them): a slice of 16 clock reads holds
  // about 16 snapshots, or 16 x 256 free slots.
  EXPECT_GT(serves, static_cast<int>(kFlows / (2 * kSliceTicks)));
  std::set<uint64_t> distinct;
  for (uint64_t u : AllUuids()) distinct.insert(u);
  EXPECT_EQ(distinct.size(), kFlows);
}

TEST_F(QueryPortTest, UuidHintTestsOnlyTheNamedFlows) {
  const std::vector<uint64_t> all = AllUuids();
  ASSERT_EQ(all.size(), kFlows);
  std::vector<uint64_t> want = {all[7], all[1234], all[2999]};
  std::sort(want.begin(), want.end());
  auto pred = std::make_shared<PortPredicate>(-1, want);
  int serves = 0;
  std::vector<FlowSnapshot> got = Run(pred, &serves);
  std::vector<uint64_t> uuids;
  for (const FlowSnapshot& s : got) uuids.push_back(s.uuid);
  std::sort(uuids.begin(), uuids.end());
  EXPECT_EQ(uuids, want);
  EXPECT_EQ(pred->calls.load(), 3);  // no snapshot built for any other flow
  // The hint narrows; the predicate still decides: a hinted flow it rejects stays out.
  auto strict = std::make_shared<PortPredicate>(99, want);
  EXPECT_TRUE(Run(strict, &serves).empty());
}

TEST_F(QueryPortTest, UuidHintOfAnExpiredFlowFindsNothing) {
  const std::vector<uint64_t> all = AllUuids();
  while (!table_->FlushAll()) {
  }
  ASSERT_EQ(table_->size(), 0u);
  int serves = 0;
  auto pred = std::make_shared<PortPredicate>(-1, std::vector<uint64_t>{all[5]});
  EXPECT_TRUE(Run(pred, &serves).empty());  // the stale UUID of a free slot never matches
  EXPECT_EQ(pred->calls.load(), 0);
}

TEST_F(QueryPortTest, ACostlyPredicateIsEvaluatedByTheRequesterOnly) {
  auto pred = std::make_shared<PortPredicate>(3, std::vector<uint64_t>{}, /*costly=*/true);
  port_->Begin(QueryPort::Kind::kSnapshot, pred);
  // The worker alone, until it has sent every flow (64 chunks of 128 hold 3000).
  int serves = 0;
  while (port_->pending()) {
    WorkBudget b = Slice();
    port_->Serve(table_.get(), &b);
    ASSERT_LT(++serves, 1'000'000);
  }
  EXPECT_EQ(pred->calls.load(), 0);  // not once on the worker
  std::vector<FlowSnapshot> got;
  EXPECT_TRUE(port_->Collect([&](const FlowSnapshot& s) { got.push_back(s); }));
  EXPECT_EQ(pred->calls.load(), kFlows);  // every flow, on this (the requester's) thread
  EXPECT_EQ(got.size(), kFlows / 10);
  for (const FlowSnapshot& s : got) EXPECT_EQ(s.transport_b, 3);
}

TEST_F(QueryPortTest, ACancelledQueryStopsAndTheNextOneIsWhole) {
  auto costly = std::make_shared<PortPredicate>(3, std::vector<uint64_t>{}, /*costly=*/true);
  port_->Begin(QueryPort::Kind::kSnapshot, costly);
  for (int i = 0; i < 40; ++i) {  // part of the scan: a few chunks of 128 flows
    WorkBudget b = Slice();
    port_->Serve(table_.get(), &b);
  }
  // The requester gives up in the middle of a chunk.
  int asked = 0;
  const std::function<bool()> abandon = [&] { return ++asked > 3; };
  EXPECT_FALSE(port_->Collect([](const FlowSnapshot&) {}, &abandon));
  EXPECT_EQ(costly->calls.load(), 3);  // it stopped evaluating at once
  ASSERT_TRUE(port_->pending());
  // Cancel waits for the worker, which drops the query at its next Serve.
  std::atomic<bool> cancelled{false};
  std::thread requester([&] { cancelled = port_->Cancel(nullptr); });
  while (port_->pending()) {
    WorkBudget b = Slice();
    port_->Serve(table_.get(), &b);
  }
  requester.join();
  EXPECT_TRUE(cancelled.load());
  // The next query sees every flow exactly once, nothing of the dropped one.
  int serves = 0;
  std::vector<FlowSnapshot> got = Run(nullptr, &serves);
  EXPECT_EQ(got.size(), kFlows);
  std::set<uint64_t> distinct;
  for (const FlowSnapshot& f : got) distinct.insert(f.uuid);
  EXPECT_EQ(distinct.size(), kFlows);
}

TEST_F(QueryPortTest, CancelReturnsAtOnceWhenTheWorkerIsGone) {
  port_->Begin(QueryPort::Kind::kSnapshot, nullptr);
  std::atomic<bool> done{true};
  EXPECT_FALSE(port_->Cancel(&done));
}

TEST_F(QueryPortTest, FlushResumesAcrossSlicesUntilEveryFlowLeft) {
  port_->Begin(QueryPort::Kind::kFlush, nullptr);
  int serves = 0;
  while (!port_->Collect([](const FlowSnapshot&) {})) {
    WorkBudget b = Slice();
    port_->Serve(table_.get(), &b);
    ASSERT_LT(++serves, 1'000'000);
  }
  EXPECT_GT(serves, 10);  // 3000 records do not fit one slice
  EXPECT_EQ(table_->size(), 0u);
  EXPECT_EQ(table_->counters().expired_flush, kFlows);
}

// --keep-expired: answers hold the shard's recently expired flows too (their
// final records, Event EXPIRE).
class KeptQueryPortTest : public ::testing::Test {
 protected:
  static constexpr int64_t kExpire = 10 * kSec;

  void SetUp() override {
    static std::atomic<int> n{0};
    FlowTableOptions o;
    o.name = "kqp" + std::to_string(n++);
    o.max_flows = 20000;  // several slices per scan
    o.expire_ns = kExpire;
    o.raw_first = 2;
    o.capture_length = 64;
    o.raw_memory_bytes = 1 << 20;
    o.keep_expired_ns = 3600 * kSec;
    o.keep_expired_max = 1000;
    auto t = FlowTable::Create(o, sink_.AsSink());
    ASSERT_TRUE(t.ok()) << t.status();
    table_ = std::move(*t);
    auto p = QueryPort::Create(1000 + n++, -1, 1 << 16);
    ASSERT_TRUE(p.ok()) << p.status();
    port_ = std::move(*p);
  }
  // Flows 0..count-1 from `sport0`, one packet each at `ts` (frame byte 60 = flow index).
  void Add(uint16_t sport0, uint16_t count, int64_t ts) {
    for (uint16_t i = 0; i < count; ++i) {
      testing::TestPacket pkt =
          testing::Make({2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}, {10, 0, 0, 1}, {10, 0, 0, 2},
                        FlowProtocol::kUdp, static_cast<uint16_t>(sport0 + i), 53, 100);
      pkt.frame[60] = static_cast<uint8_t>(i);
      const uint8_t* frame = pkt.frame.data();
      const uint32_t caplen = static_cast<uint32_t>(pkt.frame.size());
      table_->AdvanceClock(ts);
      table_->ProcessBurst(&frame, &pkt.parsed, &ts, 1, &caplen);
    }
  }
  WorkBudget Slice() {
    return WorkBudget::For(kKeptSliceTicks, &testing::TickingClock::Read, &clock_);
  }
  void Serve() {
    WorkBudget b = Slice();
    port_->Serve(table_.get(), &b);
  }
  std::vector<FlowSnapshot> Run(std::shared_ptr<const FlowPredicate> pred,
                                const std::function<void(int)>& between = nullptr) {
    std::vector<FlowSnapshot> got;
    port_->Begin(QueryPort::Kind::kSnapshot, std::move(pred));
    for (int serves = 0;; ++serves) {
      Serve();
      if (between) between(serves);
      if (port_->Collect([&](const FlowSnapshot& s) { got.push_back(s); })) break;
    }
    return got;
  }

  static constexpr uint64_t kKeptSliceTicks = 64;  // a few hundred flows a slice
  testing::TickingClock clock_;
  testing::DiscardingSink sink_;
  std::unique_ptr<FlowTable> table_;
  std::unique_ptr<QueryPort> port_;
};

TEST_F(KeptQueryPortTest, AnswersHoldLiveAndRecentlyExpiredFlowsOnce) {
  Add(1000, 300, kT0);                // expire at kT0 + kExpire
  Add(5000, 200, kT0 + kExpire / 2);  // still live then
  table_->AdvanceClock(kT0 + kExpire + kSec / 5);
  ASSERT_EQ(table_->size(), 200u);
  ASSERT_EQ(table_->kept()->size(), 300u);
  std::vector<FlowSnapshot> got = Run(nullptr);
  std::set<uint64_t> uuids;
  int live = 0, expired = 0;
  for (const FlowSnapshot& s : got) {
    EXPECT_TRUE(uuids.insert(s.uuid).second) << "twice: " << s.uuid;
    if (s.event == FlowEvent::kUpdate) {
      ++live;
      EXPECT_GE(s.transport_a, 5000);
    } else {
      ++expired;
      EXPECT_EQ(s.expire_reason, ExpireReason::kIdle);
      EXPECT_LT(s.transport_a, 5000);
    }
  }
  EXPECT_EQ(live, 200);
  EXPECT_EQ(expired, 300);
  // The one-flow path (UUID hint) finds a kept flow too.
  uint64_t kept_uuid = 0;
  for (const FlowSnapshot& s : got) {
    if (s.transport_a == 1007) kept_uuid = s.uuid;
  }
  auto pred = std::make_shared<PortPredicate>(-1, std::vector<uint64_t>{kept_uuid});
  std::vector<FlowSnapshot> one = Run(pred);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].uuid, kept_uuid);
  EXPECT_EQ(one[0].event, FlowEvent::kExpire);
  EXPECT_EQ(pred->calls.load(), 1);
}

TEST_F(KeptQueryPortTest, FlowsExpiringDuringAScanAppearAtMostOnce) {
  Add(1000, 3000, kT0);
  ASSERT_EQ(table_->size(), 3000u);
  // Every flow expires after the scan's first slice (which visits some of
  // them). Seen live then, they are not seen again among the expired ones;
  // those the scan had not reached expired after it began: not in the answer.
  std::vector<FlowSnapshot> got = Run(nullptr, [&](int serves) {
    if (serves == 0) table_->AdvanceClock(kT0 + kExpire + kSec / 5);
  });
  ASSERT_EQ(table_->kept()->size(), 1000u);  // the ring's size: the oldest went
  std::set<uint64_t> uuids;
  for (const FlowSnapshot& s : got) {
    EXPECT_TRUE(uuids.insert(s.uuid).second);
    EXPECT_EQ(s.event, FlowEvent::kUpdate);
  }
  EXPECT_GT(got.size(), 0u);
  EXPECT_LT(got.size(), 3000u);
}

}  // namespace
}  // namespace skyprobe

namespace skyprobe {
namespace {

// Groups by destination port (2 bytes); `fail_port` does not encode.
class PortGrouper final : public FlowGrouper {
 public:
  explicit PortGrouper(int fail_port = -1) : fail_port_(fail_port) {}
  bool Key(const FlowSnapshot& s, GroupKey* key) const override {
    if (s.transport_b == fail_port_) return false;
    std::memcpy(key->bytes, &s.transport_b, 2);
    key->size = 2;
    return true;
  }

 private:
  int fail_port_;
};

class QueryPortAggregateTest : public QueryPortTest {
 protected:
  // Runs an Aggregate to the end in slices; the port's groups by port.
  std::map<uint16_t, GroupSums> Aggregate(std::shared_ptr<const FlowPredicate> pred,
                                          std::shared_ptr<const FlowGrouper> grouper,
                                          uint32_t max_groups, int* serves) {
    port_->BeginAggregate(std::move(pred), std::move(grouper), max_groups);
    *serves = 0;
    while (true) {
      WorkBudget b = Slice();
      port_->Serve(table_.get(), &b);
      ++*serves;
      if (*serves >= 1'000'000) {
        ADD_FAILURE() << "the aggregate never finishes";
        break;
      }
      if (port_->Collect([](const FlowSnapshot&) { ADD_FAILURE() << "a flow left the worker"; })) {
        break;
      }
    }
    std::map<uint16_t, GroupSums> out;
    port_->groups().ForEach([&](std::string_view key, const GroupSums& s) {
      uint16_t p;
      std::memcpy(&p, key.data(), 2);
      out[p] = s;
    });
    return out;
  }
};

TEST_F(QueryPortAggregateTest, GroupsEqualTheSnapshotsSummedAndNoFlowLeaves) {
  // The oracle: the same flows through a snapshot query, summed here.
  int serves = 0;
  std::map<uint16_t, GroupSums> want;
  for (const FlowSnapshot& s : Run(nullptr, &serves)) want[s.transport_b].Add(s.metric);
  ASSERT_EQ(want.size(), 10u);
  const std::map<uint16_t, GroupSums> got =
      Aggregate(nullptr, std::make_shared<PortGrouper>(), 10000, &serves);
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [port, w] : want) {
    const GroupSums& g = got.at(port);
    EXPECT_EQ(g.flows, kFlows / 10);
    EXPECT_EQ(std::make_tuple(g.flows, g.ab_packets, g.ab_bytes, g.ba_packets, g.ba_bytes, g.start,
                              g.last),
              std::make_tuple(w.flows, w.ab_packets, w.ab_bytes, w.ba_packets, w.ba_bytes, w.start,
                              w.last));
  }
  EXPECT_FALSE(port_->groups_overflow());
  // In slices, as a snapshot query: a slice of 16 clock reads holds about 16 flows.
  EXPECT_GT(serves, static_cast<int>(kFlows / (2 * kSliceTicks)));
  // Filtered in the shard: only port 3's flows.
  const auto pred = std::make_shared<PortPredicate>(3, std::vector<uint64_t>{});
  const std::map<uint16_t, GroupSums> three =
      Aggregate(pred, std::make_shared<PortGrouper>(), 10000, &serves);
  ASSERT_EQ(three.size(), 1u);
  EXPECT_EQ(three.at(3).flows, kFlows / 10);
  EXPECT_EQ(three.at(3).ab_bytes, want.at(3).ab_bytes);
}

TEST_F(QueryPortAggregateTest, TooManyGroupsOrAKeyTooLongStopTheScanAndSaySo) {
  int serves = 0;
  const std::map<uint16_t, GroupSums> got =
      Aggregate(nullptr, std::make_shared<PortGrouper>(), 4, &serves);
  EXPECT_TRUE(port_->groups_overflow());
  EXPECT_FALSE(port_->group_key_too_long());
  EXPECT_EQ(got.size(), 4u);  // what fitted, never more than asked
  Aggregate(nullptr, std::make_shared<PortGrouper>(7), 10000, &serves);
  EXPECT_TRUE(port_->group_key_too_long());
  // The next query on the port starts clean.
  const std::map<uint16_t, GroupSums> again =
      Aggregate(nullptr, std::make_shared<PortGrouper>(), 10000, &serves);
  EXPECT_FALSE(port_->groups_overflow() || port_->group_key_too_long());
  EXPECT_EQ(again.size(), 10u);
}

}  // namespace
}  // namespace skyprobe
