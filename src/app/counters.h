// counters.h: the probe's counters gathered into one Summary (the summary at
// exit, --stats-interval lines, the service's Stats()).
//
// Owner: read on the control lcore or a gRPC thread while lcores run: every
// counter has one writer and only grows, so a racy read is a consistent
// enough view (totals may lag by a burst).
//
//   const Summary s = Collect(running, loop);
//   PrintSummary(s, stderr);
#pragma once

#include "app/running.h"
#include "app/summary.h"
#include "control/control_loop.h"

namespace skyprobe {

// Counters of every lcore and port, totals first.
Summary Collect(const Running& r, const ControlLoop& loop);

}  // namespace skyprobe
