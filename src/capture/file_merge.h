// file_merge.h: the frames of several capture files taken in capture-time
// order, as mergecap merges them, by the lcore that polls their queues.
//
// Owner: the lcore that polls the queues (an RX worker, or the dispatcher);
// nothing is shared. The staged frames are mbufs taken from the queues and
// not yet handed on: at most RxQueue::kMaxBurst per file.
//
//   FileMerge merge(&rxqs, timestamp_offset, CaptureTimeLimitNs());
//   uint16_t n = merge.Next(m, 32, &qi, stop, &pacing_waits);  // n frames of rxqs[qi]
//
// Why. Each --pcap file is a capture point with its own timeline, and one
// poller reads them all; its capture clock never goes back (capture_clock.h),
// so frames read file after file, a burst at a time, would be taken at the
// wrong time whenever one file is ahead of the other: two taps recorded at
// the same time, or one trace given twice, would have their flows' Start,
// Last and RTT moved. Taking the frames in time order across files is what
// the taps saw: every frame keeps its own time.
//
// The rule: among the files that are not at their end, each with a staged
// frame, the one whose next frame is the earliest gives its frames up to the
// next frame of any other file (ties: the file listed first). A file that has
// no frame staged and is not at its end (its mbuf pool is empty for a moment)
// holds the merge back until it has one, or ends. A frame stamped past the
// capture time limit is ordered at its file's previous time (the clock takes
// it at the latest time too).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "capture/rx_queue.h"

struct rte_mbuf;

namespace skyprobe {

class FileMerge {
 public:
  // Merges the file queues of `queues` (which must outlive it and not move);
  // live queues are left to the poller.
  FileMerge(std::vector<RxQueue>* queues, int timestamp_offset, int64_t limit_ns);
  ~FileMerge();  // frees the frames still staged (a stop before the end)
  FileMerge(const FileMerge&) = delete;
  FileMerge& operator=(const FileMerge&) = delete;

  // True when there is something to merge: two file queues or more.
  bool active() const { return files_.size() >= 2; }
  // True when queue `qi` is one of the merged ones (the poller skips it).
  bool merges(size_t qi) const { return qi < merged_.size() && merged_[qi]; }

  // Up to `max` next frames, in time order, all from queue `*qi`. 0: none
  // now (a file waits for mbufs), or every file ended (all_ended()).
  uint16_t Next(rte_mbuf** out, uint16_t max, size_t* qi, const std::atomic<bool>* stop,
                uint64_t* pacing_waits) noexcept;
  bool all_ended() const { return all_ended_; }

 private:
  struct Stage {
    rte_mbuf* m[RxQueue::kMaxBurst];
    int64_t key[RxQueue::kMaxBurst];
    uint16_t n = 0;
    uint16_t head = 0;
    int64_t last_key = 0;
  };

  std::vector<RxQueue>* queues_;
  int ts_offset_;
  int64_t limit_ns_;
  std::vector<size_t> files_;  // indices into queues_
  std::vector<bool> merged_;   // by queue index
  std::vector<Stage> stages_;  // by position in files_
  bool all_ended_ = false;
};

}  // namespace skyprobe
