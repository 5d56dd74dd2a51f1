// Evaluator tests over hand-built snapshots: every filter kind, aliases,
// missing fields, NOT over several members, and structured filters.

#include "query/compiled_filter.h"

#include <cstring>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/query/test_flows.h"

namespace skyprobe::query {
namespace {

namespace v1 = ::skyprobe::v1;
using ::skyprobe::testing::IcmpFlow;
using ::skyprobe::testing::TcpFlow;
using ::skyprobe::testing::UdpFlow;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class CompiledFilterTest : public ::testing::Test {
 protected:
  CompiledFilterTest() {
    flows_.push_back(TcpFlow(0xa1, "10.0.0.1", "10.0.0.2", 40000, 443, 1500));
    flows_.push_back(TcpFlow(0xa2, "10.0.0.1", "10.0.0.3", 40001, 22, 500));
    flows_.push_back(UdpFlow(0xa3, "2001:db8::1", "2001:db8::53", 5353, 53, 80));
    flows_.push_back(IcmpFlow(0xa4, "10.0.0.9", "10.0.0.1"));
    flows_[1].has_parent = true;
    flows_[1].parent_uuid = 0xa1;
    std::strcpy(flows_[0].community_id, "1:abc=");
  }

  // UUIDs (hex) of the flows `expr` matches.
  std::vector<std::string> Match(const std::string& expr) {
    auto f = CompiledFilter::Compile(expr, nullptr, {.node_tid = "probe-1"});
    EXPECT_TRUE(f.ok()) << expr << ": " << f.status();
    std::vector<std::string> out;
    if (!f.ok()) return out;
    for (const FlowSnapshot& s : flows_) {
      if ((*f)->Matches(s)) out.push_back(absl::StrCat(absl::Hex(s.uuid)));
    }
    return out;
  }

  std::vector<FlowSnapshot> flows_;
};

TEST_F(CompiledFilterTest, StringTerms) {
  EXPECT_THAT(Match("Network.A = '10.0.0.1'"), ElementsAre("a1", "a2"));
  EXPECT_THAT(Match("Network.B = '2001:db8::53'"), ElementsAre("a3"));
  EXPECT_THAT(Match("Network.A = '010.0.0.1'"), ElementsAre());  // not an address: text
  EXPECT_THAT(Match("IPV4.A = '10.0.0.9'"), ElementsAre("a4"));  // alias
  EXPECT_THAT(Match("Network.Protocol = 'IPV6'"), ElementsAre("a3"));
  EXPECT_THAT(Match("TCP.Protocol = 'TCP'"), ElementsAre("a1", "a2"));
  EXPECT_THAT(Match("Transport.Protocol = 'UDP'"), ElementsAre("a3"));
  EXPECT_THAT(Match("ICMP.Type = 'ECHO'"), ElementsAre("a4"));
  EXPECT_THAT(Match("FinishType = 'TCP_FIN'"), ElementsAre("a1", "a2"));
  EXPECT_THAT(Match("LayersPath = 'Ethernet/IPv6/UDP'"), ElementsAre("a3"));
  EXPECT_THAT(Match("Application = 'ICMPv4'"), ElementsAre("a4"));
  EXPECT_THAT(Match("UUID = 'a2'"), ElementsAre("a2"));
  EXPECT_THAT(Match("UUID = 'a3 '"), ElementsAre());            // not hex: text
  EXPECT_THAT(Match("TrackingID = '1e6'"), ElementsAre("a2"));  // 0xa2 * 3
  EXPECT_THAT(Match("ParentUUID = 'a1'"), ElementsAre("a2"));
  EXPECT_THAT(Match("ETHERNET.A = '02:00:00:00:00:0a'"), ElementsAre("a1", "a2", "a3", "a4"));
  EXPECT_THAT(Match("Link.B = '02:00:00:00:00:0c'"), ElementsAre());
  EXPECT_THAT(Match("NodeTID = 'probe-1'"), ElementsAre("a1", "a2", "a3", "a4"));
  EXPECT_THAT(Match("NodeTID = 'probe-2'"), ElementsAre());
  EXPECT_THAT(Match("CommunityID = '1:abc='"), ElementsAre("a1"));
}

// NodeTID and CaptureID of a capture point's records are the point's.
TEST_F(CompiledFilterTest, CapturePointKeys) {
  auto points = std::make_shared<CapturePoints>("probe-1");
  points->Add(1, CapturePoint{"a.pcap", "tap-1", "uplink"});
  points->Add(2, CapturePoint{"b.pcap", "probe-1", "downlink"});
  flows_[0].input = 1;
  flows_[1].input = 2;
  flows_[2].input = 1;
  const auto match = [&](const std::string& expr) {
    auto f = CompiledFilter::Compile(expr, nullptr, {.node_tid = "probe-1", .points = points});
    EXPECT_TRUE(f.ok()) << expr << ": " << f.status();
    std::vector<std::string> out;
    for (const FlowSnapshot& s : flows_) {
      if (f.ok() && (*f)->Matches(s)) out.push_back(absl::StrCat(absl::Hex(s.uuid)));
    }
    return out;
  };
  EXPECT_THAT(match("CaptureID = 'uplink'"), ElementsAre("a1", "a3"));
  EXPECT_THAT(match("CaptureID in ('downlink', 'none')"), ElementsAre("a2"));
  EXPECT_THAT(match("CaptureID is null or CaptureID = ''"), ElementsAre("a4"));
  EXPECT_THAT(match("NodeTID = 'tap-1'"), ElementsAre("a1", "a3"));
  EXPECT_THAT(match("NodeTID = 'probe-1'"), ElementsAre("a2", "a4"));
  EXPECT_THAT(match("NodeTID = 'probe-1' and CaptureID = 'downlink'"), ElementsAre("a2"));
}

// Addresses and ids match however they are spelled (issue 15): what decodes
// to the same bytes as the printed value is that value.
TEST_F(CompiledFilterTest, AddressesAndIdsNormalized) {
  EXPECT_THAT(Match("Network.B = '2001:DB8::53'"), ElementsAre("a3"));
  EXPECT_THAT(Match("Network.B = '2001:0DB8:0000:0000:0000:0000:0000:0053'"), ElementsAre("a3"));
  EXPECT_THAT(Match("IPV6.A in ('2001:DB8::1', '2001:db8::2')"), ElementsAre("a3"));
  EXPECT_THAT(Match("Network.A != '2001:DB8::1'"), ElementsAre("a1", "a2", "a4"));
  EXPECT_THAT(Match("Network.B = '2001:DB8::54'"), ElementsAre());
  EXPECT_THAT(Match("Link.B = '02:00:00:00:00:0B'"), ElementsAre("a1", "a2", "a3", "a4"));
  EXPECT_THAT(Match("Link.B = '2:0:0:0:0:b'"), ElementsAre("a1", "a2", "a3", "a4"));
  EXPECT_THAT(Match("Link.B = '02:00:00:00:00:+b'"), ElementsAre());  // sscanf would take it
  EXPECT_THAT(Match("UUID = 'A2'"), ElementsAre("a2"));
  EXPECT_THAT(Match("UUID = '00000000000000a2'"), ElementsAre("a2"));
  EXPECT_THAT(Match("UUID = '0000000000000000000a2'"), ElementsAre("a2"));
  EXPECT_THAT(Match("UUID = '0xa2'"), ElementsAre());
  EXPECT_THAT(Match("UUID = '100000000000000a2'"), ElementsAre());  // past 64 bits
  EXPECT_THAT(Match("TrackingID = '1E6'"), ElementsAre("a2"));
  EXPECT_THAT(Match("ParentUUID = 'A1'"), ElementsAre("a2"));
  // The one-flow look-up still reads the UUID alone.
  auto f = CompiledFilter::Compile("UUID = '00A2'", nullptr, {});
  ASSERT_TRUE(f.ok());
  EXPECT_THAT((*f)->uuid_hint(), ElementsAre(0xa2u));
}

// NOT_FINISHED is no value (the JSON leaves FinishType out): a term on it
// matches nothing, `is null` matches the flows still open (docs/query.md).
TEST_F(CompiledFilterTest, FinishTypeNotFinishedIsAbsent) {
  EXPECT_THAT(Match("FinishType = 'NOT_FINISHED'"), ElementsAre());
  EXPECT_THAT(Match("FinishType is null"), ElementsAre("a3", "a4"));
  EXPECT_THAT(Match("FinishType is not null"), ElementsAre("a1", "a2"));
  EXPECT_THAT(Match("not FinishType = 'TCP_FIN'"), ElementsAre("a3", "a4"));
  EXPECT_THAT(Match("FinishType != 'TCP_FIN'"), ElementsAre());
}

// A filter on CommunityID says so: a shard's snapshot lacks it (the
// enhancers add it), so the probe evaluates an enhanced copy.
TEST_F(CompiledFilterTest, SaysWhetherItReadsEnhancedFields) {
  for (const char* expr : {"CommunityID = '1:abc='", "Transport.B = 443 or CommunityID is null",
                           "not (UUID = 'a1' and CommunityID =~ 'x')"}) {
    auto f = CompiledFilter::Compile(expr, nullptr, {});
    ASSERT_TRUE(f.ok()) << expr;
    EXPECT_TRUE((*f)->reads_enhanced_fields()) << expr;
  }
  for (const char* expr : {"", "Transport.B = 443", "UUID = 'a1' or Network.A = '10.0.0.1'"}) {
    auto f = CompiledFilter::Compile(expr, nullptr, {});
    ASSERT_TRUE(f.ok()) << expr;
    EXPECT_FALSE((*f)->reads_enhanced_fields()) << expr;
  }
  v1::Filter structured;
  structured.mutable_nullfilter()->set_key("CommunityID");
  auto f = CompiledFilter::Compile("", &structured, {});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)->reads_enhanced_fields());
}

