// control_loop.h: the control lcore: drains worker records, enhances, hands out.
//
// Owner: the control lcore (the EAL main lcore) runs Run(); producers only
// touch the producer side of what stands behind a RecordSource (src/app wires
// each RX worker's and the sFlow collector's record channel). Never touches a
// shard.
//
//   ControlLoop loop(&pipeline);
//   loop.AddSource(source);   // one per producer: RX worker, sFlow collector
//   loop.AddHandler(std::make_unique<JsonLinesHandler>(...));
//   loop.Run(stop);
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "control/enhancer_pipeline.h"
#include "control/record_source.h"
#include "record/flow_handler.h"
#include "skyprobe/idle_backoff.h"

namespace skyprobe {

struct ControlCounters {
  uint64_t records = 0;
  uint64_t update_records = 0;
  uint64_t expire_records = 0;
};

class ControlLoop {
 public:
  explicit ControlLoop(EnhancerPipeline* pipeline) : pipeline_(pipeline) {}

  // A producer of records (an RX worker, the sFlow source): drained until it
  // is Done() and empty. Not owned; it must outlive Run().
  void AddSource(RecordSource* source);
  void AddHandler(std::unique_ptr<FlowHandler> handler);
  // `fn` is called about every `period_ms` milliseconds of wall time while
  // running (the --stats-interval line, the progress line); several may be added.
  void AddPeriodic(uint64_t period_ms, std::function<void()> fn);
  // Each time `*counter` changes (SIGHUP), every handler reopens its files.
  void SetReopenSignal(const std::atomic<uint64_t>* counter) { reopen_ = counter; }

  // The handlers, for stats (their output counters are safe to read from
  // any thread; the list does not change once Run started).
  const std::vector<std::unique_ptr<FlowHandler>>& handlers() const { return handlers_; }

  // Runs until every worker is done and its channel is empty. Handlers are
  // flushed about once a second and closed at the end. Returns the first
  // error a handler reported when closed.
  absl::Status Run();

  const ControlCounters& counters() const { return counters_; }

 private:
  uint32_t DrainOnce();

  EnhancerPipeline* pipeline_;
  std::vector<RecordSource*> sources_;
  std::vector<std::unique_ptr<FlowHandler>> handlers_;
  struct Periodic {
    uint64_t period_ms = 0;
    uint64_t next_tsc = 0;
    std::function<void()> fn;
  };
  std::vector<Periodic> periodic_;
  ControlCounters counters_;
  // Spins 256 empty drains, then sleeps 50 us, doubling up to 1 ms.
  IdleBackoff idle_{IdleBackoff::Options{
      .adaptive = true, .spins = 256, .first_sleep_us = 50, .max_sleep_us = kMaxRestSleepUs}};
  const std::atomic<uint64_t>* reopen_ = nullptr;
  uint64_t reopen_seen_ = 0;
};

}  // namespace skyprobe
