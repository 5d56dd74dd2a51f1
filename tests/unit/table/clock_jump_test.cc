// The shard's clock over huge jumps: years between two frames, and a time
// at the end of int64. Update ticks catch up in one step on the schedule
// stepping one period at a time would give (computed here), every flow
// leaves once with its record, and nothing overflows or loops.
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
constexpr int64_t kYear = 365 * 86'400 * kSec;

class ClockJumpTest : public ::testing::Test {
 protected:
  void Build(int64_t update_ns) {
    static std::atomic<int> n{0};
    FlowTableOptions o;
    o.name = "jump" + std::to_string(n++);
    o.max_flows = 64;
    o.update_ns = update_ns;
    o.expire_ns = 10 * kSec;
    o.tick_ns = 100'000'000;
    auto t = FlowTable::Create(o, sink_.AsSink());
    ASSERT_TRUE(t.ok()) << t.status();
    table_ = std::move(*t);
  }
  void Feed(const testing::TestPacket& p, int64_t ts) {
    const uint8_t* frame = p.frame.data();
    table_->ProcessBurst(&frame, &p.parsed, &ts, 1);
  }
  void Advance(int64_t now) {
    // Bounded work per call: call until done, as the worker loop does.
    for (int i = 0; i < 1000 && !table_->AdvanceClock(now); ++i) {
    }
  }
  size_t Count(FlowEvent e) const {
    size_t n = 0;
    for (const FlowSnapshot& r : sink_.records) n += r.event == e;
    return n;
  }

  testing::RecordingSink sink_;
  std::unique_ptr<FlowTable> table_;
  const testing::TestPacket pkt_ =
      testing::Make({2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}, {10, 0, 0, 1}, {10, 0, 0, 2},
                    FlowProtocol::kUdp, 5000, 53, 100);
};

// 76 years with a 1 us update period: 2.4e15 periods, which a loop stepping
// one period at a time would walk through for weeks.
TEST_F(ClockJumpTest, UpdateTicksCatchUpYearsInOneStep) {
  constexpr int64_t kPeriod = 1000;
  Build(kPeriod);
  Feed(pkt_, kT0);
  const int64_t later = kT0 + 76 * kYear + 123'456'789;
  Advance(later);
  ASSERT_EQ(Count(FlowEvent::kExpire), 1u);  // idle for 76 years
  ASSERT_EQ(Count(FlowEvent::kUpdate), 1u);  // the window it was touched in, once
  // The next window ends on the schedule kT0 + k periods: the first boundary
  // after `later`.
  const int64_t boundary = kT0 + ((later - kT0) / kPeriod + 1) * kPeriod;
  Feed(pkt_, later + 1);
  Advance(boundary - 1);
  EXPECT_EQ(Count(FlowEvent::kUpdate), 1u);
  Advance(boundary);
  EXPECT_EQ(Count(FlowEvent::kUpdate), 2u);
  EXPECT_EQ(sink_.records.back().last_update_metric.last, boundary / 1'000'000);
  EXPECT_EQ(boundary, later + 211);  // 123456789 + 211 = 123457000, a whole period
}

// A time at the end of int64 (a corrupt timestamp that reached the table):
// the clock stops at 2^62 ns (year 2116), deadlines fit, the flow expires.
TEST_F(ClockJumpTest, ClockNearInt64MaxNeitherOverflowsNorLoops) {
  Build(60 * kSec);
  Feed(pkt_, kT0);
  Advance(INT64_MAX);
  EXPECT_EQ(table_->now_ns(), INT64_MAX / 2);
  EXPECT_EQ(Count(FlowEvent::kExpire), 1u);
  EXPECT_EQ(table_->size(), 0u);
  Advance(INT64_MAX - 1);  // and again: nothing left to do, no wrap
  EXPECT_EQ(table_->now_ns(), INT64_MAX / 2);
  EXPECT_EQ(sink_.records.size(), 2u);  // the expire and the update of its window
}

}  // namespace
}  // namespace skyprobe