TEST_F(CompiledFilterTest, IntegerTermsAndRanges) {
  EXPECT_THAT(Match("Transport.B = 443"), ElementsAre("a1"));
  EXPECT_THAT(Match("Metric.ABBytes > 500"), ElementsAre("a1"));
  EXPECT_THAT(Match("Metric.ABBytes >= 500"), ElementsAre("a1", "a2"));
  EXPECT_THAT(Match("Metric.ABBytes < 98"), ElementsAre("a3"));
  EXPECT_THAT(Match("Metric.ABBytes <= 98"), ElementsAre("a3", "a4"));
  EXPECT_THAT(Match("TCPMetric.ABSynStart > 0"), ElementsAre("a1", "a2"));
  EXPECT_THAT(Match("ICMP.ID = 7"), ElementsAre("a4"));
  EXPECT_THAT(Match("Start = 1161"), ElementsAre("a1"));  // 1000 + 0xa1
}

TEST_F(CompiledFilterTest, MissingFieldsDoNotMatchTermsButMatchNull) {
  // Transport.A on an ICMP flow is absent: no term or range matches it.
  EXPECT_THAT(Match("Transport.A >= 0"), ElementsAre("a1", "a2", "a3"));
  EXPECT_THAT(Match("Transport.A is null"), ElementsAre("a4"));
  EXPECT_THAT(Match("Transport.A is not null"), ElementsAre("a1", "a2", "a3"));
  EXPECT_THAT(Match("ParentUUID is null"), ElementsAre("a1", "a3", "a4"));
  EXPECT_THAT(Match("LastUpdateMetric.ABBytes is null"), ElementsAre("a1", "a2", "a3", "a4"));
  EXPECT_THAT(Match("Transport.B != 22"), ElementsAre("a1", "a3"));  // present and different
  EXPECT_THAT(Match("not Transport.B = 22"), ElementsAre("a1", "a3", "a4"));
}

