// group_view.h: `skyprobectl flows --group-by KEY[,KEY...]`: one Aggregate
// call per probe (the probes' workers group their own flows), merged across
// probes (groups with equal keys add up), sorted, cut to --limit, printed as
// a table with human units, CSV or JSON lines.
//
// Owner: skyprobectl's main thread; the Groups* renderers are pure functions.
//
//   absl::Status s = GroupFlows(options, client, stdout);
//   std::fputs(GroupsCsv(keys, rows).c_str(), stdout);
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ctl/client.h"
#include "ctl/ctl_options.h"
#include "query/group_by.h"

namespace skyprobe::ctl {

absl::Status GroupFlows(const CtlOptions& o, const Client& client, std::FILE* out);

// The key columns, then FLOWS PACKETS BYTES ABBYTES BABYTES (totals in
// human units), absent values as "-". `width` as in RenderTable.
std::string GroupsTable(const std::vector<std::string>& keys,
                        const std::vector<query::GroupRow>& rows, size_t width);
// The keys, then Flows ABPackets ABBytes BAPackets BABytes Start Last, raw;
// an absent value is an empty field.
std::string GroupsCsv(const std::vector<std::string>& keys,
                      const std::vector<query::GroupRow>& rows);
// {"KEY": value, ..., "Flows": n, "Packets": n, "Bytes": n, "ABPackets": n,
// "ABBytes": n, "BAPackets": n, "BABytes": n, "Start": ms, "Last": ms};
// null for an absent value.
std::string GroupsJson(const std::vector<std::string>& keys,
                       const std::vector<query::GroupRow>& rows);

}  // namespace skyprobe::ctl
