#include "capture/dispatcher.h"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <sched.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "capture/device_clock.h"
#include "capture/dispatch_hash.h"
#include "skyprobe/idle_backoff.h"
#include "skyprobe/status.h"

namespace skyprobe {

absl::StatusOr<std::unique_ptr<DispatchRing>> DispatchRing::Create(int index, uint32_t size,
                                                                   int socket_id) {
  std::unique_ptr<DispatchRing> r(new DispatchRing());
  r->ring_ = rte_ring_create_elem(absl::StrCat("disp", index).c_str(), sizeof(DispatchItem),
                                  rte_align32pow2(size), socket_id, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (r->ring_ == nullptr) return ErrnoToStatus(-rte_errno, "rte_ring_create_elem(dispatch)");
  return r;
}

DispatchRing::~DispatchRing() { rte_ring_free(ring_); }

uint32_t DispatchRing::Enqueue(const DispatchItem* items, uint32_t n) noexcept {
  return rte_ring_sp_enqueue_burst_elem(ring_, items, sizeof(DispatchItem), n, nullptr);
}

uint32_t DispatchRing::Dequeue(DispatchItem* items, uint32_t max) noexcept {
  return rte_ring_sc_dequeue_burst_elem(ring_, items, sizeof(DispatchItem), max, nullptr);
}

uint32_t DispatchRing::capacity() const { return rte_ring_get_capacity(ring_); }

Dispatcher::Dispatcher(DispatcherSetup setup)
    : setup_(std::move(setup)), marks_(setup_.mark_every_ns), clock_(CaptureTimeLimitNs()) {
  for (const RxQueueSpec& q : setup_.queues) {
    rxqs_.emplace_back(q, setup_.pacer, setup_.timestamp_offset);
  }
  merge_ = std::make_unique<FileMerge>(&rxqs_, setup_.timestamp_offset, CaptureTimeLimitNs());
  staged_.resize(setup_.rings.size());
  // A burst's frames and at most one clock mark per frame.
  for (auto& s : staged_) s.reserve(size_t{2} * kBurst);
}

int Dispatcher::LaunchThunk(void* self) {
  static_cast<Dispatcher*>(self)->Run();
  return 0;
}

void Dispatcher::Push(uint32_t worker, const DispatchItem* items, uint32_t n,
                      bool is_file) noexcept {
  uint32_t sent = setup_.rings[worker]->Enqueue(items, n);
  while (sent < n) {
    if (!is_file) {
      // A live port cannot wait: the NIC would drop instead. Count and free.
      for (uint32_t i = sent; i < n; ++i) {
        if (items[i].frame != nullptr) {
          rte_pktmbuf_free(items[i].frame);
          ++counters_.drop_worker_ring_full;
        }
      }
      return;
    }
    // A file can wait for its worker: replay is lossless.
    ++counters_.waits;
    if (setup_.shares_cpu) {
      sched_yield();
    } else {
      rte_pause();
    }
    sent += setup_.rings[worker]->Enqueue(items + sent, n - sent);
  }
}

uint16_t Dispatcher::PollQueue(size_t qi) noexcept {
  rte_mbuf* m[kBurst];
  const uint16_t n = rxqs_[qi].Receive(m, setup_.stop, &counters_.pacing_waits);
  if (n == 0) return 0;
  Distribute(qi, m, n);
  return n;
}

uint16_t Dispatcher::PollMerged() noexcept {
  rte_mbuf* m[kBurst];
  size_t qi = 0;
  const uint16_t n = merge_->Next(m, kBurst, &qi, setup_.stop, &counters_.pacing_waits);
  if (n > 0) Distribute(qi, m, n);
  return n;
}

void Dispatcher::Distribute(size_t qi, rte_mbuf* const* m, uint16_t n) noexcept {
  const RxQueueSpec& q = rxqs_[qi].spec();
  const uint32_t workers = static_cast<uint32_t>(setup_.rings.size());
  const uint64_t bytes_before = counters_.rx_bytes;
  // Frames of a file or of an --iface-time kernel port carry their time; a
  // live port's limit moves with the present (capture_clock.h). Other live
  // frames go with 0: the worker times them by burst.
  const bool live_stamped = q.kernel_time || q.device_clock != nullptr;
  const bool stamped = setup_.timestamp_offset >= 0 && (q.is_file || live_stamped);
  if (stamped && live_stamped) {
    clock_.set_limit(std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() +
                     kCaptureTimeSlackNs);
  }
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* mb = m[i];
    const uint32_t h =
        SymmetricFrameHash(rte_pktmbuf_mtod(mb, const uint8_t*), mb->data_len, q.link_type);
    const uint32_t w = static_cast<uint32_t>((uint64_t{h} * workers) >> 32);
    // A NIC's stamp is in its clock's ticks (device_clock.h); a frame it did
    // not stamp goes with 0, timed by the worker's burst.
    int64_t ts = 0;
    if (stamped && q.device_clock != nullptr) {
      if ((mb->ol_flags & setup_.timestamp_flag) != 0) {
        ts = clock_.Take(q.device_clock->ToNs(CaptureStampRaw(mb, setup_.timestamp_offset)),
                         &counters_.clock_jumps);
      }
    } else if (stamped) {
      ts = clock_.Take(CaptureTimeNs(mb, setup_.timestamp_offset), &counters_.clock_jumps);
    }
    if (SKYPROBE_UNLIKELY(marks_.Due(ts))) {
      for (uint32_t o = 0; o < workers; ++o) {
        if (o != w) staged_[o].push_back(DispatchItem{nullptr, ts});
      }
    }
    staged_[w].push_back(DispatchItem{mb, ts});
    counters_.rx_bytes += mb->pkt_len;
  }
  counters_.rx_packets += n;
  rxqs_[qi].Count(n, counters_.rx_bytes - bytes_before);
  for (uint32_t w = 0; w < workers; ++w) {
    if (staged_[w].empty()) continue;
    Push(w, staged_[w].data(), static_cast<uint32_t>(staged_[w].size()), q.is_file);
    staged_[w].clear();
  }
}

void Dispatcher::Run() noexcept {
  bool any_live = false;
  for (const RxQueueSpec& q : setup_.queues) any_live |= !q.is_file;
  IdleBackoff idle(setup_.adaptive ? IdleBackoff::Adaptive(kMaxIdleSleepUs)
                                   : IdleBackoff::Busy(setup_.shares_cpu));
  for (;;) {
    if (setup_.stop != nullptr && setup_.stop->load(std::memory_order_relaxed)) break;
    uint32_t got = 0;
    bool all_ended = true;
    for (size_t q = 0; q < setup_.queues.size(); ++q) {
      if (rxqs_[q].at_end() || merge_->merges(q)) continue;
      got += PollQueue(q);
      all_ended &= rxqs_[q].at_end();
    }
    if (merge_->active() && !merge_->all_ended()) {
      got += PollMerged();
      all_ended &= merge_->all_ended();
    }
    if (!any_live && all_ended) break;
    if (got == 0) {
      idle.Idle();
    } else {
      idle.Work();
    }
  }
  // Every frame is queued before the end mark, so workers see all of them.
  const DispatchItem end{nullptr, kEndOfInput};
  for (uint32_t w = 0; w < setup_.rings.size(); ++w) {
    while (setup_.rings[w]->Enqueue(&end, 1) != 1) rte_pause();
  }
  done_.store(true, std::memory_order_release);
}

}  // namespace skyprobe
