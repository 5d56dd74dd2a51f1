// TimerWheel: metered Advance resumes where it stopped and visits every due
// flow exactly once, also over a jump past the whole wheel; Oldest (the
// eviction victim, from the bitmap of non-empty slots) is the flow a walk of
// the slots from the current tick finds first. Oracles: a brute-force walk
// of the wheel's slots through the flows' own links, and a set of armed
// flows with their deadlines kept by the test.
#include "table/timer_wheel.h"

#include <map>
#include <random>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "ticking_clock.h"

namespace skyprobe {
namespace {

constexpr int64_t kTick = 100;
constexpr uint32_t kSlots = 256;

class TimerWheelTest : public ::testing::Test {
 protected:
  TimerWheelTest() : hot_(kFlows), wheel_(hot_.data(), kTick, kSlots) { wheel_.Start(0); }

  // The first flow found walking the slots from tick `next` on, as the
  // bitmap-free wheel did: slot by slot, the head of the first non-empty one.
  uint32_t WalkOldest(int64_t next) const {
    for (uint32_t i = 0; i < kSlots; ++i) {
      const uint32_t slot = static_cast<uint32_t>(next + i) % kSlots;
      for (uint32_t p = 0; p < kFlows; ++p) {
        if (hot_[p].wheel_slot == slot + 1 && hot_[p].wheel_prev == kNoIndex) return p;
      }
    }
    return kNoIndex;
  }

  static constexpr uint32_t kFlows = 2000;
  std::vector<FlowHot> hot_;
  TimerWheel wheel_;
  testing::TickingClock clock_;
};

TEST_F(TimerWheelTest, OldestIsAnArmedFlowWheneverOneIs) {
  std::mt19937 rng(7);
  std::set<uint32_t> armed;
  int64_t now = 0;
  for (int step = 0; step < 20000; ++step) {
    const uint32_t pos = rng() % kFlows;
    const int op = static_cast<int>(rng() % 10);
    if (op < 5) {
      wheel_.Disarm(pos);
      wheel_.Arm(pos, now + static_cast<int64_t>(rng() % (kTick * kSlots * 2)));
      armed.insert(pos);
    } else if (op < 8) {
      wheel_.Disarm(pos);
      armed.erase(pos);
    } else {
      // Time passes; due flows are dropped (as expired).
      now += static_cast<int64_t>(rng() % (3 * kTick));
      WorkBudget all = WorkBudget::Unlimited();
      ASSERT_TRUE(wheel_.Advance(now, &all, [&](uint32_t p) { armed.erase(p); }));
    }
    const uint32_t oldest = wheel_.Oldest();
    if (armed.empty()) {
      ASSERT_EQ(oldest, kNoIndex) << step;
    } else {
      ASSERT_NE(oldest, kNoIndex) << step;
      ASSERT_TRUE(armed.count(oldest)) << step;
    }
  }
}

TEST_F(TimerWheelTest, OldestMatchesASlotWalk) {
  std::mt19937 rng(11);
  int64_t now = 0;
  int64_t next_tick = 0;  // the wheel's next tick, tracked from what Advance visited
  for (int step = 0; step < 3000; ++step) {
    const uint32_t pos = rng() % kFlows;
    if (rng() % 3 != 0) {
      wheel_.Disarm(pos);
      wheel_.Arm(pos, now + static_cast<int64_t>(rng() % (kTick * kSlots * 2)));
    } else {
      wheel_.Disarm(pos);
    }
    if (step % 50 == 0) {
      now += static_cast<int64_t>(rng() % (5 * kTick));
      WorkBudget all = WorkBudget::Unlimited();
      ASSERT_TRUE(wheel_.Advance(now, &all, [&](uint32_t) {}));
      next_tick = now / kTick + 1;
    }
    ASSERT_EQ(wheel_.Oldest(), WalkOldest(next_tick)) << step;
  }
}

TEST_F(TimerWheelTest, MeteredAdvanceResumesAndVisitsEachDueFlowOnce) {
  // Every flow due by tick 50; a few far in the future.
  for (uint32_t p = 0; p < kFlows; ++p) {
    wheel_.Arm(p, p < kFlows - 10 ? static_cast<int64_t>(p % 50) * kTick : 1'000'000);
  }
  std::map<uint32_t, int> visits;
  int calls = 0;
  bool done = false;
  while (!done) {
    WorkBudget b =
        WorkBudget::For(4, &testing::TickingClock::Read, &clock_);  // a few visits a call
    done = wheel_.Advance(50 * kTick, &b, [&](uint32_t p) { ++visits[p]; });
    ASSERT_LT(++calls, 100000);
  }
  EXPECT_GT(calls, 100);  // it did stop and resume
  EXPECT_EQ(visits.size(), kFlows - 10u);
  for (const auto& [p, n] : visits) EXPECT_EQ(n, 1) << p;
  EXPECT_EQ(wheel_.Oldest() >= kFlows - 10, true);  // only the future ones are left
}

TEST_F(TimerWheelTest, AJumpPastTheWheelVisitsEveryFlowWithinTheBudget) {
  for (uint32_t p = 0; p < kFlows; ++p) wheel_.Arm(p, static_cast<int64_t>(p) * kTick);
  // 100 wheel turns later: every flow is due; visits are metered like any other.
  const int64_t later = 100 * kSlots * kTick;
  std::map<uint32_t, int> visits;
  int calls = 0;
  bool done = false;
  while (!done) {
    WorkBudget b = WorkBudget::For(4, &testing::TickingClock::Read, &clock_);
    done = wheel_.Advance(later, &b, [&](uint32_t p) { ++visits[p]; });
    ASSERT_LT(++calls, 100000);
  }
  EXPECT_GT(calls, 100);
  EXPECT_EQ(visits.size(), kFlows);
  for (const auto& [p, n] : visits) EXPECT_EQ(n, 1) << p;
  EXPECT_EQ(wheel_.Oldest(), kNoIndex);
}

TEST_F(TimerWheelTest, FlowsReArmedDuringAJumpAreKeptAndVisitedAgainLater) {
  for (uint32_t p = 0; p < 100; ++p) wheel_.Arm(p, 10 * kTick);
  const int64_t later = 10 * kSlots * kTick;
  std::map<uint32_t, int> visits;
  // Each flow is still alive: re-armed one hour of ticks away (capped at the horizon).
  WorkBudget all = WorkBudget::Unlimited();
  ASSERT_TRUE(wheel_.Advance(later, &all, [&](uint32_t p) {
    ++visits[p];
    wheel_.Arm(p, later + 3600 * kTick);
  }));
  for (uint32_t p = 0; p < 100; ++p) {
    EXPECT_GE(visits[p], 1);
    EXPECT_LE(visits[p], 2);                // at most once more, in the turn's last slot
    EXPECT_NE(hot_[p].wheel_slot, 0) << p;  // still armed
  }
}

}  // namespace
}  // namespace skyprobe
