// rx_worker.h: the RX lcore loop: burst, parse, account in the shard, timers.
//
// Owner: one RX lcore runs Run(); its WorkerCounters have that single
// writer and are read (racily, monotonic) by the control lcore for stats.
// The loop is DPDK's l3fwd shape: rx_burst 32, parse all with the next frames
// prefetched, bulk lookup in the shard, free the mbufs in bulk; no allocation,
// no locks, no syscalls per packet.
//
// Everything else a worker does (timers, update ticks, defragmentation
// give-ups, queries) runs after the burst under a WorkBudget in time: 1 us
// (kBusyBudgetNs) when the last poll brought a full burst (frames are waiting), up to 20 us
// when it brought none, and resumes on the next iteration. The time between
// two rx_burst calls is measured (loop_gap.h). With a capture clock (pcap
// files), timer work due by a frame's time is finished before that frame is
// accounted, inside a burst too, so results depend neither on timing nor on
// where bursts were cut: the rest of the burst is held (no polling, nothing
// to lose on a file) for as many iterations as it takes.
// Live ports run the table on the TSC's clock; a frame's own time is the
// kernel's receive time where the port gives one (--iface-time kernel), else
// the time its burst was read.
//
//   RxWorker w(setup);
//   rte_eal_remote_launch(&RxWorker::LaunchThunk, &w, lcore_id);
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <rte_config.h>
#include <rte_cycles.h>

#include "bpf/bpf_filter.h"
#include "capture/capture_clock.h"
#include "capture/device_clock.h"
#include "capture/dispatcher.h"
#include "capture/file_merge.h"
#include "capture/loop_gap.h"
#include "capture/pacer.h"
#include "capture/port.h"
#include "capture/query_port.h"
#include "capture/rx_queue.h"
#include "parse/parser.h"
#include "skyprobe/compiler.h"
#include "skyprobe/counters.h"
#include "skyprobe/idle_backoff.h"
#include "table/flow_table.h"
#include "table/work_budget.h"

struct rte_mbuf;

namespace skyprobe {

class MappedFileQueue;

// X(field, name, kind, shown, help) (skyprobe/counters.h): an RX worker's
// scalar counters, declared once. app/counters.cc sums every kDrop line into
// the probe's drops and reports it by name; the others it reads by field.
// The arrays below (by port, by ParseError, by anomaly) are named there.
#define SKYPROBE_WORKER_COUNTERS(X)                                                        \
  X(rx_packets, "packets_in", kEvent, kAlways, "frames taken from the queues")             \
  X(rx_bytes, "bytes_in", kEvent, kAlways, "their bytes")                                  \
  X(filtered, "filtered", kEvent, kAlways, "frames the BPF filter (--bpf) did not keep")   \
  X(linearized, "linearized", kEvent, kNever, "multi-segment frames copied to parse them") \
  X(bursts, "bursts", kEvent, kNever, "bursts taken")                                      \
  X(pacing_waits, "pacing_waits", kEvent, kAlways,                                         \
    "bursts held back by --pcap-rate / --pcap-realtime")                                   \
  X(clock_jumps, "clock_jumps", kEvent, kAlways,                                           \
    "frames stamped past the capture time limit (capture_clock.h)")

struct SKYPROBE_CACHE_ALIGNED WorkerCounters {
  SKYPROBE_WORKER_COUNTERS(SKYPROBE_COUNTER_FIELD)
  uint64_t filtered_by_port[RTE_MAX_ETHPORTS] = {};  // filtered, by port (capture point)
  uint64_t drop_parse[static_cast<int>(ParseError::kCount)] = {};  // drop_parse_NAME
  uint64_t anomalies[kAnomalyCountBits] = {};
};
inline constexpr auto kWorkerCounters =
    SKYPROBE_COUNTER_LIST(WorkerCounters, SKYPROBE_WORKER_COUNTERS);
static_assert(FrameKindsShown(kWorkerCounters), "a worker frame counter is never shown");

struct WorkerSetup {
  uint8_t worker_id = 0;
  // Direct mode: the queues this worker polls itself (single worker or RSS).
  std::vector<RxQueueSpec> queues;
  // Dispatch mode: frames come from the dispatcher over this ring instead.
  DispatchRing* ring = nullptr;
  // File shares: frames come, as from a ring, from this worker's own reader
  // of the file (MappedFileQueue::BurstShare), which takes the frames the
  // dispatcher would have given it; `queues` holds its spec (for the queue
  // counters), and is not polled otherwise.
  MappedFileQueue* share = nullptr;
  // Every port's description (link type, snaplen), indexed by port id, for
  // frames whatever queue they came from.
  std::vector<RxQueueSpec> ports;
  bool shares_cpu = false;  // oversubscribed lcore: yield when idle
  // --poll adaptive: after empty polls the worker sleeps (idle_backoff.h), a
  // burst waiting at most about kMaxIdleSleepUs; busy: it spins.
  bool adaptive = false;
  QueryPort* queries = nullptr;  // table queries answered between bursts (may be null)
  // --bpf: the compiled filter of each port, indexed by port id (null: keep all).
  std::vector<const BpfFilter*> filters;
  // --hold: at the end of the input keep the table and answer queries until
  // `stop`, then expire every flow as usual.
  bool hold = false;
  FlowTable* table = nullptr;
  KeyMode key_mode = KeyMode::kL2;
  bool ip_defrag = false;     // --ip-defrag: the parser decodes first fragments through (parser.h)
  bool app_payload = false;   // metadata or extra layers on: the parser notes payloads (parser.h)
  int timestamp_offset = -1;  // mbuf dynfield with capture time (us), -1: use TSC
  uint64_t timestamp_flag = 0;  // the ol_flags bit of a frame whose field is set
  Pacer* pacer = nullptr;       // replay pacing of file queues (direct mode), shared; may be null
  // The TSC as Unix time (tsc_clock.h), refitted by the control lcore: the
  // time of live frames without their own and of a live table. Null: the
  // worker's own fit through EAL's rate from its construction (benchmarks).
  const LiveDeviceClock* tsc_clock = nullptr;
  const std::atomic<bool>* stop = nullptr;  // set by signals: flush and leave
};

class RxWorker {
 public:
  explicit RxWorker(WorkerSetup setup);

