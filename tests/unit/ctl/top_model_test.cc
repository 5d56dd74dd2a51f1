// skyprobectl top's model: rates from successive answers of each probe (the
// counters' growth over the time between the answers, a new flow counted
// whole), the three sorts, several probes side by side, and the screen cut
// to the terminal's height. Expected rates are worked out here by hand from
// the counters the test gives.

#include "ctl/top_model.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace skyprobe::ctl {
namespace {

using ::testing::HasSubstr;

query::FlowRow Flow(uint64_t uuid, int64_t bytes, int64_t packets) {
  query::FlowRow r;
  r.snap.uuid = uuid;
  r.snap.metric.ab_bytes = bytes;
  r.snap.metric.ab_packets = packets;
  r.snap.metric.ba_bytes = 0;
  r.snap.metric.ba_packets = 0;
  return r;
}

std::vector<uint64_t> Order(const TopModel& m) {
  std::vector<uint64_t> out;
  for (const TopRow* r : m.Sorted()) out.push_back(r->flow.snap.uuid);
  return out;
}

TEST(TopModelTest, RatesComeFromTheGrowthSinceTheProbesPreviousAnswer) {
  TopModel m(TopSort::kBits);
  // First answer: no rate yet.
  m.AddSample(0, {Flow(1, 1000, 10), Flow(2, 5'000'000, 5000)}, 100.0);
  for (const TopRow* r : m.Sorted()) EXPECT_FALSE(r->rated);
  // 2 s later: flow 1 grew by 100,000 bytes and 100 packets (400 kb/s, 50
  // packets/s), flow 2 by 1000 bytes and 1 packet (4 kb/s, 0.5/s); flow 3 is
  // new, all of its 2000 bytes and 20 packets within the interval (8 kb/s, 10/s).
  m.AddSample(0, {Flow(1, 101'000, 110), Flow(2, 5'001'000, 5001), Flow(3, 2000, 20)}, 102.0);
  const std::vector<const TopRow*> rows = m.Sorted();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]->flow.snap.uuid, 1u);
  EXPECT_TRUE(rows[0]->rated);
  EXPECT_DOUBLE_EQ(rows[0]->bits, 400'000.0);
  EXPECT_DOUBLE_EQ(rows[0]->packets, 50.0);
  EXPECT_EQ(rows[1]->flow.snap.uuid, 3u);
  EXPECT_DOUBLE_EQ(rows[1]->bits, 8000.0);
  EXPECT_DOUBLE_EQ(rows[1]->packets, 10.0);
  EXPECT_EQ(rows[2]->flow.snap.uuid, 2u);
  EXPECT_DOUBLE_EQ(rows[2]->bits, 4000.0);
  EXPECT_DOUBLE_EQ(rows[2]->packets, 0.5);
  // By packet rate: 50, 10, 0.5; by total bytes: flow 2 (5 MB) first.
  m.set_sort(TopSort::kPackets);
  EXPECT_EQ(Order(m), (std::vector<uint64_t>{1, 3, 2}));
  m.set_sort(TopSort::kBytes);
  EXPECT_EQ(Order(m), (std::vector<uint64_t>{2, 1, 3}));
}

TEST(TopModelTest, EachProbeIsRatedAgainstItsOwnPreviousAnswer) {
  TopModel m(TopSort::kBits);
  // The same UUID on two probes (two capture points of one conversation):
  // each is rated against its own probe's answers and intervals.
  m.AddSample(0, {Flow(7, 0, 0)}, 10.0);
  m.AddSample(1, {Flow(7, 0, 0)}, 10.5);
  m.AddSample(0, {Flow(7, 1000, 1)}, 11.0);  // 8000 b/s over 1 s
  m.AddSample(1, {Flow(7, 3000, 3)}, 12.5);  // 12000 b/s over 2 s
  const std::vector<const TopRow*> rows = m.Sorted();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_DOUBLE_EQ(rows[0]->bits, 12000.0);
  EXPECT_DOUBLE_EQ(rows[1]->bits, 8000.0);
  // A flow that left since the previous answer is gone from the screen.
  m.AddSample(0, {}, 12.0);
  ASSERT_EQ(m.Sorted().size(), 1u);
  EXPECT_DOUBLE_EQ(m.Sorted()[0]->bits, 12000.0);
}

TEST(TopModelTest, TheScreenHoldsTheHeaderAndTheFlowsThatFit) {
  TopModel m(TopSort::kBits);
  std::vector<query::FlowRow> first, second;
  for (uint64_t i = 1; i <= 30; ++i) {
    first.push_back(Flow(i, 0, 0));
    second.push_back(Flow(i, static_cast<int64_t>(i) * 125, 1));  // i kb/s over 1 s
  }
  m.AddSample(0, std::move(first), 0.0);
  m.AddSample(0, std::move(second), 1.0);
  TopHeader h;
  h.title = "skyprobectl top  test";
  h.packets_per_sec = 30;
  h.bits_per_sec = 465'000;
  h.flows_live = 30;
  h.flows_capacity = 1000;
  h.paused = true;
  const std::vector<FlowColumn> columns = *ParseColumns("UUID,PACKETS");
  const std::string screen = TopScreen(m, h, columns, 100, 10);
  const std::vector<std::string> lines = absl::StrSplit(screen, '\n', absl::SkipEmpty());
  // Title, health, (no error: an empty line, skipped here), the table's
  // header, then 10 - 4 = 6 flows: the fastest first.
  ASSERT_EQ(lines.size(), 2u + 1u + 6u) << screen;
  EXPECT_EQ(lines[0], "skyprobectl top  test  [PAUSED]");
  EXPECT_THAT(lines[1], HasSubstr("flows 30 live of 1.00k (3.0 % of the table)"));
  EXPECT_THAT(lines[2], HasSubstr("RATE"));
  EXPECT_THAT(lines[3], HasSubstr("30.0 kb/s"));
  EXPECT_THAT(lines[3], HasSubstr("1e"));  // UUID 30 in hex
  EXPECT_THAT(lines[8], HasSubstr("25.0 kb/s"));
  for (const std::string& l : lines) EXPECT_LE(l.size(), 100u) << l;
}

}  // namespace
}  // namespace skyprobe::ctl
