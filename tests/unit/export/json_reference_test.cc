// json_reference_test.cc: AppendFlowJson on random flows against a second,
// simple writer written here from json_lines.h's rules (string concatenation,
// std::to_string, snprintf, inet_ntop, and its own UTF-8 check by the RFC 3629
// byte table), byte for byte; and each line read back by protobuf's JSON
// parser (unknown keys refused), its numbers and strings against the record.
//
// Owner: test code only.
//
//   build/tests/unit/export/export_unit_test --gtest_filter='JsonReference*'
//
// 10,000 random flows: counters and times over the whole int64 range (0, negatives,
// INT64_MIN/MAX), hex ids with and without leading zero nibbles, IPv4, IPv6
// with zero runs and mapped addresses, out-of-range enum values, every TCP
// metric group, and NodeTID/CaptureID/CommunityID strings with control bytes,
// quotes, backslashes, valid multi-byte UTF-8 and invalid sequences (stray
// continuation bytes, overlong forms, surrogates, truncated sequences), some
// long enough to pass the writer's 4 KiB buffer. The application metadata
// objects are left to the golden tests (json_lines_test, integration).
#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "export/json_lines.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "record/flow_format.h"
#include "skyprobe/v1/flow.pb.h"
#include "unit/export/random_flows.h"

