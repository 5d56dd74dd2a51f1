// mapped_file_queue.h: an RX queue over a mapped capture file: each frame
// reaches the worker as an mbuf whose data is the frame in the mapping (an
// attached external buffer), with no copy and no read() of the file.
//
// Owner: the lcore that polls the queue calls Burst(); the main thread
// creates it at start-up (StartPorts) and reads error() after the run.
// The worker sees the mbufs a net_pcap queue of the same file would give:
// same bytes, port, length and capture timestamp (the mbuf dynfield, in
// microseconds); only the data lives in the file's pages.
//
// The pool's mbufs need no data room (StartPorts gives bare ones): each
// frame's data is attached, and a free detaches it.
//
//   SKYPROBE_ASSIGN_OR_RETURN(auto q, MappedFileQueue::Create(std::move(file), pool, port, ts));
//   uint16_t n = q->Burst(m, 32);   // 0 and q->at_end(): the file is done
//
// Overlap: the mapping is read sequentially (MADV_SEQUENTIAL) and, a window
// ahead of the reader, asked for with MADV_WILLNEED, so the kernel reads the
// file from disk while the worker processes the frames before; two windows
// behind, it is let go of (MADV_DONTNEED), so the resident set does not grow
// with the file. Two madvise calls per 8 MiB read, none per frame.
//
// Shares (file shares, several workers on one file with no dispatcher): each
// worker has a queue of its own over its own mapping of the file (the page
// cache holds the file once) and takes, with BurstShare, the frames the
// dispatcher would have given it (SymmetricFrameHash), with their capture
// times and the dispatcher's clock marks (ClockMarks) at the frames of the
// other shares. A frame of another share costs its record header, the hash
// of its addresses and its time; no mbuf.
//
//   q->SetShare(i, workers, LinkType::kEthernet, tick_ns);
//   uint16_t n = q->BurstShare(items, 32, &counters.clock_jumps);
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "capture/capture_clock.h"
#include "capture/capture_file.h"
#include "capture/dispatch_item.h"
#include "parse/parsed_packet.h"

namespace skyprobe {

class MappedFileQueue {
 public:
  // `ts_offset`/`ts_flag`: the mbuf timestamp dynfield and flag net_pcap
  // registered (every frame is stamped with its capture time).
  static absl::StatusOr<std::unique_ptr<MappedFileQueue>> Create(std::unique_ptr<CaptureFile> file,
                                                                 rte_mempool* pool,
                                                                 uint16_t port_id, int ts_offset,
                                                                 uint64_t ts_flag);

  // Up to `max` frames. 0: the end of the file (at_end()) or, for now, no
  // free mbuf (the frames wait in the file: call again once mbufs are freed).
  uint16_t Burst(rte_mbuf** m, uint16_t max) noexcept;

  // Makes this queue share `index` of `count` of the file's frames (before
  // the first burst): frames of link type `link` are picked by their
  // symmetric hash as the dispatcher picks a worker, and clock marks fall
  // every `mark_every_ns` of capture time.
  void SetShare(uint32_t index, uint32_t count, LinkType link, int64_t mark_every_ns);
  // Up to `max` items of this share: its frames (mbufs as Burst gives them)
  // with their capture times, and clock marks at frames of other shares,
  // in file order; then, once, the end mark (kEndOfInput) at the end of the
  // file. 0: no free mbuf for now (call again), or after the end mark. A
  // frame of this share stamped past the capture time limit is counted in
  // `*clock_jumps` (another share's, by its own reader).
  uint16_t BurstShare(DispatchItem* items, uint16_t max, uint64_t* clock_jumps) noexcept;
  uint32_t share_index() const { return share_index_; }
  uint32_t share_count() const { return share_count_; }

  bool at_end() const { return at_end_; }
  // Frames dropped for want of mbufs: a frame over 64 KiB whose chain could
  // not be completed (reported as the port's rx_nombuf).
  uint64_t nombuf() const { return nombuf_; }
  // Non-empty when the file ended at a damaged record (capture_file.h).
  const std::string& error() const { return file_->error(); }
  const CaptureFile& file() const { return *file_; }

 private:
  MappedFileQueue() = default;
  // A frame longer than an mbuf segment can say (64 KiB): a chain.
  bool AttachLong(rte_mbuf* m, const CaptureFrame& f) noexcept;
  // The read-ahead and release of the mapping around the reader.
  void Advise() noexcept;
  // Frame `f` into `mb` (data, length, port, time); false when a frame over
  // 64 KiB found no mbufs for its chain (`mb` is then freed, the frame
  // counted in nombuf_).
  bool Attach(rte_mbuf* mb, const CaptureFrame& f) noexcept;
  // The `n` mbufs of a burst left unused (null: none there) go back.
  static void FreeSpares(rte_mbuf** m, uint16_t n) noexcept;
  // Whether the file is read to its end (or to a damaged record).
  void NoteEnd() noexcept {
    if (file_->offset() >= file_->size()) at_end_ = true;
  }

  static constexpr size_t kWindow = size_t{8} << 20;  // read-ahead request size

  std::unique_ptr<CaptureFile> file_;
  rte_mempool* pool_ = nullptr;
  uint16_t port_id_ = 0;
  int ts_offset_ = -1;
  uint64_t ts_flag_ = 0;
  size_t advised_ = 0;   // the mapping is asked for up to here
  size_t released_ = 0;  // and let go of up to here (MADV_DONTNEED)
  bool at_end_ = false;
  uint64_t nombuf_ = 0;
  rte_mbuf_ext_shared_info shinfo_{};
  // Shares (SetShare): which one this is, and every frame's capture time
  // and clock marks as the dispatcher would take them.
  uint32_t share_index_ = 0;
  uint32_t share_count_ = 1;
  LinkType share_link_ = LinkType::kEthernet;
  CaptureClock share_clock_{0};
  ClockMarks share_marks_{1};
  bool end_sent_ = false;
};

}  // namespace skyprobe
