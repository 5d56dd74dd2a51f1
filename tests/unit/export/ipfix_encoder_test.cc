// The IPFIX encoder and message packer (src/export/ipfix/record_encoder.h,
// message_packer.h), read back by the test's own decoder (ipfix_decoder.h)
// with element names from the IANA registry file python3-ipfix ships.
#include <algorithm>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "export/ipfix/entry.h"
#include "export/ipfix/ie.h"
#include "export/ipfix/message_packer.h"
#include "export/ipfix/record_encoder.h"
#include "gtest/gtest.h"
#include "ipfix_decoder.h"
#include "record/app_meta.h"
#include "test_snapshots.h"

namespace skyprobe::ipfix {
namespace {

using testing::DecodedRecord;
using testing::IeRegistry;
using testing::Stream;

constexpr uint32_t kPen = 32473;  // RFC 5612's documentation PEN

// Packs entries into messages of at most `max` bytes, as an exporter does.
std::vector<uint8_t> Pack(const ByteBuffer& entries, size_t max, uint32_t domain = 7) {
  MessagePacker m(domain, max);
  ByteBuffer out;
  m.Begin(&out, 1700000000);
  for (EntryReader r(entries.data(), entries.size()); !r.done(); r.Next()) {
    if (!m.Add(r.set_id(), r.record(), r.length(), IsDataSet(r.set_id()))) {
      m.Finish();
      m.Begin(&out, 1700000000);
      EXPECT_TRUE(m.Add(r.set_id(), r.record(), r.length(), IsDataSet(r.set_id())));
    }
  }
  m.Finish();
  return std::vector<uint8_t>(out.data(), out.data() + out.size());
}

Stream EncodeAndDecode(const std::vector<FlowSnapshot>& flows, EncoderOptions o,
                       size_t max = 1400) {
  RecordEncoder enc(o);
  ByteBuffer entries;
  enc.AppendPreamble(&entries);
  for (const FlowSnapshot& s : flows) enc.Append(s, &entries);
  const std::vector<uint8_t> bytes = Pack(entries, max);
  return testing::DecodeStream(bytes.data(), bytes.size());
}

class IpfixEncoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reg_ = IeRegistry::Load();
    ASSERT_TRUE(reg_.error().empty()) << reg_.error();
  }
  uint64_t U(const DecodedRecord& r, const std::string& name) {
    const std::vector<uint8_t>* v = r.Find(reg_, name);
    EXPECT_NE(v, nullptr) << name << " missing";
    return v == nullptr ? 0 : DecodedRecord::Uint(*v);
  }
  std::vector<uint8_t> B(const DecodedRecord& r, const std::string& name) {
    const std::vector<uint8_t>* v = r.Find(reg_, name);
    EXPECT_NE(v, nullptr) << name << " missing";
    return v == nullptr ? std::vector<uint8_t>() : *v;
  }
  bool Has(const DecodedRecord& r, const std::string& name) {
    return r.Find(reg_, name) != nullptr;
  }
  std::string Str(const DecodedRecord& r, uint16_t enterprise_id) {
    const std::vector<uint8_t>* v = r.FindEnterprise(kPen, enterprise_id);
    EXPECT_NE(v, nullptr) << "enterprise element " << enterprise_id << " missing";
    return v == nullptr ? "" : std::string(v->begin(), v->end());
  }
  IeRegistry reg_;
};

// IANA elements assigned after the registry file python3-ipfix ships was
// written, as IANA's "IPFIX Information Elements" registry lists them (both
// are strings, variable length). tshark and libfixbuf know them by these
// numbers: tests/integration/ipfix_test.py reads them back with both.
struct NewerIanaIe {
  const char* name;
  uint16_t id;
  const char* type;
};
constexpr NewerIanaIe kNewerThanTheFile[] = {{"httpRequestMethod", 459, "string"},
                                             {"httpRequestHost", 460, "string"}};

// Every IANA or RFC 5103 element the exporter knows is in the registry file
// with the same number, type and length, or among the newer ones above (and
// then not in the file: once it is, it is checked there).
TEST_F(IpfixEncoderTest, EveryElementMatchesTheRegistryFile) {
  ASSERT_GT(reg_.size(), 700u);  // both files read
  size_t newer = 0;
  for (const Ie& e : IanaElements()) {
    SCOPED_TRACE(std::string(e.name));
    const testing::IeSpec* s = reg_.Find(std::string(e.name));
    const NewerIanaIe* n = nullptr;
    for (const NewerIanaIe& c : kNewerThanTheFile) {
      if (e.name == c.name) n = &c;
    }
    if (n != nullptr) {
      ++newer;
      EXPECT_EQ(s, nullptr) << "the registry file has it now: drop it from kNewerThanTheFile";
      EXPECT_EQ(reg_.NameOf(0, n->id), "") << "the file gives its number another name";
      EXPECT_EQ(e.id, n->id);
      EXPECT_EQ(e.pen, 0u);
      EXPECT_EQ(IeTypeName(e.type), n->type);
      EXPECT_EQ(e.length, kVariableLength);
      continue;
    }
    ASSERT_NE(s, nullptr) << e.name << " is not in the registry";
    EXPECT_EQ(s->id, e.id);
    EXPECT_EQ(s->pen, e.pen);
    EXPECT_EQ(s->type, IeTypeName(e.type));
    if (s->type == "octetArray" && s->length == kVariableLength) {
      EXPECT_GT(e.length, 0u);  // a variable-length array sent at a fixed size
    } else {
      EXPECT_EQ(s->length, e.length);
    }
  }
  EXPECT_EQ(newer, std::size(kNewerThanTheFile));
}

