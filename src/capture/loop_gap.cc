// loop_gap.cc: percentiles of the RX loop's gap histograms (loop_gap.h).
#include "capture/loop_gap.h"

#include <algorithm>

namespace skyprobe {
namespace {

uint64_t CyclesToNs(uint64_t cycles, uint64_t tsc_hz) {
  if (tsc_hz == 0) return 0;
  const unsigned __int128 ns = static_cast<unsigned __int128>(cycles) * 1'000'000'000u / tsc_hz;
  return ns > ~0ull ? ~0ull : static_cast<uint64_t>(ns);
}

}  // namespace

LoopGapStats SummarizeLoopGaps(const std::vector<const LoopGapHistogram*>& histograms,
                               uint64_t tsc_hz) {
  uint64_t merged[LoopGapHistogram::kBuckets] = {};
  uint64_t max_cycles = 0;
  LoopGapStats s;
  for (const LoopGapHistogram* h : histograms) {
    for (int b = 0; b < LoopGapHistogram::kBuckets; ++b) merged[b] += h->bucket(b);
    max_cycles = std::max(max_cycles, h->max());
  }
  for (uint64_t c : merged) s.count += c;
  if (s.count == 0) return s;
  // The smallest bucket holding at least q of the gaps (rank ceil(q * n)).
  const auto percentile = [&](uint64_t num, uint64_t den) {
    const uint64_t rank = (s.count * num + den - 1) / den;
    uint64_t seen = 0;
    for (int b = 0; b < LoopGapHistogram::kBuckets; ++b) {
      seen += merged[b];
      // A bucket bound never exceeds the largest gap seen (racy reads may
      // see a bucket before the max).
      if (seen >= rank) return std::min(LoopGapHistogram::BucketMax(b), max_cycles);
    }
    return max_cycles;
  };
  s.p50_ns = CyclesToNs(percentile(1, 2), tsc_hz);
  s.p99_ns = CyclesToNs(percentile(99, 100), tsc_hz);
  s.p999_ns = CyclesToNs(percentile(999, 1000), tsc_hz);
  s.max_ns = CyclesToNs(max_cycles, tsc_hz);
  return s;
}

}  // namespace skyprobe
