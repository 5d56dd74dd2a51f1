// probe_backend_impl.h: ProbeBackend on a running probe (workers + control).
//
// Owner: created by the main thread before the lcores start. Query methods
// run on gRPC threads and are serialised by a mutex; they reach the workers
// only through their QueryPorts (answered between bursts); the sFlow source
// takes part as one more port, its done flag beside the workers'. Subscribers are
// fed by a FlowHandler on the control lcore (see Handler()).
//
//   ProbeBackendImpl backend(ports, done_flags, stats_fn, cfg.node_tid);
//   loop.AddHandler(backend.Handler());
//   auto server = StartGrpcServer(opts, &backend);
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "capture/query_port.h"
#include "capture/rx_worker.h"
#include "record/flow_handler.h"
#include "service/probe_backend.h"

namespace skyprobe {

class ProbeBackendImpl final : public ProbeBackend {
 public:
  // ports[i] is served by the producer whose done flag is done[i].
  ProbeBackendImpl(std::vector<QueryPort*> ports, std::vector<const std::atomic<bool>*> done,
                   std::function<StatsSnapshot()> stats, std::string node_tid,
                   std::shared_ptr<const CapturePoints> points = nullptr);

  absl::Status VisitFlows(std::shared_ptr<const FlowPredicate> predicate,
                          const std::function<void(const FlowSnapshot&)>& visit) override;
  // Each worker groups its own shard (QueryPort kAggregate); the groups are
  // merged here. A costly filter is grouped here from the snapshots.
  absl::Status AggregateFlows(std::shared_ptr<const FlowPredicate> predicate,
                              std::shared_ptr<const FlowGrouper> grouper, GroupTable* out) override;
  uint64_t Subscribe(std::function<void(const FlowSnapshot&)> on_record) override;
  void Unsubscribe(uint64_t id) override;
  absl::Status RawPackets(std::shared_ptr<const std::vector<uint64_t>> uuids,
                          const RawPacketVisitor& visit) override;
  StatsSnapshot Stats() override;
  absl::Status Flush() override;
  std::string NodeTid() const override { return node_tid_; }
  std::shared_ptr<const CapturePoints> Points() const override { return points_; }
  size_t LiveFlowsHint() const override { return live_flows_ ? live_flows_() : 0; }
  // Set once, before the service starts.
  void SetLiveFlows(std::function<size_t()> fn) { live_flows_ = std::move(fn); }
  // The enhancers records go through (CommunityID), for live answers: each
  // flow of an answer gets them on the gRPC thread, and a filter that reads
  // their fields is evaluated there on an enhanced copy. Called by one query
  // at a time (under the query mutex). Set once, before the service starts.
  void SetEnhancer(std::function<void(FlowSnapshot*)> fn) { enhance_ = std::move(fn); }

  // The control-loop handler that feeds subscribers (owned by the loop).
  std::unique_ptr<FlowHandler> Handler();

 private:
  // Starts a query on every port (`begin`), then polls each port
  // (`collect(i, abandon)`: true once port i has finished) until all have;
  // then `done`, still under query_mu_ (the ports' answers are stable).
  absl::Status RunOnWorkers(
      const std::function<void(QueryPort*)>& begin,
      const std::function<bool(size_t, const std::function<bool()>&)>& collect,
      const std::function<void()>& done = nullptr);
  // ... a kSnapshot or kFlush query.
  absl::Status RunOnWorkers(QueryPort::Kind kind, std::shared_ptr<const FlowPredicate> predicate,
                            const std::function<void(const FlowSnapshot&)>& visit);
  void Publish(const FlowSnapshot& s);

  std::vector<QueryPort*> ports_;
  std::vector<const std::atomic<bool>*> done_;
  std::function<StatsSnapshot()> stats_;
  std::string node_tid_;
  std::shared_ptr<const CapturePoints> points_;
  std::function<size_t()> live_flows_;
  std::function<void(FlowSnapshot*)> enhance_;
  std::mutex query_mu_;  // one query at a time on the workers' ports
  std::mutex subs_mu_;
  std::map<uint64_t, std::function<void(const FlowSnapshot&)>> subs_;
  std::atomic<size_t> subscribers_{0};  // subs_.size(), read without the lock
  uint64_t next_sub_ = 1;
};

}  // namespace skyprobe