// What actually goes out: every field of every template of records with
// every optional part, IANA or reverse, is named by the registry with the
// length it gives (octetArray fields may be shorter: reduced-size encoding).
TEST_F(IpfixEncoderTest, EveryEmittedFieldIsARegistryElement) {
  std::vector<FlowSnapshot> flows = {testing::FullSnapshot(), testing::MinimalSnapshot(),
                                     testing::Ipv6Snapshot()};
  FlowSnapshot vx = testing::FullSnapshot();
  vx.num_layers = 6;
  const Layer path[] = {Layer::kEthernet, Layer::kDot1Q, Layer::kDot1Q,
                        Layer::kIpv4,     Layer::kUdp,   Layer::kVxlan};
  std::copy(path, path + 6, vx.layers);
  vx.transport = FlowProtocol::kUdp;
  vx.network_id = 42;
  vx.input = 2;
  flows.push_back(vx);
  FlowSnapshot gre = testing::FullSnapshot();
  gre.num_layers = 3;
  gre.layers[2] = Layer::kGre;
  gre.transport = FlowProtocol::kEthernet;
  gre.icmp_version = 0;
  gre.has_icmp_raw_type = false;
  gre.network_id = 7;
  flows.push_back(gre);
  FlowSnapshot ping = testing::FullSnapshot();
  ping.transport = FlowProtocol::kEthernet;
  ping.layers[2] = Layer::kIcmpv4;
  ping.has_icmp_raw_type = true;
  ping.icmp_raw_type = 8;
  flows.push_back(ping);
  flows.push_back(testing::GreMplsSnapshot());
  const Stream s = EncodeAndDecode(flows, {.pen = kPen, .node_tid = "probe-1"});
  ASSERT_EQ(s.error, "");
  ASSERT_EQ(s.records.size(), flows.size() + std::size(kEnterpriseElements));
  std::set<std::string> seen;
  for (const auto& [tid, fields] : s.templates) {
    for (const testing::FieldSpec& f : fields) {
      if (f.pen == kPen) continue;
      const std::string name = reg_.NameOf(f.pen, f.id);
      ASSERT_NE(name, "") << "template " << tid << ": element " << f.pen << "/" << f.id
                          << " is not in the registry";
      const testing::IeSpec* spec = reg_.Find(name);
      if (spec->type == "octetArray" || spec->type == "string") {
        EXPECT_TRUE(f.length == 65535 || f.length <= spec->length) << name;
      } else {
        EXPECT_EQ(f.length, spec->length) << name;
      }
      seen.insert(name);
    }
  }
  for (const char* name : {"flowId",
                           "flowStartMilliseconds",
                           "flowEndMilliseconds",
                           "octetDeltaCount",
                           "packetDeltaCount",
                           "reverseOctetDeltaCount",
                           "reversePacketDeltaCount",
                           "flowEndReason",
                           "ingressInterface",
                           "ipVersion",
                           "protocolIdentifier",
                           "sourceIPv4Address",
                           "destinationIPv4Address",
                           "sourceIPv6Address",
                           "destinationIPv6Address",
                           "sourceTransportPort",
                           "destinationTransportPort",
                           "tcpControlBits",
                           "reverseTcpControlBits",
                           "icmpTypeCodeIPv4",
                           "sourceMacAddress",
                           "destinationMacAddress",
                           "vlanId",
                           "dot1qCustomerVlanId",
                           "layer2SegmentId",
                           "greKey",
                           "mplsTopLabelStackSection",
                           "mplsLabelStackSection2",
                           "mplsLabelStackSection3",
                           "privateEnterpriseNumber",
                           "informationElementId",
                           "informationElementDataType",
                           "informationElementSemantics",
                           "informationElementUnits",
                           "informationElementName"}) {
    EXPECT_TRUE(seen.count(name)) << name << " never emitted";
  }
}

// RFC 5610 data type codes: IeType's values against python3-ipfix's table of
// abstract types (ipfix/types.py: StructType("unsigned8", 1, ...)).
TEST_F(IpfixEncoderTest, DataTypeCodesAreRfc5610s) {
  std::ifstream in(IeRegistry::Dir() + "/types.py");
  ASSERT_TRUE(in) << "python3-ipfix's types.py not found";
  std::stringstream text;
  text << in.rdbuf();
  const std::string src = text.str();
  std::map<std::string, int> codes;
  const std::regex def(R"(Type\(\s*\"(\w+)\",\s*(\d+))");
  for (auto it = std::sregex_iterator(src.begin(), src.end(), def); it != std::sregex_iterator();
       ++it) {
    codes[(*it)[1]] = std::stoi((*it)[2]);
  }
  for (const IeType t :
       {IeType::kOctetArray, IeType::kUnsigned8, IeType::kUnsigned16, IeType::kUnsigned32,
        IeType::kUnsigned64, IeType::kMacAddress, IeType::kString, IeType::kDateTimeMilliseconds,
        IeType::kIpv4Address, IeType::kIpv6Address}) {
    const std::string name(IeTypeName(t));
    ASSERT_TRUE(codes.count(name)) << name;
    EXPECT_EQ(codes[name], static_cast<int>(t)) << name;
  }
}

