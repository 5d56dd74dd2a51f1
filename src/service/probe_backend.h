// probe_backend.h: what the gRPC service asks of a running probe.
//
// Owner: implemented by the control side of the probe (src/app wires the
// control loop and the workers' request rings behind it); called from gRPC
// threads, which may block on it but never see worker memory: every flow
// arrives as a FlowSnapshot copy. A fake implementation serves the service's
// tests.
//
//   backend->VisitFlows(filter, [&](const FlowSnapshot& s) { set.push_back(s); });
//   auto id = backend->Subscribe([&](const FlowSnapshot& s) { stream.Write(s); });
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "record/capture_points.h"
#include "record/flow_groups.h"
#include "record/flow_predicate.h"
#include "record/flow_snapshot.h"
#include "record/raw_packet.h"  // RawPacketCopy

namespace skyprobe {

// Counters for Stats(): name -> value, per lcore and per port.
struct StatsSnapshot {
  struct Entry {
    std::string scope;  // "total", "worker0", "port0", "control"
    std::string name;   // "packets_in", "drop_table_full", ...
    uint64_t value = 0;
  };
  std::vector<Entry> entries;
};

// Whether the call a gRPC thread is serving was cancelled (its deadline
// passed, the client went away): the service sets a check around the call,
// a backend blocked for it (a long query) polls Cancelled() and gives up.
// One per thread, nested scopes restore the outer one.
//
//   CallCancelScope scope([ctx] { return ctx->IsCancelled(); });   // service
//   if (CallCancelScope::Cancelled()) return absl::CancelledError(...);  // backend
class CallCancelScope {
 public:
  explicit CallCancelScope(std::function<bool()> cancelled)
      : cancelled_(std::move(cancelled)), outer_(current_) {
    current_ = &cancelled_;
  }
  ~CallCancelScope() { current_ = outer_; }
  CallCancelScope(const CallCancelScope&) = delete;
  CallCancelScope& operator=(const CallCancelScope&) = delete;

  static bool Cancelled() { return current_ != nullptr && (*current_)(); }

 private:
  std::function<bool()> cancelled_;
  const std::function<bool()>* outer_;
  static inline thread_local const std::function<bool()>* current_ = nullptr;
};

class ProbeBackend {
 public:
  virtual ~ProbeBackend() = default;

  // Calls `visit` for every live flow (of every worker shard) that matches
  // `predicate` (null: all). Blocks until every shard has answered, or the
  // call is cancelled (CallCancelScope: CANCELLED); RX does not stop.
  // `visit` runs on the calling thread.
  virtual absl::Status VisitFlows(std::shared_ptr<const FlowPredicate> predicate,
                                  const std::function<void(const FlowSnapshot&)>& visit) = 0;

  // Counts the live flows that match `predicate` (null: all) by the groups
  // of `grouper` into `out` (empty on entry). RESOURCE_EXHAUSTED when they
  // make more than out->max_groups() groups or a key does not encode. This
  // default groups VisitFlows' snapshots on the calling thread; the probe's
  // backend has its workers group their own shards.
  virtual absl::Status AggregateFlows(std::shared_ptr<const FlowPredicate> predicate,
                                      std::shared_ptr<const FlowGrouper> grouper, GroupTable* out) {
    GroupKey key;
    key.scratch.reserve(256);
    absl::Status stopped;
    absl::Status s = VisitFlows(std::move(predicate), [&](const FlowSnapshot& snap) {
      if (!stopped.ok()) return;
      if (!grouper->Key(snap, &key)) {
        stopped = GroupKeyTooLongError();
      } else if (!out->Add(key, snap.metric)) {
        stopped = GroupsOverflowError(out->max_groups());
      }
    });
    return s.ok() ? stopped : s;
  }

  // Live update/expire records, after the enhancers ran. The callback runs
  // on the control lcore: it must be quick and must not block (queue and
  // return). Returns an id for Unsubscribe.
  virtual uint64_t Subscribe(std::function<void(const FlowSnapshot&)> on_record) = 0;
  virtual void Unsubscribe(uint64_t id) = 0;

  // The raw packets kept for the flows `uuids` (sorted, no repeats) that live
  // or recently expired: `visit` gets each flow's packets in capture order,
  // one flow after another, on the calling thread (none when capture is off;
  // a flow gone meanwhile has none). Blocks like VisitFlows.
  using RawPacketVisitor = std::function<void(uint64_t uuid, RawPacketCopy&& packet)>;
  virtual absl::Status RawPackets(std::shared_ptr<const std::vector<uint64_t>> uuids,
                                  const RawPacketVisitor& visit) = 0;

  virtual StatsSnapshot Stats() = 0;

  // Expires every live flow now (final records go to the handlers).
  virtual absl::Status Flush() = 0;

  // About how many flows are live (a query reserves room for its answer):
  // read without synchronisation, may be stale; 0 when unknown.
  virtual size_t LiveFlowsHint() const { return 0; }

  // NodeTID and other record context the service needs to format flows.
  virtual std::string NodeTid() const = 0;
  // The capture points, whose NodeTID and CaptureID records of theirs carry
  // (null: none, every record takes NodeTid()).
  virtual std::shared_ptr<const CapturePoints> Points() const { return nullptr; }
};

}  // namespace skyprobe
