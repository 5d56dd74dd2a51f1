// aggregate_runner.h: the work behind Aggregate (probe_service.proto), apart
// from gRPC so that it can be tested and reused: the request checked, the
// flows grouped by the backend (by the workers, on a probe), the groups
// sorted and cut to the limit.
//
// Owner: called on a gRPC thread; blocks on the backend (AggregateFlows).
//
//   v1::AggregateReply reply;
//   BudgetLease lease(&budget);  // or none: no bound
//   absl::Status s = RunAggregate(request, backend, &reply, &lease);
//
// Memory: the group table (kMaxGroups groups, about 2.7 MB) and the rows are
// taken from `lease`; without room, RESOURCE_EXHAUSTED before any work.
#pragma once

#include "absl/status/status.h"
#include "service/answer_budget.h"
#include "service/probe_backend.h"
#include "skyprobe/v1/probe_service.pb.h"

namespace skyprobe {

// Bad requests are INVALID_ARGUMENT naming the problem (an unknown or
// ungroupable key, too many keys, a bad sort, a limit above kMaxGroups);
// more than kMaxGroups groups is RESOURCE_EXHAUSTED.
absl::Status RunAggregate(const skyprobe::v1::AggregateRequest& request, ProbeBackend* backend,
                          skyprobe::v1::AggregateReply* out, BudgetLease* lease = nullptr);

}  // namespace skyprobe
