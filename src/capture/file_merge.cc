#include "capture/file_merge.h"

#include <rte_mbuf.h>

#include <limits>

#include "capture/capture_clock.h"

namespace skyprobe {

FileMerge::FileMerge(std::vector<RxQueue>* queues, int timestamp_offset, int64_t limit_ns)
    : queues_(queues), ts_offset_(timestamp_offset), limit_ns_(limit_ns) {
  merged_.assign(queues->size(), false);
  for (size_t i = 0; i < queues->size(); ++i) {
    if ((*queues)[i].spec().is_file) files_.push_back(i);
  }
  // Without timestamps there is no order to keep; one file needs no merge.
  if (files_.size() < 2 || timestamp_offset < 0) files_.clear();
  for (const size_t i : files_) merged_[i] = true;
  stages_.resize(files_.size());
}

FileMerge::~FileMerge() {
  for (Stage& s : stages_) {
    for (uint16_t i = s.head; i < s.n; ++i) rte_pktmbuf_free(s.m[i]);
  }
}

uint16_t FileMerge::Next(rte_mbuf** out, uint16_t max, size_t* qi, const std::atomic<bool>* stop,
                         uint64_t* pacing_waits) noexcept {
  constexpr int64_t kNone = std::numeric_limits<int64_t>::max();
  // Every file not at its end needs a staged frame before anything is taken.
  bool waiting = false;
  for (size_t f = 0; f < files_.size(); ++f) {
    Stage& s = stages_[f];
    if (s.head < s.n) continue;
    RxQueue& q = (*queues_)[files_[f]];
    if (q.at_end()) continue;
    s.head = 0;
    s.n = q.Receive(s.m, stop, pacing_waits);
    for (uint16_t i = 0; i < s.n; ++i) {
      const int64_t t = CaptureTimeNs(s.m[i], ts_offset_);
      s.last_key = t > limit_ns_ ? s.last_key : t;
      s.key[i] = s.last_key;
    }
    if (s.n == 0 && !q.at_end()) waiting = true;
  }
  if (waiting) return 0;
  // The earliest head, and the earliest head of the others.
  size_t best = files_.size();
  int64_t best_key = kNone;
  int64_t second_key = kNone;
  for (size_t f = 0; f < files_.size(); ++f) {
    const Stage& s = stages_[f];
    if (s.head == s.n) continue;
    const int64_t k = s.key[s.head];
    if (best == files_.size() || k < best_key) {
      if (best != files_.size()) second_key = best_key;
      best = f;
      best_key = k;
    } else if (k < second_key) {
      second_key = k;
    }
  }
  if (best == files_.size()) {
    all_ended_ = true;
    return 0;
  }
  Stage& s = stages_[best];
  uint16_t n = 0;
  while (n < max && s.head < s.n && s.key[s.head] <= second_key) out[n++] = s.m[s.head++];
  *qi = files_[best];
  return n;
}

}  // namespace skyprobe
