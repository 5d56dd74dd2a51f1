// probe.h: wires the modules into a running probe (the "main job").
//
// Owner: the main thread, which becomes the control lcore once the workers
// are launched. Returns a Status; only main.cc turns it into an exit code.
//
//   std::atomic<bool> stop{false};
//   std::atomic<uint64_t> reopen{0};   // SIGHUP adds one
//   absl::Status st = RunProbe(cfg, &stop, &reopen);
#pragma once

#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "app/terminal_relay.h"
#include "config/config.h"

namespace skyprobe {

// Runs until the inputs end (pcap) or `stop` is set (signal), expires every
// flow through the handlers, prints the summary on stderr unless quiet. Each
// change of `*reopen` makes the outputs reopen their files. A DataLoss status
// means the run went through but an output lost records (exit status 3).
// With `progress`, the progress of the --pcap inputs is shown on it twice a
// second (progress.h) and cleared before the summary.
absl::Status RunProbe(const Config& cfg, const std::atomic<bool>* stop,
                      const std::atomic<uint64_t>* reopen = nullptr,
                      TerminalRelay* progress = nullptr);

// Configuration the flags cannot check alone, read before anything starts:
// the gRPC service's TLS certificate, key and client CA (a bad one is a
// refused configuration, exit status 2, named as such).
absl::Status CheckConfigFiles(const Config& cfg);

}  // namespace skyprobe
