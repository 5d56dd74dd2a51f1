// enhanced_predicate.h: a filter that reads fields the control lcore's
// enhancers add to records (CommunityID), evaluated on an enhanced copy of
// each candidate snapshot.
//
// Owner: built by ProbeBackendImpl::VisitFlows for one query; costly
// (FlowPredicate::costly), so the workers send the candidates (the UUID hint
// still applies there) and the requester's thread enhances and evaluates:
// enhancers never run on a worker. Allocation-free per evaluation.
//
//   auto p = std::make_shared<EnhancedPredicate>(std::move(filter), &enhance);
//   if (p->Matches(snapshot)) ...
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include "record/flow_predicate.h"

namespace skyprobe {

class EnhancedPredicate final : public FlowPredicate {
 public:
  // `enhance` outlives the predicate (it is the backend's).
  EnhancedPredicate(std::shared_ptr<const FlowPredicate> inner,
                    const std::function<void(FlowSnapshot*)>* enhance)
      : inner_(std::move(inner)), enhance_(enhance) {
    uuid_hint_ = inner_->uuid_hint();
    costly_ = true;
    reads_enhanced_fields_ = true;
  }

  bool Matches(const FlowSnapshot& s) const override {
    // One scratch copy per thread, reused: a fresh copy of a record with
    // application metadata allocates its 536-byte block (record/
    // app_meta_box.h), once per candidate flow of the query; assigning into
    // the scratch reuses the block it already has.
    thread_local FlowSnapshot copy;
    copy = s;
    (*enhance_)(&copy);
    return inner_->Matches(copy);
  }

 private:
  std::shared_ptr<const FlowPredicate> inner_;
  const std::function<void(FlowSnapshot*)>* enhance_;
};

}  // namespace skyprobe
