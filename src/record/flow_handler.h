// flow_handler.h: where flow records end up (Skydive's update/expire handlers).
//
// Owner: control lcore only. A handler receives every record after the
// enhancer pipeline ran on it; the snapshot is only valid during the call.
// An output (a handler that writes somewhere: a file, a pipe, a collector)
// also reports what it failed to write in OutputCounters, which stats read
// from any thread while it runs.
//
//   class Printer final : public FlowHandler { void OnRecord(const FlowSnapshot& s) override; };
//   loop.AddHandler(std::make_unique<Printer>());
#pragma once

#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "record/flow_snapshot.h"

namespace skyprobe {

// Written by the control lcore only; relaxed loads from anywhere.
struct OutputCounters {
  std::atomic<uint64_t> output_errors{0};  // writes (or reopens) that failed
  std::atomic<uint64_t> records_lost{0};   // records that did not reach the output whole
  // One writer: a load and a store, no read-modify-write needed.
  void AddErrors(uint64_t n) {
    output_errors.store(output_errors.load(std::memory_order_relaxed) + n,
                        std::memory_order_relaxed);
  }
  void AddLost(uint64_t n) {
    records_lost.store(records_lost.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

class FlowHandler {
 public:
  virtual ~FlowHandler() = default;
  // Called for both update and expire records (see FlowSnapshot::event).
  virtual void OnRecord(const FlowSnapshot& s) = 0;
  // Called about once a second while records flow, and before Close: write
  // out what is buffered, so that readers of a file see it soon.
  virtual void Flush() {}
  // SIGHUP: reopen the files written (after logrotate moved them away).
  virtual void Reopen() {}
  // Called once after the last record; an error is reported at exit.
  virtual absl::Status Close() { return absl::OkStatus(); }

  // Outputs: a short name for the summary ("json") and their counters;
  // null for handlers that write nowhere.
  virtual const char* output_name() const { return nullptr; }
  virtual const OutputCounters* output_counters() const { return nullptr; }
};

}  // namespace skyprobe
