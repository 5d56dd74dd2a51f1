// loop_gap.h: how long an RX worker stays away from its receive queue: a
// histogram of the time between two rx_burst calls (start to start), in TSC
// cycles, and its percentiles in ns for Stats, --stats-interval and the
// summary.
//
// Owner: the RX lcore records (one writer, plain counters, one TSC read per
// loop iteration that the loop makes anyway); the control lcore and gRPC
// threads read racily (each bucket only grows: a read may lag by a few
// iterations; skyprobe/counter_read.h says why plain words read with relaxed
// loads are enough). Buckets are log2 with four sub-buckets per power of two
// (values 0..7 exact, then a relative resolution of 25 %); a percentile is
// reported as the upper bound of its bucket, so it never understates.
//
//   gaps.Record(now_tsc - last_tsc);                         // RX lcore
//   LoopGapStats s = SummarizeLoopGaps({&gaps}, rte_get_tsc_hz());  // reader
#pragma once

#include <cstdint>
#include <vector>

#include "skyprobe/counter_read.h"

namespace skyprobe {

class LoopGapHistogram {
 public:
  static constexpr int kBuckets = 8 + 61 * 4;  // 0..7, then 4 per power of two up to 2^64

  void Record(uint64_t cycles) noexcept {
    ++buckets_[Bucket(cycles)];
    if (cycles > max_) max_ = cycles;
  }
  uint64_t bucket(int b) const { return RelaxedRead(buckets_[b]); }
  uint64_t max() const { return RelaxedRead(max_); }

  static int Bucket(uint64_t c) noexcept {
    if (c < 8) return static_cast<int>(c);
    const int e = 63 - __builtin_clzll(c);  // >= 3
    return 8 + (e - 3) * 4 + static_cast<int>((c >> (e - 2)) & 3);
  }
  // The largest value of bucket `b` (its inclusive upper bound).
  static uint64_t BucketMax(int b) noexcept {
    if (b < 8) return static_cast<uint64_t>(b);
    const int e = (b - 8) / 4 + 3;
    const uint64_t sub = static_cast<uint64_t>((b - 8) % 4);
    const uint64_t next = (4 + sub + 1) << (e - 2);  // first value of the next bucket
    return next == 0 ? ~0ull : next - 1;             // the last bucket ends at 2^64 - 1
  }

 private:
  uint64_t buckets_[kBuckets] = {};
  uint64_t max_ = 0;
};

// Percentiles of one or several workers' gaps, in ns (0 when nothing was
// recorded).
struct LoopGapStats {
  uint64_t count = 0;
  uint64_t p50_ns = 0;
  uint64_t p99_ns = 0;
  uint64_t p999_ns = 0;
  uint64_t max_ns = 0;
};
LoopGapStats SummarizeLoopGaps(const std::vector<const LoopGapHistogram*>& histograms,
                               uint64_t tsc_hz);

}  // namespace skyprobe
