// The counter lists (skyprobe/counters.h, table/table_counters.h): a drop
// reason declared on one line is summed into drops and closes the frame
// balance; the table's drop and expiry kinds agree with their names; every
// name a list reports has a Prometheus rule of the right type in
// app/metrics.cc, and its value comes out of MetricFamilies.
#include <array>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "app/metrics.h"
#include "app/summary.h"
#include "capture/dispatcher.h"
#include "capture/rx_worker.h"
#include "gtest/gtest.h"
#include "skyprobe/counters.h"
#include "table/table_counters.h"

namespace skyprobe {
namespace {

// A counter struct of its own, as a module would declare one, with a drop
// reason added on one line (drop_new_reason).
#define TEST_COUNTERS(X)                                                           \
  X(in_flows, "test_in_flows", kInFlows, kAlways, "frames in a flow")              \
  X(drop_full, "test_drop_full", kDrop, kAlways, "frames dropped: full")           \
  X(drop_new_reason, "test_drop_new", kDrop, kAlways, "frames dropped: a new one") \
  X(held, "test_held", kHeld, kDefrag, "frames held")                              \
  X(events, "test_events", kEvent, kNever, "something else")
struct TestCounters {
  TEST_COUNTERS(SKYPROBE_COUNTER_FIELD)
};
constexpr auto kTestCounters = SKYPROBE_COUNTER_LIST(TestCounters, TEST_COUNTERS);
static_assert(FrameKindsShown(kTestCounters));

TEST(CountersTest, ANewDropReasonIsSummedAndBalancesTheFrames) {
  // 100 frames in: 60 in flows, 10 filtered, 20 dropped full, 7 for the new
  // reason, 3 held.
  TestCounters c;
  c.in_flows = 60;
  c.drop_full = 20;
  c.drop_new_reason = 7;
  c.held = 3;
  c.events = 1000;  // no frame kind: in no sum
  EXPECT_EQ(SumOfKind(c, kTestCounters, CounterKind::kDrop), 27u);
  const FrameAccount running{.in = 100,
                             .in_flows = SumOfKind(c, kTestCounters, CounterKind::kInFlows),
                             .filtered = 10,
                             .drops = SumOfKind(c, kTestCounters, CounterKind::kDrop),
                             .held = SumOfKind(c, kTestCounters, CounterKind::kHeld)};
  EXPECT_TRUE(running.Balanced());
  // One frame more dropped for the new reason and not counted in: off balance.
  FrameAccount lost = running;
  lost.in = 101;
  EXPECT_FALSE(lost.Balanced());
  ++c.drop_new_reason;
  lost.drops = SumOfKind(c, kTestCounters, CounterKind::kDrop);
  EXPECT_TRUE(lost.Balanced());
}

TEST(CountersTest, TotalsAddEveryCounterOfTheList) {
  TestCounters a, b;
  a.in_flows = 1, a.drop_full = 2, a.drop_new_reason = 3, a.held = 4, a.events = 5;
  b.in_flows = 10, b.drop_full = 20, b.drop_new_reason = 30, b.held = 40, b.events = 50;
  AddCounters(a, kTestCounters, &b);
  EXPECT_EQ(b.in_flows, 11u);
  EXPECT_EQ(b.drop_full, 22u);
  EXPECT_EQ(b.drop_new_reason, 33u);
  EXPECT_EQ(b.held, 44u);
  EXPECT_EQ(b.events, 55u);
}

TEST(CountersTest, AHiddenDropDoesNotCompile) {
  // FrameKindsShown is what the lists static_assert: a drop never shown fails it.
  constexpr std::array<CounterField<TestCounters>, 1> kHidden = {CounterField<TestCounters>{
      &TestCounters::drop_full, "x", CounterKind::kDrop, CounterShown::kNever, ""}};
  static_assert(!FrameKindsShown(kHidden));
  SUCCEED();
}

// The table's list: every field is one whole word of the struct, at its own
// place, the scalars before the per-input arrays (no field left out of it).
TEST(CountersTest, TheTableListCoversEveryScalarField) {
  TableCounters t;
  std::set<const uint64_t*> seen;
  for (const auto& f : kTableCounters) EXPECT_TRUE(seen.insert(&(t.*f.member)).second) << f.name;
  const auto* first = reinterpret_cast<const uint64_t*>(&t);
  EXPECT_EQ(t.input_packets_in_flows - first, static_cast<ptrdiff_t>(kTableCounters.size()));
  for (const uint64_t* p = first; p < t.input_packets_in_flows; ++p) EXPECT_TRUE(seen.count(p));
}

// The names say the kind too (drop_* frames dropped, expired_* flows out):
// the sums by kind must agree with the sums by name.
TEST(CountersTest, TableDropsAndExpiriesAreTheirNamedCounters) {
  TableCounters t;
  uint64_t v = 1;
  uint64_t by_name_drops = 0, by_name_out = 0;
  for (const auto& f : kTableCounters) {
    t.*f.member = v;
    const std::string name = f.name;
    if (absl::StartsWith(name, "drop_")) by_name_drops += v;
    if (absl::StartsWith(name, "expired_")) by_name_out += v;
    v *= 2;  // each counter its own bit: a sum names the counters in it
  }
  EXPECT_EQ(FrameDrops(t), by_name_drops);
  EXPECT_EQ(FlowsOut(t), by_name_out);
}

// Every name a table counter is reported under (the totals; the sFlow
// collector's drops, frames in flows and flows created) has a rule in
// app/metrics.cc of its kind, and its value comes out of MetricFamilies.
TEST(CountersTest, EveryReportedTableCounterHasAMetricOfItsKind) {
  struct Name {
    std::string name;
    CounterKind kind;
  };
  std::vector<Name> names;
  std::set<std::string> unique;
  for (const auto& f : kTableCounters) {
    if (f.shown == CounterShown::kNever) continue;
    EXPECT_TRUE(unique.insert(f.name).second) << f.name << " twice";
    names.push_back({f.name, f.kind});
    if (f.kind == CounterKind::kDrop) names.push_back({std::string("sflow_") + f.name, f.kind});
  }
  // The RX workers' and the dispatcher's drops are reported under their names too.
  for (const auto& f : kWorkerCounters) {
    if (f.kind == CounterKind::kDrop) names.push_back({f.name, f.kind});
  }
  for (const auto& f : kDispatcherCounters) {
    if (f.kind == CounterKind::kDrop) names.push_back({f.name, f.kind});
  }
  names.push_back({"sflow_frames_in_flows", CounterKind::kInFlows});
  names.push_back({"sflow_flows_created", CounterKind::kFlowsCreated});
  names.push_back({"drops", CounterKind::kDrop});
  names.push_back({"flows_expired", CounterKind::kFlowsOut});
  uint64_t value = 1000;
  for (const Name& n : names) {
    SCOPED_TRACE(n.name);
    const std::optional<MetricFor> m = MetricForName(n.name);
    ASSERT_TRUE(m.has_value()) << "no rule in src/app/metrics.cc (and docs/metrics.md)";
    if (m->sum) continue;  // drops, flows_expired: sums of labelled series
    EXPECT_EQ(m->kind, IsLevel(n.kind) ? MetricKind::kGauge : MetricKind::kCounter);
    Summary s;
    s.Add(n.name, ++value);
    bool found = false;
    for (const MetricFamilyData& fam : MetricFamilies(s, {})) {
      if (fam.name != m->metric) continue;
      for (const MetricPoint& p : fam.points) found |= p.value == static_cast<double>(value);
    }
    EXPECT_TRUE(found) << m->metric << " does not carry the value";
  }
}

}  // namespace
}  // namespace skyprobe
