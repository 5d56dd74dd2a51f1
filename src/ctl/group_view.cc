// group_view.cc: see group_view.h.

#include "ctl/group_view.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ctl/flow_columns.h"
#include "ctl/text_table.h"
#include "ctl/units.h"
#include "export/json_lines.h"

namespace skyprobe::ctl {
namespace {

namespace v1 = ::skyprobe::v1;
using query::GroupRow;
using query::GroupValue;

v1::AggregateRequest MakeRequest(const CtlOptions& o, uint32_t limit) {
  v1::AggregateRequest q;
  q.set_expression(o.filter);
  for (const std::string& k : o.group_by) q.add_group_by(k);
  q.set_sort_by(o.sort_by);
  q.set_sort_order(o.sort_order);
  q.set_limit(limit);
  return q;
}

// A key's text in a table: addresses may be cut like the flows table's.
bool IsAddress(const std::string& key) {
  return key == "Network.A" || key == "Network.B" || key == "Link.A" || key == "Link.B";
}

}  // namespace

absl::Status GroupFlows(const CtlOptions& o, const Client& client, std::FILE* out) {
  absl::StatusOr<std::vector<const query::FieldInfo*>> fields = query::GroupFields(o.group_by);
  if (!fields.ok()) return fields.status();
  absl::StatusOr<query::GroupOrder> order = query::MakeGroupOrder(o.sort_by, o.sort_order, *fields);
  if (!order.ok()) return order.status();
  // One probe sorts and cuts itself. Several send every group: a group's
  // sums add up across probes, so a probe's first N are not the merged first N.
  const uint32_t limit = o.probes.size() == 1
                             ? static_cast<uint32_t>(std::min<uint64_t>(o.limit, query::kMaxGroups))
                             : 0;
  std::vector<std::string> keys;
  std::vector<GroupRow> rows;
  for (const std::string& probe : o.probes) {
    grpc::ClientContext ctx;
    client.Prepare(&ctx, true);
    v1::AggregateReply reply;
    grpc::Status s = client.Stub(probe)->Aggregate(&ctx, MakeRequest(o, limit), &reply);
    if (!s.ok()) return FromGrpc(o, probe, s);
    keys.assign(reply.group_by().begin(), reply.group_by().end());
    std::vector<GroupRow> mine;
    mine.reserve(reply.groups_size());
    for (const v1::FlowGroup& g : reply.groups()) mine.push_back(query::GroupFromProto(g));
    query::MergeGroups(std::move(mine), &rows);
  }
  if (o.probes.size() > 1 && rows.size() > query::kMaxGroups) {
    return GroupsOverflowError(query::kMaxGroups);
  }
  query::SortGroups(*order, &rows);
  if (o.limit != 0 && rows.size() > o.limit) rows.resize(o.limit);
  std::string text;
  if (o.format == "json") {
    text = GroupsJson(keys, rows);
  } else if (o.format == "csv") {
    text = GroupsCsv(keys, rows);
  } else {
    const size_t width = o.width >= 0 ? static_cast<size_t>(o.width) : TerminalWidth(fileno(out));
    text = GroupsTable(keys, rows, width);
  }
  std::fwrite(text.data(), 1, text.size(), out);
  return absl::OkStatus();
}

std::string GroupsTable(const std::vector<std::string>& keys, const std::vector<GroupRow>& rows,
                        size_t width) {
  std::vector<TableColumn> cols;
  for (const std::string& k : keys) {
    TableColumn c{k};
    if (IsAddress(k)) {
      c.shrink_to = 17;
      c.keep_tail = 6;
    }
    cols.push_back(std::move(c));
  }
  for (const char* h : {"FLOWS", "PACKETS", "BYTES", "ABBYTES", "BABYTES"}) {
    cols.push_back(TableColumn{h, true});
  }
  std::vector<std::vector<std::string>> cells;
  for (const GroupRow& r : rows) {
    std::vector<std::string> line;
    for (const GroupValue& v : r.key) {
      const std::string t = query::GroupValueText(v);
      line.push_back(t.empty() ? "-" : t);
    }
    const GroupSums& s = r.sums;
    line.push_back(HumanCount(s.flows));
    line.push_back(HumanCount(s.ab_packets + s.ba_packets));
    line.push_back(HumanBytes(s.ab_bytes + s.ba_bytes));
    line.push_back(HumanBytes(s.ab_bytes));
    line.push_back(HumanBytes(s.ba_bytes));
    cells.push_back(std::move(line));
  }
  return RenderTable(cols, cells, width);
}

std::string GroupsCsv(const std::vector<std::string>& keys, const std::vector<GroupRow>& rows) {
  std::string out;
  for (const std::string& k : keys) {
    AppendCsvField(k, &out);
    out.push_back(',');
  }
  out += "Flows,ABPackets,ABBytes,BAPackets,BABytes,Start,Last\n";
  for (const GroupRow& r : rows) {
    for (const GroupValue& v : r.key) {
      AppendCsvField(query::GroupValueText(v), &out);
      out.push_back(',');
    }
    const GroupSums& s = r.sums;
    absl::StrAppend(&out, s.flows, ",", s.ab_packets, ",", s.ab_bytes, ",", s.ba_packets, ",",
                    s.ba_bytes, ",", s.start, ",", s.last, "\n");
  }
  return out;
}

std::string GroupsJson(const std::vector<std::string>& keys, const std::vector<GroupRow>& rows) {
  std::string out;
  for (const GroupRow& r : rows) {
    out.push_back('{');
    for (size_t i = 0; i < keys.size() && i < r.key.size(); ++i) {
      AppendJsonString(keys[i], &out);
      out.push_back(':');
      const GroupValue& v = r.key[i];
      if (!v.present) {
        out += "null";
      } else if (v.is_int) {
        absl::StrAppend(&out, v.i);
      } else {
        AppendJsonString(v.s, &out);
      }
      out.push_back(',');
    }
    const GroupSums& s = r.sums;
    absl::StrAppend(&out, "\"Flows\":", s.flows, ",\"Packets\":", s.ab_packets + s.ba_packets,
                    ",\"Bytes\":", s.ab_bytes + s.ba_bytes, ",\"ABPackets\":", s.ab_packets,
                    ",\"ABBytes\":", s.ab_bytes, ",\"BAPackets\":", s.ba_packets,
                    ",\"BABytes\":", s.ba_bytes, ",\"Start\":", s.start, ",\"Last\":", s.last,
                    "}\n");
  }
  return out;
}

}  // namespace skyprobe::ctl
