// ScaledMetric in the table (sFlow tables): each packet counts for its
// sampling rate, per direction, beside the raw sampled counters; the latest
// rate is reported; a rate of 0 counts the sample once; a table without
// scaled_metrics, or a burst without weights, reports and keeps none.
#include <atomic>
#include <memory>
#include <string>

#include "eal_env.h"
#include "gtest/gtest.h"
#include "packet_builder.h"
#include "recording_sink.h"
#include "table/flow_table.h"

namespace skyprobe {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;

class ScaledMetricTest : public ::testing::Test {
 protected:
  void Build(bool scaled) {
    static std::atomic<int> n{0};
    FlowTableOptions o;
    o.name = "scaled" + std::to_string(n++);
    o.max_flows = 64;
    o.scaled_metrics = scaled;
    auto t = FlowTable::Create(o, sink_.AsSink());
    ASSERT_TRUE(t.ok()) << t.status();
    table_ = std::move(*t);
  }
  void Feed(const testing::TestPacket& p, int64_t ts, const uint32_t* weight) {
    const uint8_t* frame = p.frame.data();
    table_->ProcessBurst(&frame, &p.parsed, &ts, 1, nullptr, weight);
  }
  FlowSnapshot Only() {
    EXPECT_EQ(table_->size(), 1u);
    FlowSnapshot s;
    for (uint32_t pos = 0; pos < table_->capacity(); ++pos) {
      if (table_->IsLive(pos))
        table_->FillSnapshot(pos, FlowEvent::kUpdate, ExpireReason::kNone, &s);
    }
    return s;
  }

  testing::RecordingSink sink_;
  std::unique_ptr<FlowTable> table_;
  const testing::TestPacket ab_ =
      testing::Make({2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}, {10, 0, 0, 1}, {10, 0, 0, 2},
                    FlowProtocol::kUdp, 5000, 53, 100);
};

TEST_F(ScaledMetricTest, EachSampleCountsForItsRatePerDirection) {
  Build(true);
  const uint32_t r512 = 512, r1024 = 1024, r0 = 0;
  Feed(ab_, kT0, &r512);
  Feed(ab_, kT0 + 1, &r1024);
  testing::TestPacket ba = testing::Reverse(ab_);
  ba.sub().length = 60;
  Feed(ba, kT0 + 2, &r512);
  Feed(ba, kT0 + 3, &r0);  // no rate: the sample counts once
  const FlowSnapshot s = Only();
  ASSERT_TRUE(s.has_scaled_metric);
  EXPECT_EQ(s.metric.ab_packets, 2);  // the raw samples stay in Metric
  EXPECT_EQ(s.metric.ba_packets, 2);
  EXPECT_EQ(s.scaled_metric.ab_packets, 512 + 1024);
  EXPECT_EQ(s.scaled_metric.ab_bytes, (512 + 1024) * 100);
  EXPECT_EQ(s.scaled_metric.ba_packets, 512 + 1);
  EXPECT_EQ(s.scaled_metric.ba_bytes, (512 + 1) * 60);
  EXPECT_EQ(s.scaled_metric.sampling_rate, 0);  // the latest sample's rate
}

// sFlow gives a rate and a frame length of up to 0xffffffff each: their
// product is almost 2^64, beyond int64. The counters stop at INT64_MAX.
TEST_F(ScaledMetricTest, CountersSaturateInsteadOfWrapping) {
  Build(true);
  constexpr int64_t kMax = INT64_MAX;
  const uint32_t huge = 0xffffffffu;
  testing::TestPacket big = ab_;
  big.sub().length = 0xffffffffu;
  Feed(big, kT0, &huge);
  FlowSnapshot s = Only();
  EXPECT_EQ(s.scaled_metric.ab_packets, int64_t{0xffffffff});
  EXPECT_EQ(s.scaled_metric.ab_bytes, kMax);  // (2^32 - 1)^2 > 2^63 - 1
  Feed(big, kT0 + 1, &huge);
  Feed(ab_, kT0 + 2, &huge);  // 100 bytes more: still saturated, not wrapped
  s = Only();
  EXPECT_EQ(s.scaled_metric.ab_packets, 3 * int64_t{0xffffffff});
  EXPECT_EQ(s.scaled_metric.ab_bytes, kMax);
  EXPECT_EQ(s.scaled_metric.sampling_rate, int64_t{0xffffffff});

  // Just below the limit: 2^31 samples of rate 2^32 - 1 would take 2^31
  // packets; reach it in bytes with a sum that crosses INT64_MAX by one.
  testing::TestPacket ba = testing::Reverse(ab_);
  const uint32_t rate = 0x80000000u;  // 2^31
  ba.sub().length = 0xffffffffu;      // 2^31 * (2^32 - 1) = 2^63 - 2^31
  Feed(ba, kT0 + 3, &rate);
  s = Only();
  EXPECT_EQ(s.scaled_metric.ba_bytes, kMax - int64_t{0x7fffffff});  // exact, below the limit
  ba.sub().length = 1;  // 2^31 more bytes: 2^63 + ... saturates
  Feed(ba, kT0 + 4, &rate);
  s = Only();
  EXPECT_EQ(s.scaled_metric.ba_bytes, kMax);
  EXPECT_EQ(s.scaled_metric.ba_packets, 2 * int64_t{0x80000000});
}

TEST_F(ScaledMetricTest, ANewFlowInAReusedSlotStartsFromZero) {
  Build(true);
  const uint32_t rate = 100;
  Feed(ab_, kT0, &rate);
  while (!table_->FlushAll()) {
  }
  Feed(ab_, kT0 + kSec, &rate);
  const FlowSnapshot s = Only();
  EXPECT_EQ(s.scaled_metric.ab_packets, 100);
  EXPECT_EQ(s.scaled_metric.ab_bytes, 100 * 100);
}

TEST_F(ScaledMetricTest, OffUnlessAskedFor) {
  Build(false);
  const uint32_t rate = 512;
  Feed(ab_, kT0, &rate);  // weights given, but the table keeps no scaled counters
  FlowSnapshot s = Only();
  EXPECT_FALSE(s.has_scaled_metric);
  EXPECT_EQ(s.metric.ab_packets, 1);
  Build(true);
  Feed(ab_, kT0, nullptr);  // an RX burst: no weights, nothing scaled
  s = Only();
  ASSERT_TRUE(s.has_scaled_metric);
  EXPECT_EQ(s.scaled_metric.ab_packets, 0);
  EXPECT_EQ(s.metric.ab_packets, 1);
}

}  // namespace
}  // namespace skyprobe
