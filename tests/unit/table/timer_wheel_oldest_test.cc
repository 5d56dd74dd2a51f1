// TimerWheel::Oldest (the victim at the table limit with evict-oldest)
// against the test's own record of every armed flow's tick.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "table/timer_wheel.h"
#include "table/work_budget.h"

namespace skyprobe {
namespace {

// The wheel's Oldest() reads a bitmap of non-empty slots (the flood at the
// limit calls it per packet); arming an earlier slot, advancing and emptying
// must still give the earliest armed flow, as a full scan would.
TEST(TimerWheelOldestTest, OldestMatchesAFullScan) {
  constexpr uint32_t kSlots = 64;
  std::vector<FlowHot> hot(32);
  TimerWheel wheel(hot.data(), /*tick_ns=*/10, kSlots);
  wheel.Start(1000);                              // tick 100
  std::vector<int64_t> deadline(hot.size(), -1);  // the test's own view: tick of each armed flow
  const auto expected = [&] {
    int64_t best = INT64_MAX;
    for (int64_t d : deadline) {
      if (d >= 0) best = std::min(best, d);
    }
    return best;
  };
  const auto arm = [&](uint32_t pos, int64_t tick) {
    if (deadline[pos] >= 0) wheel.Disarm(pos);
    wheel.Arm(pos, tick * 10);
    deadline[pos] = tick;
  };
  const auto check = [&](const char* when) {
    const uint32_t got = wheel.Oldest();
    if (expected() == INT64_MAX) {
      EXPECT_EQ(got, kNoIndex) << when;
    } else {
      ASSERT_NE(got, kNoIndex) << when;
      EXPECT_EQ(deadline[got], expected()) << when;
    }
  };
  check("empty");
  arm(0, 150);
  arm(1, 140);
  check("two armed");
  check("asked again");
  arm(2, 120);  // before the mark left by the last scan
  check("an earlier one armed");
  wheel.Disarm(2);
  deadline[2] = -1;
  wheel.Disarm(1);
  deadline[1] = -1;
  check("the first two gone");
  arm(3, 101);
  check("one at the next tick");
  // Advance past tick 101: flow 3 comes due, the callback re-arms it later.
  WorkBudget unlimited = WorkBudget::Unlimited();
  EXPECT_TRUE(wheel.Advance(1015, &unlimited, [&](uint32_t pos) { arm(pos, 160); }));
  check("after advancing");
  wheel.Disarm(0);
  deadline[0] = -1;
  wheel.Disarm(3);
  deadline[3] = -1;
  check("all gone");
  arm(4, 130);
  check("armed again after an empty scan");
}

}  // namespace
}  // namespace skyprobe