namespace skyprobe {
namespace {

bool ValidUtf8(std::string_view v);

// The line read back by protobuf's JSON parser (an independent parser:
// unknown keys refused), its fields against the record's own values.
void ExpectParsesAsRecord(const std::string& line, const FlowSnapshot& s, const JsonContext& ctx) {
  skyprobe::v1::Flow f;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(line, &f, options);
  ASSERT_TRUE(status.ok()) << status.ToString() << "\n" << line;
  char hex[24];
  std::snprintf(hex, sizeof(hex), "%llx", static_cast<unsigned long long>(s.uuid));
  EXPECT_EQ(f.uuid(), hex);
  EXPECT_EQ(f.start(), s.start);
  EXPECT_EQ(f.last(), s.last);
  EXPECT_EQ(f.metric().abpackets(), s.metric.ab_packets);
  EXPECT_EQ(f.metric().abbytes(), s.metric.ab_bytes);
  EXPECT_EQ(f.metric().bapackets(), s.metric.ba_packets);
  EXPECT_EQ(f.metric().babytes(), s.metric.ba_bytes);
  EXPECT_EQ(f.metric().rtt(), s.metric.rtt);
  EXPECT_EQ(f.rawpacketscaptured(), s.raw_packets_captured);
  if (s.transport != FlowProtocol::kEthernet) {
    EXPECT_EQ(f.transport().a(), s.transport_a);
    EXPECT_EQ(f.transport().b(), s.transport_b);
  }
  if (s.has_tcp_metric) {
    EXPECT_EQ(f.tcpmetric().abfinstart(), s.tcp_metric.ab_fin_start);
  }
  const std::string_view tid = s.node_tid[0] != '\0' ? std::string_view(s.node_tid) : ctx.node_tid;
  if (ValidUtf8(tid)) {  // else U+FFFD for the bad bytes, checked by the byte comparison
    EXPECT_EQ(f.nodetid(), tid);
  }
  if (ValidUtf8(ctx.capture_id)) {
    EXPECT_EQ(f.captureid(), ctx.capture_id);
  }
}

// Length of the well-formed UTF-8 sequence at `s` by RFC 3629's table of
// byte ranges, 0 if there is none.
size_t WellFormed(const unsigned char* s, size_t n) {
  auto in = [&](size_t i, int lo, int hi) { return i < n && s[i] >= lo && s[i] <= hi; };
  const int b = s[0];
  if (b >= 0xc2 && b <= 0xdf) return in(1, 0x80, 0xbf) ? 2 : 0;
  int lo = 0x80, hi = 0xbf;
  if (b == 0xe0) lo = 0xa0;
  if (b == 0xed) hi = 0x9f;
  if (b >= 0xe0 && b <= 0xef) return in(1, lo, hi) && in(2, 0x80, 0xbf) ? 3 : 0;
  if (b == 0xf0) lo = 0x90;
  if (b == 0xf4) hi = 0x8f;
  if (b >= 0xf0 && b <= 0xf4) {
    return in(1, lo, hi) && in(2, 0x80, 0xbf) && in(3, 0x80, 0xbf) ? 4 : 0;
  }
  return 0;
}

bool ValidUtf8(std::string_view v) {
  const auto* s = reinterpret_cast<const unsigned char*>(v.data());
  for (size_t i = 0; i < v.size();) {
    const size_t len = s[i] < 0x80 ? 1 : WellFormed(s + i, v.size() - i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string Quote(std::string_view v) {
  std::string r = "\"";
  const auto* s = reinterpret_cast<const unsigned char*>(v.data());
  for (size_t i = 0; i < v.size();) {
    const unsigned char c = s[i];
    const char* named = c == '"'    ? "\\\""
                        : c == '\\' ? "\\\\"
                        : c == '\b' ? "\\b"
                        : c == '\f' ? "\\f"
                        : c == '\n' ? "\\n"
                        : c == '\r' ? "\\r"
                        : c == '\t' ? "\\t"
                                    : nullptr;
    size_t len = 1;
    if (named != nullptr) {
      r += named;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      r += buf;
    } else if (c < 0x80) {
      r += static_cast<char>(c);
    } else if ((len = WellFormed(s + i, v.size() - i)) != 0) {
      r.append(v.substr(i, len));
    } else {
      r += "\\ufffd";
      len = 1;
    }
    i += len;
  }
  return r + "\"";
}

// RFC 5952 text, built with strings: the independent twin of AppendIp.
std::string Ipv6Text(const uint8_t* a) {
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char buf[INET6_ADDRSTRLEN];
  if (std::equal(a, a + 12, kMapped)) {
    std::string r = "::ffff:";
    r += inet_ntop(AF_INET, a + 12, buf, sizeof(buf));
    return r;
  }
  std::vector<std::string> g;
  for (int i = 0; i < 8; ++i) {
    std::snprintf(buf, sizeof(buf), "%x", a[2 * i] << 8 | a[2 * i + 1]);
    g.emplace_back(buf);
  }
  int best = -1, best_len = 1;
  for (int i = 0; i < 8; ++i) {
    int j = i;
    while (j < 8 && g[j] == "0") ++j;
    if (j - i > best_len) best = i, best_len = j - i;
  }
  std::string r;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      r += "::";
      i += best_len - 1;
    } else {
      if (!r.empty() && r.back() != ':') r += ':';
      r += g[i];
    }
  }
  return r;
}

std::string IpText(const FlowSnapshot& s, const uint8_t* a) {
  char buf[INET6_ADDRSTRLEN];
  if (s.ip_version == 4) return inet_ntop(AF_INET, a, buf, sizeof(buf));
  return Ipv6Text(a);
}

struct Ref {
  std::string out;
  bool first = true;
  void Open() { out += '{', first = true; }
  void Close() { out += '}', first = false; }
  void Key(const std::string& k) {
    if (!first) out += ',';
    first = false;
    out += '"';
    out += k;
    out += "\":";
  }
  void Obj(const std::string& k) { Key(k), Open(); }
  void Int(const std::string& k, int64_t v) { Key(k), out += std::to_string(v); }
  void IntNZ(const std::string& k, int64_t v) {
    if (v != 0) Int(k, v);
  }
  void Str(const std::string& k, std::string_view v) { Key(k), out += Quote(v); }
  void StrNE(const std::string& k, std::string_view v) {
    if (!v.empty()) Str(k, v);
  }
  void Hex(const std::string& k, uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof(buf), "\"%llx\"", static_cast<unsigned long long>(v));
    Key(k), out += buf;
  }
  void Metric(const std::string& k, const FlowMetric& m) {
    Obj(k);
    Int("ABPackets", m.ab_packets), Int("ABBytes", m.ab_bytes);
    Int("BAPackets", m.ba_packets), Int("BABytes", m.ba_bytes);
    Int("Start", m.start), Int("Last", m.last), IntNZ("RTT", m.rtt);
    Close();
  }
};

void RefTcp(const TcpMetric& m, Ref* r) {
  r->Obj("TCPMetric");
  r->Int("ABSynStart", m.ab_syn_start), r->Int("BASynStart", m.ba_syn_start);
  r->IntNZ("ABSynTTL", m.ab_syn_ttl), r->IntNZ("BASynTTL", m.ba_syn_ttl);
  r->Int("ABFinStart", m.ab_fin_start), r->Int("BAFinStart", m.ba_fin_start);
  r->Int("ABRstStart", m.ab_rst_start), r->Int("BARstStart", m.ba_rst_start);
  if (m.has_stream) {
    for (const char* side : {"AB", "BA"}) {
      const TcpStreamCounters& c = side[0] == 'A' ? m.ab_stream : m.ba_stream;
      const std::string p = side;
      r->Int(p + "SegmentOutOfOrder", c.segment_out_of_order);
      r->Int(p + "SegmentSkipped", c.segment_skipped);
      r->Int(p + "SegmentSkippedBytes", c.segment_skipped_bytes);
      r->Int(p + "Packets", c.packets), r->Int(p + "Bytes", c.bytes);
      r->Int(p + "SawStart", c.saw_start), r->Int(p + "SawEnd", c.saw_end);
    }
  }
  if (m.has_health) {
    for (const char* side : {"AB", "BA"}) {
      const TcpHealthCounts& c = side[0] == 'A' ? m.ab_health : m.ba_health;
      const std::string p = side;
      r->Int(p + "Retransmissions", c.retransmissions);
      r->Int(p + "FastRetransmissions", c.fast_retransmissions);
      r->Int(p + "OutOfOrder", c.out_of_order), r->Int(p + "LostSegments", c.lost_segments);
      r->Int(p + "DupAcks", c.dup_acks), r->Int(p + "ZeroWindows", c.zero_windows);
    }
    if (m.server_handshake_us >= 0) r->Int("ServerHandshakeLatency", m.server_handshake_us);
    if (m.client_handshake_us >= 0) r->Int("ClientHandshakeLatency", m.client_handshake_us);
  }
  r->Close();
}

// The line json_lines.h describes, for a record of no capture point.
std::string Reference(const FlowSnapshot& s, const JsonContext& ctx) {
  Ref r;
  r.Open();
  r.Str("Event", FlowEventName(s.event));
  r.Str("ExpireReason", ExpireReasonName(s.expire_reason));
  r.Hex("UUID", s.uuid);
  if (s.num_layers != 0) {
    std::string path;
    for (int i = 0; i < std::min<int>(s.num_layers, kMaxLayers); ++i) {
      if (i != 0) path += '/';
      path += LayerName(s.layers[i]);
    }
    r.Str("LayersPath", path);
    r.Str("Application", LayerName(s.layers[std::min<int>(s.num_layers, kMaxLayers) - 1]));
  }
  s.has_parent ? r.Hex("ParentUUID", s.parent_uuid) : r.Str("ParentUUID", "");
  r.Int("Start", s.start), r.Int("Last", s.last);
  if (s.has_link) {
    char a[18], b[18];
    for (auto [mac, buf] : {std::pair{s.link_a, a}, std::pair{s.link_b, b}}) {
      std::snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                    mac[4], mac[5]);
    }
    r.Obj("Link"), r.Str("Protocol", "ETHERNET"), r.Str("A", a), r.Str("B", b);
    r.Int("ID", s.link_id), r.Close();
  }
  if (s.ip_version == 4 || s.ip_version == 6) {
    r.Obj("Network"), r.Str("Protocol", s.ip_version == 4 ? "IPV4" : "IPV6");
    r.Str("A", IpText(s, s.network_a)), r.Str("B", IpText(s, s.network_b));
    r.Int("ID", s.network_id), r.Close();
  }
  if (s.transport != FlowProtocol::kEthernet) {
    r.Obj("Transport"), r.Str("Protocol", FlowProtocolName(s.transport));
    r.Int("A", s.transport_a), r.Int("B", s.transport_b), r.Int("ID", 0), r.Close();
  }
  if (s.icmp_version != 0) {
    r.Obj("ICMP"), r.Str("Type", IcmpTypeName(s.icmp_type));
    r.IntNZ("Code", s.icmp_code), r.IntNZ("ID", s.icmp_id), r.Close();
  }
  if (s.has_last_update_metric) r.Metric("LastUpdateMetric", s.last_update_metric);
  r.Metric("Metric", s.metric);
  r.StrNE("NodeTID", s.node_tid[0] != '\0' ? std::string_view(s.node_tid) : ctx.node_tid);
  r.StrNE("CaptureID", ctx.capture_id);
  r.Int("RawPacketsCaptured", s.raw_packets_captured);
  if (s.has_tcp_metric) RefTcp(s.tcp_metric, &r);
  if (s.has_ip_metric) {
    r.Obj("IPMetric"), r.Int("Fragments", s.ip_metric.fragments);
    r.Int("FragmentErrors", s.ip_metric.fragment_errors), r.Close();
  }
  if (s.has_scaled_metric) {
    const ScaledMetric& m = s.scaled_metric;
    r.Obj("ScaledMetric"), r.Int("ABPackets", m.ab_packets), r.Int("ABBytes", m.ab_bytes);
    r.Int("BAPackets", m.ba_packets), r.Int("BABytes", m.ba_bytes);
    r.Int("SamplingRate", m.sampling_rate), r.Close();
  }
  r.Hex("TrackingID", s.tracking_id), r.Hex("L3TrackingID", s.l3_tracking_id);
  if (s.finish_type != FinishType::kNotFinished) r.Str("FinishType", FinishTypeName(s.finish_type));
  r.StrNE("CommunityID",
          std::string_view(s.community_id, strnlen(s.community_id, sizeof(s.community_id))));
  r.Close();
  return r.out + "\n";
}

TEST(JsonReferenceTest, RandomFlowsMatchTheReferenceWriter) {
  std::mt19937_64 rng(20261202);
  testing::RandomFlows gen(&rng);
  std::string all;  // records appended one after another, as the sinks do
  std::string expected;
  for (int i = 0; i < 10000; ++i) {
    JsonContext ctx;
    ctx.node_tid = gen.Text();
    ctx.capture_id = gen.Text();
    const FlowSnapshot s = gen.Flow();
    std::string line;
    AppendFlowJson(s, ctx, &line);
    const std::string want = Reference(s, ctx);
    ASSERT_EQ(line, want) << "flow " << i;
    line.pop_back();  // '\n'
    ExpectParsesAsRecord(line, s, ctx);
    AppendFlowJson(s, ctx, &all);
    expected += want;
  }
  EXPECT_EQ(all, expected);
  EXPECT_GT(gen.long_texts(), 100);  // the writer's long-string path was taken
}

}  // namespace
}  // namespace skyprobe
