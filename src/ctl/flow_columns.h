// flow_columns.h: what `skyprobectl flows` prints of each flow: the columns
// (--columns: any flow key, or a column made for people: A, B, PACKETS,
// BYTES, START, DURATION, RATE, ...) in three formats (--format): an aligned
// table with human units, CSV (RFC 4180) and JSON lines, both with the raw
// values.
//
// Owner: skyprobectl's main thread; pure functions of the rows.
//
//   SKYPROBE_ASSIGN_OR_RETURN(std::vector<FlowColumn> cols, ParseColumns("A,B,BYTES"));
//   std::fputs(FlowsTable(cols, rows, 80).c_str(), stdout);
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ctl/text_table.h"
#include "query/flow_fields.h"
#include "query/result_set.h"

namespace skyprobe::ctl {

enum class ColumnKind : uint8_t {
  kField,      // a flow key ("Network.A", "Metric.ABBytes"): its value
  kNode,       // NODE: NodeTID
  kCapture,    // CAPTURE: CaptureID
  kApp,        // APP: Application
  kEndpointA,  // A: address (or MAC) and port of A, "[2001:db8::1]:443"
  kEndpointB,  // B
  kPackets,    // PACKETS: A to B / B to A
  kBytes,      // BYTES: A to B / B to A
  kStart,      // START: when the flow began (UTC in tables, Unix ms raw)
  kLast,       // LAST: its last packet
  kDuration,   // DURATION: Last - Start (ms raw)
  kRate,       // RATE: both directions' bits over the flow's duration, per second
};

struct FlowColumn {
  std::string name;  // as printed in headers and JSON keys
  ColumnKind kind = ColumnKind::kField;
  const query::FieldInfo* field = nullptr;  // kField
};

// "A,B,Metric.ABBytes": flow keys as in --sort (docs/query.md), or the names
// above (case-insensitive). INVALID_ARGUMENT naming the unknown column.
absl::StatusOr<std::vector<FlowColumn>> ParseColumns(std::string_view list);

// UUID APP A B PACKETS BYTES START DURATION (NODE first with several probes).
std::vector<FlowColumn> DefaultTableColumns(bool with_node);
// Flow keys, one value each: UUID NodeTID LayersPath Application Network.A
// Network.B Transport.A Transport.B Metric.ABPackets Metric.BAPackets
// Metric.ABBytes Metric.BABytes Start Last.
std::vector<FlowColumn> DefaultCsvColumns();

// The cell of a column for people (human units) and raw (CSV, JSON: numbers
// as decimal text). Absent (an ICMP flow's Transport.A): "-" for people, ""
// raw (`*present` false). `*number`: the raw value is a number (JSON writes
// it bare).
std::string HumanCell(const FlowColumn& c, const query::FlowRow& r);
std::string RawCell(const FlowColumn& c, const query::FlowRow& r, bool* present, bool* number);

// How a table lays the columns out: numbers right-aligned, addresses (and
// NodeTID, CaptureID) may be cut to fit.
std::vector<TableColumn> TableColumns(const std::vector<FlowColumn>& cols);

// The whole answer in each format. `width`: see RenderTable (0: no limit).
std::string FlowsTable(const std::vector<FlowColumn>& cols, const std::vector<query::FlowRow>& rows,
                       size_t width);
// A header line of the column names, then one record per flow, CRLF-free
// ("\n"), fields quoted when they hold a comma, a quote or a line break.
std::string FlowsCsv(const std::vector<FlowColumn>& cols, const std::vector<query::FlowRow>& rows);
// One JSON object per flow: {"column": value, ...}, null for absent values.
std::string FlowsJsonColumns(const std::vector<FlowColumn>& cols,
                             const std::vector<query::FlowRow>& rows);

// One CSV field (RFC 4180 quoting).
void AppendCsvField(std::string_view text, std::string* out);

// "[2001:db8::1]:443", "10.0.0.1:80", a MAC, or "-".
std::string EndpointText(const FlowSnapshot& s, bool a);

}  // namespace skyprobe::ctl
