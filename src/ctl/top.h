// top.h: `skyprobectl top`: a live full-screen view of the busiest flows of
// one or more probes, redrawn in place every --interval (plain ANSI escapes,
// the terminal in non-canonical mode for single keys): b / p / t sort by bit
// rate, packet rate or total bytes, space pauses, q quits. Not on a
// terminal: one plain snapshot (two answers --interval apart, for the rates).
//
// Owner: skyprobectl's main thread (it owns the terminal until RunTop returns,
// and restores it then, also after SIGINT or SIGTERM).
//
//   absl::Status s = RunTop(options, client, stdout);
#pragma once

#include <cstdio>

#include "absl/status/status.h"
#include "ctl/client.h"
#include "ctl/ctl_options.h"

namespace skyprobe::ctl {

// The flows each refresh asks a probe for: its most recently active ones
// (Last, descending), the flows a rate can be seen on.
inline constexpr uint32_t kTopFlowsPerProbe = 10000;

absl::Status RunTop(const CtlOptions& o, const Client& client, std::FILE* out);

}  // namespace skyprobe::ctl
