// outputs.h: wiring of where records go on the control lcore: the enhancer
// pipeline (--community-id) and the sinks (--json, --kafka, --ipfix).
//
// Owner: the EAL main lcore, at start-up; the pipeline and the sinks then run
// on it inside ControlLoop::Run().
//
//   SKYPROBE_RETURN_IF_ERROR(SetUpEnhancers(cfg, &pipeline));
//   ControlLoop loop(&pipeline);  SKYPROBE_RETURN_IF_ERROR(SetUpOutputs(cfg, &loop, &r));
#pragma once

#include "absl/status/status.h"
#include "app/running.h"
#include "config/config.h"
#include "control/control_loop.h"
#include "control/enhancer_pipeline.h"

namespace skyprobe {

// The enhancers the configuration asks for, in pipeline order.
absl::Status SetUpEnhancers(const Config& cfg, EnhancerPipeline* pipeline);

// The sinks (handlers) the configuration asks for; `r` keeps a view of those
// whose counters the summary reads (Kafka, each IPFIX destination).
absl::Status SetUpOutputs(const Config& cfg, ControlLoop* loop, Running* r);

}  // namespace skyprobe