TEST_F(CompiledFilterTest, TcpStreamAndHealthFieldsOnlyWhereRecorded) {
  // a1 has both groups (health with a measured server-side latency), a2
  // neither (the options were off): its fields are absent, not 0.
  TcpMetric& t = flows_[0].tcp_metric;
  t.has_stream = true;
  t.ba_stream.segment_out_of_order = 3;
  t.has_health = true;
  t.ab_health.retransmissions = 2;
  t.server_handshake_us = 1500;
  EXPECT_THAT(Match("TCPMetric.BASegmentOutOfOrder = 3"), ElementsAre("a1"));
  EXPECT_THAT(Match("TCPMetric.ABSegmentOutOfOrder = 0"), ElementsAre("a1"));
  EXPECT_THAT(Match("TCPMetric.ABRetransmissions > 1"), ElementsAre("a1"));
  EXPECT_THAT(Match("TCPMetric.BAZeroWindows = 0"), ElementsAre("a1"));
  EXPECT_THAT(Match("TCPMetric.BAZeroWindows is null"), ElementsAre("a2", "a3", "a4"));
  EXPECT_THAT(Match("TCPMetric.ServerHandshakeLatency >= 1500"), ElementsAre("a1"));
  EXPECT_THAT(Match("TCPMetric.ClientHandshakeLatency is null"),
              ElementsAre("a1", "a2", "a3", "a4"));
  EXPECT_THAT(Match("TCPMetric.ABSawEnd is not null"), ElementsAre("a1"));
}

