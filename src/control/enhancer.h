// enhancer.h: the interface of a flow-record enhancer.
//
// Owner: the control lcore's pipeline runs it on every record. An enhancer
// adds derived fields to a FlowSnapshot (Community ID today; GeoIP, topology
// ids, process names later) after it left its worker and before handlers and
// exporters see it. A second pipeline gives live answers the same fields
// (app/service_setup.cc): that one runs on gRPC threads, one query at a time. Skydive's historic
// `flow.Enhancer` (Name, Enhance), minus Start/Stop: set-up happens in the
// constructor, as RAII wants.
//
//   pipeline.AddEnhancer(std::make_unique<CommunityIdEnhancer>(/*seed=*/0));
//   pipeline.Enhance(snapshot);  // every enabled enhancer, in order
#pragma once

#include <string_view>

#include "record/flow_snapshot.h"

namespace skyprobe {

class Enhancer {
 public:
  virtual ~Enhancer();

  // Stable name used in configuration ("CommunityID"); unique per pipeline.
  virtual std::string_view Name() const = 0;

  // Fills the fields this enhancer owns. Called once per record on the control
  // lcore (a virtual call per record, never per packet), and per flow of a
  // live answer by the second pipeline (see above). Must not throw and
  // should not allocate: it runs for every update and expire record.
  virtual void Enhance(FlowSnapshot* s) = 0;
};

}  // namespace skyprobe
