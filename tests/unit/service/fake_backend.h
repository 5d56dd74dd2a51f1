// fake_backend.h: a ProbeBackend over a list of snapshots, for the service
// tests and the fake probe that skyprobectl's tests talk to.
//
// Owner: test code only; thread-safe (gRPC threads call it, the test pushes).
//
//   FakeBackend backend("probe-1");
//   backend.AddFlow(TcpFlow(...), {packet});  backend.Push(update);
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "service/probe_backend.h"

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

  absl::Status VisitFlows(std::shared_ptr<const FlowPredicate> predicate,
                          const std::function<void(const FlowSnapshot&)>& visit) override {
    std::vector<FlowSnapshot> copy;
    {
      std::lock_guard<std::mutex> lock(mu_);
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

  absl::StatusOr<std::vector<RawPacketCopy>> RawPackets(uint64_t uuid) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = packets_.find(uuid);
    if (it == packets_.end()) return absl::NotFoundError("no such flow");
    return it->second;
  }

  StatsSnapshot Stats() override {
    StatsSnapshot s;
    std::lock_guard<std::mutex> lock(mu_);
    s.entries.push_back({"total", "flows", flows_.size()});
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
  std::mutex mu_;
  std::vector<FlowSnapshot> flows_;
  std::map<uint64_t, std::vector<RawPacketCopy>> packets_;
  std::map<uint64_t, std::function<void(const FlowSnapshot&)>> subscribers_;
  uint64_t next_id_ = 0;
  int flushes_ = 0;
};

// A minimal Ethernet/IPv4/UDP frame (for pcap export tests).
inline RawPacketCopy UdpPacket(int64_t ts_ns, int64_t index, uint8_t last_octet) {
  RawPacketCopy p;
  p.timestamp_ns = ts_ns;
  p.index = index;
  p.link_type = 1;
  std::string& d = p.data;
  const unsigned char eth[14] = {2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa, 0x08, 0x00};
  d.append(reinterpret_cast<const char*>(eth), sizeof(eth));
  const unsigned char ip[20] = {0x45, 0, 0,  28 + 4, 0, 1,          0,  0, 64, 17,
                                0,    0, 10, 0,      0, last_octet, 10, 0, 0,  1};
  d.append(reinterpret_cast<const char*>(ip), sizeof(ip));
  const unsigned char udp[8] = {0x30, 0x39, 0, 53, 0, 12, 0, 0};
  d.append(reinterpret_cast<const char*>(udp), sizeof(udp));
  d.append("abcd");
  p.wire_length = static_cast<uint32_t>(d.size());
  return p;
}

// The same packet as raw IPv4 (link type 228), to force pcapng.
inline RawPacketCopy RawIpPacket(int64_t ts_ns, int64_t index) {
  RawPacketCopy p = UdpPacket(ts_ns, index, 7);
  p.data = p.data.substr(14);
  p.wire_length = static_cast<uint32_t>(p.data.size());
  p.link_type = 228;
  return p;
}

}  // namespace skyprobe::testing
