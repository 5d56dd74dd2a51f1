// flow_predicate.h: a test over flow snapshots, evaluated wherever flows live.
//
// Owner: built by the control plane (the query engine compiles filters into
// it), then immutable and shared: RX lcores evaluate it between bursts while
// answering queries, so Matches() must be thread-safe and should not allocate.
//
//   std::shared_ptr<const FlowPredicate> p =
//       *CompiledFilter::Compile("Transport.B = 53", nullptr, {});
//   if (p->Matches(snapshot)) ...
#pragma once

#include <cstdint>
#include <vector>

#include "record/flow_snapshot.h"

namespace skyprobe {

class FlowPredicate {
 public:
  virtual ~FlowPredicate() = default;
  virtual bool Matches(const FlowSnapshot& s) const = 0;

  // The UUIDs a matching flow must have, sorted and unique; empty: any. A
  // shard then skips every other flow on its UUID alone, without building a
  // snapshot (a query for one flow reads 8 bytes per table slot).
  const std::vector<uint64_t>& uuid_hint() const { return uuid_hint_; }
  bool MayMatchUuid(uint64_t uuid) const;

  // True when one evaluation may take longer than a worker's slice of query
  // work allows (regular expressions, thousands of terms): a shard then
  // evaluates only the UUID hint and sends every other candidate, and the
  // requester's thread calls Matches(). A worker's query time then stays
  // bounded whatever the filter; such a query is answered slower.
  bool costly() const { return costly_; }

  // True when it reads a field the control lcore's enhancers add to records
  // (CommunityID): a shard's own snapshot lacks it, so the requester
  // evaluates it on an enhanced copy (app/probe_backend_impl.cc).
  bool reads_enhanced_fields() const { return reads_enhanced_fields_; }

 protected:
  std::vector<uint64_t> uuid_hint_;
  bool costly_ = false;
  bool reads_enhanced_fields_ = false;
};

inline bool FlowPredicate::MayMatchUuid(uint64_t uuid) const {
  if (uuid_hint_.size() == 1) return uuid == uuid_hint_[0];
  size_t lo = 0, hi = uuid_hint_.size();
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (uuid_hint_[mid] < uuid) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < uuid_hint_.size() && uuid_hint_[lo] == uuid;
}

}  // namespace skyprobe
