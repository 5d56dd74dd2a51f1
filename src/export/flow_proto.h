// flow_proto.h: a FlowSnapshot as a skyprobe.v1.Flow protobuf message.
//
// Owner: control lcore (gRPC replies, subscriptions). Fills the message the
// same way AppendFlowJson() writes JSON (same strings, same sub-messages), so
// JsonStringToMessage(AppendFlowJson(s)) equals ToProto(s) (a unit test checks).
//
//   skyprobe::v1::Flow msg;
//   ToProto(*snap, ctx, &msg);
#pragma once

#include "export/json_lines.h"
#include "record/flow_snapshot.h"
#include "skyprobe/v1/flow.pb.h"

namespace skyprobe {

// Clears `out`, then fills it from `s` and `ctx`. LastRawPackets stays empty
// (raw packets travel separately).
void ToProto(const FlowSnapshot& s, const JsonContext& ctx, skyprobe::v1::Flow* out);

}  // namespace skyprobe
