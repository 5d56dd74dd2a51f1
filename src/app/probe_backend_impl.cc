#include "app/probe_backend_impl.h"

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "app/enhanced_predicate.h"

namespace skyprobe {
namespace {

class SubscriberFeed final : public FlowHandler {
 public:
  explicit SubscriberFeed(std::function<void(const FlowSnapshot&)> publish)
      : publish_(std::move(publish)) {}
  void OnRecord(const FlowSnapshot& s) override { publish_(s); }

 private:
  std::function<void(const FlowSnapshot&)> publish_;
};

}  // namespace

ProbeBackendImpl::ProbeBackendImpl(std::vector<QueryPort*> ports,
                                   std::vector<const std::atomic<bool>*> done,
                                   std::function<StatsSnapshot()> stats, std::string node_tid,
                                   std::shared_ptr<const CapturePoints> points)
    : ports_(std::move(ports)),
      done_(std::move(done)),
      stats_(std::move(stats)),
      node_tid_(std::move(node_tid)),
      points_(std::move(points)) {}

absl::Status ProbeBackendImpl::RunOnWorkers(
    const std::function<void(QueryPort*)>& begin,
    const std::function<bool(size_t, const std::function<bool()>&)>& collect,
    const std::function<void()>& done) {
  std::lock_guard<std::mutex> lock(query_mu_);
  for (size_t i = 0; i < ports_.size(); ++i) {
    if (done_[i]->load(std::memory_order_acquire)) {
      return absl::UnavailableError(
          "the probe's input has ended and its flows were expired (run with --hold to "
          "query a finished capture)");
    }
  }
  for (QueryPort* p : ports_) begin(p);
  // Stops every port's query (a port whose worker is gone no longer matters).
  const auto stop_all = [&] {
    for (size_t i = 0; i < ports_.size(); ++i) ports_[i]->Cancel(done_[i]);
  };
  std::vector<bool> finished(ports_.size(), false);
  for (;;) {
    bool all = true;
    for (size_t i = 0; i < ports_.size(); ++i) {
      if (finished[i]) continue;
      // A costly filter is evaluated inside Collect, for as long as it takes:
      // it gives up there once the worker stopped (a signal) or the call
      // was cancelled (deadline, client gone).
      const std::function<bool()> abandon = [&] {
        return done_[i]->load(std::memory_order_acquire) || CallCancelScope::Cancelled();
      };
      finished[i] = collect(i, abandon);
      if (!finished[i]) {
        all = false;
        if (done_[i]->load(std::memory_order_acquire)) {
          stop_all();
          return absl::UnavailableError(absl::StrCat("worker ", i, " stopped during the query"));
        }
      }
    }
    if (all) {
      if (done) done();  // still under query_mu_: the ports' answers are stable
      return absl::OkStatus();
    }
    if (CallCancelScope::Cancelled()) {
      stop_all();
      return absl::CancelledError(
          "the call was cancelled (deadline passed or client gone): the query was stopped");
    }
    // Workers answer between bursts; a short sleep keeps this thread off the CPU.
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

absl::Status ProbeBackendImpl::RunOnWorkers(QueryPort::Kind kind,
                                            std::shared_ptr<const FlowPredicate> predicate,
                                            const std::function<void(const FlowSnapshot&)>& visit) {
  const auto noop = [](const FlowSnapshot&) {};
  return RunOnWorkers([&](QueryPort* p) { p->Begin(kind, predicate); },
                      [&](size_t i, const std::function<bool()>& abandon) {
                        return ports_[i]->Collect(visit ? visit : noop, &abandon);
                      });
}

absl::Status ProbeBackendImpl::VisitFlows(std::shared_ptr<const FlowPredicate> predicate,
                                          const std::function<void(const FlowSnapshot&)>& visit) {
  if (!enhance_) return RunOnWorkers(QueryPort::Kind::kSnapshot, std::move(predicate), visit);
  // Live answers carry what records carry: the enhancers' fields too.
  if (predicate != nullptr && predicate->reads_enhanced_fields()) {
    predicate = std::make_shared<EnhancedPredicate>(std::move(predicate), &enhance_);
  }
  FlowSnapshot copy;
  return RunOnWorkers(QueryPort::Kind::kSnapshot, std::move(predicate), [&](const FlowSnapshot& s) {
    copy = s;
    enhance_(&copy);
    visit(copy);
  });
}

absl::Status ProbeBackendImpl::AggregateFlows(std::shared_ptr<const FlowPredicate> predicate,
                                              std::shared_ptr<const FlowGrouper> grouper,
                                              GroupTable* out) {
  // A costly filter is not evaluated by workers (flow_predicate.h): they
  // ship the candidates, and this thread groups those that match.
  if (predicate != nullptr && predicate->costly()) {
    return ProbeBackend::AggregateFlows(std::move(predicate), std::move(grouper), out);
  }
  absl::Status merged;
  const auto noop = [](const FlowSnapshot&) {};
  absl::Status s =
      RunOnWorkers([&](QueryPort* p) { p->BeginAggregate(predicate, grouper, out->max_groups()); },
                   [&](size_t i, const std::function<bool()>& abandon) {
                     return ports_[i]->Collect(noop, &abandon);
                   },
                   [&] {  // under query_mu_: the ports' tables are stable
                     for (QueryPort* p : ports_) {
                       if (!merged.ok()) break;
                       if (p->group_key_too_long()) {
                         merged = GroupKeyTooLongError();
                       } else if (p->groups_overflow() || !out->Merge(p->groups())) {
                         merged = GroupsOverflowError(out->max_groups());
                       }
                     }
                   });
  return s.ok() ? merged : s;
}

absl::Status ProbeBackendImpl::Flush() {
  return RunOnWorkers(QueryPort::Kind::kFlush, nullptr, nullptr);
}

uint64_t ProbeBackendImpl::Subscribe(std::function<void(const FlowSnapshot&)> on_record) {
  std::lock_guard<std::mutex> lock(subs_mu_);
  const uint64_t id = next_sub_++;
  subs_.emplace(id, std::move(on_record));
  subscribers_.store(subs_.size(), std::memory_order_release);
  return id;
}

void ProbeBackendImpl::Unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> lock(subs_mu_);
  subs_.erase(id);
  subscribers_.store(subs_.size(), std::memory_order_release);
}

void ProbeBackendImpl::Publish(const FlowSnapshot& s) {
  // Control lcore: subscribers only queue the record (the service bounds it).
  // With none (the usual case) no lock is taken per record. A subscriber
  // added meanwhile gets records from the next one on, as it would had it
  // come a record later.
  if (subscribers_.load(std::memory_order_acquire) == 0) return;
  std::lock_guard<std::mutex> lock(subs_mu_);
  for (auto& [id, fn] : subs_) fn(s);
}

std::unique_ptr<FlowHandler> ProbeBackendImpl::Handler() {
  return std::make_unique<SubscriberFeed>([this](const FlowSnapshot& s) { Publish(s); });
}

absl::Status ProbeBackendImpl::RawPackets(std::shared_ptr<const std::vector<uint64_t>> uuids,
                                          const RawPacketVisitor& visit) {
  // The ports hand over their buffers as they fill (query_port_raw.cc); each
  // packet is copied out at once, so a flow's packets reach `visit` together.
  return RunOnWorkers(
      [&](QueryPort* p) { p->BeginRawPackets(uuids); },
      [&](size_t i, const std::function<bool()>&) {
        return ports_[i]->CollectRawPackets([&](uint64_t uuid, const RawPacketArena::Packet& pkt) {
          RawPacketCopy c;
          c.timestamp_ns = pkt.timestamp_ns;
          c.wire_length = pkt.wire_length;
          c.link_type = pkt.link_type;
          c.index = pkt.index;
          c.data.assign(reinterpret_cast<const char*>(pkt.data), pkt.caplen);
          visit(uuid, std::move(c));
        });
      });
}

StatsSnapshot ProbeBackendImpl::Stats() { return stats_(); }

}  // namespace skyprobe
