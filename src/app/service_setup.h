// service_setup.h: wiring of the gRPC service (--grpc-listen): the backend
// over the workers' query ports and the control loop, and the server.
//
// Owner: the EAL main lcore, at start-up, after the inputs (the backend needs
// every query port). Without src/service in the build it does nothing.
//
//   SKYPROBE_RETURN_IF_ERROR(SetUpService(cfg, &loop, &running));
#pragma once

#include "absl/status/status.h"
#include "app/running.h"
#include "config/config.h"
#include "control/control_loop.h"

namespace skyprobe {

absl::Status SetUpService(const Config& cfg, ControlLoop* loop, Running* r);

}  // namespace skyprobe
