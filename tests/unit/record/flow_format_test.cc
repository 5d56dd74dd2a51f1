#include "record/flow_format.h"

#include <arpa/inet.h>

#include <cstring>
#include <iterator>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "skyprobe/v1/flow.pb.h"

namespace skyprobe {
namespace {

std::string Ip6(std::initializer_list<uint16_t> groups) {
  uint8_t a[16] = {};
  int i = 0;
  for (uint16_t g : groups) {
    a[2 * i] = static_cast<uint8_t>(g >> 8);
    a[2 * i + 1] = static_cast<uint8_t>(g);
    ++i;
  }
  std::string out;
  AppendIp(6, a, &out);
  return out;
}

TEST(FlowFormatTest, Ipv6Rfc5952) {
  EXPECT_EQ(Ip6({0, 0, 0, 0, 0, 0, 0, 0}), "::");
  EXPECT_EQ(Ip6({0, 0, 0, 0, 0, 0, 0, 1}), "::1");
  EXPECT_EQ(Ip6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}), "2001:db8::1");
  EXPECT_EQ(Ip6({0xfe80, 0, 0, 0, 0, 0, 0, 0}), "fe80::");
  // 4.2.2: one zero group is not shortened.
  EXPECT_EQ(Ip6({0x2001, 0xdb8, 0, 1, 1, 1, 1, 1}), "2001:db8:0:1:1:1:1:1");
  // 4.2.1 / 4.2.3: the longest run, then the first of equal runs.
  EXPECT_EQ(Ip6({0x2001, 0, 0, 1, 0, 0, 0, 1}), "2001:0:0:1::1");
  EXPECT_EQ(Ip6({0x2001, 0xdb8, 0, 0, 1, 0, 0, 1}), "2001:db8::1:0:0:1");
  // 4.3: lowercase; 4.1: no leading zeros.
  EXPECT_EQ(Ip6({0x2001, 0x0DB8, 0xABCD, 0x0012, 0, 0, 0, 0x00f0}), "2001:db8:abcd:12::f0");
  // 5: IPv4-mapped keeps the dotted quad.
  EXPECT_EQ(Ip6({0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201}), "::ffff:192.0.2.1");
}

TEST(FlowFormatTest, Ipv6MatchesInetNtop) {
  std::mt19937 rng(7);
  for (int n = 0; n < 20000; ++n) {
    uint8_t a[16];
    for (int g = 0; g < 8; ++g) {
      const uint32_t r = rng();
      const uint16_t v = (r & 3) == 0 ? static_cast<uint16_t>(r >> 16) : 0;  // many zero runs
      a[2 * g] = static_cast<uint8_t>(v >> 8);
      a[2 * g + 1] = static_cast<uint8_t>(v);
    }
    // glibc writes ::a.b.c.d for ::/96 (IPv4-compatible, deprecated); RFC
    // 5952 does not, so skip those.
    static constexpr uint8_t kZero[12] = {};
    if (std::memcmp(a, kZero, 12) == 0) continue;
    char buf[INET6_ADDRSTRLEN];
    ASSERT_NE(inet_ntop(AF_INET6, a, buf, sizeof(buf)), nullptr);
    std::string ours;
    AppendIp(6, a, &ours);
    ASSERT_EQ(ours, buf);
  }
}

TEST(FlowFormatTest, Ipv4AndMac) {
  const uint8_t ip[4] = {10, 0, 255, 1};
  const uint8_t mac[6] = {0x00, 0x0a, 0xBC, 0xff, 0x10, 0x01};
  std::string out;
  AppendIp(4, ip, &out);
  out.push_back(' ');
  AppendMac(mac, &out);
  out.push_back(' ');
  AppendIp(0, ip, &out);  // no network layer: nothing
  EXPECT_EQ(out, "10.0.255.1 00:0a:bc:ff:10:01 ");
}

TEST(FlowFormatTest, HexAndInt) {
  std::string out;
  AppendHex(0, &out);
  out.push_back(' ');
  AppendHex(0x00ab, &out);
  out.push_back(' ');
  AppendHex(~0ULL, &out);
  out.push_back(' ');
  AppendInt(-9223372036854775807LL - 1, &out);
  EXPECT_EQ(out, "0 ab ffffffffffffffff -9223372036854775808");
}

