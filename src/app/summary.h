// summary.h: the counters a run reports at exit (and periodically).
//
// Owner: the control lcore, which reads worker counters written by their
// single RX lcore (monotonic 64-bit loads; exact once the workers are done).
//
//   const Summary s = Collect(running, loop);   // app/counters.h
//   PrintSummary(s, stderr);
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "skyprobe/counters.h"

namespace skyprobe {

struct Summary {
  // name -> value, in print order. Names are stable: tests and scripts read them.
  std::vector<std::pair<std::string, uint64_t>> values;
  uint64_t Get(const std::string& name) const;
  void Add(std::string name, uint64_t v) { values.emplace_back(std::move(name), v); }
  // Where the frames went, summed by kind (skyprobe/counters.h): the ports'
  // frames, and the sFlow collector's sampled frames (a domain of their own).
  FrameAccount account;
  FrameAccount sflow_account;
};

// "skyprobe: summary" then one "  name value" line per counter.
void PrintSummary(const Summary& s, std::FILE* out);
// One line: "skyprobe: stats packets_in=.. packets_in_flows=.. flows=.. ...".
void PrintStatsLine(const Summary& s, std::FILE* out);

}  // namespace skyprobe
