// json_lines.h: a FlowSnapshot as one line of JSON (the "JSON lines" export).
//
// Owner: control lcore (exporters, the stdout sink). Hand-written for speed: no
// protobuf reflection, no exceptions, appends to a caller-owned buffer that is
// reused from record to record.
//
//   JsonContext ctx{.node_tid = cfg.node_tid};
//   AppendFlowJson(*snap, ctx, &buf);  // buf += "{...}\n"
//
// The object is the protobuf JSON mapping of skyprobe.v1.Flow (flow.proto)
// with Skydive's field names, except that int64 values are JSON numbers, as
// Skydive writes them. Omission rules are Skydive's (its protobuf JSON form):
//   - ParentUUID, Start, Last, RawPacketsCaptured and every int64 inside a
//     written sub-message are always present; so are Event and ExpireReason,
//     which a consumer switches on;
//   - strings (other than ParentUUID), uint32 values (TTLs, ICMP Code/ID) and
//     RTT are omitted when empty or 0; FinishType when NOT_FINISHED;
//   - a sub-message is written only when the snapshot has that layer/metric.
// Enums are written by name ("IPV4", "ECHO", "TCP_FIN"). Skydive writes
// FinishType as a number; the protobuf mapping (and so skyprobe) by name.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "record/capture_points.h"
#include "record/flow_snapshot.h"

namespace skyprobe {

// Per-exporter values that are not part of a snapshot. A record's capture
// point (FlowSnapshot::input, looked up in `points`) gives its NodeTID and
// CaptureID; `node_tid` and `capture_id` are for records of no known point.
struct JsonContext {
  std::string node_tid;    // NodeTID: topology id of the capture node (user input)
  std::string capture_id;  // CaptureID: id of the capture (user input)
  std::shared_ptr<const CapturePoints> points;  // may be null
};

// Appends one JSON object for `s` and a '\n' to `out`.
void AppendFlowJson(const FlowSnapshot& s, const JsonContext& ctx, std::string* out);

// Appends `text` as a JSON string literal, quotes included. Control characters
// are escaped; bytes that are not valid UTF-8 become U+FFFD, so the output is
// always valid JSON whatever the input (NodeTID comes from the user).
void AppendJsonString(std::string_view text, std::string* out);

}  // namespace skyprobe
