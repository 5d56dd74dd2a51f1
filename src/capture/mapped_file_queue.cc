#include "capture/mapped_file_queue.h"

#include <rte_mbuf_dyn.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>

#include "capture/dispatch_hash.h"
#include "skyprobe/compiler.h"

namespace skyprobe {
namespace {

constexpr uint32_t kMaxSegment = UINT16_MAX;

// The mapping outlives every mbuf (the queue is destroyed after the lcores
// stopped): nothing to free when the last mbuf lets go. The count is set back
// to 1 so that the next free again takes rte_mbuf_ext_refcnt_update's plain
// (non-atomic) path: one count shared by every frame would otherwise be an
// atomic operation per frame, and the count tells nothing here.
void KeepMapping(void* /*addr*/, void* opaque) {
  rte_mbuf_ext_refcnt_set(static_cast<rte_mbuf_ext_shared_info*>(opaque), 1);
}

}  // namespace

absl::StatusOr<std::unique_ptr<MappedFileQueue>> MappedFileQueue::Create(
    std::unique_ptr<CaptureFile> file, rte_mempool* pool, uint16_t port_id, int ts_offset,
    uint64_t ts_flag) {
  std::unique_ptr<MappedFileQueue> q(new MappedFileQueue());
  q->file_ = std::move(file);
  q->pool_ = pool;
  q->port_id_ = port_id;
  q->ts_offset_ = ts_offset;
  q->ts_flag_ = ts_flag;
  q->shinfo_.free_cb = KeepMapping;
  q->shinfo_.fcb_opaque = &q->shinfo_;
  rte_mbuf_ext_refcnt_set(&q->shinfo_, 1);
  return q;
}

bool MappedFileQueue::AttachLong(rte_mbuf* m, const CaptureFrame& f) noexcept {
  rte_mbuf* last = m;
  uint32_t done = 0;
  while (done < f.caplen) {
    const uint32_t len = std::min(f.caplen - done, kMaxSegment);
    rte_mbuf* seg = last;
    if (done != 0) {
      seg = rte_pktmbuf_alloc(pool_);
      if (seg == nullptr) return false;
      last->next = seg;
      ++m->nb_segs;
      last = seg;
    }
    rte_pktmbuf_attach_extbuf(seg, const_cast<uint8_t*>(f.data + done), RTE_BAD_IOVA,
                              static_cast<uint16_t>(len), &shinfo_);
    seg->data_len = static_cast<uint16_t>(len);
    done += len;
  }
  return true;
}

void MappedFileQueue::Advise() noexcept {
  // Ask for the next window before the reader gets there.
  const size_t pos = file_->offset();
  if (pos + kWindow / 2 <= advised_ || advised_ >= file_->size()) return;
  const size_t page = 4096;
  const size_t from = std::max(advised_, pos) & ~(page - 1);
  const size_t len = std::min(kWindow, file_->size() - from);
  madvise(const_cast<uint8_t*>(file_->base()) + from, len, MADV_WILLNEED);
  advised_ = from + len;
  // Let go of what lies a window behind: the pages stay in the page cache
  // but leave the process's resident set, which would otherwise grow by the
  // whole file. A frame still in flight there (a dispatch ring holds
  // thousands) reads the same bytes again through a page fault: the mapping
  // is read-only, its pages the page cache's.
  if (pos > 2 * kWindow) {
    const size_t upto = (pos - 2 * kWindow) & ~(page - 1);
    if (upto > released_) {
      madvise(const_cast<uint8_t*>(file_->base()) + released_, upto - released_, MADV_DONTNEED);
      released_ = upto;
    }
  }
}

bool MappedFileQueue::Attach(rte_mbuf* mb, const CaptureFrame& f) noexcept {
  if (SKYPROBE_UNLIKELY(f.caplen > kMaxSegment)) {
    if (!AttachLong(mb, f)) {
      // Out of mbufs for a 64 KiB+ frame: dropped, counted as a net_pcap
      // queue counts what it could not allocate.
      rte_pktmbuf_free(mb);
      ++nombuf_;
      return false;
    }
  } else {
    rte_pktmbuf_attach_extbuf(mb, const_cast<uint8_t*>(f.data), RTE_BAD_IOVA,
                              static_cast<uint16_t>(f.caplen), &shinfo_);
    mb->data_len = static_cast<uint16_t>(f.caplen);
  }
  mb->pkt_len = f.caplen;
  mb->port = port_id_;
  mb->ol_flags |= ts_flag_;
  if (ts_offset_ >= 0) {
    std::memcpy(RTE_MBUF_DYNFIELD(mb, ts_offset_, void*), &f.ts_us, sizeof(f.ts_us));
  }
  return true;
}

uint16_t MappedFileQueue::Burst(rte_mbuf** m, uint16_t max) noexcept {
  if (at_end_ || max == 0) return 0;
  Advise();
  // No mbufs free (the bursts in flight hold them, or the caches of the
  // lcores that freed them): nothing is read, so nothing is lost; the worker
  // asks again at its next poll.
  if (rte_pktmbuf_alloc_bulk(pool_, m, max) != 0) return 0;
  uint16_t n = 0;
  CaptureFrame f;
  while (n < max && file_->Next(&f)) {
    if (Attach(m[n], f)) {
      ++n;
    } else if (rte_pktmbuf_alloc_bulk(pool_, &m[n], 1) != 0) {
      m[n] = nullptr;
      break;
    }
  }
  if (n < max) {
    // The file ended (or broke) within this burst: the spare mbufs go back.
    FreeSpares(m + n, static_cast<uint16_t>(max - n));
    NoteEnd();
  }
  return n;
}

void MappedFileQueue::FreeSpares(rte_mbuf** m, uint16_t n) noexcept {
  for (uint16_t i = 0; i < n; ++i) {
    if (m[i] != nullptr) rte_pktmbuf_free(m[i]);
  }
}

void MappedFileQueue::SetShare(uint32_t index, uint32_t count, LinkType link,
                               int64_t mark_every_ns) {
  share_index_ = index;
  share_count_ = count != 0 ? count : 1;
  share_link_ = link;
  share_clock_ = CaptureClock(CaptureTimeLimitNs());
  share_marks_ = ClockMarks(mark_every_ns);
}

uint16_t MappedFileQueue::BurstShare(DispatchItem* items, uint16_t max,
                                     uint64_t* clock_jumps) noexcept {
  constexpr uint16_t kMax = 64;
  if (end_sent_ || max == 0) return 0;
  if (at_end_) {
    items[0] = DispatchItem{nullptr, kEndOfInput};
    end_sent_ = true;
    return 1;
  }
  max = std::min(max, kMax);
  Advise();
  rte_mbuf* m[kMax];
  if (rte_pktmbuf_alloc_bulk(pool_, m, max) != 0) return 0;
  uint16_t n = 0;            // items
  uint16_t used = 0;         // mbufs
  uint64_t other_jumps = 0;  // another share's reader counts its frames
  CaptureFrame f;
  // Each frame read adds at most one item: its own, or a mark.
  while (n < max && file_->Next(&f)) {
    const uint32_t h = SymmetricFrameHash(f.data, std::min(f.caplen, kMaxSegment), share_link_);
    const bool mine = static_cast<uint32_t>((uint64_t{h} * share_count_) >> 32) == share_index_;
    const int64_t ts =
        share_clock_.Take(CaptureMicrosToNs(f.ts_us), mine ? clock_jumps : &other_jumps);
    if (SKYPROBE_UNLIKELY(share_marks_.Due(ts)) && !mine) {
      items[n++] = DispatchItem{nullptr, ts};
      continue;
    }
    if (!mine) continue;
    if (Attach(m[used], f)) {
      items[n++] = DispatchItem{m[used++], ts};
    } else if (rte_pktmbuf_alloc_bulk(pool_, &m[used], 1) != 0) {
      m[used] = nullptr;
      break;
    }
  }
  FreeSpares(m + used, static_cast<uint16_t>(max - used));
  if (n < max) NoteEnd();
  return n;
}

}  // namespace skyprobe
