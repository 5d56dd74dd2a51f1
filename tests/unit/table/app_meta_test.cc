// Application metadata in the flow table (table/app_meta_store.h) and the
// TLS fingerprints (table/tls_fingerprint.h): off means no store and no
// field; a ClientHello in one segment or over several (retransmissions and
// the other side's data in between) gives the same metadata; a gap gives
// up, counted; slots run out counted and come back when flows leave; DNS
// keeps the latest message and the latest response's code; DHCPv4 the
// first. JA4 is checked on the FoxIO specification's own example, JA3 on a
// string written from the Salesforce rules and its MD5 taken by Python's
// hashlib.
#include <arpa/inet.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../parse/tls_builder.h"
#include "eal_env.h"
#include "gtest/gtest.h"
#include "one_table_fixture.h"
#include "packet_builder.h"
#include "table/flow_table.h"
#include "table/tls_fingerprint.h"

namespace skyprobe {
namespace {

using testing::Bytes;
using testing::Make;
using testing::Reverse;
using testing::TestPacket;

constexpr int64_t kMs = testing::OneTableTest::kMs;
constexpr uint8_t kS = 0x02, kA = 0x10, kPA = 0x18;

testing::HelloSpec Hello() {
  testing::HelloSpec h;
  h.ciphers = {0x0a0a, 0x1301, 0x1302, 0xc02f};
  h.sni = "api.example.com";
  h.alpn = {"h2", "http/1.1"};
  h.versions = {0x2a2a, 0x0304, 0x0303};
  h.groups = {0x3a3a, 29, 23};
  h.points = {0};
  h.sig_algs = {0x0403, 0x0804, 0x0401};
  h.extra_first = {{0x1a1a, {}}};
  return h;
}

TEST(TlsFingerprintTest, Ja4OnTheSpecificationExample) {
  // FoxIO JA4 technical details: 15 ciphers, 16 extensions (SNI and ALPN
  // among them), ALPN h2, TLS 1.3 -> t13d1516h2_8daaf6152771_e5627efa2ab1.
  TlsHello h;
  const uint16_t ciphers[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
                              0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
  const uint16_t exts[] = {0x0000, 0x0017, 0xff01, 0x000a, 0x000b, 0x0023, 0x0010, 0x0005,
                           0x000d, 0x0012, 0x0033, 0x002d, 0x002b, 0x001b, 0x0015, 0x4469};
  const uint16_t sig[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
  std::memcpy(h.ciphers, ciphers, sizeof(ciphers));
  h.n_ciphers = 15;
  std::memcpy(h.extensions, exts, sizeof(exts));
  h.n_extensions = 16;
  std::memcpy(h.sig_algs, sig, sizeof(sig));
  h.n_sig_algs = 8;
  h.legacy_version = 0x0303;
  h.max_version = 0x0304;
  h.has_sni = true;
  h.has_alpn = true;
  const uint8_t alpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  std::memcpy(h.alpn, alpn, sizeof(alpn));
  h.alpn_len = sizeof(alpn);
  char ja4[kJa4Length];
  Ja4(h, ja4);
  EXPECT_EQ(std::string(ja4, kJa4Length), "t13d1516h2_8daaf6152771_e5627efa2ab1");
}

TEST(TlsFingerprintTest, Ja3StringAndDigest) {
  const Bytes rec = testing::ClientHelloRecord(Hello());
  TlsHello h;
  ASSERT_EQ(ParseTlsClientHello(rec.data(), static_cast<uint32_t>(rec.size()), &h),
            TlsHelloParser::Status::kDone);
  char s[kJa3StringMax];
  // SSLVersion,Ciphers,Extensions,EllipticCurves,PointFormats; GREASE left out.
  EXPECT_EQ(std::string(s, Ja3String(h, s)), "771,4865-4866-49199,0-10-11-13-16-43,29-23,0");
  uint8_t md5[16];
  Ja3Digest(h, md5);
  char hex[33] = {};
  for (int i = 0; i < 16; ++i) std::snprintf(hex + 2 * i, 3, "%02x", md5[i]);
  EXPECT_STREQ(hex, "c9e264cb3675678ee364e81f3b6da7ad");  // hashlib.md5 of the string
}

constexpr testing::Mac kMacA = {0x02, 0, 0, 0, 0, 0xa};
constexpr testing::Mac kMacB = {0x02, 0, 0, 0, 0, 0xb};
constexpr testing::Ip4 kIpA = {10, 0, 0, 1};
constexpr testing::Ip4 kIpB = {10, 0, 0, 2};

// A TCP segment of flow `flow` (client port 40000 + flow) carrying `payload`
// at offset 54, with the payload fields the parser would note
// (SubPacket::app_*; the parser's side is parse/app_payload_test.cc).
TestPacket Segment(int flow, bool reverse, uint32_t seq, uint8_t flags, const Bytes& payload,
                   AppHint hint) {
  TestPacket p =
      Make(kMacA, kMacB, kIpA, kIpB, FlowProtocol::kTcp, static_cast<uint16_t>(40000 + flow), 443,
           static_cast<uint32_t>(54 + payload.size()), flags);
  if (reverse) p = Reverse(p);
  p.frame.resize(54 + payload.size());
  if (!payload.empty()) std::memcpy(p.frame.data() + 54, payload.data(), payload.size());
  SubPacket& s = p.sub();
  s.tcp_seq = seq;
  if (!payload.empty()) {
    s.app_hint = hint;
    s.app_off = 54;
    s.app_len = static_cast<uint16_t>(payload.size());
  }
  return p;
}

TestPacket Udp(int flow, bool reverse, const Bytes& payload, AppHint hint, uint16_t port = 53) {
  TestPacket p =
      Make(kMacA, kMacB, kIpA, kIpB, FlowProtocol::kUdp, static_cast<uint16_t>(50000 + flow), port,
           static_cast<uint32_t>(42 + payload.size()));
  if (reverse) p = Reverse(p);
  p.frame.resize(42 + payload.size());
  std::memcpy(p.frame.data() + 42, payload.data(), payload.size());
  p.sub().app_hint = hint;
  p.sub().app_off = 42;
  p.sub().app_len = static_cast<uint16_t>(payload.size());
  return p;
}

Bytes Slice(const Bytes& b, size_t from, size_t to) {
  return Bytes(b.begin() + from, b.begin() + to);
}

class AppMetaTableTest : public testing::OneTableTest {
 protected:
  void Build(bool metadata, uint8_t extra = 0, uint32_t slots = 0, uint32_t pending = 1024) {
    FlowTableOptions opts = Options("app");
    opts.app_metadata = metadata;
    opts.extra_layers = extra;
    opts.app_meta_flows = slots;
    opts.app_meta_pending = pending;
    Create(opts);
  }
  void Handshake(int flow) {
    Feed(Segment(flow, false, 100, kS, {}, AppHint::kNone));
    Feed(Segment(flow, true, 900, kS | kA, {}, AppHint::kNone));
    Feed(Segment(flow, false, 101, kA, {}, AppHint::kNone));
  }
  static std::string Sni(const FlowSnapshot& s) {
    return s.app.value().kind == AppKind::kTls
               ? std::string(s.app.value().tls.sni, s.app.value().tls.sni_len)
               : "";
  }
};

TEST_F(AppMetaTableTest, OffMeansNoStoreAndNothingKept) {
  Build(false);
  EXPECT_EQ(table_->app_meta(), nullptr);
  Handshake(0);
  Feed(Segment(0, false, 101, kPA, testing::ClientHelloRecord(Hello()), AppHint::kTlsClientHello));
  EXPECT_EQ(Final().app.value().kind, AppKind::kNone);
  EXPECT_EQ(table_->counters().app_flows, 0u);
}

TEST_F(AppMetaTableTest, ClientHelloInOneSegment) {
  Build(true);
  ASSERT_NE(table_->app_meta(), nullptr);
  Handshake(0);
  Feed(Segment(0, false, 101, kPA, testing::ClientHelloRecord(Hello()), AppHint::kTlsClientHello));
  const FlowSnapshot s = Final();
  ASSERT_EQ(s.app.value().kind, AppKind::kTls);
  EXPECT_EQ(Sni(s), "api.example.com");
  EXPECT_EQ(s.app.value().tls.version, 0x0304);
  EXPECT_EQ(s.app.value().tls.legacy_version, 0x0303);
  EXPECT_TRUE(s.app.value().tls.flags & kTlsFingerprints);
  EXPECT_TRUE(s.app.value().tls.flags & kTlsHasAlpn);
  EXPECT_EQ(table_->counters().app_flows, 1u);
}

TEST_F(AppMetaTableTest, ClientHelloOverSegmentsWithRetransmissionAndServerData) {
  Build(true);
  Handshake(0);
  const Bytes rec = testing::ClientHelloRecord(Hello());
  const size_t a = 40, b = 90;
  Feed(Segment(0, false, 101, kPA, Slice(rec, 0, a), AppHint::kTlsClientHello));
  EXPECT_EQ(table_->app_meta()->pending_live(), 1u);
  Feed(Segment(0, true, 901, kPA, Bytes(20, 0x42), AppHint::kTcpPayload));  // server speaks
  Feed(Segment(0, false, 101 + a, kPA, Slice(rec, a, b), AppHint::kTcpPayload));
  // The same bytes again (a retransmission), then one overlapping the next.
  Feed(Segment(0, false, 101 + a, kPA, Slice(rec, a, b), AppHint::kTcpPayload));
  Feed(Segment(0, false, 101 + a + 10, kPA, Slice(rec, a + 10, rec.size()), AppHint::kTcpPayload));
  EXPECT_EQ(table_->app_meta()->pending_live(), 0u);
  const FlowSnapshot s = Final();
  ASSERT_EQ(s.app.value().kind, AppKind::kTls);
  EXPECT_EQ(Sni(s), "api.example.com");
  EXPECT_TRUE(s.app.value().tls.flags & kTlsFingerprints);
  EXPECT_EQ(table_->counters().app_gave_up, 0u);
}

TEST_F(AppMetaTableTest, AGapGivesUpCounted) {
  Build(true);
  Handshake(0);
  const Bytes rec = testing::ClientHelloRecord(Hello());
  Feed(Segment(0, false, 101, kPA, Slice(rec, 0, 40), AppHint::kTlsClientHello));
  Feed(Segment(0, false, 101 + 60, kPA, Slice(rec, 60, rec.size()), AppHint::kTcpPayload));
  EXPECT_EQ(table_->app_meta()->pending_live(), 0u);
  EXPECT_EQ(table_->counters().app_gave_up, 1u);
  // The missing piece arriving late does not bring it back.
  Feed(Segment(0, false, 101 + 40, kPA, Slice(rec, 40, 60), AppHint::kTcpPayload));
  EXPECT_EQ(Final().app.value().kind, AppKind::kNone);
}

TEST_F(AppMetaTableTest, NoReaderFreeIsCounted) {
  Build(true, 0, 0, /*pending=*/1);
  const Bytes rec = testing::ClientHelloRecord(Hello());
  Handshake(0);
  Handshake(1);
  Feed(Segment(0, false, 101, kPA, Slice(rec, 0, 40), AppHint::kTlsClientHello));
  Feed(Segment(1, false, 101, kPA, Slice(rec, 0, 40), AppHint::kTlsClientHello));
  EXPECT_EQ(table_->counters().app_pending_full, 1u);
  Feed(Segment(0, false, 141, kPA, Slice(rec, 40, rec.size()), AppHint::kTcpPayload));
  int tls = 0;
  for (const FlowSnapshot& s : Finals()) tls += s.app.value().kind == AppKind::kTls;
  EXPECT_EQ(tls, 1);
}

TEST_F(AppMetaTableTest, HttpRequestAndSlotsRunningOut) {
  Build(true, 0, /*slots=*/2);
  const std::string req = "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n";
  const Bytes r(req.begin(), req.end());
  for (int f = 0; f < 3; ++f) Feed(Segment(f, false, 101, kPA, r, AppHint::kHttpRequest));
  EXPECT_EQ(table_->counters().app_flows, 2u);
  EXPECT_EQ(table_->counters().app_no_slot, 1u);
  int http = 0;
  for (const FlowSnapshot& s : Finals()) {
    if (s.app.value().kind != AppKind::kHttp) continue;
    ++http;
    EXPECT_EQ(s.app.value().http.method, HttpMethod::kGet);
    EXPECT_EQ(std::string(s.app.value().http.host, s.app.value().http.host_len), "a.example");
  }
  EXPECT_EQ(http, 2);
  // The flows left: their slots serve new flows.
  for (int f = 3; f < 5; ++f) Feed(Segment(f, false, 101, kPA, r, AppHint::kHttpRequest));
  EXPECT_EQ(table_->counters().app_flows, 4u);
  EXPECT_EQ(table_->counters().app_no_slot, 1u);
}

TEST_F(AppMetaTableTest, DnsKeepsTheLatestMessageAndResponseCode) {
  Build(true);
  const Bytes query = testing::DnsQuery();
  Bytes nx = testing::DnsResponse();
  nx[3] = 0x83;  // RCODE 3 (NXDOMAIN)
  Feed(Udp(0, false, query, AppHint::kDns), 0);
  Feed(Udp(0, true, nx, AppHint::kDns), 1 * kMs);
  Feed(Udp(0, false, query, AppHint::kDns), 2 * kMs);  // asked again: latest, no new response
  const FlowSnapshot s = Final();
  ASSERT_EQ(s.app.value().kind, AppKind::kDns);
  EXPECT_EQ(s.app.value().dns.len, query.size());
  EXPECT_EQ(std::memcmp(s.app.value().dns.msg, query.data(), query.size()), 0);
  EXPECT_TRUE(s.app.value().dns.flags & kDnsHasRcode);
  EXPECT_EQ(s.app.value().dns.rcode, 3);
  EXPECT_TRUE(s.app.value().dns.flags & kDnsSummary);
  EXPECT_FALSE(s.app.value().dns.flags & kDnsLayer);  // no --extra-layers DNS
  EXPECT_EQ(s.app.value().dns.time_ms, (kT0 + 2 * kMs) / kMs);
}

TEST_F(AppMetaTableTest, ExtraLayersAloneKeepTheirLayerOnly) {
  Build(false, kExtraLayerDns | kExtraLayerDhcpv4);
  ASSERT_NE(table_->app_meta(), nullptr);
  Feed(Udp(0, false, testing::DnsQuery(), AppHint::kDns));
  Bytes first(240, 0), second(240, 0);
  first[0] = 1;
  second[0] = 2;
  Feed(Udp(1, false, first, AppHint::kDhcpv4, 67));
  Feed(Udp(1, true, second, AppHint::kDhcpv4, 67));
  // TLS is application metadata, off here.
  Handshake(2);
  Feed(Segment(2, false, 101, kPA, testing::ClientHelloRecord(Hello()), AppHint::kTlsClientHello));
  int seen = 0;
  for (const FlowSnapshot& s : Finals()) {
    if (s.app.value().kind == AppKind::kDns) {
      ++seen;
      EXPECT_TRUE(s.app.value().dns.flags & kDnsLayer);
      EXPECT_FALSE(s.app.value().dns.flags & kDnsSummary);
    } else if (s.app.value().kind == AppKind::kDhcpv4) {
      ++seen;
      EXPECT_EQ(s.app.value().raw.data[0], 1);  // the first message
    } else {
      EXPECT_EQ(s.app.value().kind, AppKind::kNone);
    }
  }
  EXPECT_EQ(seen, 2);
}

}  // namespace
}  // namespace skyprobe