  // Runs until every file queue hit its end (or `stop`), then flushes every
  // flow through the expire path and sets done().
  void Run() noexcept;
  static int LaunchThunk(void* self);

  // Parses and accounts `n` received mbufs (does not free them), then does
  // the loop iteration's other work as Run() would; the port of each mbuf
  // says how to decode it. Benchmarks drive it with prebuilt in-memory
  // mbufs. `times` (dispatch mode, pcap inputs): each frame's capture time as
  // the dispatcher took it; null: read from the mbufs.
  void HandleBurst(rte_mbuf* const* m, uint16_t n, const int64_t* times = nullptr) noexcept;

  const WorkerCounters& counters() const { return counters_; }
  // The queues it polls itself (none in dispatch mode), with their counters.
  const std::vector<RxQueue>& queues() const { return rxqs_; }
  // Time between two rx_burst calls (read racily by the control lcore).
  const LoopGapHistogram& loop_gaps() const { return gaps_; }

  // Work budgets of one loop iteration (see the banner).
  static constexpr uint64_t kBusyBudgetNs = 1'000;
  static constexpr uint64_t kIdleBudgetNs = 20'000;
  bool done() const { return done_.load(std::memory_order_acquire); }
  // Set once every flow of the worker has been handed over (control, queries).
  const std::atomic<bool>* done_flag() const { return &done_; }

 private:
  uint16_t PollQueue(size_t q, WorkBudget* budget) noexcept;
  // The file queues it polls, two or more, in capture-time order (FileMerge);
  // a burst held as PollQueue holds one.
  uint16_t PollMerged(WorkBudget* budget) noexcept;
  void RunDirect() noexcept;
  // Dispatch mode, and file shares: items (frames, clock marks, the end)
  // from the ring or the share, into ring_items_.
  void RunFromRing() noexcept;
  uint32_t TakeItems() noexcept;
  // An iteration found nothing to do: spin or sleep (IdleBackoff).
  void Idle() noexcept;
  // The input ended (--hold): Rest until stopped; only queries come now.
  void Hold() noexcept;
  // One step of a worker that has nothing to poll but must still answer
  // queries: a held table (Hold), a paced replay waiting for its next frames
  // (Pacer::Wait, through RestWhilePaced). The background work (queries,
  // expiry) in one slice; if none is left, a rest (rest_) of at most
  // `max_sleep_us`. Frames received but not yet parsed have not touched the
  // table, so the queries see it as it was before them.
  void Rest(uint32_t max_sleep_us) noexcept;
  static void RestWhilePaced(void* self, uint32_t max_sleep_us) noexcept;
  int64_t ClockNs() noexcept;
  // The time of frame `mb` of a burst read at `burst_clock` (0 with a capture
  // clock): its timestamp through clock_, or the burst's time.
  int64_t FrameTime(const rte_mbuf* mb, int64_t burst_clock) noexcept;

