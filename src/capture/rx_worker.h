// rx_worker.h: the RX lcore loop: burst, parse, account in the shard, timers.
//
// Owner: one RX lcore runs Run(); its WorkerCounters have that single
// writer and are read (racily, monotonic) by the control lcore for stats.
// The loop is DPDK's l3fwd shape: rx_burst 32, parse all with the next frames
// prefetched, bulk lookup in the shard, free the mbufs in bulk; no allocation,
// no locks, no syscalls per packet.
//
//   RxWorker w(setup);
//   rte_eal_remote_launch(&RxWorker::LaunchThunk, &w, lcore_id);
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include <rte_config.h>

#include "bpf/bpf_filter.h"
#include "capture/capture_clock.h"
#include "capture/dispatcher.h"
#include "capture/pacer.h"
#include "capture/port.h"
#include "capture/query_port.h"
#include "capture/rx_queue.h"
#include "parse/parser.h"
#include "skyprobe/compiler.h"
#include "table/flow_table.h"

struct rte_mbuf;

namespace skyprobe {

struct SKYPROBE_CACHE_ALIGNED WorkerCounters {
  uint64_t rx_packets = 0;  // frames taken from the queues
  uint64_t rx_bytes = 0;
  uint64_t filtered = 0;  // frames the BPF filter (--bpf) did not keep
  uint64_t drop_parse[static_cast<int>(ParseError::kCount)] = {};
  uint64_t anomalies[kAnomalyCountBits] = {};
  uint64_t linearized = 0;  // multi-segment frames copied to parse them
  uint64_t bursts = 0;
  uint64_t pacing_waits = 0;  // bursts held back by --pcap-rate / --pcap-realtime
  uint64_t clock_jumps = 0;   // frames stamped past the capture time limit (capture_clock.h)
};

struct WorkerSetup {
  uint8_t worker_id = 0;
  // Direct mode: the queues this worker polls itself (single worker or RSS).
  std::vector<RxQueueSpec> queues;
  // Dispatch mode: frames come from the dispatcher over this ring instead.
  DispatchRing* ring = nullptr;
  // Every port's description (link type, snaplen), indexed by port id, for
  // frames whatever queue they came from.
  std::vector<RxQueueSpec> ports;
  bool shares_cpu = false;       // oversubscribed lcore: yield when idle
  QueryPort* queries = nullptr;  // table queries answered between bursts (may be null)
  // --bpf: the compiled filter of each port, indexed by port id (null: keep all).
  std::vector<const BpfFilter*> filters;
  // --hold: at the end of the input keep the table and answer queries until
  // `stop`, then expire every flow as usual.
  bool hold = false;
  FlowTable* table = nullptr;
  KeyMode key_mode = KeyMode::kL2;
  bool ip_defrag = false;     // --ip-defrag: the parser decodes first fragments through (parser.h)
  int timestamp_offset = -1;  // mbuf dynfield with capture time (us), -1: use TSC
  Pacer* pacer = nullptr;     // replay pacing of file queues (direct mode), shared; may be null
  const std::atomic<bool>* stop = nullptr;  // set by signals: flush and leave
};

class RxWorker {
 public:
  explicit RxWorker(WorkerSetup setup);

  // Runs until every file queue hit its end (or `stop`), then flushes every
  // flow through the expire path and sets done().
  void Run() noexcept;
  static int LaunchThunk(void* self);

  // Parses and accounts `n` received mbufs (does not free them); the port of
  // each mbuf says how to decode it. Benchmarks drive it with prebuilt
  // in-memory mbufs. `times` (dispatch mode, pcap inputs): each frame's
  // capture time as the dispatcher took it; null: read from the mbufs.
  void HandleBurst(rte_mbuf* const* m, uint16_t n, const int64_t* times = nullptr) noexcept;

  const WorkerCounters& counters() const { return counters_; }
  // The queues it polls itself (none in dispatch mode), with their counters.
  const std::vector<RxQueue>& queues() const { return rxqs_; }
  bool done() const { return done_.load(std::memory_order_acquire); }
  // Set once every flow of the worker has been handed over (control, queries).
  const std::atomic<bool>* done_flag() const { return &done_; }

 private:
  uint16_t PollQueue(size_t q) noexcept;
  void RunDirect() noexcept;
  void RunFromRing() noexcept;
  void Idle(uint32_t* idle) noexcept;
  void ServeQueries(bool due = true) noexcept;
  void Hold() noexcept;
  int64_t ClockNs() const noexcept;

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
  const BpfFilter* filter_[RTE_MAX_ETHPORTS] = {};
  bool has_filter_ = false;
  std::vector<ParserConfig> parser_cfg_;  // by port id
  std::vector<uint32_t> snaplen_;         // by port id
  std::vector<RxQueue> rxqs_;
  uint64_t tsc_hz_ = 0;
  uint64_t tsc_start_ = 0;
  int64_t wall_start_ns_ = 0;
  CaptureClock clock_;  // capture time of pcap inputs (the latest believable stamp)
  uint32_t loops_ = 0;
  WorkerCounters counters_;
  std::atomic<bool> done_{false};
};

}  // namespace skyprobe
