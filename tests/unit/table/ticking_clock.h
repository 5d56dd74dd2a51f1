// ticking_clock.h: a WorkBudget clock for tests that moves one tick each
// time it is read, so a budget of N ticks allows exactly N reads whatever
// the machine's speed.
//
//   testing::TickingClock clock;
//   WorkBudget b = WorkBudget::For(100, &testing::TickingClock::Read, &clock);
#pragma once

#include <cstdint>

namespace skyprobe::testing {

struct TickingClock {
  uint64_t now = 0;
  static uint64_t Read(void* ctx) { return ++static_cast<TickingClock*>(ctx)->now; }
};

}  // namespace skyprobe::testing
