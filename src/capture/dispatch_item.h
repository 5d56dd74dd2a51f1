// dispatch_item.h: what a worker that does not poll its own queue is handed:
// frames with their capture times, clock marks, the end of the input.
//
// Owner: value types. The dispatcher (dispatcher.h) writes them into each
// worker's ring; a file share (mapped_file_queue.h, MappedFileQueue::
// BurstShare) writes them for its own worker. RxWorker consumes both alike.
//
//   ClockMarks marks(100'000'000);
//   if (marks.Due(ts)) items[n++] = DispatchItem{nullptr, ts};  // at another's frame
#pragma once

#include <cstdint>

struct rte_mbuf;

namespace skyprobe {

// One item: a frame, or (frame == nullptr) a clock or end mark.
struct DispatchItem {
  rte_mbuf* frame = nullptr;
  // A frame: its capture time, as the reader's clock took it (pcap inputs,
  // --iface-time kernel; 0 for other live ports: the worker times those by
  // burst). A mark (no frame): the capture time reached; kEndOfInput at the
  // end.
  int64_t clock_ns = 0;
};
inline constexpr int64_t kEndOfInput = INT64_MIN;

// Where clock marks fall: at the first frame at or past each multiple of
// `every_ns` of capture time. The frame's own worker sees its time; every
// other worker is told it by a mark at that frame's place in the sequence.
// Where the marks fall then depends on the frames alone, not on how a
// reader cut them into bursts (so neither do the workers' records), and
// every reader that follows this rule hands a worker the same sequence.
class ClockMarks {
 public:
  explicit ClockMarks(int64_t every_ns) : every_ns_(every_ns > 0 ? every_ns : 1) {}
  // Whether the frame taken at `ts_ns` (0: no capture time) sends marks.
  bool Due(int64_t ts_ns) noexcept {
    if (ts_ns == 0 || ts_ns < next_ns_) return false;
    next_ns_ = ts_ns - ts_ns % every_ns_ + every_ns_;
    return true;
  }

 private:
  int64_t every_ns_;
  int64_t next_ns_ = 0;
};

}  // namespace skyprobe
