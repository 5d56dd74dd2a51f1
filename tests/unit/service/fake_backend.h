// fake_backend.h: a ProbeBackend over a list of snapshots, for the service
// tests and the fake probe that skyprobectl's tests talk to.
//
// Owner: test code only; thread-safe (gRPC threads call it, the test pushes).
//
//   FakeBackend backend("probe-1");
//   backend.AddFlow(TcpFlow(...), {packet});  backend.Push(update);
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "service/probe_backend.h"
#include "tests/unit/record/test_packets.h"  // UdpPacket, RawIpPacket for AddFlow

namespace skyprobe::testing {

class FakeBackend final : public ProbeBackend {
 public:
  explicit FakeBackend(std::string node_tid) : node_tid_(std::move(node_tid)) {}

  void AddFlow(const FlowSnapshot& s, std::vector<RawPacketCopy> packets = {}) {
    std::lock_guard<std::mutex> lock(mu_);
    flows_.push_back(s);
    packets_[s.uuid] = std::move(packets);
  }

  // Delivers a record to every subscriber, as the control lcore would.
  void Push(const FlowSnapshot& s) {
    std::map<uint64_t, std::function<void(const FlowSnapshot&)>> subs;
    {
      std::lock_guard<std::mutex> lock(mu_);
      subs = subscribers_;
    }
    for (auto& [id, cb] : subs) cb(s);
  }

  size_t subscriber_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return subscribers_.size();
  }
  int flush_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return flushes_;
  }

  // While held, VisitFlows waits: the query that called it stays in progress.
  void HoldVisits(bool hold) {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = hold;
    released_.notify_all();
  }
  int visits_waiting() {
    std::lock_guard<std::mutex> lock(mu_);
    return waiting_;
  }

  absl::Status VisitFlows(std::shared_ptr<const FlowPredicate> predicate,
                          const std::function<void(const FlowSnapshot&)>& visit) override {
    std::vector<FlowSnapshot> copy;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++waiting_;
      released_.wait(lock, [this] { return !held_; });
      --waiting_;
      copy = flows_;
    }
    for (const FlowSnapshot& s : copy) {
      if (predicate == nullptr || predicate->Matches(s)) visit(s);
    }
    return absl::OkStatus();
  }

  uint64_t Subscribe(std::function<void(const FlowSnapshot&)> on_record) override {
    std::lock_guard<std::mutex> lock(mu_);
    subscribers_[++next_id_] = std::move(on_record);
    return next_id_;
  }

  void Unsubscribe(uint64_t id) override {
    std::lock_guard<std::mutex> lock(mu_);
    subscribers_.erase(id);
  }

  absl::Status RawPackets(std::shared_ptr<const std::vector<uint64_t>> uuids,
                          const RawPacketVisitor& visit) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint64_t uuid : *uuids) {
      auto it = packets_.find(uuid);
      if (it == packets_.end()) continue;
      for (RawPacketCopy p : it->second) visit(uuid, std::move(p));
    }
    return absl::OkStatus();
  }

  // Counters that grow by a fixed step at every call (n = calls so far), so
  // that skyprobectl's rates can be checked: packets_in 1000 n, bytes_in
  // 64000 n, drop_table_full 5 n, port_imissed 2 n, drop_parse_too_short 0,
  // flows_live 7, output.kafka records 100 n, records_lost n.
  StatsSnapshot Stats() override {
    StatsSnapshot s;
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t n = ++stats_calls_;
    s.entries.push_back({"total", "flows", flows_.size()});
    s.entries.push_back({"total", "packets_in", 1000 * n});
    s.entries.push_back({"total", "bytes_in", 64000 * n});
    s.entries.push_back({"total", "flows_live", 7});
    s.entries.push_back({"total", "drop_parse_too_short", 0});
    s.entries.push_back({"total", "drop_table_full", 5 * n});
    s.entries.push_back({"total", "port_imissed", 2 * n});
    s.entries.push_back({"output.kafka", "records", 100 * n});
    s.entries.push_back({"output.kafka", "records_lost", n});
    s.entries.push_back({"output.kafka", "output_errors", 0});
    return s;
  }

  absl::Status Flush() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++flushes_;
    return absl::OkStatus();
  }

  std::string NodeTid() const override { return node_tid_; }

 private:
  const std::string node_tid_;
  uint64_t stats_calls_ = 0;
  std::mutex mu_;
  std::condition_variable released_;
  bool held_ = false;
  int waiting_ = 0;
  std::vector<FlowSnapshot> flows_;
  std::map<uint64_t, std::vector<RawPacketCopy>> packets_;
  std::map<uint64_t, std::function<void(const FlowSnapshot&)>> subscribers_;
  uint64_t next_id_ = 0;
  int flushes_ = 0;
};

}  // namespace skyprobe::testing
