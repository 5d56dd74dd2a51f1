// flow_proto_app.h: the application metadata and extra layers of a
// skyprobe.v1.Flow (private to src/export; ToProto calls it).
//
// Owner: whoever converts one record (control lcore, gRPC threads).
//
//   FillAppProto(s.app.value(), out);   // TLS, HTTP, DNSQuery, DNS, DHCPv4, VRRPv2
#pragma once

#include "record/app_meta.h"
#include "skyprobe/v1/flow.pb.h"

namespace skyprobe::export_internal {

// Sets the fields of `out` that `app` has, the same values the JSON writer
// prints (export/json_app.cc).
void FillAppProto(const AppMeta& app, skyprobe::v1::Flow* out);

}  // namespace skyprobe::export_internal