TEST_F(IpfixEncoderTest, FullTcpRecordRoundTrips) {
  FlowSnapshot f = testing::FullSnapshot();
  f.icmp_version = 0;  // a TCP flow has no ICMP layer
  f.has_icmp_raw_type = false;
  f.tcp_flags_ab = 0x1b;
  f.tcp_flags_ba = 0x12;
  f.input = 3;
  f.num_layers = 4;
  f.layers[1] = Layer::kDot1Q;
  f.layers[2] = Layer::kIpv4;
  f.layers[3] = Layer::kTcp;
  const Stream s = EncodeAndDecode({f}, {.pen = kPen, .node_tid = "probe-1"});
  ASSERT_EQ(s.error, "");
  ASSERT_EQ(s.records.size(), 1u + std::size(kEnterpriseElements));
  const DecodedRecord& r = s.records.back();
  EXPECT_EQ(U(r, "flowId"), 0x0123456789abcdefULL);
  EXPECT_EQ(U(r, "flowStartMilliseconds"), 1490086703768u);
  EXPECT_EQ(U(r, "flowEndMilliseconds"), 1490086703800u);
  // Deltas since the previous record: LastUpdateMetric, not Metric.
  EXPECT_EQ(U(r, "octetDeltaCount"), 66u);
  EXPECT_EQ(U(r, "packetDeltaCount"), 1u);
  EXPECT_EQ(U(r, "reverseOctetDeltaCount"), 0u);
  EXPECT_EQ(U(r, "reversePacketDeltaCount"), 0u);
  EXPECT_EQ(U(r, "flowEndReason"), 3u);  // end of flow (FIN)
  EXPECT_EQ(U(r, "ingressInterface"), 3u);
  EXPECT_EQ(U(r, "ipVersion"), 4u);
  EXPECT_EQ(U(r, "protocolIdentifier"), 6u);
  EXPECT_EQ(B(r, "sourceIPv4Address"), (std::vector<uint8_t>{192, 168, 0, 2}));
  EXPECT_EQ(B(r, "destinationIPv4Address"), (std::vector<uint8_t>{192, 168, 0, 1}));
  EXPECT_EQ(U(r, "sourceTransportPort"), 36108u);
  EXPECT_EQ(U(r, "destinationTransportPort"), 3333u);
  EXPECT_EQ(U(r, "tcpControlBits"), 0x1bu);
  EXPECT_EQ(U(r, "reverseTcpControlBits"), 0x12u);
  EXPECT_EQ(B(r, "sourceMacAddress"), (std::vector<uint8_t>{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}));
  EXPECT_EQ(B(r, "destinationMacAddress"),
            (std::vector<uint8_t>{0x00, 0x11, 0x22, 0x33, 0x44, 0x05}));
  EXPECT_EQ(U(r, "vlanId"), 10u);
  EXPECT_FALSE(Has(r, "dot1qCustomerVlanId"));
  EXPECT_FALSE(Has(r, "icmpTypeCodeIPv4"));
  EXPECT_FALSE(Has(r, "sourceIPv6Address"));
  EXPECT_FALSE(Has(r, "layer2SegmentId"));
  EXPECT_FALSE(Has(r, "greKey"));
  EXPECT_EQ(DecodedRecord::Uint(*r.FindEnterprise(kPen, 1)), 0x81789de63b9965cdULL);
  EXPECT_EQ(DecodedRecord::Uint(*r.FindEnterprise(kPen, 2)), 0x0a8b1845da6a6715ULL);
  EXPECT_EQ(DecodedRecord::Uint(*r.FindEnterprise(kPen, 3)), 0xfbe08c181ff8df3aULL);
  EXPECT_EQ(DecodedRecord::Uint(*r.FindEnterprise(kPen, 4)), 33000u);
  EXPECT_EQ(Str(r, 5), "Ethernet/Dot1Q/IPv4/TCP");
  EXPECT_EQ(Str(r, 6), "TCP");
  EXPECT_EQ(Str(r, 7), "probe-1");
  EXPECT_EQ(Str(r, 8), "1:Gtsx5OozooeGFAFpbwPzYTPgCIs=");
}

// RFC 5610: one type record per enterprise element, scoped on (PEN, id).
TEST_F(IpfixEncoderTest, TypeRecordsDescribeEveryEnterpriseElement) {
  const Stream s = EncodeAndDecode({testing::FullSnapshot()}, {.pen = kPen});
  ASSERT_EQ(s.error, "");
  ASSERT_EQ(s.scope_counts.at(kTypeInfoTemplateId), 2);
  size_t n = 0;
  for (const DecodedRecord& r : s.records) {
    if (r.template_id != kTypeInfoTemplateId) continue;
    const EnterpriseIe& e = kEnterpriseElements[n++];
    EXPECT_EQ(U(r, "privateEnterpriseNumber"), kPen);
    EXPECT_EQ(U(r, "informationElementId"), e.id);
    EXPECT_EQ(U(r, "informationElementDataType"), static_cast<uint64_t>(e.type));
    EXPECT_EQ(U(r, "informationElementSemantics"), static_cast<uint64_t>(e.semantics));
    EXPECT_EQ(U(r, "informationElementUnits"), static_cast<uint64_t>(e.units));
    const std::vector<uint8_t> name = B(r, "informationElementName");
    EXPECT_EQ(std::string(name.begin(), name.end()), e.name);
  }
  EXPECT_EQ(n, std::size(kEnterpriseElements));
}

// TCP health (--tcp-health) under the PEN: elements 9-20 are the AB and BA
// counters in the JSON record's order, 21 and 22 the handshake latencies
// (each once measured); nothing of it without the group or without a PEN.
TEST_F(IpfixEncoderTest, TcpHealthUnderThePen) {
  FlowSnapshot tcp = testing::FullSnapshot();
  TcpMetric& t = tcp.tcp_metric;
  t.has_health = true;
  t.ab_health = {1, 2, 3, 4, 5, 6};
  t.ba_health = {11, 12, 13, 14, 15, 16};
  t.server_handshake_us = 8000;
  t.client_handshake_us = -1;  // not measured
  FlowSnapshot off = testing::FullSnapshot();
  off.uuid = 2;
  off.tcp_metric.has_health = false;  // --tcp-health off
  off.tcp_metric.server_handshake_us = off.tcp_metric.client_handshake_us = -1;
  const Stream s = EncodeAndDecode({tcp, off}, {.pen = kPen});
  ASSERT_EQ(s.error, "");
  std::vector<const DecodedRecord*> data;
  for (const DecodedRecord& r : s.records) {
    if (r.template_id != kTypeInfoTemplateId) data.push_back(&r);
  }
  ASSERT_EQ(data.size(), 2u);
  // ABRetransmissions 9, BARetransmissions 10, ABFastRetransmissions 11, ...
  const int64_t want[] = {1, 11, 2, 12, 3, 13, 4, 14, 5, 15, 6, 16};
  for (uint16_t id = 9; id <= 20; ++id) {
    const std::vector<uint8_t>* v = data[0]->FindEnterprise(kPen, id);
    ASSERT_NE(v, nullptr) << id;
    EXPECT_EQ(DecodedRecord::Uint(*v), static_cast<uint64_t>(want[id - 9])) << id;
  }
  ASSERT_NE(data[0]->FindEnterprise(kPen, 21), nullptr);
  EXPECT_EQ(DecodedRecord::Uint(*data[0]->FindEnterprise(kPen, 21)), 8000u);
  EXPECT_EQ(data[0]->FindEnterprise(kPen, 22), nullptr);  // not measured: absent
  for (uint16_t id = 9; id <= 22; ++id) EXPECT_EQ(data[1]->FindEnterprise(kPen, id), nullptr);
  // No PEN: IANA has no such elements, and none go out.
  const Stream iana = EncodeAndDecode({tcp}, {});
  ASSERT_EQ(iana.error, "");
  for (const auto& [tid, fields] : iana.templates) {
    for (const testing::FieldSpec& f : fields) EXPECT_EQ(f.pen == kPen, false) << tid;
  }
  // Uniflow: the B to A record's AB counters are the flow's BA ones.
  FlowSnapshot both = tcp;
  both.last_update_metric = {3, 180, 2, 1500, 0, 0, 0};
  const Stream uni = EncodeAndDecode({both}, {.pen = kPen, .uniflow = true});
  ASSERT_EQ(uni.error, "");
  std::vector<const DecodedRecord*> halves;
  for (const DecodedRecord& r : uni.records) {
    if (r.template_id != kTypeInfoTemplateId) halves.push_back(&r);
  }
  ASSERT_EQ(halves.size(), 2u);
  EXPECT_EQ(DecodedRecord::Uint(*halves[0]->FindEnterprise(kPen, 9)), 1u);
  EXPECT_EQ(DecodedRecord::Uint(*halves[1]->FindEnterprise(kPen, 9)), 11u);
  EXPECT_EQ(DecodedRecord::Uint(*halves[1]->FindEnterprise(kPen, 10)), 1u);
}

