// The shard's non-packet work under a WorkBudget (a fake clock: each read is
// one tick), as an RX worker meters it per loop iteration: a mass expiry, an
// update tick over every flow, datagram give-ups and a flush stop when the
// budget is spent, resume on the next call and end with exactly the records
// and counters an unmetered run gives. And eviction at the table limit:
// the victim is the flow with the earliest timer (constant time, from the
// wheel), counts stay exact, and a new flow seen several times in one burst
// (hits, misses and evictions mixed) is one flow.
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "fragment_builder.h"
#include "gtest/gtest.h"
#include "packet_builder.h"
#include "parse/parser.h"
#include "recording_sink.h"
#include "table/flow_table.h"
#include "ticking_clock.h"

namespace skyprobe {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000 * kMs;
constexpr int64_t kT0 = 1'700'000'000 * kSec;
constexpr int64_t kTick = 100 * kMs;

testing::TestPacket Udp(uint32_t i) {
  return testing::Make(
      {2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2},
      {10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)},
      {192, 168, 0, 1}, FlowProtocol::kUdp, 1024, 4000, 100);
}

class BudgetTest : public ::testing::Test {
 protected:
  void Build(uint32_t max_flows, int64_t update_ns = 3600 * kSec, bool defrag = false) {
    static std::atomic<int> n{0};
    FlowTableOptions o;
    o.name = "budget" + std::to_string(n++);
    o.max_flows = max_flows;
    o.expire_ns = 10 * kSec;
    o.update_ns = update_ns;
    o.tick_ns = kTick;
    o.ip_defrag = defrag;
    o.ip_defrag_timeout_ns = 30 * kSec;
    auto t = FlowTable::Create(o, sink_.AsSink());
    ASSERT_TRUE(t.ok()) << t.status();
    table_ = std::move(*t);
  }
  // Packets of flows `ids`, in one burst at `ts`; no timer work (as a live
  // worker accounts a burst: the work comes after, metered).
  void Burst(const std::vector<uint32_t>& ids, int64_t ts) {
    std::vector<testing::TestPacket> ps;
    for (uint32_t i : ids) ps.push_back(Udp(i));
    std::vector<const uint8_t*> frames;
    std::vector<ParsedPacket> parsed;
    std::vector<int64_t> stamps(ps.size(), ts);
    for (const auto& p : ps) {
      frames.push_back(p.frame.data());
      parsed.push_back(p.parsed);
    }
    WorkBudget none = WorkBudget::None();
    table_->AdvanceClock(ts, &none);
    table_->ProcessBurst(frames.data(), parsed.data(), stamps.data(),
                         static_cast<uint32_t>(ps.size()));
  }
  // Calls AdvanceClock(now) with a budget of `ticks` clock reads until it
  // says done; returns the number of calls.
  int AdvanceMetered(int64_t now, uint64_t ticks) {
    int calls = 0;
    for (;;) {
      WorkBudget b = WorkBudget::For(ticks, &testing::TickingClock::Read, &clock_);
      ++calls;
      if (table_->AdvanceClock(now, &b)) return calls;
      if (calls > 10'000'000) {
        ADD_FAILURE() << "never done";
        return calls;
      }
    }
  }
  size_t Count(FlowEvent e) const {
    size_t n = 0;
    for (const FlowSnapshot& r : sink_.records) n += r.event == e;
    return n;
  }

  testing::TickingClock clock_;
  testing::RecordingSink sink_;
  std::unique_ptr<FlowTable> table_;
};

TEST_F(BudgetTest, MassExpiryResumesAndExpiresEveryFlowOnce) {
  constexpr uint32_t kFlows = 20000;
  Build(kFlows + 100);
  for (uint32_t base = 0; base < kFlows; base += 32) {
    std::vector<uint32_t> ids;
    for (uint32_t i = base; i < base + 32; ++i) ids.push_back(i);
    Burst(ids, kT0);  // every flow due in the same tick
  }
  ASSERT_EQ(table_->size(), kFlows);
  // Not due yet: nothing to do, done at once.
  EXPECT_EQ(AdvanceMetered(kT0 + 10 * kSec - kTick, 4), 1);
  EXPECT_EQ(Count(FlowEvent::kExpire), 0u);
  const int calls = AdvanceMetered(kT0 + 10 * kSec + kTick, 4);
  EXPECT_GT(calls, 100);  // it stopped and resumed
  EXPECT_EQ(table_->size(), 0u);
  EXPECT_EQ(table_->counters().expired_idle, kFlows);
  std::set<uint64_t> uuids;
  for (const FlowSnapshot& r : sink_.records) {
    ASSERT_EQ(r.event, FlowEvent::kExpire);
    EXPECT_EQ(r.metric.ab_packets, 1);
    uuids.insert(r.uuid);
  }
  EXPECT_EQ(uuids.size(), kFlows);
}