TEST_F(CompiledFilterTest, ApplicationMetadataOnlyWhereRecorded) {
  // a1: a ClientHello with SNI and ALPN but no fingerprints (a list longer
  // than kept); a2: an HTTP request without Host; a3: a DNS summary of a
  // query for "www.example.com" A with no response yet; a4: nothing.
  AppMeta& tls = *flows_[0].app.Storage();
  tls.kind = AppKind::kTls;
  std::memcpy(tls.tls.sni, "api.example.com", 15);
  tls.tls.sni_len = 15;
  const uint8_t alpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  std::memcpy(tls.tls.alpn, alpn, sizeof(alpn));
  tls.tls.alpn_len = sizeof(alpn);
  tls.tls.version = 0x0304;
  tls.tls.flags = kTlsHasSni | kTlsHasAlpn;
  flows_[1].app.Storage()->kind = AppKind::kHttp;
  flows_[1].app.Storage()->http.method = HttpMethod::kPost;
  AppMeta& dns = *flows_[2].app.Storage();
  dns.kind = AppKind::kDns;
  const uint8_t q[] = {0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0,   0,   0,   0,
                       0,    3,    'w',  'w',  'w', 7,   'e', 'x', 'a', 'm', 'p',
                       'l',  'e',  3,    'c',  'o', 'm', 0,   0,   1,   0,   1};
  std::memcpy(dns.dns.msg, q, sizeof(q));
  dns.dns.len = dns.dns.full_len = sizeof(q);
  dns.dns.flags = kDnsSummary;
  EXPECT_THAT(Match("TLS.SNI =~ '.*\\\\.example\\\\.com'"), ElementsAre("a1"));
  EXPECT_THAT(Match("TLS.ALPN = 'h2,http/1.1'"), ElementsAre("a1"));
  EXPECT_THAT(Match("TLS.Version = 'TLS 1.3'"), ElementsAre("a1"));
  EXPECT_THAT(Match("TLS.JA3 is null"), ElementsAre("a1", "a2", "a3", "a4"));
  EXPECT_THAT(Match("TLS.JA4 is not null"), ElementsAre());
  EXPECT_THAT(Match("HTTP.Method = 'POST'"), ElementsAre("a2"));
  EXPECT_THAT(Match("HTTP.Host is null"), ElementsAre("a1", "a2", "a3", "a4"));
  EXPECT_THAT(Match("DNSQuery.Name = 'www.example.com'"), ElementsAre("a3"));
  EXPECT_THAT(Match("DNSQuery.Type = 'A'"), ElementsAre("a3"));
  EXPECT_THAT(Match("DNSQuery.ResponseCode is null"), ElementsAre("a1", "a2", "a3", "a4"));
  dns.dns.flags |= kDnsHasRcode;
  dns.dns.rcode = 3;
  EXPECT_THAT(Match("DNSQuery.ResponseCode = 'NXDOMAIN'"), ElementsAre("a3"));
  // The DNS layer alone (--extra-layers DNS without metadata) is no summary.
  dns.dns.flags = kDnsLayer;
  EXPECT_THAT(Match("DNSQuery.Name is not null"), ElementsAre());
}

