// skyprobectl rebuilds snapshots from Flow messages: printing them with the
// probe's JSON writer must give exactly the probe's --json line.

#include "ctl/flow_from_proto.h"

#include <cstring>
#include <string>

#include "export/flow_proto.h"
#include "export/json_lines.h"
#include "gtest/gtest.h"
#include "record/app_meta.h"
#include "tests/unit/export/test_snapshots.h"
#include "tests/unit/query/test_flows.h"

namespace skyprobe {
namespace {

namespace v1 = ::skyprobe::v1;

void ExpectRoundTrip(const FlowSnapshot& s) {
  const JsonContext ctx{.node_tid = "probe-1", .capture_id = "cap"};
  v1::Flow msg;
  ToProto(s, ctx, &msg);
  query::FlowRow row;
  ASSERT_TRUE(ctl::FlowFromProto(msg, &row).ok());
  EXPECT_EQ(row.node_tid, "probe-1");
  std::string want, got;
  AppendFlowJson(s, ctx, &want);
  AppendFlowJson(row.snap, JsonContext{row.node_tid, row.capture_id}, &got);
  EXPECT_EQ(got, want);
}

TEST(FlowFromProtoTest, JsonLinesAreTheProbes) {
  ExpectRoundTrip(testing::FullSnapshot());
  ExpectRoundTrip(testing::MinimalSnapshot());
  ExpectRoundTrip(testing::Ipv6Snapshot());
  ExpectRoundTrip(testing::IcmpFlow(0x14, "10.0.0.9", "10.0.0.1"));
  ExpectRoundTrip(testing::UdpFlow(0x13, "::ffff:10.0.0.4", "2001:db8::1", 5353, 53, 80));
}

// Application metadata and the extra layers go through the protobuf Flow
// (ToProto) and come back in skyprobectl (FlowFromProto) whole: the rebuilt
// snapshot's JSON is the probe's, and it does carry each object (the JSON
// objects themselves are checked against tshark by integration-app-meta and
// integration-extra-layers). skyprobectl's table and --columns read the
// rebuilt snapshot through the query getters.
FlowSnapshot WithApp(const AppMeta& m) {
  FlowSnapshot s = testing::UdpFlow(0x21, "10.0.0.4", "10.0.0.53", 40000, 53, 80);
  *s.app.Storage() = m;
  return s;
}

void ExpectAppRoundTrip(const AppMeta& m, const std::string& object) {
  SCOPED_TRACE(object);
  const FlowSnapshot s = WithApp(m);
  std::string json;
  AppendFlowJson(s, JsonContext{}, &json);
  EXPECT_NE(json.find("\"" + object + "\":{"), std::string::npos) << json;
  ExpectRoundTrip(s);
}

void PutBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

TEST(FlowFromProtoTest, ApplicationMetadataAndExtraLayers) {
  AppMeta tls;
  tls.kind = AppKind::kTls;
  tls.tls.legacy_version = 0x0303;
  tls.tls.version = 0x0304;
  tls.tls.flags = kTlsHasSni | kTlsHasAlpn | kTlsFingerprints;
  std::memcpy(tls.tls.sni, "api.example.com", 15);
  tls.tls.sni_len = 15;
  const uint8_t alpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  std::memcpy(tls.tls.alpn, alpn, sizeof(alpn));
  tls.tls.alpn_len = sizeof(alpn);
  for (int i = 0; i < 16; ++i) tls.tls.ja3[i] = static_cast<uint8_t>(0x11 * i);
  std::memcpy(tls.tls.ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1", 36);
  ExpectAppRoundTrip(tls, "TLS");

  AppMeta http;
  http.kind = AppKind::kHttp;
  http.http.method = HttpMethod::kPost;
  http.http.flags = kHttpHasHost;
  std::memcpy(http.http.host, "www.example.com:8080", 20);
  http.http.host_len = 20;
  ExpectAppRoundTrip(http, "HTTP");

  // RFC 1035: a response to "www.example.com A IN", RCODE 3, one A record.
  const uint8_t msg[] = {0x12, 0x34, 0x81, 0x83, 0,   1,   0,   1,    0,   0,   0,   0, 3,
                         'w',  'w',  'w',  7,    'e', 'x', 'a', 'm',  'p', 'l', 'e', 3, 'c',
                         'o',  'm',  0,    0,    1,   0,   1,   0xc0, 12,  0,   1,   0, 1,
                         0,    0,    0x0e, 0x10, 0,   4,   192, 0,    2,   1};
  AppMeta dns;
  dns.kind = AppKind::kDns;
  std::memcpy(dns.dns.msg, msg, sizeof(msg));
  dns.dns.len = dns.dns.full_len = sizeof(msg);
  dns.dns.flags = kDnsSummary | kDnsLayer | kDnsHasRcode;
  dns.dns.rcode = 3;
  dns.dns.time_ms = 1700000000123;
  ExpectAppRoundTrip(dns, "DNSQuery");
  ExpectAppRoundTrip(dns, "DNS");

  // RFC 2131: a DHCPDISCOVER with sname, file and the magic cookie.
  AppMeta dhcp;
  dhcp.kind = AppKind::kDhcpv4;
  uint8_t* d = dhcp.raw.data;
  d[0] = 1, d[1] = 1, d[2] = 6, d[3] = 2;
  PutBe16(d + 4, 0xdead);
  PutBe16(d + 6, 0xbeef);
  PutBe16(d + 8, 7);
  PutBe16(d + 10, 0x8000);
  std::memcpy(d + 44, "srv", 3);
  std::memcpy(d + 108, "pxe.bin", 7);
  d[236] = 99, d[237] = 130, d[238] = 83, d[239] = 99;
  dhcp.raw.len = dhcp.raw.full_len = 240;
  ExpectAppRoundTrip(dhcp, "DHCPv4");

  // RFC 3768: VRID 7, priority 100, one address, interval 1 s.
  AppMeta vrrp;
  vrrp.kind = AppKind::kVrrp;
  const uint8_t vr[] = {0x21, 7, 100, 1, 0, 1, 0xab, 0xcd, 192, 168, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  std::memcpy(vrrp.raw.data, vr, sizeof(vr));
  vrrp.raw.len = vrrp.raw.full_len = sizeof(vr);
  ExpectAppRoundTrip(vrrp, "VRRPv2");
}

TEST(FlowFromProtoTest, RefusesGarbage) {
  v1::Flow msg;
  msg.set_uuid("xyz");
  query::FlowRow row;
  EXPECT_FALSE(ctl::FlowFromProto(msg, &row).ok());
}

}  // namespace
}  // namespace skyprobe
