// probe.h: wires the modules into a running probe (the "main job").
//
// Owner: the main thread, which becomes the control lcore once the workers
// are launched. Returns a Status; only main.cc turns it into an exit code.
//
//   std::atomic<bool> stop{false};
//   absl::Status st = RunProbe(cfg, &stop);
#pragma once

#include <atomic>

#include "absl/status/status.h"
#include "config/config.h"

namespace skyprobe {

// Runs until the inputs end (pcap) or `stop` is set (signal), expires every
// flow through the handlers, prints the summary on stderr unless quiet.
absl::Status RunProbe(const Config& cfg, const std::atomic<bool>* stop);

}  // namespace skyprobe