TEST_F(CompiledFilterTest, RegexIsUnanchored) {
  EXPECT_THAT(Match("LayersPath =~ 'IPv6'"), ElementsAre("a3"));
  EXPECT_THAT(Match("Network.A =~ '^10\\\\.0\\\\.0\\\\.[12]$'"), ElementsAre("a1", "a2"));
  EXPECT_THAT(Match("Transport.B =~ '^4'"), ElementsAre("a1"));  // integers as text
  EXPECT_THAT(Match("Transport.A =~ ''"), ElementsAre("a1", "a2", "a3"));
}

TEST_F(CompiledFilterTest, BooleanOperators) {
  EXPECT_THAT(Match("Network.A = '10.0.0.1' and Metric.ABBytes > 1000 and not Transport.B in "
                    "(22, 443)"),
              ElementsAre());
  EXPECT_THAT(Match("Network.A = '10.0.0.1' and not Transport.B in (22, 443)"), ElementsAre());
  EXPECT_THAT(Match("Network.A = '10.0.0.1' and not Transport.B in (22)"), ElementsAre("a1"));
  EXPECT_THAT(Match("Transport.B = 53 or ICMP.Type = 'ECHO'"), ElementsAre("a3", "a4"));
  EXPECT_THAT(Match("(Transport.B = 53 or Transport.B = 22) and Network.Protocol = 'IPV4'"),
              ElementsAre("a2"));
}

// The UUID hint lets a shard skip flows on their UUID alone; it must never
// leave out a flow the filter matches.
TEST_F(CompiledFilterTest, UuidHintPinsOnlyWhatTheFilterPins) {
  auto hint = [](const std::string& expr) {
    auto f = CompiledFilter::Compile(expr, nullptr, {});
    EXPECT_TRUE(f.ok()) << expr << ": " << f.status();
    return f.ok() ? (*f)->uuid_hint() : std::vector<uint64_t>{99};
  };
  EXPECT_THAT(hint("UUID = 'a1'"), ElementsAre(0xa1));
  EXPECT_THAT(hint("UUID = 'a3' or UUID = 'a1' or UUID = 'a3'"), ElementsAre(0xa1, 0xa3));
  EXPECT_THAT(hint("UUID in ('a2', 'a1')"), ElementsAre(0xa1, 0xa2));
  EXPECT_THAT(hint("Transport.B = 443 and UUID = 'a1'"), ElementsAre(0xa1));
  EXPECT_THAT(hint("(UUID = 'a1' or UUID = 'a2') and UUID = 'a2'"), ElementsAre(0xa2));
  // Not pinned: any flow may match.
  EXPECT_THAT(hint(""), ElementsAre());
  EXPECT_THAT(hint("UUID = 'a1' or Transport.B = 22"), ElementsAre());
  EXPECT_THAT(hint("not UUID = 'a1'"), ElementsAre());
  EXPECT_THAT(hint("ParentUUID = 'a1'"), ElementsAre());
  EXPECT_THAT(hint("UUID =~ 'a1'"), ElementsAre());
  EXPECT_THAT(hint("UUID = '0A1'"), ElementsAre(0xa1));  // any spelling of the value
  EXPECT_THAT(hint("UUID = 'x1'"), ElementsAre());       // not an id: text, no hint
  // Whatever the hint, a flow the filter matches is in it.
  for (const char* expr : {"UUID = 'a1' and Transport.B = 443", "UUID in ('a2', 'a4')",
                           "UUID = 'a3' or UUID = 'ff'"}) {
    auto f = CompiledFilter::Compile(expr, nullptr, {});
    ASSERT_TRUE(f.ok());
    for (const FlowSnapshot& s : flows_) {
      if ((*f)->Matches(s)) EXPECT_TRUE((*f)->MayMatchUuid(s.uuid)) << expr;
    }
    EXPECT_FALSE((*f)->MayMatchUuid(0xbeef)) << expr;
  }
}

