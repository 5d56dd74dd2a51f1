// control_loop.h: the control lcore: drains worker records, enhances, hands out.
//
// Owner: the control lcore (the EAL main lcore) runs Run(); workers only
// touch their RecordChannel's producer side. Never touches a shard.
//
//   ControlLoop loop(&pipeline);
//   loop.AddWorker(channel.get(), worker.get());
//   loop.AddSource(sflow->channel(), sflow->done_flag());   // any other producer
//   loop.AddHandler(std::make_unique<JsonLinesHandler>(...));
//   loop.Run(stop);
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "capture/record_channel.h"
#include "capture/rx_worker.h"
#include "control/enhancer_pipeline.h"
#include "record/flow_handler.h"

namespace skyprobe {

struct ControlCounters {
  uint64_t records = 0;
  uint64_t update_records = 0;
  uint64_t expire_records = 0;
};

class ControlLoop {
 public:
  explicit ControlLoop(EnhancerPipeline* pipeline) : pipeline_(pipeline) {}

  void AddWorker(RecordChannel* channel, const RxWorker* worker);
  // A producer other than an RX worker (the sFlow source): its channel is
  // drained like a worker's, and `done` says it has published its last record.
  void AddSource(RecordChannel* channel, const std::atomic<bool>* done);
  void AddHandler(std::unique_ptr<FlowHandler> handler);
  // Called about every `period_sec` seconds of wall time while running.
  void SetPeriodic(uint32_t period_sec, std::function<void()> fn);

  // Runs until every worker is done and its channel is empty. Returns the
  // first error a handler reported when closed.
  absl::Status Run();

  const ControlCounters& counters() const { return counters_; }

 private:
  uint32_t DrainOnce();

  EnhancerPipeline* pipeline_;
  std::vector<RecordChannel*> channels_;
  std::vector<const std::atomic<bool>*> done_;
  std::vector<std::unique_ptr<FlowHandler>> handlers_;
  uint32_t period_sec_ = 0;
  std::function<void()> periodic_;
  ControlCounters counters_;
  uint32_t idle_ = 0;
};

}  // namespace skyprobe