  // Parses `n` frames into the burst scratch below (BPF, counters, capture
  // times); `m` stays the caller's until the burst is accounted.
  void ParseBurst(rte_mbuf* const* m, uint16_t n, const int64_t* times) noexcept;
  // Accounts the parsed burst. With a capture clock, only once the timer
  // work due before its first frame is done: false while that is left
  // (the burst is held; call again with a new budget).
  bool FinishBurst(WorkBudget* budget) noexcept;
  // FinishBurst's way when something is due inside the burst: the frames
  // in order, the table's clock advanced to a frame's time before it when
  // work is due by then; false when the budget ran out (resumes there).
  bool WalkBurst(WorkBudget* budget) noexcept;
  // Frees a parsed burst once FinishBurst is done with it, else holds it.
  void FreeOrHold(rte_mbuf** m, uint16_t n, WorkBudget* budget) noexcept;
  // The non-packet work of one iteration: the table's clock (timers, update
  // tick, datagrams) and the query port, first one then the other in turn.
  void Background(WorkBudget* budget) noexcept;
  // Works on a held burst (and the iteration's other work); true once it
  // is accounted and its mbufs freed.
  bool FinishHeld() noexcept;
  // The budget after a poll whose fullest queue brought `fullest` frames.
  WorkBudget BudgetAfter(uint16_t fullest) const noexcept;
  // One rx_burst is about to be called: the gap since the previous one.
  void NotePoll() noexcept {
    const uint64_t now = rte_rdtsc();
    if (last_poll_tsc_ != 0) gaps_.Record(now - last_poll_tsc_);
    last_poll_tsc_ = now;
  }

  static constexpr uint16_t kBurst = 32;
  static constexpr uint32_t kLinearMax = 2048;  // bytes of a multi-segment frame made contiguous

  WorkerSetup setup_;
  const uint8_t* frames_[kBurst];
  ParsedPacket pkts_[kBurst];
  int64_t ts_[kBurst];
  uint32_t caplens_[kBurst];  // bytes at frames_[i] (raw packet capture copies them)
  uint8_t linear_[kBurst][kLinearMax];
  rte_mbuf* kept_[kBurst];
  int64_t kept_times_[kBurst];
  uint16_t parsed_ = 0;  // frames of the parsed burst left for the table (after BPF)
  // A capture clock: every frame's time in the burst (filtered ones too:
  // walk_ts_ and walk_kept_ with a filter, else ts_ and no flags), and where
  // a held burst resumes (WalkBurst).
  int64_t walk_ts_[kBurst];
  bool walk_kept_[kBurst];
  const int64_t* walk_all_ = nullptr;
  const bool* walk_keep_ = nullptr;
  uint16_t walk_n_ = 0;
  uint16_t walk_next_ = 0;
  uint16_t walk_kept_next_ = 0;
  int64_t live_now_ = 0;  // live clock: the last parsed burst's time, 0 once used
  // A burst held for the table's due work (capture clock): its mbufs, freed
  // once it is accounted.
  rte_mbuf* held_m_[kBurst];
  uint16_t held_n_ = 0;
  // Dispatch mode: the items of the last dequeue, and the next to handle
  // (a held burst leaves the rest for later).
  DispatchItem ring_items_[kBurst];
  uint32_t ring_n_ = 0;
  uint32_t ring_next_ = 0;
  bool capture_clock_ = false;  // frame times from the capture, not the TSC
  // --iface-time kernel, or a NIC that stamps frames: a live clock (the TSC's)
  // for the table, each frame at the kernel's (or the NIC's) receive time from
  // its timestamp field (capture_clock.h rules, the limit moving with the present).
  bool kernel_time_ = false;
  const BpfFilter* filter_[RTE_MAX_ETHPORTS] = {};
  bool has_filter_ = false;
  std::vector<ParserConfig> parser_cfg_;  // by port id
  std::vector<uint32_t> snaplen_;         // by port id
  // By port id: the NIC's clock of a port that stamps frames in its ticks
  // (null: a stamp is microseconds, net_pcap's, or there is none).
  std::vector<const LiveDeviceClock*> device_clock_;
  std::vector<RxQueue> rxqs_;
  std::unique_ptr<FileMerge> merge_;  // over rxqs_ (which never moves after construction)
  // The live clock: the probe's TSC clock, or own_clock_ without one. Read
  // through last_clock_ns_, so that a refit never takes the time back.
  const LiveDeviceClock* tsc_clock_ = nullptr;
  std::unique_ptr<LiveDeviceClock> own_clock_;
  int64_t last_clock_ns_ = 0;
  CaptureClock clock_;  // capture time of pcap inputs (the latest believable stamp)
  uint32_t loops_ = 0;
  IdleBackoff idle_;
  // Rest(): adaptive, a sleep of up to kMaxRestSleepUs once the spins are
  // spent (a query waits at most about 1 ms to start); --poll busy spins.
  IdleBackoff rest_;
  bool background_left_ = false;  // the last Background() left work (budget, query)
  uint64_t tsc_per_us_ = 0;
  uint64_t last_poll_tsc_ = 0;  // 0: the next poll starts a new measurement
  LoopGapHistogram gaps_;
  WorkerCounters counters_;
  std::atomic<bool> done_{false};
};

}  // namespace skyprobe