// The hand-written names must be the proto's, or JSON consumers (and the
// round-trip parser) would see unknown enum values.
TEST(FlowFormatTest, EnumNamesMatchProto) {
  const auto* proto = skyprobe::v1::FlowProtocol_descriptor();
  for (int i = 0; i < proto->value_count(); ++i) {
    const auto* v = proto->value(i);
    EXPECT_EQ(FlowProtocolName(static_cast<FlowProtocol>(v->number())), v->name());
  }
  const auto* icmp = skyprobe::v1::ICMPType_descriptor();
  for (int i = 0; i < icmp->value_count(); ++i) {
    const auto* v = icmp->value(i);
    EXPECT_EQ(IcmpTypeName(static_cast<IcmpType>(v->number())), v->name());
  }
  const auto* finish = skyprobe::v1::FlowFinishType_descriptor();
  for (int i = 0; i < finish->value_count(); ++i) {
    const auto* v = finish->value(i);
    EXPECT_EQ(FinishTypeName(static_cast<FinishType>(v->number())), v->name());
  }
  const auto* event = skyprobe::v1::Flow::FlowEvent_descriptor();
  for (int i = 0; i < event->value_count(); ++i) {
    const auto* v = event->value(i);
    EXPECT_EQ(FlowEventName(static_cast<FlowEvent>(v->number())), v->name());
  }
  const auto* reason = skyprobe::v1::Flow::FlowExpireReason_descriptor();
  for (int i = 0; i < reason->value_count(); ++i) {
    const auto* v = reason->value(i);
    EXPECT_EQ(ExpireReasonName(static_cast<ExpireReason>(v->number())), v->name());
  }
  EXPECT_EQ(proto->value_count(), 8);
  EXPECT_EQ(icmp->value_count(), 13);
  EXPECT_EQ(reason->value_count(), 5);
}

// TcpHealthCounter's index order is the order the records name the counters
// (kTcpMetricNames, the protobuf TCPMetric fields), checked member by member
// against the names written here; TcpMetricValue and SetTcpMetricValue read
// and write the member the name says.
TEST(FlowFormatTest, TcpHealthCountersByIndexAreTheNamedMembers) {
  struct Named {
    const char* name;
    int64_t TcpHealthCounts::*member;
  };
  const Named named[] = {
      {"Retransmissions", &TcpHealthCounts::retransmissions},
      {"FastRetransmissions", &TcpHealthCounts::fast_retransmissions},
      {"OutOfOrder", &TcpHealthCounts::out_of_order},
      {"LostSegments", &TcpHealthCounts::lost_segments},
      {"DupAcks", &TcpHealthCounts::dup_acks},
      {"ZeroWindows", &TcpHealthCounts::zero_windows},
  };
  ASSERT_EQ(std::size(named), static_cast<size_t>(kTcpHealthCounters));
  const auto* proto = skyprobe::v1::TCPMetric::descriptor();
  TcpMetric m;
  m.has_health = true;
  for (int i = 0; i < kTcpHealthCounters; ++i) {
    m.ab_health.*named[i].member = 100 + i;
    m.ba_health.*named[i].member = 200 + i;
  }
  for (int i = 0; i < kTcpHealthCounters; ++i) {
    SCOPED_TRACE(named[i].name);
    EXPECT_EQ(TcpHealthCounter(m.ab_health, i), 100 + i);
    EXPECT_EQ(TcpHealthCounter(m.ba_health, i), 200 + i);
    const std::string ab = std::string("AB") + named[i].name;
    const std::string ba = std::string("BA") + named[i].name;
    EXPECT_EQ(kTcpMetricNames[kTcpMetricHealthFirst + i], ab);
    EXPECT_EQ(kTcpMetricNames[kTcpMetricHealthFirst + kTcpHealthCounters + i], ba);
    EXPECT_NE(proto->FindFieldByName(ab), nullptr);
    EXPECT_NE(proto->FindFieldByName(ba), nullptr);
    int64_t v = -1;
    ASSERT_TRUE(TcpMetricValue(m, kTcpMetricHealthFirst + i, &v));
    EXPECT_EQ(v, 100 + i);
    ASSERT_TRUE(TcpMetricValue(m, kTcpMetricHealthFirst + kTcpHealthCounters + i, &v));
    EXPECT_EQ(v, 200 + i);
    TcpMetric set;
    SetTcpMetricValue(&set, kTcpMetricHealthFirst + i, 7);
    SetTcpMetricValue(&set, kTcpMetricHealthFirst + kTcpHealthCounters + i, 9);
    EXPECT_TRUE(set.has_health);
    EXPECT_EQ(set.ab_health.*named[i].member, 7);
    EXPECT_EQ(set.ba_health.*named[i].member, 9);
    int64_t sum = 0;
    for (int j = 0; j < kTcpHealthCounters; ++j) sum += TcpHealthCounter(set.ab_health, j);
    EXPECT_EQ(sum, 7);  // nothing else written
  }
}

}  // namespace
}  // namespace skyprobe
