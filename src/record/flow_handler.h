// flow_handler.h: where flow records end up (Skydive's update/expire handlers).
//
// Owner: control lcore only. A handler receives every record after the
// enhancer pipeline ran on it; the snapshot is only valid during the call.
//
//   class Printer final : public FlowHandler { void OnRecord(const FlowSnapshot& s) override; };
//   loop.AddHandler(std::make_unique<Printer>());
#pragma once

#include "absl/status/status.h"
#include "record/flow_snapshot.h"

namespace skyprobe {

class FlowHandler {
 public:
  virtual ~FlowHandler() = default;
  // Called for both update and expire records (see FlowSnapshot::event).
  virtual void OnRecord(const FlowSnapshot& s) = 0;
  // Called once after the last record; an error is reported at exit.
  virtual absl::Status Close() { return absl::OkStatus(); }
};

}  // namespace skyprobe
