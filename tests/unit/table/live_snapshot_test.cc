// A flow as a live answer shows it (FillLiveSnapshot) against the records the
// same table emits (issue 15, "one truth"): the oracle is the sink's records
// and the packets the test fed. LastUpdateMetric is there once the flow has had
// an update record, and is then the window a record emitted now would close;
// FinishType says how a flow ended as soon as it has, in answers and records
// alike; NOT_FINISHED only while it is open.
#include <atomic>
#include <memory>
#include <vector>

#include "eal_env.h"
#include "gtest/gtest.h"
#include "packet_builder.h"
#include "recording_sink.h"
#include "table/flow_table.h"

namespace skyprobe {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;

class LiveSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> n{0};
    FlowTableOptions o;
    o.name = "live" + std::to_string(n++);
    o.max_flows = 64;
    o.expire_ns = 30 * kSec;
    o.update_ns = 5 * kSec;
    o.tick_ns = 100'000'000;
    o.tcp_close_hold_ns = 2 * kSec;
    auto t = FlowTable::Create(o, sink_.AsSink());
    ASSERT_TRUE(t.ok()) << t.status();
    table_ = std::move(*t);
  }
  void Feed(const testing::TestPacket& p, int64_t ts) {
    const uint8_t* frame = p.frame.data();
    table_->AdvanceClock(ts);
    table_->ProcessBurst(&frame, &p.parsed, &ts, 1);
  }
  testing::TestPacket Pkt(FlowProtocol proto, uint16_t sport, uint8_t flags = 0,
                          uint32_t len = 100) {
    return testing::Make({2, 0, 0, 0, 0, 0xa}, {2, 0, 0, 0, 0, 0xb}, {10, 0, 0, 1}, {10, 0, 0, 2},
                         proto, sport, 80, len, flags);
  }
  // The live answer for the flow of source port `sport`.
  bool Live(uint16_t sport, FlowSnapshot* out) const {
    for (uint32_t pos = 0; pos < table_->capacity(); ++pos) {
      if (!table_->IsLive(pos)) continue;
      table_->FillLiveSnapshot(pos, out);
      if (out->transport_a == sport) return true;
    }
    return false;
  }
  std::vector<FlowSnapshot> Records(FlowEvent e, uint16_t sport) const {
    std::vector<FlowSnapshot> out;
    for (const FlowSnapshot& s : sink_.records) {
      if (s.event == e && s.transport_a == sport) out.push_back(s);
    }
    return out;
  }

  testing::RecordingSink sink_;
  std::unique_ptr<FlowTable> table_;
};

void ExpectSameMetric(const FlowMetric& a, const FlowMetric& b) {
  EXPECT_EQ(a.ab_packets, b.ab_packets);
  EXPECT_EQ(a.ab_bytes, b.ab_bytes);
  EXPECT_EQ(a.ba_packets, b.ba_packets);
  EXPECT_EQ(a.ba_bytes, b.ba_bytes);
  EXPECT_EQ(a.start, b.start);
  EXPECT_EQ(a.last, b.last);
  EXPECT_EQ(a.rtt, b.rtt);
}

