// IdleBackoff: when a polling loop spins and when it sleeps (the sleeps are
// counted; their length is the kernel's business and not asserted).
#include "skyprobe/idle_backoff.h"

#include "gtest/gtest.h"

namespace skyprobe {
namespace {

TEST(IdleBackoffTest, BusyNeverSleeps) {
  for (bool shared : {false, true}) {
    IdleBackoff b(IdleBackoff::Busy(shared));
    for (int i = 0; i < 5000; ++i) EXPECT_FALSE(b.Idle());
    EXPECT_EQ(b.sleeps(), 0u);
    EXPECT_FALSE(b.adaptive());
  }
}

TEST(IdleBackoffTest, AdaptiveSpinsThenSleeps) {
  IdleBackoff::Options o = IdleBackoff::Adaptive(40);
  o.spins = 100;
  o.first_sleep_us = 5;
  IdleBackoff b(o);
  EXPECT_TRUE(b.adaptive());
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(b.Idle()) << i;  // spinning
  EXPECT_EQ(b.sleeps(), 0u);
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(b.Idle()) << i;  // 5, 10, 20, 40, 40, 40 us
  EXPECT_EQ(b.sleeps(), 6u);
  // Work: spinning again from the start.
  b.Work();
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(b.Idle()) << i;
  EXPECT_TRUE(b.Idle());
  EXPECT_EQ(b.sleeps(), 7u);
}

TEST(IdleBackoffTest, SleepsStayBounded) {
  // The doubling stops at max_sleep_us: a long idle spell is a steady
  // series of bounded sleeps (the bound is what a burst may wait).
  IdleBackoff::Options o = IdleBackoff::Adaptive(20);
  o.spins = 0;
  o.first_sleep_us = 1;
  IdleBackoff b(o);
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(b.Idle());
  EXPECT_EQ(b.sleeps(), 50u);
}

}  // namespace
}  // namespace skyprobe
