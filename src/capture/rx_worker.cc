#include "capture/rx_worker.h"

#include "capture/device_clock.h"
#include "capture/mapped_file_queue.h"
#include "capture/tsc_clock.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_pause.h>

#include <algorithm>

namespace skyprobe {
namespace {

// Frame data is prefetched this many frames before it is parsed, and every
// mbuf header of the burst (which holds the data's address) before the
// first: reading the address in a header not yet in cache stalled the loop
// (most of its time with mbufs from a large pool, as in worker_bench
// BM_Worker at 1M flows; 4 frames ahead, the data came too late as well).
constexpr uint16_t kPrefetchAhead = 8;

}  // namespace

RxWorker::RxWorker(WorkerSetup setup)
    : setup_(std::move(setup)),
      clock_(CaptureTimeLimitNs()),
      idle_(setup_.adaptive ? IdleBackoff::Adaptive(kMaxIdleSleepUs)
                            : IdleBackoff::Busy(setup_.shares_cpu)),
      rest_(setup_.adaptive ? IdleBackoff::Adaptive(kMaxRestSleepUs)
                            : IdleBackoff::Busy(setup_.shares_cpu)) {
  if (setup_.ports.empty()) setup_.ports = setup_.queues;
  parser_cfg_.assign(RTE_MAX_ETHPORTS, ParserConfig());
  snaplen_.assign(RTE_MAX_ETHPORTS, 0);
  device_clock_.assign(RTE_MAX_ETHPORTS, nullptr);
  for (const RxQueueSpec& q : setup_.ports) {
    device_clock_[q.port_id] = q.device_clock;
    ParserConfig& pc = parser_cfg_[q.port_id];
    pc.link_type = q.link_type;
    pc.l3_key_mode = setup_.key_mode == KeyMode::kL3;
    snaplen_[q.port_id] = q.snaplen;
  }
  for (size_t p = 0; p < parser_cfg_.size(); ++p) {
    ParserConfig& pc = parser_cfg_[p];
    pc.l3_key_mode = setup_.key_mode == KeyMode::kL3;
    pc.ip_defrag = setup_.ip_defrag;
    pc.app_payload = setup_.app_payload;
    // Inputs are numbered from 1 (0 means unknown): the port id + 1.
    static_assert(RTE_MAX_ETHPORTS < kInputSlots, "a shard counts each input apart");
    pc.input = static_cast<uint8_t>(p + 1);
  }
  for (size_t p = 0; p < setup_.filters.size() && p < RTE_MAX_ETHPORTS; ++p) {
    filter_[p] = setup_.filters[p];
    has_filter_ |= filter_[p] != nullptr;
  }
  for (const RxQueueSpec& q : setup_.queues) {
    rxqs_.emplace_back(q, setup_.pacer, setup_.timestamp_offset);
  }
  merge_ = std::make_unique<FileMerge>(&rxqs_, setup_.timestamp_offset, CaptureTimeLimitNs());
  tsc_per_us_ = rte_get_tsc_hz() / 1'000'000;
  for (const RxQueueSpec& q : setup_.ports) {
    kernel_time_ |= q.kernel_time || q.device_clock != nullptr;
  }
  // Stamped live ports (--iface-time kernel; --iface is never combined with
  // --pcap) keep the live clock for the table.
  capture_clock_ = setup_.timestamp_offset >= 0 && !kernel_time_;
  tsc_clock_ = setup_.tsc_clock;
  if (tsc_clock_ == nullptr) {
    const DeviceClockSample now = SampleTsc();
    own_clock_ = std::make_unique<LiveDeviceClock>(NominalTscClock(now), now);
    tsc_clock_ = own_clock_.get();
  }
}

int RxWorker::LaunchThunk(void* self) {
  static_cast<RxWorker*>(self)->Run();
  return 0;
}

int64_t RxWorker::ClockNs() noexcept {
  // A refit moves the fit's base to the host's time of its sample, which can
  // be a little before what the previous fit gave: never back.
  last_clock_ns_ = std::max(last_clock_ns_, tsc_clock_->ToNs(rte_rdtsc()));
  return last_clock_ns_;
}

int64_t RxWorker::FrameTime(const rte_mbuf* mb, int64_t burst_clock) noexcept {
  if (setup_.timestamp_offset < 0) return burst_clock;
  // --iface-time kernel: a frame of a port that stamps nothing (an --eal
  // port beside the interfaces) has no time of its own.
  if (kernel_time_ && (mb->ol_flags & setup_.timestamp_flag) == 0) return burst_clock;
  // The worker's clock never goes back: a frame stamped before a frame
  // already seen (merged or corrupt captures; live, a frame stamped on
  // another CPU a moment earlier) is taken at the current time, so a flow
  // expired meanwhile is not re-created in the past (with the same Start,
  // hence the same UUID as the one that left). Nor past the limit
  // (capture_clock.h): such a frame is counted and taken at the current
  // time too.
  const LiveDeviceClock* dc =
      device_clock_[SKYPROBE_LIKELY(mb->port < RTE_MAX_ETHPORTS) ? mb->port : 0];
  const int64_t raw = dc != nullptr ? dc->ToNs(CaptureStampRaw(mb, setup_.timestamp_offset))
                                    : CaptureTimeNs(mb, setup_.timestamp_offset);
  return clock_.Take(raw, &counters_.clock_jumps);
}

uint16_t RxWorker::PollQueue(size_t qi, WorkBudget* budget) noexcept {
  rte_mbuf* m[kBurst];
  const uint16_t n = rxqs_[qi].Receive(m, setup_.stop, &counters_.pacing_waits);
  if (n == 0) return 0;
  const uint64_t bytes_before = counters_.rx_bytes;
  ParseBurst(m, n, nullptr);
  rxqs_[qi].Count(n, counters_.rx_bytes - bytes_before);
  FreeOrHold(m, n, budget);
  return n;
}

void RxWorker::FreeOrHold(rte_mbuf** m, uint16_t n, WorkBudget* budget) noexcept {
  // Held (capture clock, timer work due first): the worker finishes it and
  // frees the mbufs over the next iterations, polling nothing meanwhile.
  if (FinishBurst(budget)) {
    rte_pktmbuf_free_bulk(m, n);
  } else {
    std::copy(m, m + n, held_m_);
    held_n_ = n;
  }
}

uint16_t RxWorker::PollMerged(WorkBudget* budget) noexcept {
  rte_mbuf* m[kBurst];
  uint16_t n = 0;
  // Runs of several files go into one burst: each frame's port tells how
  // to parse and filter it.
  while (n < kBurst) {
    size_t qi = 0;
    const uint16_t k = merge_->Next(m + n, kBurst - n, &qi, setup_.stop, &counters_.pacing_waits);
    if (k == 0) break;
    uint64_t bytes = 0;
    for (uint16_t i = n; i < n + k; ++i) bytes += m[i]->pkt_len;
    rxqs_[qi].Count(k, bytes);
    n += k;
  }
  if (n == 0) return 0;
  ParseBurst(m, n, nullptr);
  FreeOrHold(m, n, budget);
  return n;
}

void RxWorker::HandleBurst(rte_mbuf* const* m, uint16_t n, const int64_t* times) noexcept {
  ParseBurst(m, n, times);
  WorkBudget budget = BudgetAfter(n);
  while (!FinishBurst(&budget)) budget = BudgetAfter(0);
  Background(&budget);
}

WorkBudget RxWorker::BudgetAfter(uint16_t fullest) const noexcept {
  // Frames waiting (a full burst): a short slice, so that RX keeps its pace;
  // none: the whole slice. Linear in between.
  const uint64_t ns = kIdleBudgetNs - (kIdleBudgetNs - kBusyBudgetNs) *
                                          std::min<uint16_t>(fullest, kBurst) / kBurst;
  return WorkBudget::For(ns * tsc_per_us_ / 1000);
}

void RxWorker::ParseBurst(rte_mbuf* const* m, uint16_t n, const int64_t* times) noexcept {
  const uint16_t n_in = n;
  parsed_ = 0;
  // A live clock reads the TSC once per burst: the table's time, and the
  // time of frames without their own.
  const int64_t burst_clock = capture_clock_ ? 0 : ClockNs();
  if (kernel_time_) clock_.set_limit(burst_clock + kCaptureTimeSlackNs);
  if (has_filter_) {
    // One indirect call (the JIT) per frame; the port says which filter.
    uint16_t k = 0;
    for (uint16_t i = 0; i < n; ++i) {
      rte_mbuf* mb = m[i];
      const BpfFilter* f = filter_[mb->port < RTE_MAX_ETHPORTS ? mb->port : 0];
      kept_[k] = mb;
      // Every frame moves the capture clock in its order, filtered ones too
      // (expiry must not depend on the filter), and a kept frame's time is
      // taken now: taken below, after the whole burst moved the clock, it
      // would be the burst's latest. A stamp past the limit is counted here.
      if (times != nullptr) {
        clock_.MoveTo(times[i]);
        kept_times_[k] = times[i];
      } else if (setup_.timestamp_offset >= 0) {
        kept_times_[k] = FrameTime(mb, burst_clock);
      }
      const bool keep = f == nullptr || f->Match(mb);
      // A capture clock's table takes its due work at every frame's time,
      // filtered ones included (FinishBurst).
      walk_ts_[i] = kept_times_[k];
      walk_kept_[i] = keep;
      if (keep) {
        ++k;
      } else {
        counters_.rx_bytes += mb->pkt_len;  // kept frames are counted below
        ++counters_.filtered_by_port[mb->port < RTE_MAX_ETHPORTS ? mb->port : 0];
      }
    }
    counters_.filtered += n_in - k;
    counters_.rx_packets += n_in - k;  // kept frames are counted below
    m = kept_;
    // Kept frames go on with the times taken above.
    if (times != nullptr || setup_.timestamp_offset >= 0) times = kept_times_;
    n = k;
    if (capture_clock_) {
      walk_n_ = n_in;
      walk_all_ = walk_ts_;
      walk_keep_ = walk_kept_;
    }
    if (n == 0) return;
  } else if (capture_clock_) {
    walk_n_ = n;
    walk_all_ = ts_;
    walk_keep_ = nullptr;
  }
  // Per-worker scratch, reused burst after burst (the parser resets what it sets).
  const uint8_t** frames = frames_;
  ParsedPacket* pkts = pkts_;
  int64_t* ts = ts_;
  uint32_t* caplens = caplens_;
  for (uint16_t i = kPrefetchAhead; i < n; ++i) SKYPROBE_PREFETCH0(m[i]);
  for (uint16_t i = 0; i < n && i < kPrefetchAhead; ++i) {
    SKYPROBE_PREFETCH0(rte_pktmbuf_mtod(m[i], const void*));
  }
  for (uint16_t i = 0; i < n; ++i) {
    if (i + kPrefetchAhead < n) SKYPROBE_PREFETCH0(rte_pktmbuf_mtod(m[i + kPrefetchAhead], void*));
    rte_mbuf* mb = m[i];
    const uint8_t* data = rte_pktmbuf_mtod(mb, const uint8_t*);
    uint32_t caplen = mb->data_len;
    if (SKYPROBE_UNLIKELY(mb->nb_segs > 1)) {
      caplen = std::min<uint32_t>(mb->pkt_len, kLinearMax);
      data = static_cast<const uint8_t*>(rte_pktmbuf_read(mb, 0, caplen, linear_[i]));
      ++counters_.linearized;
    }
    // A pcap frame as long as the file's snaplen was cut by the capture:
    // its wire length is unknown here (net_pcap drops it) and the parser
    // recovers it from the IP header.
    // mbufs not from a port (tests, benchmarks) carry RTE_MBUF_PORT_INVALID.
    const uint16_t port = SKYPROBE_LIKELY(mb->port < RTE_MAX_ETHPORTS) ? mb->port : 0;
    const uint32_t snaplen = snaplen_[port];
    const uint32_t wire = (snaplen != 0 && mb->pkt_len >= snaplen) ? 0 : mb->pkt_len;
    if (times != nullptr) {
      // Taken by the dispatcher's clock, which saw every frame before it (or
      // by the filter loop above, in order). 0: a live frame without a time
      // of its own takes its burst's.
      clock_.MoveTo(times[i]);
      ts[i] = times[i] != 0 ? std::min(times[i], clock_.now_ns()) : burst_clock;
    } else {
      ts[i] = FrameTime(mb, burst_clock);
    }
    frames[i] = data;
    caplens[i] = caplen;
    ParseFrame(data, caplen, wire, parser_cfg_[port], &pkts[i]);
    if (SKYPROBE_UNLIKELY(pkts[i].num_sub == 0)) {
      ++counters_.drop_parse[static_cast<int>(pkts[i].error)];
    }
    if (SKYPROBE_UNLIKELY(pkts[i].anomalies != 0)) {
      for (int b = 0; b < kAnomalyCountBits; ++b) {
        if (pkts[i].anomalies & (1u << b)) ++counters_.anomalies[b];
      }
    }
    counters_.rx_bytes += mb->pkt_len;
  }
  counters_.rx_packets += n;
  ++counters_.bursts;
  parsed_ = n;
  if (!capture_clock_) live_now_ = burst_clock;
}

bool RxWorker::FinishBurst(WorkBudget* budget) noexcept {
  FlowTable& table = *setup_.table;
  if (!capture_clock_) {
    // A live clock: the iteration's budget takes the table's due work after
    // the burst (expiry at most a tick late, a few bursts later under a backlog).
    if (parsed_ != 0) table.ProcessBurst(frames_, pkts_, ts_, parsed_, caplens_);
    parsed_ = 0;
    return true;
  }
  if (walk_n_ == 0) return true;
  // A capture clock: the table's due work (update ticks, expiries) is done
  // at the first frame at or past its time, before that frame is accounted,
  // so that records depend on the frames, not on where bursts were cut (nor
  // on the budgets). The common case: nothing due up to the burst's last
  // frame, nor made due by the burst's own frames: one compare.
  if (walk_next_ == 0 && walk_all_[walk_n_ - 1] < table.QuietUntil(walk_all_[0])) {
    if (parsed_ != 0) table.ProcessBurst(frames_, pkts_, ts_, parsed_, caplens_);
  } else if (!WalkBurst(budget)) {
    return false;
  }
  parsed_ = 0;
  walk_n_ = 0;
  walk_next_ = 0;
  walk_kept_next_ = 0;
  return true;
}

bool RxWorker::WalkBurst(WorkBudget* budget) noexcept {
  FlowTable& table = *setup_.table;
  uint16_t i = walk_next_;       // frames of the burst (filtered ones too)
  uint16_t k = walk_kept_next_;  // kept frames (the table's)
  while (i < walk_n_) {
    const int64_t t = walk_all_[i];
    if (t >= table.next_due_ns() && !table.AdvanceClock(t, budget)) {
      // Out of budget (or of record slots): the rest of the burst waits,
      // from this frame on; the table resumes its work at the same time.
      walk_next_ = i;
      walk_kept_next_ = k;
      return false;
    }
    // Frame i and those after it that come before anything can be due go
    // to the table in one run.
    const int64_t quiet = table.QuietUntil(t);
    uint16_t j = i;
    uint16_t end = k;
    do {
      if (walk_keep_ == nullptr || walk_keep_[j]) ++end;
      ++j;
    } while (j < walk_n_ && walk_all_[j] < quiet);
    if (end > k) table.ProcessBurst(frames_ + k, pkts_ + k, ts_ + k, end - k, caplens_ + k);
    i = j;
    k = end;
  }
  return true;
}

void RxWorker::Background(WorkBudget* budget) noexcept {
  FlowTable& table = *setup_.table;
  // The table's clock: the capture's (not before its first frame: update
  // windows start there), or the TSC's. A capture clock's due work was done
  // at the frames (FinishBurst): this only finishes work a budget left, at
  // its own time, and moves the clock to the last frame's (nothing is due
  // there); not while a burst is held (its frames come first).
  const bool clock_known = capture_clock_ ? clock_.now_ns() != 0 && walk_n_ == 0 : true;
  // Queries and the table take the first share of the budget in turn, so
  // that a long expiry backlog does not starve a query, nor the reverse.
  const bool queries_first = (++loops_ & 1) != 0;
  if (queries_first && setup_.queries != nullptr) setup_.queries->Serve(&table, budget);
  // A live clock: the time of the burst just parsed, or now (one TSC read less a burst).
  int64_t now;
  if (capture_clock_) {
    now = clock_.now_ns();
  } else if (live_now_ != 0) {
    now = live_now_;
  } else {
    now = ClockNs();
  }
  live_now_ = 0;
  if (clock_known) table.AdvanceClock(now, budget);
  if (!queries_first && setup_.queries != nullptr) setup_.queries->Serve(&table, budget);
  // Work left for the next iteration: the worker does not rest meanwhile.
  background_left_ = budget->spent() || (setup_.queries != nullptr && setup_.queries->pending());
}

void RxWorker::Idle() noexcept {
  // Busy (--poll busy): spin; sharing a CPU with other lcores (tests, small
  // machines) it yields now and then, or the lcore with work may wait a
  // whole timeslice. Adaptive: after a while it sleeps, a burst then waiting
  // at most ~0.5 ms. Never while the iteration left work (its budget ran
  // out, a query is being answered): that is no rest.
  if (background_left_) {
    idle_.Work();
    idle_.Idle();  // a pause
    return;
  }
  // A sleep is rest, not a gap of the loop (loop_gap.h).
  if (idle_.Idle()) last_poll_tsc_ = 0;
}

void RxWorker::Hold() noexcept {
  // No more polling: the loop gap is not measured while holding. Only
  // queries come now, and one may wait ~1 ms to start (adaptive), so a held
  // table costs no CPU.
  last_poll_tsc_ = 0;
  while (setup_.stop == nullptr || !setup_.stop->load(std::memory_order_relaxed)) {
    Rest(kMaxRestSleepUs);
  }
}

void RxWorker::Rest(uint32_t max_sleep_us) noexcept {
  WorkBudget budget = BudgetAfter(0);
  Background(&budget);
  if (background_left_) {
    rest_.Work();
  } else {
    rest_.Idle(max_sleep_us);
  }
}

void RxWorker::RestWhilePaced(void* self, uint32_t max_sleep_us) noexcept {
  static_cast<RxWorker*>(self)->Rest(max_sleep_us);
}

bool RxWorker::FinishHeld() noexcept {
  WorkBudget budget = BudgetAfter(0);
  const bool done = FinishBurst(&budget);
  if (done) {
    rte_pktmbuf_free_bulk(held_m_, held_n_);
    held_n_ = 0;
  }
  Background(&budget);
  return done;
}

void RxWorker::RunDirect() noexcept {
  const size_t nq = setup_.queues.size();
  // A paced replay's waits are rests: queries are answered meanwhile.
  for (RxQueue& q : rxqs_) q.set_pacer_idle(PacerIdle{&RxWorker::RestWhilePaced, this});
  bool any_live = false;
  for (const RxQueueSpec& q : setup_.queues) any_live |= !q.is_file;
  size_t first_q = 0;  // a held burst's queue resumes the round after it
  for (;;) {
    if (setup_.stop != nullptr && setup_.stop->load(std::memory_order_relaxed)) break;
    if (held_n_ > 0 && !FinishHeld()) continue;
    NotePoll();
    const uint64_t waits = counters_.pacing_waits;
    WorkBudget budget = BudgetAfter(kBurst);  // the held-burst check of a capture clock
    uint16_t fullest = 0;
    size_t q = first_q;
    first_q = 0;
    for (; q < nq; ++q) {
      if (rxqs_[q].at_end() || merge_->merges(q)) continue;
      fullest = std::max(fullest, PollQueue(q, &budget));
      if (held_n_ > 0) {
        first_q = q + 1;
        break;
      }
    }
    if (held_n_ == 0 && merge_->active() && !merge_->all_ended()) {
      fullest = std::max(fullest, PollMerged(&budget));
    }
    // A paced replay waits inside the poll on purpose: not a gap of the loop.
    if (counters_.pacing_waits != waits) last_poll_tsc_ = 0;
    if (held_n_ > 0) continue;
    // Merged files end when the merge has handed over its staged frames
    // too (their queues end first).
    bool all_ended = !merge_->active() || merge_->all_ended();
    for (size_t i = 0; i < nq; ++i) all_ended &= merge_->merges(i) || rxqs_[i].at_end();
    if (!any_live && all_ended) {
      if (setup_.hold) Hold();
      break;
    }
    budget = BudgetAfter(fullest);
    Background(&budget);
    if (fullest == 0) {
      Idle();
    } else {
      idle_.Work();
    }
  }
}

uint32_t RxWorker::TakeItems() noexcept {
  if (setup_.ring != nullptr) return setup_.ring->Dequeue(ring_items_, kBurst);
  // A file share: a stop ends it here, as the dispatcher ends its rings
  // (every item taken before was handled: none is held).
  if (setup_.stop != nullptr && setup_.stop->load(std::memory_order_relaxed)) {
    ring_items_[0] = DispatchItem{nullptr, kEndOfInput};
    return 1;
  }
  const uint16_t n = setup_.share->BurstShare(ring_items_, kBurst, &counters_.clock_jumps);
  uint16_t frames = 0;
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (ring_items_[i].frame == nullptr) continue;
    ++frames;
    bytes += ring_items_[i].frame->pkt_len;
  }
  if (frames != 0) rxqs_[0].Count(frames, bytes);
  return n;
}

