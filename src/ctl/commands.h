// commands.h: skyprobectl's commands, each against every --probe.
//
// Owner: skyprobectl's main thread (watch adds one reader thread per probe).
// Each returns OK or a Status whose message is one line naming the probe.
//
//   absl::Status s = RunCommand(options, stdout);
#pragma once

#include <cstdio>

#include "absl/status/status.h"
#include "ctl/ctl_options.h"

namespace skyprobe::ctl {

absl::Status RunCommand(const CtlOptions& options, std::FILE* out);

}  // namespace skyprobe::ctl
