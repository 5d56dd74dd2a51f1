// flow_predicate.h: a test over flow snapshots, evaluated wherever flows live.
//
// Owner: built by the control plane (the query engine compiles filters into
// it), then immutable and shared: RX lcores evaluate it between bursts while
// answering queries, so Matches() must be thread-safe and should not allocate.
//
//   std::shared_ptr<const FlowPredicate> p = CompileFilter("Transport.B = 53");
//   if (p->Matches(snapshot)) ...
#pragma once

#include "table/flow_snapshot.h"

namespace skyprobe {

class FlowPredicate {
 public:
  virtual ~FlowPredicate() = default;
  virtual bool Matches(const FlowSnapshot& s) const = 0;
};

}  // namespace skyprobe
