// skyprobectl stats: the view of two Stats replies (rates over the probe's
// clock, drops by reason, outputs) and its table and JSON forms.

#include "ctl/stats_view.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace skyprobe::ctl {
namespace {

namespace v1 = ::skyprobe::v1;
using ::testing::HasSubstr;
using ::testing::Not;

void Add(v1::StatsReply* r, const std::string& scope, const std::string& name, uint64_t v) {
  v1::StatsEntry* e = r->add_entries();
  e->set_scope(scope);
  e->set_name(name);
  e->set_value(v);
}

// Two readings 2 s apart.
struct Pair {
  v1::StatsReply before, now;
  Pair() {
    before.set_node_tid("probe-1");
    now.set_node_tid("probe-1");
    before.set_monotonic_ns(10'000'000'000);
    now.set_monotonic_ns(12'000'000'000);
    for (auto [r, k] : {std::pair{&before, 1ull}, {&now, 2ull}}) {
      Add(r, "total", "packets_in", 1000 * k);
      Add(r, "total", "bytes_in", 3000 * k);
      Add(r, "total", "drops", 4 * k);  // a total, not a reason
      Add(r, "total", "drop_parse_no_layer", 0);
      Add(r, "total", "drop_table_full", 4 * k);
      Add(r, "total", "flows_live", 50 + k);
      Add(r, "total", "flows_created", 10 * k);
      Add(r, "total", "port_imissed", 3);
      Add(r, "worker0", "packets_in", 1000 * k);  // not shown
      Add(r, "output.json", "records_lost", 0);
      Add(r, "output.json", "output_errors", 0);
      Add(r, "output.kafka", "delivered", 90 * k);
      Add(r, "output.kafka", "records_lost", k);
      Add(r, "output.kafka", "output_errors", 0);
      Add(r, "output.kafka", "records", 91 * k);
      Add(r, "port0", "imissed", 0);
      Add(r, "port0", "link_up", 1);
      Add(r, "port0", "link_downs", 0);
      Add(r, "port1", "link_up", 2 - k);  // went down between the readings
      Add(r, "port1", "link_downs", k - 1);
    }
  }
};

TEST(StatsViewTest, RatesOverTheProbesClock) {
  Pair p;
  const StatsView v = MakeStatsView("h:1", &p.before, p.now);
  EXPECT_EQ(v.seconds, 2.0);
  ASSERT_EQ(v.traffic.size(), 4u);
  EXPECT_EQ(v.traffic[0].name, "packets_in");
  EXPECT_EQ(v.traffic[0].value, 2000u);
  EXPECT_TRUE(v.traffic[0].has_rate);
  EXPECT_EQ(v.traffic[0].rate, 500.0);
  EXPECT_EQ(v.traffic[1].rate, 1500.0);  // bytes_in
  EXPECT_EQ(v.traffic[2].name, "flows_live");
  EXPECT_FALSE(v.traffic[2].has_rate);  // a gauge
  EXPECT_EQ(v.traffic[3].rate, 5.0);    // flows_created
  // Reasons: drop_* and the NIC's, not the "drops" total; their sum.
  ASSERT_EQ(v.drop_reasons.size(), 3u);
  EXPECT_EQ(v.drop_reasons[0].name, "drop_parse_no_layer");
  EXPECT_EQ(v.drop_reasons[1].name, "drop_table_full");
  EXPECT_EQ(v.drop_reasons[2].name, "port_imissed");
  EXPECT_EQ(v.drops, 11u);
  EXPECT_EQ(v.drops_rate, 2.0);
  // Outputs in scope order, records / records_lost / output_errors first.
  ASSERT_EQ(v.outputs.size(), 2u);
  EXPECT_EQ(v.outputs[0].name, "json");
  EXPECT_EQ(v.outputs[1].name, "kafka");
  ASSERT_EQ(v.outputs[1].counters.size(), 4u);
  EXPECT_EQ(v.outputs[1].counters[0].name, "records");
  EXPECT_EQ(v.outputs[1].counters[0].rate, 45.5);
  EXPECT_EQ(v.outputs[1].counters[1].name, "records_lost");
  EXPECT_EQ(v.outputs[1].counters[3].name, "delivered");
}

TEST(StatsViewTest, CountersThatWentDownHaveNoRate) {
  Pair p;
  p.now.mutable_entries(0)->set_value(10);  // packets_in: a restarted probe
  const StatsView v = MakeStatsView("h:1", &p.before, p.now);
  EXPECT_FALSE(v.traffic[0].has_rate);
  EXPECT_TRUE(v.traffic[1].has_rate);
  // Same clock reading twice: no interval, no rates at all.
  p.now.set_monotonic_ns(p.before.monotonic_ns());
  const StatsView w = MakeStatsView("h:1", &p.before, p.now);
  EXPECT_EQ(w.seconds, 0);
  EXPECT_FALSE(w.traffic[1].has_rate);
}

TEST(StatsViewTest, Table) {
  Pair p;
  const std::string t = StatsTable(MakeStatsView("h:1", &p.before, p.now));
  EXPECT_THAT(t, HasSubstr("probe h:1 (probe-1), rates over 2.00 s\n"));
  EXPECT_THAT(t, HasSubstr("  packets_in                             2000            500/s\n"));
  EXPECT_THAT(t, HasSubstr("  flows_live                               52\n"));
  EXPECT_THAT(t,
              HasSubstr("drops\n  all reasons                              11              2/s\n"));
  EXPECT_THAT(t, HasSubstr("  drop_table_full                           8              2/s\n"));
  EXPECT_THAT(t, Not(HasSubstr("drop_parse_no_layer")));  // zero: left out
  EXPECT_THAT(
      t,
      HasSubstr("output kafka\n  records                                 182           45.5/s\n"));
  EXPECT_THAT(t,
              HasSubstr("links\n"
                        "  port0                                    up   went down 0 time(s)\n"
                        "  port1                                  DOWN   went down 1 time(s)\n"));
  // One reading: totals only.
  const std::string once = StatsTable(MakeStatsView("h:1", nullptr, p.now));
  EXPECT_THAT(once, HasSubstr("probe h:1 (probe-1)\n"));
  EXPECT_THAT(once, HasSubstr("  packets_in                             2000\n"));
}

TEST(StatsViewTest, Json) {
  Pair p;
  const std::string j = StatsJson(MakeStatsView("h:1", &p.before, p.now));
  EXPECT_EQ(j.back(), '\n');
  EXPECT_THAT(j,
              HasSubstr("{\"probe\":\"h:1\",\"node_tid\":\"probe-1\",\"interval_sec\":2.000000000,"
                        "\"traffic\":{\"packets_in\":{\"total\":2000,\"per_sec\":500.000000},"));
  EXPECT_THAT(j, HasSubstr("\"flows_live\":{\"total\":52},"));
  EXPECT_THAT(j, HasSubstr("\"drops\":{\"total\":11,\"per_sec\":2.000000,\"reasons\":{"
                           "\"drop_parse_no_layer\":{\"total\":0,\"per_sec\":0.000000},"));
  EXPECT_THAT(j, HasSubstr("\"kafka\":{\"records\":{\"total\":182,\"per_sec\":45.500000},"));
  EXPECT_THAT(j, HasSubstr(",\"links\":{\"port0\":{\"up\":true,\"downs\":0},"
                           "\"port1\":{\"up\":false,\"downs\":1}}}\n"));
}

// A probe reading files only: no link section.
TEST(StatsViewTest, FilesHaveNoLinks) {
  v1::StatsReply r;
  Add(&r, "total", "packets_in", 5);
  Add(&r, "port0", "imissed", 0);
  const StatsView v = MakeStatsView("h:1", nullptr, r);
  EXPECT_TRUE(v.links.empty());
  EXPECT_THAT(StatsTable(v), Not(HasSubstr("links")));
  EXPECT_THAT(StatsJson(v), HasSubstr(",\"links\":{}}\n"));
}

}  // namespace
}  // namespace skyprobe::ctl
