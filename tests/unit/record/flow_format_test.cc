#include "record/flow_format.h"

#include <arpa/inet.h>

#include <cstring>
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

}  // namespace
}  // namespace skyprobe
