// flow_columns.cc: the columns of `skyprobectl flows` and its three formats.
// Flow-key columns read the flow with the query getters (query/flow_fields.h),
// so a column shows exactly what a filter on that key compares.

#include "ctl/flow_columns.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ctl/text_table.h"
#include "ctl/units.h"
#include "export/json_lines.h"
#include "record/flow_format.h"

namespace skyprobe::ctl {
namespace {

using query::FlowRow;

struct Named {
  const char* name;
  ColumnKind kind;
};
constexpr Named kNamed[] = {
    {"NODE", ColumnKind::kNode},   {"CAPTURE", ColumnKind::kCapture},
    {"APP", ColumnKind::kApp},     {"A", ColumnKind::kEndpointA},
    {"B", ColumnKind::kEndpointB}, {"PACKETS", ColumnKind::kPackets},
    {"BYTES", ColumnKind::kBytes}, {"START", ColumnKind::kStart},
    {"LAST", ColumnKind::kLast},   {"DURATION", ColumnKind::kDuration},
    {"RATE", ColumnKind::kRate},
};

FlowColumn Field(absl::string_view key) {
  const query::FieldInfo* f = query::FindField(key);
  return FlowColumn{std::string(f->name), ColumnKind::kField, f};
}

FlowColumn Named(ColumnKind kind) {
  for (const auto& n : kNamed) {
    if (n.kind == kind) return FlowColumn{n.name, kind, nullptr};
  }
  return FlowColumn{};
}

// Bits per second over the flow's life; false for a flow of one instant.
bool Rate(const FlowSnapshot& s, double* bps) {
  const int64_t ms = s.last - s.start;
  if (ms <= 0) return false;
  *bps =
      static_cast<double>(s.metric.ab_bytes + s.metric.ba_bytes) * 8000.0 / static_cast<double>(ms);
  return true;
}

bool HasSuffix(absl::string_view s, absl::string_view suffix) { return absl::EndsWith(s, suffix); }

// A flow key's value for people: bytes and packets in units, times in UTC.
std::string HumanField(const query::FieldInfo& f, const FlowRow& r) {
  const query::FlowView view = r.View();
  if (f.type == query::FieldType::kString) {
    std::string scratch;
    absl::string_view v;
    if (!query::GetStringField(f.id, view, &scratch, &v) || v.empty()) return "-";
    return std::string(v);
  }
  int64_t v = 0;
  if (!query::GetIntField(f.id, view, &v)) return "-";
  if (HasSuffix(f.name, "Bytes")) return HumanBytes(v);
  if (HasSuffix(f.name, "Packets")) return HumanCount(v);
  // Start, Last, Metric.Start, TCPMetric.ABSynStart...: Unix ms.
  if (HasSuffix(f.name, "Start") || HasSuffix(f.name, "Last")) return HumanTime(v);
  return absl::StrCat(v);
}

bool Numeric(const FlowColumn& c) {
  switch (c.kind) {
    case ColumnKind::kField:
      return c.field->type == query::FieldType::kInt;
    case ColumnKind::kStart:
    case ColumnKind::kLast:
    case ColumnKind::kDuration:
    case ColumnKind::kRate:
      return true;
    default:
      return false;
  }
}

// Shown as a UTC time in tables (left-aligned, as text).
bool IsTime(const FlowColumn& c) {
  if (c.kind == ColumnKind::kStart || c.kind == ColumnKind::kLast) return true;
  return c.kind == ColumnKind::kField && c.field->type == query::FieldType::kInt &&
         (HasSuffix(c.name, "Start") || HasSuffix(c.name, "Last"));
}

}  // namespace

std::string EndpointText(const FlowSnapshot& s, bool a) {
  std::string out;
  if (s.ip_version != 0) {
    const bool v6 = s.ip_version == 6;
    if (v6) out += '[';
    AppendIp(s.ip_version, a ? s.network_a : s.network_b, &out);
    if (v6) out += ']';
  } else if (s.has_link) {
    AppendMac(a ? s.link_a : s.link_b, &out);
  }
  if (s.transport != FlowProtocol::kEthernet) {
    absl::StrAppend(&out, ":", a ? s.transport_a : s.transport_b);
  }
  return out.empty() ? "-" : out;
}

absl::StatusOr<std::vector<FlowColumn>> ParseColumns(std::string_view list) {
  std::vector<FlowColumn> out;
  for (absl::string_view name : absl::StrSplit(absl::string_view(list.data(), list.size()), ',')) {
    name = absl::StripAsciiWhitespace(name);
    if (name.empty()) {
      return absl::InvalidArgumentError("--columns: an empty column name");
    }
    if (query::FindField(name) != nullptr) {
      out.push_back(Field(name));
      continue;
    }
    bool found = false;
    for (const auto& n : kNamed) {
      if (absl::EqualsIgnoreCase(name, n.name)) {
        out.push_back(Named(n.kind));
        found = true;
        break;
      }
    }
    if (!found) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--columns: ", query::UnknownKeyMessage(name),
          "; a column is a flow key (docs/query.md) or one of NODE, CAPTURE, APP, A, B, PACKETS, "
          "BYTES, START, LAST, DURATION, RATE"));
    }
  }
  return out;
}

