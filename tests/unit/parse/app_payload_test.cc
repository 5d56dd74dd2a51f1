// Tests of the application payload readers (parse/tls_hello.h,
// parse/http_request.h) and of what the parser notes for them
// (SubPacket::app_*, only with ParserConfig::app_payload). ClientHellos come
// from tls_builder.h, written from the RFCs, not from the parser's code.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "packet_builder.h"
#include "parse/http_request.h"
#include "parse/parser.h"
#include "parse/tls_hello.h"
#include "tls_builder.h"

namespace skyprobe::testing {
namespace {

std::vector<uint16_t> List(const uint16_t* v, int n) { return std::vector<uint16_t>(v, v + n); }

HelloSpec Browserish() {
  HelloSpec h;
  h.ciphers = {0x0a0a, 0x1301, 0x1302, 0xc02f};  // GREASE first, as Chrome sends
  h.sni = "www.example.com";
  h.alpn = {"h2", "http/1.1"};
  h.versions = {0x2a2a, 0x0304, 0x0303};
  h.groups = {0x3a3a, 29, 23};
  h.points = {0};
  h.sig_algs = {0x0403, 0x0804, 0x0401};
  h.extra_first = {{0x1a1a, {}}};  // a GREASE extension
  return h;
}

// Feeds `stream` cut at `cuts` (increasing offsets) and returns the last status.
TlsHelloParser::Status FeedTls(const Bytes& stream, const std::vector<size_t>& cuts,
                               TlsHello* out) {
  TlsHelloParser p;
  TlsHelloParser::Status st = TlsHelloParser::Status::kNeedMore;
  size_t from = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(stream.size());
  for (size_t to : ends) {
    st = p.Feed(stream.data() + from, static_cast<uint32_t>(to - from), out);
    from = to;
  }
  return st;
}

void ExpectBrowserish(const TlsHello& t) {
  EXPECT_EQ(t.legacy_version, 0x0303);
  EXPECT_EQ(t.max_version, 0x0304);
  EXPECT_EQ(t.OfferedVersion(), 0x0304);
  ASSERT_TRUE(t.has_sni);
  EXPECT_EQ(std::string(t.sni, t.sni_len), "www.example.com");
  EXPECT_FALSE(t.sni_truncated);
  ASSERT_TRUE(t.has_alpn);
  const uint8_t alpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  ASSERT_EQ(t.alpn_len, sizeof(alpn));
  EXPECT_EQ(std::memcmp(t.alpn, alpn, sizeof(alpn)), 0);
  EXPECT_FALSE(t.lists_truncated);
  // GREASE values left out of every list; wire order kept.
  EXPECT_EQ(List(t.ciphers, t.n_ciphers), (std::vector<uint16_t>{0x1301, 0x1302, 0xc02f}));
  EXPECT_EQ(List(t.extensions, t.n_extensions),
            (std::vector<uint16_t>{0x0000, 0x000a, 0x000b, 0x000d, 0x0010, 0x002b}));
  EXPECT_EQ(List(t.groups, t.n_groups), (std::vector<uint16_t>{29, 23}));
  EXPECT_EQ(List(t.sig_algs, t.n_sig_algs), (std::vector<uint16_t>{0x0403, 0x0804, 0x0401}));
  ASSERT_EQ(t.n_point_formats, 1);
  EXPECT_EQ(t.point_formats[0], 0);
}

TEST(TlsHelloTest, OnePiece) {
  TlsHello t;
  const Bytes rec = ClientHelloRecord(Browserish());
  ASSERT_EQ(ParseTlsClientHello(rec.data(), static_cast<uint32_t>(rec.size()), &t),
            TlsHelloParser::Status::kDone);
  ExpectBrowserish(t);
}

TEST(TlsHelloTest, EverySplitPointGivesTheSameHello) {
  // Two pieces cut at every offset (a ClientHello over two TCP segments).
  const Bytes rec = ClientHelloRecord(Browserish());
  for (size_t cut = 1; cut < rec.size(); ++cut) {
    TlsHello t;
    ASSERT_EQ(FeedTls(rec, {cut}, &t), TlsHelloParser::Status::kDone) << "cut at " << cut;
    ExpectBrowserish(t);
    if (HasFailure()) FAIL() << "cut at " << cut;
  }
}

TEST(TlsHelloTest, ByteByByte) {
  const Bytes rec = ClientHelloRecord(Browserish());
  std::vector<size_t> cuts;
  for (size_t i = 1; i < rec.size(); ++i) cuts.push_back(i);
  TlsHello t;
  ASSERT_EQ(FeedTls(rec, cuts, &t), TlsHelloParser::Status::kDone);
  ExpectBrowserish(t);
}

TEST(TlsHelloTest, MessageOverSeveralRecords) {
  // RFC 8446 §5.1: a handshake message may be fragmented over records.
  for (size_t frag : {1, 7, 50, 100}) {
    const Bytes stream = HandshakeRecords(ClientHelloMessage(Browserish()), frag);
    TlsHello t;
    ASSERT_EQ(FeedTls(stream, {stream.size() / 3}, &t), TlsHelloParser::Status::kDone) << frag;
    ExpectBrowserish(t);
  }
}

TEST(TlsHelloTest, LaterBytesAreNotRead) {
  Bytes rec = ClientHelloRecord(Browserish());
  rec.push_back(0x17);  // whatever follows the hello in the stream
  TlsHello t;
  EXPECT_EQ(FeedTls(rec, {}, &t), TlsHelloParser::Status::kDone);
  ExpectBrowserish(t);
}

TEST(TlsHelloTest, NoExtensionsAtAll) {
  HelloSpec h;
  h.legacy_version = 0x0301;
  const Bytes rec = ClientHelloRecord(h);
  TlsHello t;
  ASSERT_EQ(FeedTls(rec, {}, &t), TlsHelloParser::Status::kDone);
  EXPECT_FALSE(t.has_sni);
  EXPECT_FALSE(t.has_alpn);
  EXPECT_EQ(t.n_extensions, 0);
  EXPECT_EQ(t.OfferedVersion(), 0x0301);
}

TEST(TlsHelloTest, NotAHello) {
  TlsHello t;
  const Bytes app_data = {0x17, 0x03, 0x03, 0x00, 0x05, 1, 2, 3, 4, 5};
  EXPECT_EQ(FeedTls(app_data, {}, &t), TlsHelloParser::Status::kNotHello);
  Bytes server_hello = ClientHelloRecord(Browserish());
  server_hello[5] = 2;  // handshake type ServerHello
  EXPECT_EQ(FeedTls(server_hello, {}, &t), TlsHelloParser::Status::kNotHello);
  const Bytes http = {'G', 'E', 'T', ' ', '/'};
  EXPECT_EQ(FeedTls(http, {}, &t), TlsHelloParser::Status::kNotHello);
}

TEST(TlsHelloTest, LengthPastItsStructureIsMalformed) {
  const HelloSpec h = Browserish();
  Bytes msg = ClientHelloMessage(h);
  // The extensions block's length (right after the compression methods)
  // grows by one: the last extension now ends before it does.
  const size_t ext_len_off = 4 + 2 + 32 + 1 + 2 + 2 * h.ciphers.size() + 2;
  msg[ext_len_off + 1] = static_cast<uint8_t>(msg[ext_len_off + 1] + 1);
  TlsHello t;
  EXPECT_EQ(FeedTls(HandshakeRecords(msg), {}, &t), TlsHelloParser::Status::kMalformed);
  // The cipher list's length runs past the handshake message.
  Bytes msg2 = ClientHelloMessage(h);
  msg2[4 + 2 + 32 + 1] = 0xFF;
  EXPECT_EQ(FeedTls(HandshakeRecords(msg2), {}, &t), TlsHelloParser::Status::kMalformed);
}

TEST(TlsHelloTest, LongListsAndNamesAreCutAndSaidSo) {
  HelloSpec h = Browserish();
  h.ciphers.clear();
  for (int i = 0; i < kTlsMaxCiphers + 2; ++i) h.ciphers.push_back(static_cast<uint16_t>(i + 1));
  h.sni = std::string(300, 'a');
  TlsHello t;
  ASSERT_EQ(FeedTls(ClientHelloRecord(h), {}, &t), TlsHelloParser::Status::kDone);
  EXPECT_TRUE(t.lists_truncated);
  EXPECT_TRUE(t.sni_truncated);
  EXPECT_EQ(t.sni_len, kTlsMaxSni);
  EXPECT_EQ(std::string(t.sni, t.sni_len), std::string(kTlsMaxSni, 'a'));
  EXPECT_EQ(t.max_version, 0x0304);  // what follows the long fields is still read
}

// HTTP/1.x request heads.

HttpRequestParser::Status FeedHttp(const std::string& s, const std::vector<size_t>& cuts,
                                   HttpRequestHead* out) {
  HttpRequestParser p;
  HttpRequestParser::Status st = HttpRequestParser::Status::kNeedMore;
  size_t from = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(s.size());
  for (size_t to : ends) {
    st = p.Feed(reinterpret_cast<const uint8_t*>(s.data()) + from, static_cast<uint32_t>(to - from),
                out);
    from = to;
  }
  return st;
}

TEST(HttpRequestTest, MethodAndHostAtEverySplitPoint) {
  const std::string head =
      "GET /index.html HTTP/1.1\r\nUser-Agent: curl\r\nhOsT:  example.com:8080 \r\nAccept: */*"
      "\r\n\r\n";
  for (size_t cut = 0; cut < head.size(); ++cut) {
    HttpRequestHead r;
    ASSERT_EQ(FeedHttp(head, cut == 0 ? std::vector<size_t>{} : std::vector<size_t>{cut}, &r),
              HttpRequestParser::Status::kDone)
        << cut;
    EXPECT_EQ(r.method, HttpMethod::kGet);
    ASSERT_TRUE(r.has_host) << cut;
    EXPECT_EQ(std::string(r.host, r.host_len), "example.com:8080") << cut;
  }
}

TEST(HttpRequestTest, HeadWithoutHost) {
  HttpRequestHead r;
  EXPECT_EQ(FeedHttp("POST /x HTTP/1.0\r\nA: b\r\n\r\nbody", {}, &r),
            HttpRequestParser::Status::kDone);
  EXPECT_EQ(r.method, HttpMethod::kPost);
  EXPECT_FALSE(r.has_host);
  // Bare LF line ends (RFC 9112 §2.2).
  EXPECT_EQ(FeedHttp("DELETE /x HTTP/1.1\nHost: h\n\n", {}, &r), HttpRequestParser::Status::kDone);
  EXPECT_EQ(r.method, HttpMethod::kDelete);
  EXPECT_EQ(std::string(r.host, r.host_len), "h");
}

TEST(HttpRequestTest, IncompleteHeadNeedsMore) {
  HttpRequestHead r;
  EXPECT_EQ(FeedHttp("GET / HTTP/1.1\r\nUser-Agent: x", {}, &r),
            HttpRequestParser::Status::kNeedMore);
}

TEST(HttpRequestTest, NotHttp) {
  HttpRequestHead r;
  EXPECT_EQ(FeedHttp("GET / SMTP/1.1\r\n", {}, &r), HttpRequestParser::Status::kNotHttp);
  EXPECT_EQ(FeedHttp("FETCH / HTTP/1.1\r\n", {}, &r), HttpRequestParser::Status::kNotHttp);
  EXPECT_EQ(FeedHttp("GET / HTTP/2.0\r\n", {}, &r), HttpRequestParser::Status::kNotHttp);
}

TEST(HttpRequestTest, MethodNames) {
  for (const char* m :
       {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}) {
    const HttpMethod got = HttpMethodFromName(m, static_cast<uint32_t>(std::strlen(m)));
    ASSERT_NE(got, HttpMethod::kNone) << m;
    EXPECT_STREQ(HttpMethodName(got), m);
  }
  EXPECT_EQ(HttpMethodFromName("get", 3), HttpMethod::kNone);  // methods are case-sensitive
}

// What the parser notes in SubPacket::app_*.

ParsedPacket ParseWith(const Bytes& f, bool app_payload, uint32_t wire_len = 0) {
  ParsedPacket pkt;
  ParserConfig cfg;
  cfg.app_payload = app_payload;
  ParseFrame(f.data(), static_cast<uint32_t>(f.size()),
             wire_len != 0 ? wire_len : static_cast<uint32_t>(f.size()), cfg, &pkt);
  return pkt;
}

Bytes TcpFrame(uint16_t sport, uint16_t dport, const Bytes& payload, uint32_t seq = 0) {
  Bytes tcp = Tcp(sport, dport, 0x18);
  for (int i = 0; i < 4; ++i) tcp[4 + i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
  return Eth(0x0800) + Ipv4(6, static_cast<uint32_t>(tcp.size() + payload.size())) + tcp + payload;
}

TEST(AppPayloadTest, OffMeansNothingNoted) {
  const Bytes hello = ClientHelloRecord(Browserish());
  for (const Bytes& f :
       {TcpFrame(40000, 443, hello), TcpFrame(40000, 80, Bytes{'G', 'E', 'T', ' ', '/'}),
        Eth(0x0800) + Ipv4(17, 8 + DnsQuery().size()) + Udp(5353, 53, DnsQuery())}) {
    const ParsedPacket p = ParseWith(f, false);
    ASSERT_EQ(p.num_sub, 1);
    EXPECT_EQ(p.sub[0].app_hint, AppHint::kNone);
    EXPECT_EQ(p.sub[0].app_len, 0);
  }
}

TEST(AppPayloadTest, ClientHelloOnAnyPort) {
  const Bytes hello = ClientHelloRecord(Browserish());
  const Bytes f = TcpFrame(40000, 8443, hello, 0x01020304);
  const ParsedPacket p = ParseWith(f, true);
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(p.sub[0].app_hint, AppHint::kTlsClientHello);
  EXPECT_EQ(p.sub[0].app_off, 14 + 20 + 20);
  EXPECT_EQ(p.sub[0].app_len, hello.size());
  EXPECT_EQ(p.sub[0].tcp_seq, 0x01020304u);
}

TEST(AppPayloadTest, HttpRequestAndPlainPayload) {
  const std::string req = "POST /a HTTP/1.1\r\n";
  const ParsedPacket p = ParseWith(TcpFrame(40000, 80, Bytes(req.begin(), req.end())), true);
  EXPECT_EQ(p.sub[0].app_hint, AppHint::kHttpRequest);
  EXPECT_EQ(p.sub[0].app_len, req.size());
  const ParsedPacket q = ParseWith(TcpFrame(40000, 80, Bytes{'x', 'y', 'z', 'w'}), true);
  EXPECT_EQ(q.sub[0].app_hint, AppHint::kTcpPayload);
  EXPECT_EQ(q.sub[0].app_len, 4);
}

TEST(AppPayloadTest, EthernetPaddingIsNoPayload) {
  // 2 bytes of payload in a frame padded to 60 bytes: the stream gets 2 bytes.
  Bytes f = TcpFrame(40000, 80, Bytes{'G', 'E'});
  const size_t real = f.size();
  f.resize(60, 0);
  ASSERT_GT(f.size(), real);
  const ParsedPacket p = ParseWith(f, true);
  EXPECT_EQ(p.sub[0].app_hint, AppHint::kTcpPayload);
  EXPECT_EQ(p.sub[0].app_len, 2);
  // A bare ACK padded likewise has no payload at all.
  Bytes ack = TcpFrame(40000, 80, Bytes{});
  ack.resize(60, 0);
  EXPECT_EQ(ParseWith(ack, true).sub[0].app_hint, AppHint::kNone);
}

TEST(AppPayloadTest, DnsOverUdpAndTcp) {
  const Bytes q = DnsQuery();
  const ParsedPacket u = ParseWith(Eth(0x0800) + Ipv4(17, 8 + q.size()) + Udp(5353, 53, q), true);
  EXPECT_EQ(u.sub[0].app_hint, AppHint::kDns);
  EXPECT_EQ(u.sub[0].app_off, 14 + 20 + 8);
  EXPECT_EQ(u.sub[0].app_len, q.size());
  Bytes framed;
  Put16(framed, static_cast<uint16_t>(q.size()));
  framed = framed + q;
  const ParsedPacket t = ParseWith(TcpFrame(40000, 53, framed), true);
  EXPECT_EQ(t.sub[0].app_hint, AppHint::kDnsTcp);
  EXPECT_EQ(t.sub[0].app_off, 14 + 20 + 20 + 2);  // past the length prefix
  EXPECT_EQ(t.sub[0].app_len, q.size());
}

TEST(AppPayloadTest, VrrpIsALayerWhateverTheSetting) {
  // VRRPv2 advertisement (RFC 3768 §5.1): one address, no authentication.
  const Bytes vrrp = {0x21, 7, 100, 1, 0, 1, 0, 0, 192, 168, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  const Bytes f = Eth(0x0800) + Ipv4(112, static_cast<uint32_t>(vrrp.size())) + vrrp;
  const ParsedPacket off = ParseWith(f, false);
  EXPECT_EQ(Path(off.sub[0]), "Ethernet/IPv4/VRRP");
  EXPECT_EQ(off.sub[0].app_hint, AppHint::kNone);
  const ParsedPacket on = ParseWith(f, true);
  EXPECT_EQ(on.sub[0].app_hint, AppHint::kVrrp);
  EXPECT_EQ(on.sub[0].app_len, vrrp.size());
  // No address: gopacket refuses it, and so does the parser.
  Bytes bad = vrrp;
  bad[3] = 0;
  EXPECT_EQ(ParseWith(Eth(0x0800) + Ipv4(112, static_cast<uint32_t>(bad.size())) + bad, true)
                .sub[0]
                .app_hint,
            AppHint::kNone);
}

}  // namespace
}  // namespace skyprobe::testing
