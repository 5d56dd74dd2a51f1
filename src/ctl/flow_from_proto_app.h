// flow_from_proto_app.h: the application metadata and extra layers of a
// skyprobe.v1.Flow back into a snapshot's AppMeta (FlowFromProto's part).
//
// Owner: skyprobectl's main thread; pure function.
//
//   SKYPROBE_RETURN_IF_ERROR(AppFromProto(flow, &meta));
#pragma once

#include "absl/status/status.h"
#include "record/app_meta.h"
#include "skyprobe/v1/flow.pb.h"

namespace skyprobe::ctl {

// The inverse of export/flow_proto_app.h: what the probe wrote, the
// snapshot prints again. INVALID_ARGUMENT for a value no probe writes.
absl::Status AppFromProto(const skyprobe::v1::Flow& flow, AppMeta* out);

}  // namespace skyprobe::ctl
