#include "capture/rx_worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_pause.h>
#include <sched.h>

#include <algorithm>
#include <chrono>

namespace skyprobe {
namespace {

constexpr uint16_t kPrefetchAhead = 4;

}  // namespace

RxWorker::RxWorker(WorkerSetup setup) : setup_(std::move(setup)), clock_(CaptureTimeLimitNs()) {
  if (setup_.ports.empty()) setup_.ports = setup_.queues;
  parser_cfg_.assign(RTE_MAX_ETHPORTS, ParserConfig());
  snaplen_.assign(RTE_MAX_ETHPORTS, 0);
  for (const RxQueueSpec& q : setup_.ports) {
    ParserConfig& pc = parser_cfg_[q.port_id];
    pc.link_type = q.link_type;
    pc.l3_key_mode = setup_.key_mode == KeyMode::kL3;
    snaplen_[q.port_id] = q.snaplen;
  }
  for (size_t p = 0; p < parser_cfg_.size(); ++p) {
    ParserConfig& pc = parser_cfg_[p];
    pc.l3_key_mode = setup_.key_mode == KeyMode::kL3;
    pc.ip_defrag = setup_.ip_defrag;
    // Inputs are numbered from 1 (0 means unknown): the port id + 1.
    static_assert(RTE_MAX_ETHPORTS < 256, "the input number is one byte");
    pc.input = static_cast<uint8_t>(p + 1);
  }
  for (size_t p = 0; p < setup_.filters.size() && p < RTE_MAX_ETHPORTS; ++p) {
    filter_[p] = setup_.filters[p];
    has_filter_ |= filter_[p] != nullptr;
  }
  for (const RxQueueSpec& q : setup_.queues) {
    rxqs_.emplace_back(q, setup_.pacer, setup_.timestamp_offset);
  }
  tsc_hz_ = rte_get_tsc_hz();
  tsc_start_ = rte_rdtsc();
  wall_start_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
}

int RxWorker::LaunchThunk(void* self) {
  static_cast<RxWorker*>(self)->Run();
  return 0;
}

int64_t RxWorker::ClockNs() const noexcept {
  const uint64_t cycles = rte_rdtsc() - tsc_start_;
  return wall_start_ns_ + static_cast<int64_t>(cycles / tsc_hz_ * 1'000'000'000ULL +
                                               cycles % tsc_hz_ * 1'000'000'000ULL / tsc_hz_);
}

uint16_t RxWorker::PollQueue(size_t qi) noexcept {
  rte_mbuf* m[kBurst];
  const uint16_t n = rxqs_[qi].Receive(m, setup_.stop, &counters_.pacing_waits);
  if (n == 0) return 0;
  const uint64_t bytes_before = counters_.rx_bytes;
  HandleBurst(m, n);
  rxqs_[qi].Count(n, counters_.rx_bytes - bytes_before);
  rte_pktmbuf_free_bulk(m, n);
  return n;
}

void RxWorker::HandleBurst(rte_mbuf* const* m, uint16_t n, const int64_t* times) noexcept {
  const uint16_t n_in = n;
  if (has_filter_) {
    // One indirect call (the JIT) per frame; the port says which filter.
    uint16_t k = 0;
    for (uint16_t i = 0; i < n; ++i) {
      rte_mbuf* mb = m[i];
      const BpfFilter* f = filter_[mb->port < RTE_MAX_ETHPORTS ? mb->port : 0];
      kept_[k] = mb;
      if (times != nullptr) kept_times_[k] = times[i];
      const bool keep = f == nullptr || f->Match(mb);
      if (keep) {
        ++k;
      } else {
        counters_.rx_bytes += mb->pkt_len;  // kept frames are counted below
      }
      // Filtered frames still move the capture clock: expiry must not
      // depend on the filter. A stamp past the limit is counted once: here
      // for a filtered frame, below (with its time) for a kept one.
      if (times != nullptr) {
        clock_.MoveTo(times[i]);
      } else if (setup_.timestamp_offset >= 0) {
        uint64_t counted_below = 0;
        clock_.Take(CaptureTimeNs(mb, setup_.timestamp_offset),
                    keep ? &counted_below : &counters_.clock_jumps);
      }
    }
    counters_.filtered += n_in - k;
    counters_.rx_packets += n_in - k;  // kept frames are counted below
    m = kept_;
    if (times != nullptr) times = kept_times_;
    n = k;
    if (n == 0) {
      setup_.table->AdvanceClock(clock_.now_ns());
      return;
    }
  }
  // Per-worker scratch, reused burst after burst (the parser resets what it sets).
  const uint8_t** frames = frames_;
  ParsedPacket* pkts = pkts_;
  int64_t* ts = ts_;
  uint32_t* caplens = caplens_;
  const int64_t burst_clock = setup_.timestamp_offset >= 0 ? 0 : ClockNs();
  int64_t max_ts = 0;
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
      // Taken by the dispatcher's clock, which saw every frame before it.
      clock_.MoveTo(times[i]);
      ts[i] = clock_.now_ns();
    } else if (setup_.timestamp_offset >= 0) {
      // The worker's clock never goes back: a frame stamped before a frame
      // already seen (merged or corrupt captures) is taken at the current
      // time, so a flow expired meanwhile is not re-created in the past
      // (with the same Start, hence the same UUID as the one that left).
      // Nor past the limit (capture_clock.h): such a frame is counted and
      // taken at the current time too.
      ts[i] = clock_.Take(CaptureTimeNs(mb, setup_.timestamp_offset), &counters_.clock_jumps);
    } else {
      ts[i] = burst_clock;
    }
    max_ts = std::max(max_ts, ts[i]);
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
  FlowTable& table = *setup_.table;
  // Expire what was due before this burst, account it, then catch up.
  table.AdvanceClock(ts[0]);
  table.ProcessBurst(frames, pkts, ts, n, caplens);
  table.AdvanceClock(max_ts);
}

void RxWorker::Idle(uint32_t* idle) noexcept {
  // Sharing a CPU with other lcores (tests, small machines): give it up when
  // there is nothing to do, or the lcore with work may wait a whole timeslice.
  if (setup_.shares_cpu && ++*idle > 64) {
    *idle = 0;
    sched_yield();
  } else {
    rte_pause();
  }
}

void RxWorker::ServeQueries(bool due) noexcept {
  if (setup_.queries != nullptr) setup_.queries->Serve(setup_.table, due);
}

void RxWorker::Hold() noexcept {
  uint32_t idle = 0;
  while (setup_.stop == nullptr || !setup_.stop->load(std::memory_order_relaxed)) {
    ServeQueries();
    Idle(&idle);
  }
}

void RxWorker::RunDirect() noexcept {
  const size_t nq = setup_.queues.size();
  bool any_live = false;
  for (const RxQueueSpec& q : setup_.queues) any_live |= !q.is_file;
  uint32_t idle = 0;
  for (;;) {
    if (setup_.stop != nullptr && setup_.stop->load(std::memory_order_relaxed)) break;
    uint32_t got = 0;
    bool all_ended = true;
    for (size_t q = 0; q < nq; ++q) {
      if (rxqs_[q].at_end()) continue;
      got += PollQueue(q);
      all_ended &= rxqs_[q].at_end();
    }
    if (!any_live && all_ended) {
      if (setup_.hold) Hold();
      break;
    }
    // Queries are served between bursts: every 16 loops, or whenever idle
    // (cheap slices every loop).
    ServeQueries(got == 0 || (++loops_ & 15) == 0);
    if (got == 0) {
      // A quiet live link still needs its timers.
      if (any_live) setup_.table->AdvanceClock(ClockNs());
      Idle(&idle);
    }
  }
}

void RxWorker::RunFromRing() noexcept {
  DispatchItem items[kBurst];
  rte_mbuf* batch[kBurst];
  int64_t times[kBurst];  // each frame's capture time, from the dispatcher
  FlowTable& table = *setup_.table;
  uint32_t idle = 0;
  bool live_clock = setup_.timestamp_offset < 0;
  for (;;) {
    // The dispatcher watches the stop flag and ends every ring with an end
    // mark, after the frames it already took: those are accounted too.
    const uint32_t n = setup_.ring->Dequeue(items, kBurst);
    ServeQueries(n == 0 || (++loops_ & 15) == 0);
    if (n == 0) {
      if (live_clock) table.AdvanceClock(ClockNs());
      Idle(&idle);
      continue;
    }
    uint16_t b = 0;
    for (uint32_t i = 0; i < n; ++i) {
      if (items[i].frame != nullptr) {
        times[b] = items[i].clock_ns;
        batch[b++] = items[i].frame;
        continue;
      }
      // A mark: account the frames before it, then move the clock.
      if (b > 0) {
        HandleBurst(batch, b, live_clock ? nullptr : times);
        rte_pktmbuf_free_bulk(batch, b);
        b = 0;
      }
      if (items[i].clock_ns == kEndOfInput) {
        if (setup_.hold) Hold();
        return;
      }
      clock_.MoveTo(items[i].clock_ns);
      table.AdvanceClock(clock_.now_ns());
    }
    if (b > 0) {
      HandleBurst(batch, b, live_clock ? nullptr : times);
      rte_pktmbuf_free_bulk(batch, b);
    }
  }
}

void RxWorker::Run() noexcept {
  if (setup_.ring != nullptr) {
    RunFromRing();
  } else {
    RunDirect();
  }
  // Finish pending expiry work, then hand over every remaining flow.
  while (!setup_.table->AdvanceClock(setup_.table->now_ns())) rte_pause();
  // Control drains concurrently: retry until every flow is handed over.
  while (!setup_.table->FlushAll()) rte_pause();
  done_.store(true, std::memory_order_release);
}

}  // namespace skyprobe