TEST_F(BudgetTest, UpdateTickOverEveryFlowResumesAndReportsEachOnce) {
  constexpr uint32_t kFlows = 20000;
  Build(kFlows + 100, 5 * kSec);
  for (uint32_t base = 0; base < kFlows; base += 32) {
    std::vector<uint32_t> ids;
    for (uint32_t i = base; i < base + 32; ++i) ids.push_back(i);
    Burst(ids, kT0);
  }
  const int calls = AdvanceMetered(kT0 + 5 * kSec, 4);
  EXPECT_GT(calls, 100);
  EXPECT_EQ(Count(FlowEvent::kUpdate), kFlows);
  EXPECT_EQ(table_->counters().update_records, kFlows);
  std::set<uint64_t> uuids;
  for (const FlowSnapshot& r : sink_.records) uuids.insert(r.uuid);
  EXPECT_EQ(uuids.size(), kFlows);
  // Untouched since: the next tick reports nothing.
  AdvanceMetered(kT0 + 10 * kSec - 1, 4);
  EXPECT_EQ(Count(FlowEvent::kUpdate), kFlows);
}

// Work a budget left at one time is finished at that time before the clock
// moves on: an expiry left over is not pushed behind an update tick that a
// later call brings (its record's window would start at that tick), so the
// records are those of an unmetered run, whatever the budget.
TEST_F(BudgetTest, WorkLeftIsFinishedAtItsOwnTimeBeforeTheClockMovesOn) {
  constexpr uint32_t kFlows = 3000;
  const auto run = [&](bool metered) {
    Build(kFlows + 100, 7 * kSec);
    sink_.records.clear();
    for (uint32_t base = 0; base < kFlows; base += 30) {
      std::vector<uint32_t> ids;
      for (uint32_t i = base; i < base + 30; ++i) ids.push_back(i);
      Burst(ids, kT0);
    }
    AdvanceMetered(kT0 + 7 * kSec, 1'000'000'000);  // the first tick, whole
    std::vector<uint32_t> some;
    for (uint32_t i = 0; i < 30; ++i) some.push_back(i);
    Burst(some, kT0 + 8 * kSec);  // touched in the second window
    // Flows 30.. are due at 10 s: a call at 10.1 s, metered or not; then the
    // clock goes to the second tick (14 s) in one call.
    const int64_t due = kT0 + 10 * kSec + kTick;
    if (metered) {
      WorkBudget b = WorkBudget::For(4, &testing::TickingClock::Read, &clock_);
      EXPECT_FALSE(table_->AdvanceClock(due, &b));
      EXPECT_LT(table_->counters().expired_idle, kFlows - 30);
    } else {
      EXPECT_TRUE(table_->AdvanceClock(due));
    }
    EXPECT_TRUE(table_->AdvanceClock(kT0 + 14 * kSec));
    EXPECT_EQ(table_->counters().expired_idle, kFlows - 30);
    std::vector<std::tuple<uint64_t, int, int64_t, int64_t, int64_t>> out;
    for (const FlowSnapshot& r : sink_.records) {
      out.emplace_back(r.uuid, static_cast<int>(r.event), r.last_update_metric.start,
                       r.last_update_metric.last, r.last_update_metric.ab_packets);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  const auto whole = run(false);
  const auto metered = run(true);
  EXPECT_EQ(metered, whole);
  // The oracle: every expired flow's last window starts at the first tick (7 s).
  size_t expires = 0;
  for (const auto& r : whole) {
    if (std::get<1>(r) != static_cast<int>(FlowEvent::kExpire)) continue;
    ++expires;
    EXPECT_EQ(std::get<2>(r), (kT0 + 7 * kSec) / kMs);
    EXPECT_EQ(std::get<4>(r), 0);
  }
  EXPECT_EQ(expires, kFlows - 30);
}

// The same with the consumer behind: one of the update tick's records finds
// no slot (the consumer frees some an instant later), and the flows due to
// expire at the same time still wait for their UPDATE (an expiry taking the
// lead would fold the window into the EXPIRE record and skip the UPDATE:
// records would depend on the consumer's speed).
TEST(BudgetStallTest, AnExpiryDoesNotOvertakeAStalledUpdateTick) {
  struct SlowSink {
    testing::RecordingSink inner;
    uint64_t refuse_at = UINT64_MAX;  // the record count at which one slot is refused
    static FlowSnapshot* Acquire(void* ctx) {
      auto* self = static_cast<SlowSink*>(ctx);
      if (self->inner.records.size() == self->refuse_at) {
        self->refuse_at = UINT64_MAX;  // the consumer catches up at once
        return nullptr;
      }
      return &self->inner.slot;
    }
  };
  const auto run = [](bool stall) {
    SlowSink sink;
    FlowTableOptions o;
    o.name = stall ? "stall1" : "stall0";
    o.max_flows = 1024;
    o.update_ns = 5 * kSec;  // the clock starts at 3 s: a tick at 8 s
    o.expire_ns = 4 * kSec;
    o.tick_ns = kTick;
    auto table = std::move(FlowTable::Create(o, RecordSink{&sink, &SlowSink::Acquire,
                                                           &testing::RecordingSink::Publish})
                               .value());
    std::vector<testing::TestPacket> ps;
    for (uint32_t i = 0; i < 100; ++i) ps.push_back(Udp(i));
    for (const auto& p : ps) {
      const int64_t ts = kT0 + 3 * kSec;
      table->AdvanceClock(ts);
      table->ProcessBurst(std::vector<const uint8_t*>{p.frame.data()}.data(), &p.parsed, &ts, 1);
    }
    // At 8.5 s the tick (8 s, one UPDATE each) and the expiries (7 s) are
    // both due; the 31st record finds no slot.
    if (stall) sink.refuse_at = 30;
    const bool done = table->AdvanceClock(kT0 + 8 * kSec + 5 * kTick);
    EXPECT_EQ(done, !stall);
    if (stall) {
      EXPECT_EQ(sink.inner.records.size(), 30u);
      EXPECT_EQ(table->counters().record_stalls, 1u);
      EXPECT_TRUE(table->AdvanceClock(kT0 + 8 * kSec + 6 * kTick));
    }
    std::vector<std::tuple<uint64_t, int, int64_t, int64_t>> out;
    for (const FlowSnapshot& r : sink.inner.records) {
      out.emplace_back(r.uuid, static_cast<int>(r.event), r.last_update_metric.start,
                       r.last_update_metric.ab_packets);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  const auto whole = run(false);
  ASSERT_EQ(whole.size(), 200u);  // an UPDATE and an EXPIRE each
  EXPECT_EQ(run(true), whole);
}

TEST_F(BudgetTest, FlushResumesUntilEveryFlowLeft) {
  constexpr uint32_t kFlows = 5000;
  Build(kFlows + 100);
  for (uint32_t i = 0; i < kFlows; ++i) Burst({i}, kT0);
  int calls = 0;
  for (;;) {
    WorkBudget b = WorkBudget::For(4, &testing::TickingClock::Read, &clock_);
    ++calls;
    if (table_->FlushAll(&b)) break;
    ASSERT_LT(calls, 10'000'000);
  }
  EXPECT_GT(calls, 100);
  EXPECT_EQ(table_->counters().expired_flush, kFlows);
  EXPECT_EQ(sink_.records.size(), kFlows);
}

TEST_F(BudgetTest, DatagramGiveUpsResumeAndCountEveryFrame) {
  Build(1u << 12, 3600 * kSec, /*defrag=*/true);
  ParserConfig cfg;
  cfg.ip_defrag = true;
  constexpr int kDatagrams = 2000;
  const testing::Bytes payload = testing::IcmpEcho(8, 7, 3000 - 8);
  // The first fragment of each: kept waiting for the rest, which never comes.
  for (int id = 0; id < kDatagrams; ++id) {
    const std::vector<testing::Bytes> f = testing::Fragment4(
        {10, 0, 0, 1}, {10, 0, 0, 2}, 1, static_cast<uint16_t>(id), payload, {1480, 1480, 40});
    ParsedPacket p;
    ParseFrame(f[0].data(), static_cast<uint32_t>(f[0].size()), static_cast<uint32_t>(f[0].size()),
               cfg, &p);
    const uint8_t* data = f[0].data();
    const uint32_t caplen = static_cast<uint32_t>(f[0].size());
    const int64_t ts = kT0 + id;
    WorkBudget none = WorkBudget::None();
    table_->AdvanceClock(ts, &none);
    table_->ProcessBurst(&data, &p, &ts, 1, &caplen);
  }
  const int calls = AdvanceMetered(kT0 + 31 * kSec, 4);
  EXPECT_GT(calls, 10);
  EXPECT_EQ(table_->counters().defrag_timeouts, static_cast<uint64_t>(kDatagrams));
  EXPECT_EQ(table_->counters().packets_in_flows, static_cast<uint64_t>(kDatagrams));
}

TEST_F(BudgetTest, EvictionTakesTheFlowWithTheEarliestTimerAndKeepsCountsExact) {
  constexpr uint32_t kLimit = 300;
  Build(kLimit);
  // One flow per tick: timers (10 s after each) are in distinct wheel slots.
  for (uint32_t i = 0; i < kLimit; ++i) Burst({i}, kT0 + i * kTick);
  // 200 new flows at the limit: each evicts the oldest left.
  for (uint32_t i = kLimit; i < kLimit + 200; ++i) Burst({i}, kT0 + i * kTick);
  ASSERT_EQ(table_->size(), kLimit);
  EXPECT_EQ(table_->counters().flows_evicted, 200u);
  EXPECT_EQ(table_->counters().flows_created, kLimit + 200);
  EXPECT_EQ(table_->counters().packets_in_flows, kLimit + 200);
  EXPECT_EQ(table_->counters().drop_table_full, 0u);
  ASSERT_EQ(sink_.records.size(), 200u);
  for (uint32_t k = 0; k < 200; ++k) {
    const FlowSnapshot& r = sink_.records[k];
    EXPECT_EQ(r.expire_reason, ExpireReason::kEvicted);
    EXPECT_EQ(r.start, (kT0 + k * kTick) / kMs) << k;  // flow k: the oldest at that moment
  }
}

TEST_F(BudgetTest, ANewFlowRepeatedInABurstAtTheLimitIsOneFlow) {
  constexpr uint32_t kLimit = 100;
  Build(kLimit);
  for (uint32_t i = 0; i < kLimit; ++i) Burst({i}, kT0 + i * kTick);
  // 64 packets: 8 new flows four times each, mixed with hits on 8 old flows
  // (some of which the new ones evict on the way) and 16 more new flows once.
  std::vector<uint32_t> ids;
  for (int round = 0; round < 4; ++round) {
    for (uint32_t i = 0; i < 8; ++i) ids.push_back(1000 + i);
    for (uint32_t i = 0; i < 4; ++i) ids.push_back(round * 4 + i);  // old flows 0..15
    for (uint32_t i = 0; i < 4; ++i) ids.push_back(2000 + round * 4 + i);
  }
  ASSERT_EQ(ids.size(), 64u);
  const uint64_t created = table_->counters().flows_created;
  Burst(ids, kT0 + kLimit * kTick);
  EXPECT_EQ(table_->size(), kLimit);
  EXPECT_EQ(table_->counters().packets_in_flows, kLimit + 64);
  const uint64_t new_flows = table_->counters().flows_created - created;
  EXPECT_EQ(table_->counters().flows_evicted, new_flows);
  ASSERT_TRUE(table_->FlushAll());
  // Every packet is in exactly one record; the repeated new flows hold all 4.
  std::map<std::string, int64_t> packets;  // by source address
  int64_t total = 0;
  for (const FlowSnapshot& r : sink_.records) {
    total += r.metric.ab_packets + r.metric.ba_packets;
    const std::string a(reinterpret_cast<const char*>(r.network_a), 4);
    packets[a] += r.metric.ab_packets;
  }
  EXPECT_EQ(total, kLimit + 64);
  for (uint32_t i = 0; i < 8; ++i) {
    const uint32_t id = 1000 + i;
    const char a[4] = {10, 0, static_cast<char>(id >> 8), static_cast<char>(id)};
    EXPECT_EQ(packets[std::string(a, 4)], 4) << id;
  }
  // 8 repeated + 16 single new flows, plus old flows re-created after their eviction.
  EXPECT_GE(new_flows, 24u);
}

}  // namespace
}  // namespace skyprobe
