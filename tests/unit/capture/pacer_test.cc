// Pacer: while a paced replay waits for its next frames, the waiting lcore's
// idle work (a worker's pending query) gets the time instead of a sleep, for
// as long as it has some; the wait still ends, and without work it sleeps.

#include "capture/pacer.h"

#include <atomic>

#include "gtest/gtest.h"

namespace skyprobe {
namespace {

struct Work {
  int calls = 0;
  int has = 0;  // calls that find work
  static bool Run(void* ctx) noexcept {
    Work* w = static_cast<Work*>(ctx);
    ++w->calls;
    return w->calls <= w->has;
  }
};

TEST(Pacer, AWaitGivesItsTimeToIdleWorkWhileThereIsSome) {
  Pacer pacer(PacerOptions{.realtime = true});
  constexpr int64_t kT0 = 1'700'000'000'000'000'000;
  EXPECT_FALSE(pacer.Wait(1, kT0, kT0, nullptr));  // the first frame is due at once
  Work work{.calls = 0, .has = 5};
  const PacerIdle idle{&Work::Run, &work};
  // The next frame 300 ms later: the work runs until it has none left, then
  // the wait sleeps the rest and ends.
  EXPECT_TRUE(pacer.Wait(1, kT0 + 300'000'000, kT0 + 300'000'000, nullptr, &idle));
  EXPECT_GE(work.calls, work.has + 1);
  // No work at all: asked, then a plain sleep; a stop ends the wait early.
  Work none;
  const PacerIdle nothing{&Work::Run, &none};
  std::atomic<bool> stop{true};
  pacer.Wait(1, kT0 + 3'600'000'000'000, kT0 + 3'600'000'000'000, &stop, &nothing);
  EXPECT_LE(none.calls, 1);
}

}  // namespace
}  // namespace skyprobe
