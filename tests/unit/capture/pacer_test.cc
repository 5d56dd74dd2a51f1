// Pacer: while a paced replay waits for its next frames, the waiting lcore
// rests its own way (a worker: RxWorker::Rest, which answers its queries)
// instead of sleeping; each rest is given at most the time left before the
// frames are due, so the pace is kept; the wait ends when they are due, or
// at once when stopped. Without a rest, the pacer sleeps as before.

#include "capture/pacer.h"

#include <atomic>
#include <chrono>
#include <cstdint>

#include "gtest/gtest.h"

namespace skyprobe {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int64_t kMs = 1'000'000;

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A rest that does nothing (returns at once) and checks, on each call, that
// the time it is given ends before the frames are due: the pacer reads its
// clock after the previous call returned (`last`), so what it gives must fit
// between `last` and the due time.
struct Rests {
  int calls = 0;
  int64_t due_ns = 0;   // steady clock at which the frames are due (or later)
  int64_t last_ns = 0;  // steady clock before the wait, then at each return
  int overshoots = 0;   // calls whose allowance ran past due_ns
  static void Run(void* ctx, uint32_t max_sleep_us) noexcept {
    Rests* r = static_cast<Rests*>(ctx);
    ++r->calls;
    if (r->last_ns + int64_t{max_sleep_us} * 1000 > r->due_ns) ++r->overshoots;
    r->last_ns = Now();
  }
};

TEST(Pacer, AWaitRestsThroughTheCallersRestNeverPastTheDueTime) {
  Pacer pacer(PacerOptions{.realtime = true});
  const int64_t start = Now();
  EXPECT_FALSE(pacer.Wait(1, kT0, kT0, nullptr));  // the first frame is due at once
  const int64_t after = Now();
  // The next frame 200 ms later (the pacer's start is between `start` and
  // `after`): the whole wait goes to the rest, in calls that each end before
  // the frame is due; the wait ends once it is due.
  Rests rests;
  rests.due_ns = after + 200 * kMs;
  const PacerIdle idle{&Rests::Run, &rests};
  rests.last_ns = Now();
  EXPECT_TRUE(pacer.Wait(1, kT0 + 200 * kMs, kT0 + 200 * kMs, nullptr, &idle));
  EXPECT_GE(Now(), start + 200 * kMs);
  EXPECT_GT(rests.calls, 0);
  EXPECT_EQ(rests.overshoots, 0);
}

TEST(Pacer, AStoppedWaitEndsAtOnceWithoutResting) {
  Pacer pacer(PacerOptions{.realtime = true});
  EXPECT_FALSE(pacer.Wait(1, kT0, kT0, nullptr));
  Rests rests;
  const PacerIdle idle{&Rests::Run, &rests};
  std::atomic<bool> stop{true};
  // Due in an hour: the stop ends the wait before any rest.
  EXPECT_FALSE(pacer.Wait(1, kT0 + 3'600'000 * kMs, kT0 + 3'600'000 * kMs, &stop, &idle));
  EXPECT_EQ(rests.calls, 0);
}

TEST(Pacer, WithoutARestTheWaitSleepsUntilTheFramesAreDue) {
  Pacer pacer(PacerOptions{.rate_pps = 20});  // frame k is due k / 20 s after the first
  const int64_t start = Now();
  EXPECT_FALSE(pacer.Wait(1, Pacer::kNoTime, Pacer::kNoTime, nullptr));
  EXPECT_TRUE(pacer.Wait(1, Pacer::kNoTime, Pacer::kNoTime, nullptr));
  EXPECT_GE(Now(), start + 50 * kMs);
}

}  // namespace
}  // namespace skyprobe
