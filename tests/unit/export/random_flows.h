// random_flows.h: random FlowSnapshots and strings for the JSON writer's
// reference test: values at the edges as often as in the middle.
//
// Owner: test code only.
//
//   std::mt19937_64 rng(1); testing::RandomFlows gen(&rng);
//   FlowSnapshot s = gen.Flow();  std::string tid = gen.Text();
#pragma once

#include <climits>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>

#include "record/flow_snapshot.h"

namespace skyprobe::testing {

class RandomFlows {
 public:
  explicit RandomFlows(std::mt19937_64* rng) : rng_(rng) {}

  uint64_t Below(uint64_t n) { return (*rng_)() % n; }
  bool Coin() { return Below(2) == 0; }

  // 0, small, an int64 edge, a 13-digit time, or any 64-bit pattern.
  int64_t Int() {
    switch (Below(7)) {
      case 0:
        return 0;
      case 1:
        return static_cast<int64_t>(Below(1000)) - 500;
      case 2:
        return INT64_MAX - static_cast<int64_t>(Below(3));
      case 3:
        return INT64_MIN + static_cast<int64_t>(Below(3));
      case 4:
        return 1700000000000 + static_cast<int64_t>(Below(100000000000));
      case 5:  // around a power of ten: every digit count
        return Pow10(Below(19)) - static_cast<int64_t>(Below(3));
      default:
        return static_cast<int64_t>((*rng_)() >> Below(64));
    }
  }
  uint64_t Hex() { return (*rng_)() >> Below(65 - 1) >> (Coin() ? 0 : 1); }

  // Bytes that exercise the escaper: ASCII, control bytes, '"', '\\', valid
  // 2-4 byte UTF-8 and invalid sequences; now and then long (past 4 KiB of
  // escaped text).
  std::string Text() {
    const size_t n = Below(10) == 0 ? 500 + Below(3000) : Below(24);
    if (n >= 500) ++long_texts_;
    std::string t;
    while (t.size() < n) {
      switch (Below(12)) {
        case 0:
          t += static_cast<char>(Below(0x20));
          break;
        case 1:
          t += Coin() ? '"' : '\\';
          break;
        case 2:
          t += "\xc3\xa9";  // é
          break;
        case 3:
          t += Coin() ? "\xe2\x82\xac" : "\xf0\x9f\x98\x80";  // € 😀
          break;
        case 4:  // invalid: overlong, surrogate, above U+10FFFF, stray continuation
          t += std::string(Pick({"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "\xff"}));
          break;
        case 5:  // truncated sequences
          t += std::string(Pick({"\xe2\x82", "\xf0\x9f", "\xc3"}));
          break;
        case 6:
          t += static_cast<char>(0x80 + Below(0x80));  // any high byte
          break;
        default:
          t += static_cast<char>(0x20 + Below(0x5f));
      }
    }
    return t;
  }
  int long_texts() const { return long_texts_; }

  FlowSnapshot Flow() {
    FlowSnapshot s;
    s.event = static_cast<FlowEvent>(Below(3));
    s.expire_reason = static_cast<ExpireReason>(Below(7));
    s.finish_type = static_cast<FinishType>(Below(5));
    s.uuid = Hex(), s.parent_uuid = Hex(), s.has_parent = Coin();
    s.tracking_id = Hex(), s.l3_tracking_id = Hex();
    s.num_layers = static_cast<uint8_t>(Below(5) == 0 ? Below(256) : Below(6));
    for (Layer& l : s.layers) l = static_cast<Layer>(Below(Coin() ? 256 : 10));
    s.has_link = Coin();
    for (int i = 0; i < 6; ++i) s.link_a[i] = Byte(), s.link_b[i] = Byte();
    s.link_id = Int();
    s.ip_version = static_cast<uint8_t>(Pick({0, 4, 6, 6, 5}));
    Address(s.network_a), Address(s.network_b);
    s.network_id = Int();
    s.transport = static_cast<FlowProtocol>(Below(10));
    s.transport_a = static_cast<uint16_t>(Below(65536)), s.transport_b = Coin() ? 0 : 65535;
    s.icmp_version = static_cast<uint8_t>(Below(3));
    s.icmp_type = static_cast<IcmpType>(Below(20));
    s.icmp_code = Byte(), s.icmp_id = static_cast<uint16_t>(Coin() ? 0 : Below(65536));
    s.start = Int(), s.last = Int();
    Metric(&s.metric);
    s.has_last_update_metric = Coin();
    Metric(&s.last_update_metric);
    s.raw_packets_captured = Int();
    s.has_tcp_metric = Coin();
    Tcp(&s.tcp_metric);
    s.has_ip_metric = Coin();
    s.ip_metric = {Int(), Int()};
    s.has_scaled_metric = Coin();
    s.scaled_metric = {Int(), Int(), Int(), Int(), Int()};
    if (Below(4) == 0) {  // the record's own NodeTID (an sFlow agent's)
      const std::string t = Text().substr(0, kRecordNodeTidMax - 1);
      std::memcpy(s.node_tid, t.c_str(), t.size() + 1);
    }
    const std::string c = Text();  // CommunityID: up to all 64 bytes, unterminated
    std::memcpy(s.community_id, c.data(), std::min(c.size(), sizeof(s.community_id)));
    return s;
  }

 private:
  static int64_t Pow10(uint64_t e) {
    int64_t v = 1;
    while (e-- > 0) v *= 10;
    return v;
  }
  template <typename T>
  T Pick(std::initializer_list<T> v) {
    return *(v.begin() + Below(v.size()));
  }
  uint8_t Byte() { return static_cast<uint8_t>(Coin() ? 0 : Below(256)); }
  // Zero groups half the time (runs for "::"), sometimes an IPv4-mapped one.
  void Address(uint8_t* a) {
    for (int i = 0; i < 16; i += 2) {
      const bool zero = Coin();
      a[i] = zero ? 0 : Byte(), a[i + 1] = zero ? 0 : Byte();
    }
    if (Below(5) == 0) std::memcpy(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
  }
  void Metric(FlowMetric* m) { *m = {Int(), Int(), Int(), Int(), Int(), Int(), Int()}; }
  void Tcp(TcpMetric* m) {
    m->ab_syn_start = Int(), m->ba_syn_start = Int();
    m->ab_syn_ttl = static_cast<uint32_t>(Coin() ? 0 : (*rng_)());
    m->ba_syn_ttl = static_cast<uint32_t>(Coin() ? 0 : (*rng_)());
    m->ab_fin_start = Int(), m->ba_fin_start = Int(), m->ab_rst_start = Int();
    m->ba_rst_start = Int();
    m->has_stream = Coin(), m->has_health = Coin();
    for (TcpStreamCounters* c : {&m->ab_stream, &m->ba_stream}) {
      *c = {Int(), Int(), Int(), Int(), Int(), Int(), Int()};
    }
    for (TcpHealthCounts* c : {&m->ab_health, &m->ba_health}) {
      *c = {Int(), Int(), Int(), Int(), Int(), Int()};
    }
    m->server_handshake_us = Coin() ? -1 : Int();
    m->client_handshake_us = Coin() ? -1 : Int();
  }

  std::mt19937_64* rng_;
  int long_texts_ = 0;
};

}  // namespace skyprobe::testing