std::vector<FlowColumn> DefaultTableColumns(bool with_node) {
  std::vector<FlowColumn> c;
  if (with_node) c.push_back(Named(ColumnKind::kNode));
  c.push_back(Field("UUID"));
  for (ColumnKind k :
       {ColumnKind::kApp, ColumnKind::kEndpointA, ColumnKind::kEndpointB, ColumnKind::kPackets,
        ColumnKind::kBytes, ColumnKind::kStart, ColumnKind::kDuration}) {
    c.push_back(Named(k));
  }
  return c;
}

std::vector<FlowColumn> DefaultCsvColumns() {
  std::vector<FlowColumn> c;
  for (const char* key : {"UUID", "NodeTID", "LayersPath", "Application", "Network.A", "Network.B",
                          "Transport.A", "Transport.B", "Metric.ABPackets", "Metric.BAPackets",
                          "Metric.ABBytes", "Metric.BABytes", "Start", "Last"}) {
    c.push_back(Field(key));
  }
  return c;
}

std::string HumanCell(const FlowColumn& c, const FlowRow& r) {
  const FlowSnapshot& s = r.snap;
  switch (c.kind) {
    case ColumnKind::kField:
      return HumanField(*c.field, r);
    case ColumnKind::kNode:
      return r.node_tid.empty() ? "-" : r.node_tid;
    case ColumnKind::kCapture:
      return r.capture_id.empty() ? "-" : r.capture_id;
    case ColumnKind::kApp: {
      const std::string_view app = ApplicationName(s);
      return app.empty() ? "-" : std::string(app);
    }
    case ColumnKind::kEndpointA:
      return EndpointText(s, true);
    case ColumnKind::kEndpointB:
      return EndpointText(s, false);
    case ColumnKind::kPackets:
      return absl::StrCat(HumanCount(s.metric.ab_packets), "/", HumanCount(s.metric.ba_packets));
    case ColumnKind::kBytes:
      return absl::StrCat(HumanBytes(s.metric.ab_bytes), "/", HumanBytes(s.metric.ba_bytes));
    case ColumnKind::kStart:
      return HumanTime(s.start);
    case ColumnKind::kLast:
      return HumanTime(s.last);
    case ColumnKind::kDuration:
      return HumanDuration(s.last - s.start);
    case ColumnKind::kRate: {
      double bps = 0;
      return Rate(s, &bps) ? HumanRate(bps) : "-";
    }
  }
  return "-";
}

