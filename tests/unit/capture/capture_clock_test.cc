// Capture time of pcap frames (capture_clock.h): the rule for frames stamped
// in the past, in the far future (year 2100) or with values that do not fit
// in 64-bit nanoseconds (a corrupt pcapng timestamp), and the limit itself.
#include "capture/capture_clock.h"

#include <chrono>
#include <cstddef>
#include <cstring>

#include "gtest/gtest.h"

namespace skyprobe {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;                   // 2023-11-14
constexpr uint64_t kYear2100Us = 4'102'444'800ull * 1'000'000;  // 2100-01-01, as net_pcap gives it

TEST(CaptureClockTest, MicrosecondsToNanosecondsSaturate) {
  EXPECT_EQ(CaptureMicrosToNs(0), 0);
  EXPECT_EQ(CaptureMicrosToNs(1'700'000'000'123'456ull), 1'700'000'000'123'456'000);
  EXPECT_EQ(CaptureMicrosToNs(kYear2100Us), 4'102'444'800 * kSec);
  // The largest that fits (2262-04-11), then saturation instead of a wrap.
  constexpr uint64_t kMaxUs = 9'223'372'036'854'775ull;
  EXPECT_EQ(CaptureMicrosToNs(kMaxUs), 9'223'372'036'854'775'000);
  EXPECT_EQ(CaptureMicrosToNs(kMaxUs + 1), INT64_MAX);
  EXPECT_EQ(CaptureMicrosToNs(~0ull), INT64_MAX);
}

TEST(CaptureClockTest, ReadsTheDynamicField) {
  alignas(64) unsigned char buf[sizeof(rte_mbuf)] = {};
  auto* m = reinterpret_cast<rte_mbuf*>(buf);
  // rte_mbuf_dynfield_register aligns the timestamp field to 8 bytes;
  // dynfield1 itself is only 4-aligned.
  const int offset = static_cast<int>((offsetof(rte_mbuf, dynfield1) + 7) & ~size_t{7});
  const uint64_t us = ~0ull;  // a corrupt timestamp
  std::memcpy(buf + offset, &us, sizeof(us));
  EXPECT_EQ(CaptureTimeNs(m, offset), INT64_MAX);
  EXPECT_EQ(CaptureTimeNs(m, -1), 0);  // no timestamps on this port
}

TEST(CaptureClockTest, NeverBackNeverPastTheLimit) {
  const int64_t limit = kT0 + 86'400 * kSec;
  CaptureClock clock(limit);
  uint64_t jumps = 0;
  EXPECT_EQ(clock.Take(kT0, &jumps), kT0);
  EXPECT_EQ(clock.Take(kT0 + kSec, &jumps), kT0 + kSec);
  EXPECT_EQ(clock.Take(kT0 - 5 * kSec, &jumps), kT0 + kSec);  // the past: the latest time
  EXPECT_EQ(jumps, 0u);
  EXPECT_EQ(clock.Take(CaptureMicrosToNs(kYear2100Us), &jumps), kT0 + kSec);  // the future
  EXPECT_EQ(clock.Take(INT64_MAX, &jumps), kT0 + kSec);                       // corrupt
  EXPECT_EQ(clock.Take(limit + 1, &jumps), kT0 + kSec);
  EXPECT_EQ(jumps, 3u);
  EXPECT_EQ(clock.now_ns(), kT0 + kSec);
  EXPECT_EQ(clock.Take(limit, &jumps), limit);  // the limit itself is believed
  EXPECT_EQ(clock.Take(kT0 + 2 * kSec, &jumps), limit);
  EXPECT_EQ(jumps, 3u);
  // Marks from a dispatcher move the clock the same way.
  CaptureClock marks(limit);
  marks.MoveTo(kT0);
  marks.MoveTo(kT0 - kSec);
  marks.MoveTo(limit + 1);
  EXPECT_EQ(marks.now_ns(), kT0);
  // Before any believable frame the clock is 0.
  CaptureClock fresh(limit);
  EXPECT_EQ(fresh.Take(INT64_MAX, &jumps), 0);
  EXPECT_EQ(jumps, 4u);
}

// The limit is the host's clock at the first call plus one day.
TEST(CaptureClockTest, LimitIsTheHostClockPlusADay) {
  const auto wall = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t before = wall();
  const int64_t limit = CaptureTimeLimitNs();
  const int64_t after = wall();
  constexpr int64_t kDay = 86'400 * kSec;
  // Another test in this binary may have called it first (earlier still).
  EXPECT_LE(limit, after + kDay);
  EXPECT_GT(limit, before + kDay - 3600 * kSec);
  EXPECT_EQ(CaptureTimeLimitNs(), limit);  // computed once
}

}  // namespace
}  // namespace skyprobe
