// flow_from_proto.h: a skyprobe.v1.Flow back into a FlowSnapshot, so that
// skyprobectl prints --json with the probe's own writer (AppendFlowJson) and
// sorts and dedups with the probe's own field getters.
//
// Owner: skyprobectl's main thread; pure function.
//
//   query::FlowRow row;
//   SKYPROBE_RETURN_IF_ERROR(FlowFromProto(msg, &row));
#pragma once

#include "absl/status/status.h"
#include "query/result_set.h"
#include "skyprobe/v1/flow.pb.h"

namespace skyprobe::ctl {

// Exact inverse of ToProto (export/flow_proto.h) for every field a snapshot
// holds. INVALID_ARGUMENT if a field does not parse (a probe never sends one).
absl::Status FlowFromProto(const skyprobe::v1::Flow& flow, query::FlowRow* out);

}  // namespace skyprobe::ctl
