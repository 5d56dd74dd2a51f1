#include "control/control_loop.h"

#include <rte_cycles.h>

namespace skyprobe {

void ControlLoop::AddSource(RecordSource* source) { sources_.push_back(source); }

void ControlLoop::AddHandler(std::unique_ptr<FlowHandler> handler) {
  handlers_.push_back(std::move(handler));
}

void ControlLoop::AddPeriodic(uint64_t period_ms, std::function<void()> fn) {
  if (period_ms == 0 || !fn) return;
  periodic_.push_back(Periodic{period_ms, 0, std::move(fn)});
}

uint32_t ControlLoop::DrainOnce() {
  constexpr uint32_t kBatch = 64;
  FlowSnapshot* recs[kBatch];
  uint32_t total = 0;
  for (RecordSource* src : sources_) {
    const uint32_t n = src->Drain(recs, kBatch);
    for (uint32_t i = 0; i < n; ++i) {
      FlowSnapshot* s = recs[i];
      if (pipeline_ != nullptr) pipeline_->Enhance(s);
      for (auto& h : handlers_) h->OnRecord(*s);
      ++counters_.records;
      if (s->event == FlowEvent::kUpdate) {
        ++counters_.update_records;
      } else {
        ++counters_.expire_records;
      }
    }
    if (n > 0) src->Release(recs, n);
    total += n;
  }
  return total;
}

absl::Status ControlLoop::Run() {
  const uint64_t hz = rte_get_tsc_hz();
  for (Periodic& p : periodic_) p.next_tsc = rte_rdtsc() + p.period_ms * hz / 1000;
  uint64_t next_flush = rte_rdtsc() + hz;
  if (reopen_ != nullptr) reopen_seen_ = reopen_->load(std::memory_order_relaxed);
  for (;;) {
    // Read "done" before draining: a worker sets it after its last publish,
    // so one more drain after seeing it empties its channel for good.
    bool all_done = true;
    for (const RecordSource* src : sources_) all_done &= src->Done();
    const uint32_t n = DrainOnce();
    if (all_done) {
      while (DrainOnce() > 0) {
      }
      break;
    }
    if (n == 0) {
      // The control lcore is not on the packet path: when idle it sleeps,
      // longer and longer, instead of spinning, leaving the CPU to RX lcores
      // (small machines) and the workload. Records wait at most ~1 ms more.
      idle_.Idle();
    } else {
      idle_.Work();
    }
    const uint64_t now = rte_rdtsc();
    if (now >= next_flush) {
      // Outputs buffer; readers of a file (tail -f, a collector) see records
      // within about a second, and write errors are seen while running.
      next_flush = now + hz;
      for (auto& h : handlers_) h->Flush();
    }
    if (reopen_ != nullptr) {
      const uint64_t r = reopen_->load(std::memory_order_relaxed);
      if (r != reopen_seen_) {
        reopen_seen_ = r;
        for (auto& h : handlers_) h->Reopen();
      }
    }
    for (Periodic& p : periodic_) {
      if (now < p.next_tsc) continue;
      p.next_tsc += p.period_ms * hz / 1000;
      p.fn();
    }
  }
  absl::Status first;
  for (auto& h : handlers_) {
    absl::Status st = h->Close();
    if (first.ok() && !st.ok()) first = st;
  }
  return first;
}

}  // namespace skyprobe
