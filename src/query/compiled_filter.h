// compiled_filter.h: a Filter (probe_service.proto) and/or a filter expression
// compiled into an immutable FlowPredicate.
//
// Owner: built on a gRPC thread, then shared read-only (std::shared_ptr<const>)
// with whoever evaluates it: gRPC threads, the control lcore (subscriptions) or
// a worker lcore between bursts. Matches() takes no lock and, but for regular
// expressions over formatted text, does not allocate: literals are decoded
// once (an IP address into bytes, a UUID into an integer, an enum name into
// its value), other strings are formatted into a thread-local buffer.
//
//   SKYPROBE_ASSIGN_OR_RETURN(auto pred, CompiledFilter::Compile(
//       query.expression(), &query.filter(), {.node_tid = backend->NodeTid()}));
//   backend->VisitFlows(pred, ...);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "query/flow_fields.h"
#include "record/capture_points.h"
#include "record/flow_predicate.h"
#include "skyprobe/v1/probe_service.pb.h"

namespace skyprobe::query {

// Record context of the probe the filter runs on (NodeTID and CaptureID are
// not part of a snapshot: a record's capture point in `points` gives them,
// else these).
struct FilterContext {
  std::string node_tid;
  std::string capture_id;
  std::shared_ptr<const CapturePoints> points;  // may be null
};

class CompiledFilter final : public FlowPredicate {
 public:
  struct Node;

  // `expression` (may be empty) is parsed with ParseFilterExpression;
  // `filter` (may be null or empty) is the structured form. Both given: a
  // flow must match both. Errors are INVALID_ARGUMENT naming the problem.
  static absl::StatusOr<std::shared_ptr<const CompiledFilter>> Compile(
      absl::string_view expression, const skyprobe::v1::Filter* filter, FilterContext ctx);

  ~CompiledFilter() override;

  bool Matches(const FlowSnapshot& s) const override;
  // With another probe's context (the FlowView's NodeTID wins over ours).
  bool MatchesView(const FlowView& v) const;

  // True when every flow matches (no filter at all).
  bool MatchesAll() const;

 private:
  CompiledFilter(std::unique_ptr<Node> root, FilterContext ctx);

  std::unique_ptr<Node> root_;
  FilterContext ctx_;
};

}  // namespace skyprobe::query
