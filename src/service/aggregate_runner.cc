// aggregate_runner.cc: see aggregate_runner.h.

#include "service/aggregate_runner.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "query/compiled_filter.h"
#include "query/group_by.h"

namespace skyprobe {

absl::Status RunAggregate(const v1::AggregateRequest& q, ProbeBackend* backend,
                          v1::AggregateReply* out, BudgetLease* lease) {
  out->Clear();
  // Every check before any work on the workers.
  if (q.limit() > query::kMaxGroups) {
    return absl::InvalidArgumentError(absl::StrCat("limit: ", q.limit(),
                                                   " is more than the most groups an answer "
                                                   "holds, ",
                                                   query::kMaxGroups));
  }
  const std::string node_tid = backend->NodeTid();
  const std::shared_ptr<const CapturePoints> points = backend->Points();
  const std::vector<std::string> keys(q.group_by().begin(), q.group_by().end());
  absl::StatusOr<std::shared_ptr<const query::GroupBy>> grouper =
      query::GroupBy::Compile(keys, {.node_tid = node_tid, .points = points});
  if (!grouper.ok()) return grouper.status();
  absl::StatusOr<query::GroupOrder> order =
      query::MakeGroupOrder(q.sort_by(), q.sort_order(), (*grouper)->fields());
  if (!order.ok()) return order.status();
  absl::StatusOr<std::shared_ptr<const query::CompiledFilter>> filter =
      query::CompiledFilter::Compile(q.expression(), q.has_filter() ? &q.filter() : nullptr,
                                     {.node_tid = node_tid, .points = points});
  if (!filter.ok()) return filter.status();
  std::shared_ptr<const FlowPredicate> predicate;
  if (!(*filter)->MatchesAll()) predicate = *filter;

  // The table (and, later, about as much again in rows) from the budget.
  BudgetLease unbounded;
  if (lease == nullptr) lease = &unbounded;
  const uint64_t table_cost = static_cast<uint64_t>(query::kMaxGroups) * 2 * 280;
  if (!lease->Grow(table_cost)) return lease->Exhausted("the groups");
  GroupTable table(query::kMaxGroups);
  absl::Status s = backend->AggregateFlows(predicate, *grouper, &table);
  if (!s.ok()) return s;

  std::vector<query::GroupRow> rows;
  rows.reserve(table.size());
  uint64_t flows = 0;
  table.ForEach([&](std::string_view key, const GroupSums& sums) {
    rows.push_back(query::GroupRow{(*grouper)->Values(key), sums});
    flows += static_cast<uint64_t>(sums.flows);
  });
  query::SortGroups(*order, &rows);
  for (const query::FieldInfo* f : (*grouper)->fields()) {
    out->add_group_by(std::string(f->name.data(), f->name.size()));
  }
  out->set_total_groups(rows.size());
  out->set_total_flows(flows);
  const size_t n = q.limit() == 0 ? rows.size() : std::min<size_t>(rows.size(), q.limit());
  out->mutable_groups()->Reserve(static_cast<int>(n));
  for (size_t i = 0; i < n; ++i) query::GroupToProto(rows[i], out->add_groups());
  return absl::OkStatus();
}

}  // namespace skyprobe