TEST_F(CompiledFilterTest, NotOverSeveralMembersMeansNoneOfThem) {
  // Skydive evaluates NOT(a, b) as "not all": a1 would match it there.
  v1::Filter f;
  f.mutable_boolfilter()->set_op(v1::BoolFilter::NOT);
  auto* a = f.mutable_boolfilter()->add_filters()->mutable_termint64filter();
  a->set_key("Transport.B");
  a->set_value(443);
  auto* b = f.mutable_boolfilter()->add_filters()->mutable_termstringfilter();
  b->set_key("Network.Protocol");
  b->set_value("IPV6");
  auto c = CompiledFilter::Compile("", &f, {});
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<uint64_t> hits;
  for (const FlowSnapshot& s : flows_) {
    if ((*c)->Matches(s)) hits.push_back(s.uuid);
  }
  EXPECT_THAT(hits, ElementsAre(0xa2, 0xa4));
}

TEST_F(CompiledFilterTest, EmptyBoolFilters) {
  for (auto [op, expected] :
       {std::pair{v1::BoolFilter::AND, true}, std::pair{v1::BoolFilter::OR, false},
        std::pair{v1::BoolFilter::NOT, true}}) {
    v1::Filter f;
    f.mutable_boolfilter()->set_op(op);
    auto c = CompiledFilter::Compile("", &f, {});
    ASSERT_TRUE(c.ok());
    EXPECT_EQ((*c)->Matches(flows_[0]), expected) << op;
  }
  auto all = CompiledFilter::Compile("", nullptr, {});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE((*all)->MatchesAll());
}

TEST_F(CompiledFilterTest, ExpressionAndStructuredFilterMustBothMatch) {
  v1::Filter f;
  f.mutable_termint64filter()->set_key("Transport.B");
  f.mutable_termint64filter()->set_value(22);
  auto c = CompiledFilter::Compile("Network.A = '10.0.0.1'", &f, {});
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE((*c)->Matches(flows_[0]));
  EXPECT_TRUE((*c)->Matches(flows_[1]));
}

TEST_F(CompiledFilterTest, StructuredErrors) {
  auto compile = [](const std::string& text_key, int kind) {
    v1::Filter f;
    switch (kind) {
      case 0:
        f.mutable_termint64filter()->set_key(text_key);
        break;
      case 1:
        f.mutable_termstringfilter()->set_key(text_key);
        break;
      case 2:
        f.mutable_regexfilter()->set_key(text_key);
        f.mutable_regexfilter()->set_value("(");
        break;
      default:
        f.mutable_termboolfilter()->set_key(text_key);
        break;
    }
    auto c = CompiledFilter::Compile("", &f, {});
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(c.status().message());
  };
  EXPECT_EQ(compile("Network.A", 0), "TermInt64Filter: key 'Network.A' is a string key");
  EXPECT_EQ(compile("Transport.B", 1), "TermStringFilter: key 'Transport.B' is an integer key");
  EXPECT_EQ(compile("TCP.A", 0),
            "TermInt64Filter: unknown key 'TCP.A' (the TCP. alias names string keys only: use "
            "'Transport.A')")
      << "aliases are for string keys only";
  EXPECT_THAT(compile("LayersPath", 2), HasSubstr("RegexFilter: bad regular expression '('"));
  EXPECT_EQ(compile("Start", 3), "TermBoolFilter: key 'Start' is an integer key");
  auto bad = CompiledFilter::Compile("Foo = 1", nullptr, {});
  EXPECT_EQ(bad.status().message(), "filter expression: column 1: unknown key 'Foo'");
}

}  // namespace
}  // namespace skyprobe::query