TEST_F(LiveSnapshotTest, LastUpdateMetricOnlyOnceTheFlowHadAnUpdate) {
  const auto p = Pkt(FlowProtocol::kUdp, 1000);
  Feed(p, kT0);
  Feed(testing::Reverse(p), kT0 + kSec);
  FlowSnapshot live;
  ASSERT_TRUE(Live(1000, &live));
  // No update record yet: Metric holds it all, LastUpdateMetric is absent
  // (docs/query.md: `LastUpdateMetric.* is null` flows that had no update).
  EXPECT_FALSE(live.has_last_update_metric);
  EXPECT_EQ(live.metric.ab_packets, 1);
  EXPECT_EQ(live.metric.ba_packets, 1);
  EXPECT_EQ(live.event, FlowEvent::kUpdate);
  EXPECT_EQ(live.finish_type, FinishType::kNotFinished);

  // The update tick at T0 + 5 s reports the flow; two packets after it.
  Feed(p, kT0 + 6 * kSec);
  ASSERT_EQ(Records(FlowEvent::kUpdate, 1000).size(), 1u);
  EXPECT_TRUE(Records(FlowEvent::kUpdate, 1000)[0].has_last_update_metric);
  Feed(p, kT0 + 7 * kSec);
  ASSERT_TRUE(Live(1000, &live));
  ASSERT_TRUE(live.has_last_update_metric);
  EXPECT_EQ(live.last_update_metric.ab_packets, 2);  // since the update record
  EXPECT_EQ(live.last_update_metric.ba_packets, 0);
  EXPECT_EQ(live.last_update_metric.ab_bytes, 200);
  EXPECT_EQ(live.last_update_metric.start, (kT0 + 5 * kSec) / 1'000'000);
  EXPECT_EQ(live.last_update_metric.last, (kT0 + 7 * kSec) / 1'000'000);
  EXPECT_EQ(live.metric.ab_packets, 3);

  // The record emitted now closes that very window: field by field the same
  // but for what a record says about its emission.
  ASSERT_TRUE(table_->FlushAll());
  const std::vector<FlowSnapshot> fin = Records(FlowEvent::kExpire, 1000);
  ASSERT_EQ(fin.size(), 1u);
  ExpectSameMetric(live.metric, fin[0].metric);
  ExpectSameMetric(live.last_update_metric, fin[0].last_update_metric);
  EXPECT_EQ(live.uuid, fin[0].uuid);
  EXPECT_EQ(live.start, fin[0].start);
  EXPECT_EQ(live.last, fin[0].last);
  EXPECT_EQ(fin[0].finish_type, FinishType::kTimeout);  // ended without FIN or RST
}

TEST_F(LiveSnapshotTest, FinishTypeOfAClosedFlowIsThereBeforeItLeaves) {
  const auto syn = Pkt(FlowProtocol::kTcp, 2000, kTcpSyn, 60);
  Feed(syn, kT0);
  Feed(testing::Reverse(Pkt(FlowProtocol::kTcp, 2000, kTcpSyn | kTcpAck, 60)), kT0 + kSec / 10);
  FlowSnapshot live;
  ASSERT_TRUE(Live(2000, &live));
  EXPECT_EQ(live.finish_type, FinishType::kNotFinished);
  Feed(Pkt(FlowProtocol::kTcp, 2000, kTcpFin | kTcpAck, 60), kT0 + kSec / 5);
  ASSERT_TRUE(Live(2000, &live));
  EXPECT_EQ(live.finish_type, FinishType::kNotFinished);  // one way only: still open
  Feed(testing::Reverse(Pkt(FlowProtocol::kTcp, 2000, kTcpFin | kTcpAck, 60)), kT0 + kSec / 4);
  // Closed both ways, waiting its close hold (2 s): the answer already says
  // how it ended, as its record will.
  ASSERT_TRUE(Live(2000, &live));
  EXPECT_EQ(live.finish_type, FinishType::kTcpFin);
  table_->AdvanceClock(kT0 + 3 * kSec);
  const std::vector<FlowSnapshot> fin = Records(FlowEvent::kExpire, 2000);
  ASSERT_EQ(fin.size(), 1u);
  EXPECT_EQ(fin[0].expire_reason, ExpireReason::kTcpClosed);
  EXPECT_EQ(fin[0].finish_type, FinishType::kTcpFin);

  // A reset: TCP_RST in the answer, the update record and the final record.
  Feed(Pkt(FlowProtocol::kTcp, 3000, kTcpSyn, 60), kT0 + 4 * kSec);
  Feed(testing::Reverse(Pkt(FlowProtocol::kTcp, 3000, kTcpRst, 60)), kT0 + 4 * kSec + 1000);
  ASSERT_TRUE(Live(3000, &live));
  EXPECT_EQ(live.finish_type, FinishType::kTcpRst);
  table_->AdvanceClock(kT0 + 5 * kSec + 1);  // the update tick
  const std::vector<FlowSnapshot> upd = Records(FlowEvent::kUpdate, 3000);
  ASSERT_EQ(upd.size(), 1u);
  EXPECT_EQ(upd[0].finish_type, FinishType::kTcpRst);
  table_->AdvanceClock(kT0 + 7 * kSec);
  ASSERT_EQ(Records(FlowEvent::kExpire, 3000).size(), 1u);
  EXPECT_EQ(Records(FlowEvent::kExpire, 3000)[0].finish_type, FinishType::kTcpRst);
}

}  // namespace
}  // namespace skyprobe
