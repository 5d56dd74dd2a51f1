// The record's application metadata as it is printed (record/app_format.h)
// and the DNS messages of the DNS extra layer (record/dns_message.h), on
// messages built here byte by byte from RFC 1035, RFC 2131 and RFC 3768.
// Values are those of the RFCs and IANA's registries; tshark's view of real
// captures is checked by tests/integration/{app_meta,extra_layers}_test.py.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "record/app_format.h"
#include "record/app_meta.h"
#include "record/dns_message.h"

namespace skyprobe {
namespace {

using Bytes = std::vector<uint8_t>;

void Put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

void Name(Bytes& b, const std::vector<std::string>& labels) {
  for (const std::string& l : labels) {
    b.push_back(static_cast<uint8_t>(l.size()));
    b.insert(b.end(), l.begin(), l.end());
  }
  b.push_back(0);
}

// A response to "mail.example.org AAAA IN": RCODE `rcode`, one AAAA answer
// whose name is a pointer to the question (offset 12), one CNAME.
Bytes Response(uint8_t rcode) {
  Bytes b;
  Put16(b, 0xbeef);
  b.push_back(0x81);                                // QR, RD
  b.push_back(static_cast<uint8_t>(0x80 | rcode));  // RA, RCODE
  Put16(b, 1);
  Put16(b, 2);
  Put16(b, 0);
  Put16(b, 0);
  Name(b, {"mail", "example", "org"});
  Put16(b, 28);
  Put16(b, 1);
  b.push_back(0xc0);
  b.push_back(12);
  Put16(b, 28);
  Put16(b, 1);
  Put16(b, 0);
  Put16(b, 300);  // TTL
  Put16(b, 16);
  for (int i = 0; i < 16; ++i) b.push_back(i == 0 ? 0x20 : (i == 1 ? 0x01 : (i == 15 ? 1 : 0)));
  b.push_back(0xc0);
  b.push_back(12);
  Put16(b, 5);  // CNAME
  Put16(b, 1);
  Put16(b, 0);
  Put16(b, 60);
  Bytes target;
  Name(target, {"mx", "example", "org"});
  Put16(b, static_cast<uint16_t>(target.size()));
  b.insert(b.end(), target.begin(), target.end());
  return b;
}

AppMeta DnsMeta(const Bytes& msg, uint8_t flags) {
  AppMeta m;
  m.kind = AppKind::kDns;
  std::memcpy(m.dns.msg, msg.data(), msg.size());
  m.dns.len = static_cast<uint16_t>(msg.size());
  m.dns.full_len = m.dns.len;
  m.dns.flags = flags;
  if (msg[2] & 0x80) {
    m.dns.flags |= kDnsHasRcode;
    m.dns.rcode = msg[3] & 0x0f;
  }
  return m;
}

TEST(DnsMessageTest, DecodesTheResponse) {
  const Bytes r = Response(3);
  DnsMessage m;
  ASSERT_TRUE(DecodeDnsMessage(r.data(), static_cast<uint32_t>(r.size()), &m));
  EXPECT_EQ(m.id, 0xbeef);
  EXPECT_TRUE(m.qr);
  EXPECT_TRUE(m.rd);
  EXPECT_TRUE(m.ra);
  EXPECT_EQ(m.rcode, 3);
  ASSERT_EQ(m.questions.size(), 1u);
  EXPECT_EQ(m.questions[0].name, "mail.example.org");
  EXPECT_EQ(m.questions[0].type, 28);
  ASSERT_EQ(m.answers.size(), 2u);
  EXPECT_EQ(m.answers[0].name, "mail.example.org");  // through the pointer
  EXPECT_EQ(m.answers[0].ttl, 300u);
  EXPECT_EQ(m.answers[0].ip, "2001::1");  // Go's net.IP form
  EXPECT_EQ(m.answers[1].target, "mx.example.org");
}

TEST(DnsMessageTest, EncodeThenDecodeGivesTheSameMessage) {
  const Bytes r = Response(0);
  DnsMessage m, back;
  ASSERT_TRUE(DecodeDnsMessage(r.data(), static_cast<uint32_t>(r.size()), &m));
  uint8_t buf[512];
  const size_t n = EncodeDnsMessage(m, buf, sizeof(buf));
  ASSERT_GT(n, 0u);
  ASSERT_TRUE(DecodeDnsMessage(buf, static_cast<uint32_t>(n), &back));
  EXPECT_EQ(back.questions[0].name, m.questions[0].name);
  ASSERT_EQ(back.answers.size(), 2u);
  EXPECT_EQ(back.answers[0].ip, m.answers[0].ip);
  EXPECT_EQ(back.answers[1].target, m.answers[1].target);
  EXPECT_EQ(EncodeDnsMessage(m, buf, 20), 0u);  // does not fit: nothing
}

TEST(DnsMessageTest, BadPointersAndShortMessagesFail) {
  Bytes r = Response(0);
  DnsMessage m;
  EXPECT_FALSE(DecodeDnsMessage(r.data(), 11, &m));  // short header
  Bytes loop = Response(0);
  // The first answer's name pointer points at itself (not strictly backwards).
  const size_t ans = 12 + 18 + 4;
  loop[ans + 1] = static_cast<uint8_t>(ans);
  EXPECT_FALSE(DecodeDnsMessage(loop.data(), static_cast<uint32_t>(loop.size()), &m));
}

TEST(DnsMessageTest, Mnemonics) {
  EXPECT_EQ(DnsTypeMnemonic(28), "AAAA");
  EXPECT_EQ(DnsTypeMnemonic(65280), "TYPE65280");  // RFC 3597
  EXPECT_EQ(DnsRcodeMnemonic(3), "NXDOMAIN");
  EXPECT_EQ(DnsRcodeMnemonic(0), "NOERROR");
  uint16_t t = 0;
  ASSERT_TRUE(DnsTypeFromMnemonic("TYPE65280", &t));
  EXPECT_EQ(t, 65280);
  uint8_t rc = 0;
  ASSERT_TRUE(DnsRcodeFromMnemonic("NXDOMAIN", &rc));
  EXPECT_EQ(rc, 3);
  EXPECT_STREQ(GopacketDnsTypeName(28), "AAAA");
}

TEST(AppFormatTest, DnsSummaryOnlyWithTheSummaryFlag) {
  DnsSummary d;
  EXPECT_FALSE(ReadDnsSummary(DnsMeta(Response(3), kDnsLayer), &d));
  ASSERT_TRUE(ReadDnsSummary(DnsMeta(Response(3), kDnsSummary), &d));
  EXPECT_TRUE(d.has_question);
  EXPECT_EQ(d.name, "mail.example.org");
  EXPECT_EQ(d.type, 28);
  EXPECT_TRUE(d.has_rcode);
  EXPECT_EQ(d.rcode, 3);
  EXPECT_TRUE(HasDnsLayer(DnsMeta(Response(3), kDnsLayer)));
  EXPECT_FALSE(HasDnsLayer(DnsMeta(Response(3), kDnsSummary)));
}

TEST(AppFormatTest, TlsVersionsAndBase64) {
  std::string v;
  AppendTlsVersion(0x0304, &v);
  EXPECT_EQ(v, "TLS 1.3");
  v.clear();
  AppendTlsVersion(0x7f1c, &v);
  EXPECT_EQ(v, "0x7f1c");
  uint16_t back = 0;
  ASSERT_TRUE(TlsVersionFromName("TLS 1.0", &back));
  EXPECT_EQ(back, 0x0301);
  std::string b64;
  AppendBase64("any carnal pleas", &b64);  // RFC 4648 §10 style vectors
  EXPECT_EQ(b64, "YW55IGNhcm5hbCBwbGVhcw==");
  b64.clear();
  AppendBase64("foob", &b64);
  EXPECT_EQ(b64, "Zm9vYg==");
}

TEST(AppFormatTest, TlsAlpnAndFingerprintsOnlyWhenTaken) {
  AppMeta m;
  m.kind = AppKind::kTls;
  const uint8_t alpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  std::memcpy(m.tls.alpn, alpn, sizeof(alpn));
  m.tls.alpn_len = sizeof(alpn);
  m.tls.flags = kTlsHasAlpn;
  std::vector<std::string_view> list;
  TlsAlpn(m, &list);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1], "http/1.1");
  std::string joined;
  AppendTlsAlpnJoined(m, &joined);
  EXPECT_EQ(joined, "h2,http/1.1");
  std::string ja3;
  AppendJa3(m, &ja3);
  EXPECT_EQ(ja3, "");  // kTlsFingerprints not set: no placeholder
  EXPECT_TRUE(Ja4Of(m).empty());
  EXPECT_TRUE(TlsSni(m).empty());
}