void RxWorker::RunFromRing() noexcept {
  rte_mbuf* batch[kBurst];
  int64_t times[kBurst];  // each frame's capture time, from the dispatcher
  // Stamped frames (pcap inputs, --iface-time kernel) carry the time the
  // dispatcher took; others are timed here, by burst.
  const bool stamped = setup_.timestamp_offset >= 0;
  for (;;) {
    if (held_n_ > 0 && !FinishHeld()) continue;
    uint32_t n;
    if (ring_next_ < ring_n_) {
      n = ring_n_;  // items left after a held batch
    } else {
      // The dispatcher watches the stop flag and ends every ring with an end
      // mark, after the frames it already took: those are accounted too.
      NotePoll();
      n = TakeItems();
      ring_n_ = n;
      ring_next_ = 0;
    }
    WorkBudget budget = BudgetAfter(static_cast<uint16_t>(n - ring_next_));
    if (n == 0) {
      Background(&budget);
      Idle();
      continue;
    }
    idle_.Work();
    uint16_t b = 0;
    bool held = false;
    for (uint32_t i = ring_next_; i < n && !held; ++i) {
      const DispatchItem& item = ring_items_[i];
      ring_next_ = i + 1;
      if (item.frame != nullptr) {
        times[b] = item.clock_ns;
        batch[b++] = item.frame;
        if (ring_next_ < n) continue;
      }
      // A mark, or the end of the items: account the frames before it.
      if (b > 0) {
        ParseBurst(batch, b, stamped ? times : nullptr);
        if (FinishBurst(&budget)) {
          rte_pktmbuf_free_bulk(batch, b);
        } else {
          std::copy(batch, batch + b, held_m_);
          held_n_ = b;
          held = true;  // the mark (if any) waits with the rest of the items
          if (item.frame == nullptr) ring_next_ = i;
        }
        b = 0;
      }
      if (held || item.frame != nullptr) continue;
      if (item.clock_ns == kEndOfInput) {
        if (setup_.hold) Hold();
        return;
      }
      // A clock mark: a frame of another worker's, at its place in the
      // capture. Due work is done at its time, as at a frame of this
      // worker's (left over, the table resumes it at that time first).
      clock_.MoveTo(item.clock_ns);
      if (capture_clock_ && clock_.now_ns() >= setup_.table->next_due_ns()) {
        setup_.table->AdvanceClock(clock_.now_ns(), &budget);
      }
    }
    if (held) continue;
    Background(&budget);
  }
}

void RxWorker::Run() noexcept {
  if (setup_.ring != nullptr || setup_.share != nullptr) {
    RunFromRing();
  } else {
    RunDirect();
  }
  // A burst still held (stopped meanwhile) is accounted, then pending
  // expiry work finished, then every remaining flow handed over.
  while (held_n_ > 0 && !FinishHeld()) rte_pause();
  while (!setup_.table->AdvanceClock(setup_.table->now_ns())) rte_pause();
  // Control drains concurrently: retry until every flow is handed over.
  while (!setup_.table->Retire()) rte_pause();
  done_.store(true, std::memory_order_release);
}

}  // namespace skyprobe