// Application metadata as the table stores it (record/app_meta.h): a TLS
// ClientHello's, an HTTP request's, a DNS response's.
void SetTls(FlowSnapshot* s, const std::string& sni, const std::vector<std::string>& alpn,
            bool fingerprints) {
  AppMeta* m = s->app.Storage();
  *m = AppMeta();
  m->kind = AppKind::kTls;
  AppTls& t = m->tls;
  t.legacy_version = 0x0303;
  t.version = 0x0304;
  if (!sni.empty()) {
    t.flags |= kTlsHasSni;
    t.sni_len = static_cast<uint8_t>(sni.size());
    std::memcpy(t.sni, sni.data(), sni.size());
  }
  for (const std::string& a : alpn) {
    t.flags |= kTlsHasAlpn;
    t.alpn[t.alpn_len++] = static_cast<uint8_t>(a.size());
    std::memcpy(t.alpn + t.alpn_len, a.data(), a.size());
    t.alpn_len = static_cast<uint8_t>(t.alpn_len + a.size());
  }
  if (fingerprints) {
    t.flags |= kTlsFingerprints;
    for (int i = 0; i < 16; ++i) t.ja3[i] = static_cast<uint8_t>(i * 17);
    std::memcpy(t.ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1", sizeof(t.ja4));
  }
}

void SetHttp(FlowSnapshot* s, HttpMethod method, const std::string& host) {
  AppMeta* m = s->app.Storage();
  *m = AppMeta();
  m->kind = AppKind::kHttp;
  m->http.method = method;
  if (!host.empty()) {
    m->http.flags = kHttpHasHost;
    m->http.host_len = static_cast<uint8_t>(host.size());
    std::memcpy(m->http.host, host.data(), host.size());
  }
}

// A DNS response to "mail.example.org AAAA IN" with RCODE 3 (NXDOMAIN),
// RFC 1035 section 4.1 byte by byte.
void SetDnsResponse(FlowSnapshot* s) {
  const uint8_t msg[] = {0xbe, 0xef, 0x81, 0x83, 0,   1, 0,   0,   0,   0,   0,   0,
                         4,    'm',  'a',  'i',  'l', 7, 'e', 'x', 'a', 'm', 'p', 'l',
                         'e',  3,    'o',  'r',  'g', 0, 0,   28,  0,   1};
  AppMeta* m = s->app.Storage();
  *m = AppMeta();
  m->kind = AppKind::kDns;
  std::memcpy(m->dns.msg, msg, sizeof(msg));
  m->dns.len = m->dns.full_len = sizeof(msg);
  m->dns.flags = kDnsSummary | kDnsHasRcode;
  m->dns.rcode = 3;
}

std::vector<const DecodedRecord*> DataRecords(const Stream& s) {
  std::vector<const DecodedRecord*> data;
  for (const DecodedRecord& r : s.records) {
    if (r.template_id != kTypeInfoTemplateId) data.push_back(&r);
  }
  return data;
}

std::string Text(const std::vector<uint8_t>* v) {
  return v == nullptr ? "(absent)" : std::string(v->begin(), v->end());
}

// --app-metadata: HTTP's method and Host as IANA's httpRequestMethod (459)
// and httpRequestHost (460), with or without a PEN; under the PEN, TLS's SNI
// (23), ALPN (24, names joined by ','), version (25), JA3 (26), JA4 (27) and
// the DNS summary's name (28), type (29) and RCODE (30). Each part only when
// the record has it, as in the JSON record.
TEST_F(IpfixEncoderTest, ApplicationMetadata) {
  FlowSnapshot tls = testing::FullSnapshot();
  SetTls(&tls, "www.example.com", {"h2", "http/1.1"}, true);
  FlowSnapshot bare = testing::FullSnapshot();  // no SNI, ALPN or fingerprints
  bare.uuid = 2;
  SetTls(&bare, "", {}, false);
  FlowSnapshot http = testing::FullSnapshot();
  http.uuid = 3;
  SetHttp(&http, HttpMethod::kPost, "api.example.org:8080");
  FlowSnapshot no_host = testing::FullSnapshot();
  no_host.uuid = 4;
  SetHttp(&no_host, HttpMethod::kGet, "");
  FlowSnapshot dns = testing::MinimalSnapshot();
  dns.uuid = 5;
  SetDnsResponse(&dns);
  const std::vector<FlowSnapshot> flows = {tls, bare, http, no_host, dns, testing::FullSnapshot()};
  RecordEncoder enc({.pen = kPen, .app_metadata = true});
  ByteBuffer entries;
  enc.AppendPreamble(&entries);
  for (const FlowSnapshot& f : flows) enc.Append(f, &entries);
  EXPECT_EQ(enc.strings_cut(), 0u);
  const std::vector<uint8_t> bytes = Pack(entries, 1400);
  const Stream s = testing::DecodeStream(bytes.data(), bytes.size());
  ASSERT_EQ(s.error, "");
  const std::vector<const DecodedRecord*> d = DataRecords(s);
  ASSERT_EQ(d.size(), flows.size());
  EXPECT_EQ(Text(d[0]->FindEnterprise(kPen, 23)), "www.example.com");
  EXPECT_EQ(Text(d[0]->FindEnterprise(kPen, 24)), "h2,http/1.1");
  ASSERT_NE(d[0]->FindEnterprise(kPen, 25), nullptr);
  EXPECT_EQ(DecodedRecord::Uint(*d[0]->FindEnterprise(kPen, 25)), 0x0304u);
  EXPECT_EQ(Text(d[0]->FindEnterprise(kPen, 26)), "00112233445566778899aabbccddeeff");
  EXPECT_EQ(Text(d[0]->FindEnterprise(kPen, 27)), "t13d1516h2_8daaf6152771_e5627efa2ab1");
  EXPECT_EQ(d[0]->FindEnterprise(0, 459), nullptr);
  // A ClientHello without the extensions, fingerprints not taken: its version only.
  ASSERT_NE(d[1]->FindEnterprise(kPen, 25), nullptr);
  EXPECT_EQ(DecodedRecord::Uint(*d[1]->FindEnterprise(kPen, 25)), 0x0304u);
  for (uint16_t id : {23, 24, 26, 27}) EXPECT_EQ(d[1]->FindEnterprise(kPen, id), nullptr) << id;
  EXPECT_EQ(Text(d[2]->FindEnterprise(0, 459)), "POST");
  EXPECT_EQ(Text(d[2]->FindEnterprise(0, 460)), "api.example.org:8080");
  EXPECT_EQ(Text(d[3]->FindEnterprise(0, 459)), "GET");
  EXPECT_EQ(d[3]->FindEnterprise(0, 460), nullptr);
  EXPECT_EQ(Text(d[4]->FindEnterprise(kPen, 28)), "mail.example.org");
  ASSERT_NE(d[4]->FindEnterprise(kPen, 29), nullptr);
  EXPECT_EQ(DecodedRecord::Uint(*d[4]->FindEnterprise(kPen, 29)), 28u);  // AAAA
  ASSERT_NE(d[4]->FindEnterprise(kPen, 30), nullptr);
  EXPECT_EQ(DecodedRecord::Uint(*d[4]->FindEnterprise(kPen, 30)), 3u);
  for (const DecodedRecord* r : {d[2], d[3], d[4], d[5]}) {
    for (uint16_t id = 23; id <= 27; ++id) EXPECT_EQ(r->FindEnterprise(kPen, id), nullptr) << id;
  }
  for (uint16_t id = 23; id <= 30; ++id) EXPECT_EQ(d[5]->FindEnterprise(kPen, id), nullptr) << id;
  EXPECT_EQ(d[5]->FindEnterprise(0, 459), nullptr);
  // Without a PEN: HTTP's IANA elements still go out, nothing else of it.
  const Stream iana = EncodeAndDecode(flows, {.app_metadata = true});
  ASSERT_EQ(iana.error, "");
  const std::vector<const DecodedRecord*> i = DataRecords(iana);
  ASSERT_EQ(i.size(), flows.size());
  EXPECT_EQ(Text(i[2]->FindEnterprise(0, 459)), "POST");
  EXPECT_EQ(Text(i[2]->FindEnterprise(0, 460)), "api.example.org:8080");
  for (const auto& [tid, fields] : iana.templates) {
    for (const testing::FieldSpec& f : fields) EXPECT_NE(f.pen, kPen) << tid;
  }
  // --app-metadata off: a record's metadata is not read (none is there then).
  const Stream off = EncodeAndDecode(flows, {.pen = kPen});
  ASSERT_EQ(off.error, "");
  for (const DecodedRecord* r : DataRecords(off)) {
    EXPECT_EQ(r->FindEnterprise(0, 459), nullptr);
    for (uint16_t id = 23; id <= 30; ++id) EXPECT_EQ(r->FindEnterprise(kPen, id), nullptr) << id;
  }
  // Uniflow: both halves of the HTTP flow carry its request.
  FlowSnapshot both = http;
  both.last_update_metric = {3, 180, 2, 1500, 0, 0, 0};
  const Stream uni = EncodeAndDecode({both}, {.pen = kPen, .uniflow = true, .app_metadata = true});
  ASSERT_EQ(uni.error, "");
  const std::vector<const DecodedRecord*> halves = DataRecords(uni);
  ASSERT_EQ(halves.size(), 2u);
  for (const DecodedRecord* r : halves) EXPECT_EQ(Text(r->FindEnterprise(0, 459)), "POST");
}

// Without --ipfix-pen only IANA and RFC 5103 elements go out.
TEST_F(IpfixEncoderTest, NoPenMeansIanaElementsOnly) {
  const Stream s = EncodeAndDecode(
      {testing::FullSnapshot(), testing::Ipv6Snapshot(), testing::MinimalSnapshot()}, {});
  ASSERT_EQ(s.error, "");
  EXPECT_EQ(s.records.size(), 3u);
  EXPECT_TRUE(s.scope_counts.empty());
  for (const auto& [tid, fields] : s.templates) {
    for (const testing::FieldSpec& f : fields) {
      EXPECT_TRUE(f.pen == 0 || f.pen == 29305) << tid << ": " << f.pen << "/" << f.id;
    }
  }
}

TEST_F(IpfixEncoderTest, Ipv6UdpVxlanQinQAndIcmp) {
  FlowSnapshot v6 = testing::Ipv6Snapshot();
  FlowSnapshot vx = testing::FullSnapshot();
  vx.num_layers = 6;
  const Layer path[] = {Layer::kEthernet, Layer::kDot1Q, Layer::kDot1Q,
                        Layer::kIpv4,     Layer::kUdp,   Layer::kVxlan};
  std::copy(path, path + 6, vx.layers);
  vx.link_id = 100 | 200 << 12;  // outer tag 100, inner 200
  vx.transport = FlowProtocol::kUdp;
  vx.icmp_version = 0;
  vx.has_icmp_raw_type = false;
  vx.network_id = 0xABCDEF;
  vx.event = FlowEvent::kUpdate;
  vx.expire_reason = ExpireReason::kNone;
  FlowSnapshot icmp = testing::MinimalSnapshot();
  icmp.event = FlowEvent::kExpire;
  icmp.expire_reason = ExpireReason::kEvicted;
  icmp.ip_version = 6;
  icmp.icmp_version = 6;
  icmp.has_icmp_raw_type = true;
  icmp.icmp_raw_type = 128;
  icmp.icmp_code = 0;
  icmp.num_layers = 2;
  icmp.layers[0] = Layer::kIpv6;
  icmp.layers[1] = Layer::kIcmpv6Echo;
  const Stream s = EncodeAndDecode({v6, vx, icmp}, {});
  ASSERT_EQ(s.error, "");
  ASSERT_EQ(s.records.size(), 3u);
  EXPECT_EQ(s.templates.size(), 3u);  // three shapes
  const DecodedRecord& a = s.records[0];
  EXPECT_EQ(U(a, "ipVersion"), 6u);
  EXPECT_EQ(U(a, "protocolIdentifier"), 17u);
  EXPECT_EQ(B(a, "sourceIPv6Address"), std::vector<uint8_t>(v6.network_a, v6.network_a + 16));
  EXPECT_FALSE(Has(a, "sourceMacAddress"));
  EXPECT_FALSE(Has(a, "tcpControlBits"));
  EXPECT_FALSE(Has(a, "ingressInterface"));  // input 0: unknown, never sent as 0
  const DecodedRecord& b = s.records[1];
  EXPECT_EQ(U(b, "flowEndReason"), 2u);  // update: active timeout
  EXPECT_EQ(U(b, "vlanId"), 100u);
  EXPECT_EQ(U(b, "dot1qCustomerVlanId"), 200u);
  EXPECT_EQ(U(b, "layer2SegmentId"), 0x01000000'00ABCDEFULL);  // 0x01: VXLAN
  EXPECT_EQ(U(b, "protocolIdentifier"), 17u);
  const DecodedRecord& c = s.records[2];
  EXPECT_EQ(U(c, "flowEndReason"), 5u);  // evicted: lack of resources
  EXPECT_EQ(U(c, "icmpTypeCodeIPv6"), 128u << 8);
  EXPECT_EQ(U(c, "protocolIdentifier"), 58u);
  EXPECT_FALSE(Has(c, "sourceTransportPort"));
}

// The outer flow of a GRE/MPLS packet: its label stack entries as on the
// wire, the top one first, then the GRE key; a one-label stack sends only
// mplsTopLabelStackSection (a shape of its own).
TEST_F(IpfixEncoderTest, MplsLabelStackEntries) {
  const FlowSnapshot three = testing::GreMplsSnapshot();
  FlowSnapshot one = three;
  one.mpls_count = 1;
  one.mpls[0][2] |= 0x01;  // its bottom of stack
  const Stream s = EncodeAndDecode({three, one}, {});
  ASSERT_EQ(s.error, "");
  ASSERT_EQ(s.records.size(), 2u);
  EXPECT_EQ(s.templates.size(), 2u);
  const DecodedRecord& a = s.records[0];
  EXPECT_EQ(B(a, "mplsTopLabelStackSection"), (std::vector<uint8_t>{0x00, 0x3e, 0x80}));
  EXPECT_EQ(B(a, "mplsLabelStackSection2"), (std::vector<uint8_t>{0x01, 0x00, 0x0a}));
  EXPECT_EQ(B(a, "mplsLabelStackSection3"), (std::vector<uint8_t>{0xff, 0xff, 0xf1}));
  EXPECT_EQ(U(a, "greKey"), 7u);
  EXPECT_EQ(U(a, "protocolIdentifier"), 47u);
  EXPECT_FALSE(Has(a, "sourceTransportPort"));
  const DecodedRecord& b = s.records[1];
  EXPECT_EQ(B(b, "mplsTopLabelStackSection"), (std::vector<uint8_t>{0x00, 0x3e, 0x81}));
  EXPECT_FALSE(Has(b, "mplsLabelStackSection2"));
  EXPECT_FALSE(Has(b, "mplsLabelStackSection3"));
}

// --ipfix-uniflow: a record with packets both ways is two data records, A to
// B then B to A (source and destination swapped, that direction's counters
// and TCP flags), with no reverse element in any template; a record without B
// to A packets is one; an ICMP echo request's reverse is an echo reply.
TEST_F(IpfixEncoderTest, UniflowRecordsOnePerDirection) {
  FlowSnapshot tcp = testing::FullSnapshot();
  tcp.icmp_version = 0;
  tcp.has_icmp_raw_type = false;
  tcp.tcp_flags_ab = 0x1b;
  tcp.tcp_flags_ba = 0x12;
  tcp.last_update_metric = {3, 180, 2, 1500, 0, 0, 0};
  FlowSnapshot one_way = tcp;
  one_way.uuid = 2;
  one_way.last_update_metric = {1, 60, 0, 0, 0, 0, 0};
  FlowSnapshot ping = testing::MinimalSnapshot();
  ping.uuid = 3;
  ping.ip_version = 4;
  std::memcpy(ping.network_a, tcp.network_a, 4);
  std::memcpy(ping.network_b, tcp.network_b, 4);
  ping.icmp_version = 4;
  ping.has_icmp_raw_type = true;
  ping.icmp_raw_type = 8;
  ping.num_layers = 2;
  ping.layers[0] = Layer::kIpv4;
  ping.layers[1] = Layer::kIcmpv4;
  ping.has_last_update_metric = true;
  ping.last_update_metric = {1, 84, 1, 84, 0, 0, 0};
  const Stream s = EncodeAndDecode({tcp, one_way, ping}, {.uniflow = true});
  ASSERT_EQ(s.error, "");
  ASSERT_EQ(s.records.size(), 5u);
  for (const auto& [tid, fields] : s.templates) {
    for (const testing::FieldSpec& f : fields) EXPECT_NE(f.pen, kReversePen) << tid;
  }
  const DecodedRecord& ab = s.records[0];
  const DecodedRecord& ba = s.records[1];
  EXPECT_EQ(U(ab, "flowId"), tcp.uuid);
  EXPECT_EQ(U(ba, "flowId"), tcp.uuid);
  EXPECT_EQ(U(ab, "packetDeltaCount"), 3u);
  EXPECT_EQ(U(ab, "octetDeltaCount"), 180u);
  EXPECT_EQ(U(ba, "packetDeltaCount"), 2u);
  EXPECT_EQ(U(ba, "octetDeltaCount"), 1500u);
  EXPECT_EQ(B(ab, "sourceIPv4Address"), (std::vector<uint8_t>{192, 168, 0, 2}));
  EXPECT_EQ(B(ba, "sourceIPv4Address"), (std::vector<uint8_t>{192, 168, 0, 1}));
  EXPECT_EQ(B(ba, "destinationIPv4Address"), (std::vector<uint8_t>{192, 168, 0, 2}));
  EXPECT_EQ(U(ab, "sourceTransportPort"), 36108u);
  EXPECT_EQ(U(ba, "sourceTransportPort"), 3333u);
  EXPECT_EQ(U(ba, "destinationTransportPort"), 36108u);
  EXPECT_EQ(B(ba, "sourceMacAddress"), (std::vector<uint8_t>{0x00, 0x11, 0x22, 0x33, 0x44, 0x05}));
  EXPECT_EQ(U(ab, "tcpControlBits"), 0x1bu);
  EXPECT_EQ(U(ba, "tcpControlBits"), 0x12u);
  EXPECT_EQ(U(ba, "flowStartMilliseconds"), U(ab, "flowStartMilliseconds"));
  EXPECT_EQ(U(ba, "flowEndReason"), U(ab, "flowEndReason"));
  EXPECT_EQ(U(s.records[2], "flowId"), 2u);  // no B to A packets: one record
  EXPECT_EQ(U(s.records[3], "icmpTypeCodeIPv4"), 8u << 8);
  EXPECT_EQ(U(s.records[4], "icmpTypeCodeIPv4"), 0u);  // the echo reply
  EXPECT_EQ(B(s.records[4], "sourceIPv4Address"), (std::vector<uint8_t>{192, 168, 0, 1}));
  // A type without a known reply: the B to A record says no type.
  FlowSnapshot r;
  ping.icmp_raw_type = 3;
  ReverseOf(ping, &r);
  EXPECT_FALSE(r.has_icmp_raw_type);
  ping.icmp_raw_type = 0;  // a flow first seen at its reply
  ReverseOf(ping, &r);
  EXPECT_EQ(r.icmp_raw_type, 8);
}

TEST_F(IpfixEncoderTest, FlowEndReasons) {
  FlowSnapshot s = testing::MinimalSnapshot();
  s.event = FlowEvent::kUpdate;
  EXPECT_EQ(EndReasonOf(s), FlowEndReason::kActiveTimeout);
  s.event = FlowEvent::kExpire;
  s.expire_reason = ExpireReason::kIdle;
  EXPECT_EQ(EndReasonOf(s), FlowEndReason::kIdleTimeout);
  s.expire_reason = ExpireReason::kTcpClosed;
  EXPECT_EQ(EndReasonOf(s), FlowEndReason::kEndOfFlow);
  s.expire_reason = ExpireReason::kFlush;
  EXPECT_EQ(EndReasonOf(s), FlowEndReason::kForcedEnd);
  s.expire_reason = ExpireReason::kEvicted;
  EXPECT_EQ(EndReasonOf(s), FlowEndReason::kLackOfResources);
  // The registry's values (RFC 5102 §5.11.3).
  EXPECT_EQ(static_cast<int>(FlowEndReason::kIdleTimeout), 1);
  EXPECT_EQ(static_cast<int>(FlowEndReason::kActiveTimeout), 2);
  EXPECT_EQ(static_cast<int>(FlowEndReason::kEndOfFlow), 3);
  EXPECT_EQ(static_cast<int>(FlowEndReason::kForcedEnd), 4);
  EXPECT_EQ(static_cast<int>(FlowEndReason::kLackOfResources), 5);
}

// The longest record the encoder can make fits kMaxRecordBytes, so any
// record fits the smallest message allowed (--ipfix-mtu 1200).
TEST_F(IpfixEncoderTest, LongestRecordFitsTheSmallestMessage) {
  FlowSnapshot s = testing::FullSnapshot();
  s.num_layers = kMaxLayers;
  for (int i = 0; i < kMaxLayers; ++i) s.layers[i] = Layer::kIcmpv6NeighborAdvertisement;
  s.ip_version = 6;
  s.input = 255;
  std::memset(s.community_id, 'c', sizeof(s.community_id) - 1);
  std::memset(s.node_tid, 'n', sizeof(s.node_tid) - 1);
  // A capture point whose CaptureID (interfaceName) is cut to 255 bytes too.
  auto points = std::make_shared<CapturePoints>();
  points->Add(255, CapturePoint{"tap", std::string(1000, 'x'), std::string(1000, 'i')});
  RecordEncoder enc({.pen = kPen, .node_tid = std::string(1000, 'x'), .points = points});
  ByteBuffer entries;
  enc.Append(s, &entries);
  EXPECT_EQ(enc.strings_cut(), 0u);
  EXPECT_LE(kMessageHeader + kSetHeader + kMaxRecordBytes, 1200u);
  // Without its own NodeTID its point's (1000 bytes, 255 at most) comes
  // after a 255-byte CaptureID and LayersPath: it gets what the record has
  // left (the record was over kMaxRecordBytes before strings shared it).
  s.node_tid[0] = '\0';
  enc.Append(s, &entries);
  EXPECT_EQ(enc.strings_cut(), 1u);
  for (EntryReader r(entries.data(), entries.size()); !r.done(); r.Next()) {
    if (IsFlowSet(r.set_id())) EXPECT_LE(r.length(), kMaxRecordBytes);
  }
  const std::vector<uint8_t> bytes = Pack(entries, 1200);
  const Stream d = testing::DecodeStream(bytes.data(), bytes.size());
  ASSERT_EQ(d.error, "");
  ASSERT_EQ(d.records.size(), 2u);
  const std::string node_tid = Str(d.records[1], 7);
  EXPECT_GT(node_tid.size(), 100u);
  EXPECT_LT(node_tid.size(), 255u);
  EXPECT_EQ(node_tid, std::string(node_tid.size(), 'x'));
  const std::vector<uint8_t> name = B(d.records[1], "interfaceName");
  EXPECT_EQ(std::string(name.begin(), name.end()), std::string(255, 'i'));
  EXPECT_EQ(Str(d.records[0], 7), std::string(sizeof(s.node_tid) - 1, 'n'));
}

// The application metadata comes last and takes what room a record has
// left: with every part and long strings everywhere (a 255-byte CaptureID,
// 16 long layer names, TCP health, a ClientHello with a 255-byte SNI and a
// long ALPN list) its strings are cut so that the record ends at
// kMaxRecordBytes, each cut string a prefix of its value, and the record is
// counted; the same ClientHello in a usual record goes out whole.
TEST_F(IpfixEncoderTest, ApplicationStringsTakeTheRoomLeft) {
  const std::string sni(255, 's');
  std::vector<std::string> alpn;
  std::string joined;
  for (int i = 0; i < 4; ++i) {
    alpn.push_back(std::string(30, static_cast<char>('a' + i)));
    joined += (joined.empty() ? "" : ",") + alpn.back();
  }
  FlowSnapshot s = testing::FullSnapshot();
  s.tcp_metric.has_health = true;
  s.tcp_metric.server_handshake_us = s.tcp_metric.client_handshake_us = 10;
  s.input = 255;
  SetTls(&s, sni, alpn, true);
  FlowSnapshot longest = s;
  longest.num_layers = kMaxLayers;
  for (int i = 0; i < kMaxLayers; ++i) longest.layers[i] = Layer::kIcmpv6NeighborAdvertisement;
  longest.ip_version = 6;
  std::memset(longest.community_id, 'c', sizeof(longest.community_id) - 1);
  auto points = std::make_shared<CapturePoints>();
  points->Add(255, CapturePoint{"tap", "probe-1", std::string(1000, 'i')});
  RecordEncoder enc({.pen = kPen, .points = points, .app_metadata = true});
  ByteBuffer entries;
  enc.Append(longest, &entries);
  EXPECT_EQ(enc.strings_cut(), 1u);
  EntryReader r(entries.data(), entries.size());
  r.Next();  // the template
  ASSERT_FALSE(r.done());
  EXPECT_EQ(r.length(), kMaxRecordBytes);  // filled to the last byte
  auto usual_points = std::make_shared<CapturePoints>();
  usual_points->Add(255, CapturePoint{"tap", "probe-1", "eth0"});
  RecordEncoder usual({.pen = kPen, .points = usual_points, .app_metadata = true});
  usual.Append(s, &entries);
  EXPECT_EQ(usual.strings_cut(), 0u);
  const std::vector<uint8_t> bytes = Pack(entries, 1200);
  const Stream d = testing::DecodeStream(bytes.data(), bytes.size());
  ASSERT_EQ(d.error, "");
  ASSERT_EQ(d.records.size(), 2u);
  const DecodedRecord& cut = d.records[0];
  EXPECT_EQ(Text(cut.Find(reg_, "interfaceName")), std::string(255, 'i'));
  const std::string cut_sni = Text(cut.FindEnterprise(kPen, 23));
  EXPECT_LT(cut_sni.size(), sni.size());
  EXPECT_EQ(cut_sni, sni.substr(0, cut_sni.size()));
  const struct {
    uint16_t id;
    std::string whole;
  } later[] = {{24, joined},
               {26, "00112233445566778899aabbccddeeff"},
               {27, "t13d1516h2_8daaf6152771_e5627efa2ab1"}};
  for (const auto& [id, whole] : later) {
    const std::string v = Text(cut.FindEnterprise(kPen, id));
    EXPECT_EQ(v, whole.substr(0, v.size())) << id;
  }
  const DecodedRecord& whole = d.records[1];
  EXPECT_EQ(Text(whole.FindEnterprise(kPen, 23)), sni);
  for (const auto& [id, value] : later) EXPECT_EQ(Text(whole.FindEnterprise(kPen, id)), value);
}

// Messages never exceed their limit; sequence numbers count the data records
// sent before each message (templates do not count).
TEST_F(IpfixEncoderTest, MessagesRespectTheLimitAndNumberDataRecords) {
  RecordEncoder enc({.pen = kPen});
  ByteBuffer entries;
  enc.AppendPreamble(&entries);
  std::vector<FlowSnapshot> flows;
  for (int i = 0; i < 500; ++i) {
    FlowSnapshot f = i % 3 == 0   ? testing::FullSnapshot()
                     : i % 3 == 1 ? testing::Ipv6Snapshot()
                                  : testing::MinimalSnapshot();
    f.uuid = static_cast<uint64_t>(i);
    enc.Append(f, &entries);
  }
  for (const size_t max : {size_t{1200}, size_t{1400}, size_t{9000}, size_t{65000}}) {
    SCOPED_TRACE(max);
    const std::vector<uint8_t> bytes = Pack(entries, max, 99);
    const Stream s = testing::DecodeStream(bytes.data(), bytes.size());
    ASSERT_EQ(s.error, "");
    ASSERT_EQ(s.records.size(), 500u + std::size(kEnterpriseElements));
    uint32_t expected_seq = 0;
    for (const testing::DecodedMessage& m : s.messages) {
      EXPECT_LE(m.length, max);
      EXPECT_EQ(m.sequence, expected_seq);
      EXPECT_EQ(m.domain, 99u);
      EXPECT_EQ(m.export_time, 1700000000u);
      expected_seq += m.data_records;
    }
    uint64_t id = 0;
    for (const DecodedRecord& r : s.records) {
      if (r.template_id == kTypeInfoTemplateId) continue;
      EXPECT_EQ(U(r, "flowId"), id++);
    }
  }
}

}  // namespace
}  // namespace skyprobe::ipfix