TEST(AppFormatTest, Dhcpv4Fields) {
  // RFC 2131 §2: op htype hlen hops xid secs flags ciaddr yiaddr siaddr
  // giaddr chaddr[16] sname[64] file[128], then the cookie and options.
  Bytes d(240, 0);
  d[0] = 1;
  d[1] = 1;
  d[2] = 6;
  d[3] = 2;
  d[4] = 0xde, d[5] = 0xad, d[6] = 0xbe, d[7] = 0xef;
  d[9] = 7;
  d[10] = 0x80;
  std::memcpy(&d[44], "srv", 3);
  std::memcpy(&d[108], "pxe.bin", 7);
  d[236] = 99, d[237] = 130, d[238] = 83, d[239] = 99;
  AppMeta m;
  m.kind = AppKind::kDhcpv4;
  std::memcpy(m.raw.data, d.data(), d.size());
  m.raw.len = m.raw.full_len = static_cast<uint16_t>(d.size());
  Dhcpv4View v;
  ASSERT_TRUE(ReadDhcpv4(m, &v));
  EXPECT_EQ(v.hardware_len, 6u);
  EXPECT_EQ(v.hardware_opts, 2u);
  EXPECT_EQ(v.xid, 0xdeadbeefu);
  EXPECT_EQ(v.secs, 7u);
  EXPECT_EQ(v.flags, 0x8000u);
  EXPECT_EQ(v.server_name, "srv");
  EXPECT_EQ(v.file, "pxe.bin");
  EXPECT_EQ(v.contents.size(), 240u);
  m.raw.full_len = 600;  // longer than kept: no contents, fields still there
  ASSERT_TRUE(ReadDhcpv4(m, &v));
  EXPECT_TRUE(v.contents.empty());
  EXPECT_EQ(v.xid, 0xdeadbeefu);
}

TEST(AppFormatTest, VrrpFields) {
  // RFC 3768 §5.1: version 2, type 1, VRID 7, priority 100, 1 address,
  // auth type 0, advertisement interval 1 s, checksum, the address.
  const Bytes vr = {0x21, 7, 100, 1, 0, 1, 0xab, 0xcd, 192, 168, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  AppMeta m;
  m.kind = AppKind::kVrrp;
  std::memcpy(m.raw.data, vr.data(), vr.size());
  m.raw.len = m.raw.full_len = static_cast<uint16_t>(vr.size());
  VrrpView v;
  ASSERT_TRUE(ReadVrrp(m, &v));
  EXPECT_EQ(v.version, 2u);
  EXPECT_EQ(v.virtual_rtr_id, 7u);
  EXPECT_EQ(v.priority, 100u);
  EXPECT_EQ(v.count_ipaddr, 1u);
  EXPECT_EQ(v.adver_int, 1u);
  EXPECT_EQ(v.checksum, 0xabcdu);
  EXPECT_EQ(v.contents.size(), vr.size());
}

}  // namespace
}  // namespace skyprobe