std::string RawCell(const FlowColumn& c, const FlowRow& r, bool* present, bool* number) {
  const FlowSnapshot& s = r.snap;
  *present = true;
  *number = Numeric(c);
  switch (c.kind) {
    case ColumnKind::kField: {
      const query::FlowView view = r.View();
      if (c.field->type == query::FieldType::kInt) {
        int64_t v = 0;
        *present = query::GetIntField(c.field->id, view, &v);
        return *present ? absl::StrCat(v) : std::string();
      }
      std::string scratch;
      absl::string_view v;
      *present = query::GetStringField(c.field->id, view, &scratch, &v);
      return *present ? std::string(v) : std::string();
    }
    case ColumnKind::kNode:
      return r.node_tid;
    case ColumnKind::kCapture:
      *present = !r.capture_id.empty();
      return r.capture_id;
    case ColumnKind::kApp:
      return std::string(ApplicationName(s));
    case ColumnKind::kEndpointA:
      return EndpointText(s, true);
    case ColumnKind::kEndpointB:
      return EndpointText(s, false);
    case ColumnKind::kPackets:
      return absl::StrCat(s.metric.ab_packets, "/", s.metric.ba_packets);
    case ColumnKind::kBytes:
      return absl::StrCat(s.metric.ab_bytes, "/", s.metric.ba_bytes);
    case ColumnKind::kStart:
      return absl::StrCat(s.start);
    case ColumnKind::kLast:
      return absl::StrCat(s.last);
    case ColumnKind::kDuration:
      return absl::StrCat(s.last - s.start);
    case ColumnKind::kRate: {
      double bps = 0;
      *present = Rate(s, &bps);
      return *present ? absl::StrCat(std::llround(bps)) : std::string();
    }
  }
  return std::string();
}

std::vector<TableColumn> TableColumns(const std::vector<FlowColumn>& cols) {
  std::vector<TableColumn> t;
  for (const FlowColumn& c : cols) {
    TableColumn tc{c.name};
    tc.right = Numeric(c) && !IsTime(c);
    // Addresses may be cut in the middle to fit a terminal: an IPv6 endpoint
    // keeps its head, its last groups and ":port".
    const bool endpoint = c.kind == ColumnKind::kEndpointA || c.kind == ColumnKind::kEndpointB;
    const bool address =
        c.kind == ColumnKind::kField &&
        (c.field->id == query::FieldId::kNetworkA || c.field->id == query::FieldId::kNetworkB);
    if (endpoint || address) {
      tc.shrink_to = 21;  // "255.255.255.255:65535": an IPv4 endpoint is never cut
      tc.keep_tail = endpoint ? 11 : 5;
    }
    if (c.kind == ColumnKind::kNode || c.kind == ColumnKind::kCapture) tc.shrink_to = 12;
    t.push_back(std::move(tc));
  }
  return t;
}

std::string FlowsTable(const std::vector<FlowColumn>& cols, const std::vector<FlowRow>& rows,
                       size_t width) {
  const std::vector<TableColumn> t = TableColumns(cols);
  std::vector<std::vector<std::string>> cells;
  cells.reserve(rows.size());
  for (const FlowRow& r : rows) {
    std::vector<std::string> line;
    line.reserve(cols.size());
    for (const FlowColumn& c : cols) line.push_back(HumanCell(c, r));
    cells.push_back(std::move(line));
  }
  return RenderTable(t, cells, width);
}

void AppendCsvField(std::string_view text, std::string* out) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(text);
    return;
  }
  out->push_back('"');
  for (const char ch : text) {
    if (ch == '"') out->push_back('"');
    out->push_back(ch);
  }
  out->push_back('"');
}

std::string FlowsCsv(const std::vector<FlowColumn>& cols, const std::vector<FlowRow>& rows) {
  std::string out;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendCsvField(cols[i].name, &out);
  }
  out.push_back('\n');
  for (const FlowRow& r : rows) {
    for (size_t i = 0; i < cols.size(); ++i) {
      if (i > 0) out.push_back(',');
      bool present = false, number = false;
      AppendCsvField(RawCell(cols[i], r, &present, &number), &out);
    }
    out.push_back('\n');
  }
  return out;
}

std::string FlowsJsonColumns(const std::vector<FlowColumn>& cols,
                             const std::vector<FlowRow>& rows) {
  std::string out;
  for (const FlowRow& r : rows) {
    out.push_back('{');
    for (size_t i = 0; i < cols.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendJsonString(cols[i].name, &out);
      out.push_back(':');
      bool present = false, number = false;
      const std::string v = RawCell(cols[i], r, &present, &number);
      if (!present) {
        out += "null";
      } else if (number) {
        out += v;
      } else {
        AppendJsonString(v, &out);
      }
    }
    out += "}\n";
  }
  return out;
}

}  // namespace skyprobe::ctl
