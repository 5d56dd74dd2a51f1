#include "export/json_lines.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "unit/export/test_snapshots.h"

namespace skyprobe {
namespace {

using testing::FullSnapshot;
using testing::Ipv6Snapshot;
using testing::MinimalSnapshot;

std::string Json(const FlowSnapshot& s, const JsonContext& ctx = {}) {
  std::string out;
  AppendFlowJson(s, ctx, &out);
  return out;
}

// A record of a capture point reports that point's NodeTID and CaptureID;
// one of no point (input 0, or unknown) the context's.
TEST(JsonLinesTest, CapturePointNamesTheRecord) {
  auto points = std::make_shared<CapturePoints>("probe-1");
  points->Add(2, CapturePoint{"tap.pcap", "tap-2", "uplink"});
  JsonContext ctx{.node_tid = "probe-1", .capture_id = "", .points = points};
  FlowSnapshot s = MinimalSnapshot();
  s.input = 2;
  std::string j = Json(s, ctx);
  EXPECT_NE(j.find(R"("NodeTID":"tap-2","CaptureID":"uplink")"), std::string::npos) << j;
  s.input = 1;
  j = Json(s, ctx);
  EXPECT_NE(j.find(R"("NodeTID":"probe-1","RawPacketsCaptured")"), std::string::npos) << j;
  EXPECT_EQ(j.find("CaptureID"), std::string::npos) << j;
}

TEST(JsonLinesTest, GoldenFullSnapshot) {
  JsonContext ctx;
  ctx.node_tid = "probe-1";
  ctx.capture_id = "cap-1";
  const std::string expected =
      R"({"Event":"EXPIRE","ExpireReason":"TCP_CLOSED","UUID":"123456789abcdef",)"
      R"("LayersPath":"Ethernet/IPv4/TCP","Application":"TCP","ParentUUID":"fbe08c181ff8df3a",)"
      R"("Start":1490086703768,"Last":1490086703800,)"
      R"("Link":{"Protocol":"ETHERNET","A":"aa:bb:cc:dd:ee:ff","B":"00:11:22:33:44:05","ID":10},)"
      R"("Network":{"Protocol":"IPV4","A":"192.168.0.2","B":"192.168.0.1","ID":0},)"
      R"("Transport":{"Protocol":"TCP","A":36108,"B":3333,"ID":0},)"
      R"("ICMP":{"Type":"ECHO","Code":3,"ID":23604},)"
      R"("LastUpdateMetric":{"ABPackets":1,"ABBytes":66,"BAPackets":0,"BABytes":0,)"
      R"("Start":1490086703790,"Last":1490086703800},)"
      R"("Metric":{"ABPackets":5,"ABBytes":344,"BAPackets":3,"BABytes":206,)"
      R"("Start":1490086703768,"Last":1490086703800,"RTT":33000},)"
      R"("NodeTID":"probe-1","CaptureID":"cap-1","RawPacketsCaptured":7,)"
      R"("TCPMetric":{"ABSynStart":1490086703768,"BASynStart":1490086703770,"ABSynTTL":64,)"
      R"("ABFinStart":1490086703799,"BAFinStart":1490086703800,"ABRstStart":0,"BARstStart":0,)"
      R"("ABSegmentOutOfOrder":1,"ABSegmentSkipped":2,"ABSegmentSkippedBytes":3,)"
      R"("ABPackets":4,"ABBytes":5,"ABSawStart":1,"ABSawEnd":0,"BASegmentOutOfOrder":6,)"
      R"("BASegmentSkipped":7,"BASegmentSkippedBytes":8,"BAPackets":9,"BABytes":10,)"
      R"("BASawStart":0,"BASawEnd":1,"ABRetransmissions":11,"ABFastRetransmissions":12,)"
      R"("ABOutOfOrder":13,"ABLostSegments":14,"ABDupAcks":15,"ABZeroWindows":0,)"
      R"("BARetransmissions":16,"BAFastRetransmissions":17,"BAOutOfOrder":18,)"
      R"("BALostSegments":19,"BADupAcks":0,"BAZeroWindows":20,)"
      R"("ServerHandshakeLatency":2212},)"
      R"("IPMetric":{"Fragments":2,"FragmentErrors":1},)"
      R"("TrackingID":"81789de63b9965cd","L3TrackingID":"a8b1845da6a6715",)"
      R"("FinishType":"TCP_FIN","CommunityID":"1:Gtsx5OozooeGFAFpbwPzYTPgCIs="})"
      "\n";
  EXPECT_EQ(Json(FullSnapshot(), ctx), expected);
}

TEST(JsonLinesTest, TcpStreamAndHealthGroupsOnlyWhenOn) {
  FlowSnapshot s = FullSnapshot();
  s.tcp_metric.has_stream = false;
  std::string j = Json(s);
  EXPECT_EQ(j.find("SegmentSkipped"), std::string::npos) << j;
  EXPECT_EQ(j.find("SegmentOutOfOrder"), std::string::npos) << j;
  EXPECT_EQ(j.find("SawStart"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("ABRetransmissions":11,)"), std::string::npos) << j;
  s.tcp_metric.has_health = false;
  j = Json(s);
  EXPECT_NE(j.find(R"("ABRstStart":0,"BARstStart":0},)"), std::string::npos) << j;
  EXPECT_EQ(j.find("Handshake"), std::string::npos) << j;  // no group: no latency either
  s.tcp_metric.has_health = true;
  s.tcp_metric.server_handshake_us = -1;
  s.tcp_metric.client_handshake_us = 0;  // measured as 0: present
  j = Json(s);
  EXPECT_NE(j.find(R"("BAZeroWindows":20,"ClientHandshakeLatency":0},)"), std::string::npos) << j;
}

TEST(JsonLinesTest, MinimalSnapshotKeepsOnlyAlwaysPresentFields) {
  const std::string expected =
      R"({"Event":"UPDATE","ExpireReason":"NONE","UUID":"0","ParentUUID":"","Start":0,"Last":0,)"
      R"("Metric":{"ABPackets":0,"ABBytes":0,"BAPackets":0,"BABytes":0,"Start":0,"Last":0},)"
      R"("RawPacketsCaptured":0,"TrackingID":"0","L3TrackingID":"0"})"
      "\n";
  EXPECT_EQ(Json(MinimalSnapshot()), expected);
}

TEST(JsonLinesTest, OmitsZeroUint32AndRttButKeepsInt64) {
  FlowSnapshot s = FullSnapshot();
  s.icmp_code = 0;
  s.icmp_id = 0;
  s.metric.rtt = 0;
  s.tcp_metric.ab_syn_ttl = 0;
  s.tcp_metric.ab_syn_start = 0;
  s.link_id = 0;
  s.finish_type = FinishType::kNotFinished;
  s.community_id[0] = '\0';
  const std::string j = Json(s);
  EXPECT_NE(j.find(R"("ICMP":{"Type":"ECHO"},)"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("Last":1490086703800},"RawPacketsCaptured")"), std::string::npos)
      << j;  // no RTT
  EXPECT_EQ(j.find("RTT"), std::string::npos) << j;
  EXPECT_EQ(j.find("SynTTL"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("TCPMetric":{"ABSynStart":0,)"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("B":"00:11:22:33:44:05","ID":0})"), std::string::npos) << j;
  EXPECT_EQ(j.find("FinishType"), std::string::npos) << j;
  EXPECT_EQ(j.find("CommunityID"), std::string::npos) << j;
  EXPECT_EQ(j.find("NodeTID"), std::string::npos) << j;  // empty context
  EXPECT_EQ(j.find("CaptureID"), std::string::npos) << j;
}

TEST(JsonLinesTest, SubMessagesFollowSnapshotFlags) {
  FlowSnapshot s = FullSnapshot();
  s.has_link = false;
  s.ip_version = 0;
  s.transport = FlowProtocol::kEthernet;
  s.icmp_version = 0;
  s.has_last_update_metric = false;
  s.has_tcp_metric = false;
  s.has_ip_metric = false;
  const std::string j = Json(s);
  for (const char* key : {"\"Link\"", "\"Network\"", "\"Transport\"", "\"ICMP\"",
                          "\"LastUpdateMetric\"", "\"TCPMetric\"", "\"IPMetric\""}) {
    EXPECT_EQ(j.find(key), std::string::npos) << key << " in " << j;
  }
  EXPECT_NE(j.find("\"Metric\":{"), std::string::npos) << j;
}

TEST(JsonLinesTest, NoParentGivesEmptyParentUuid) {
  FlowSnapshot s = FullSnapshot();
  s.has_parent = false;
  EXPECT_NE(Json(s).find(R"("ParentUUID":"",)"), std::string::npos);
}

TEST(JsonLinesTest, HexHasNoLeadingZeros) {
  FlowSnapshot s;
  s.uuid = 0x1;
  s.has_parent = true;
  s.parent_uuid = 0x00000000000000a0ULL;
  s.tracking_id = 0xffffffffffffffffULL;
  s.l3_tracking_id = 0x0000100000000000ULL;
  const std::string j = Json(s);
  EXPECT_NE(j.find(R"("UUID":"1",)"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("ParentUUID":"a0",)"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("TrackingID":"ffffffffffffffff",)"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("L3TrackingID":"100000000000")"), std::string::npos) << j;
}

TEST(JsonLinesTest, Ipv6AndApplicationFromLastLayer) {
  const std::string j = Json(Ipv6Snapshot());
  EXPECT_NE(j.find(R"("LayersPath":"IPv6/UDP/DNS","Application":"DNS",)"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("Network":{"Protocol":"IPV6","A":"2001:db8::1",)"
                   R"("B":"fe80::20c:29ff:fe3a:b","ID":42})"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find(R"("Transport":{"Protocol":"UDP","A":5353,"B":53,"ID":0})"), std::string::npos)
      << j;
}

TEST(JsonLinesTest, EscapesUserStrings) {
  JsonContext ctx;
  ctx.node_tid = std::string("a\"b\\c\nd\te\x01\x1f/\x7f", 13);
  const std::string j = Json(MinimalSnapshot(), ctx);
  EXPECT_NE(j.find(R"("NodeTID":"a\"b\\c\nd\te\u0001\u001f/)"
                   "\x7f\""),
            std::string::npos)
      << j;
}

TEST(JsonLinesTest, KeepsValidUtf8AndReplacesInvalidBytes) {
  std::string out;
  AppendJsonString("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", &out);  // é € 😀
  EXPECT_EQ(out, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");

  out.clear();
  // Lone continuation, truncated 3-byte sequence, overlong '/', a UTF-16
  // surrogate, a code point above U+10FFFF, then 0xff.
  AppendJsonString("\x80|\xe2\x82|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xff", &out);
  EXPECT_EQ(out, R"("\ufffd|\ufffd\ufffd|\ufffd\ufffd|\ufffd\ufffd\ufffd|)"
                 R"(\ufffd\ufffd\ufffd\ufffd|\ufffd")");

  out.clear();
  AppendJsonString(std::string_view("a\0b", 3), &out);
  EXPECT_EQ(out, R"("a\u0000b")");
}

TEST(JsonLinesTest, AppendsOneLinePerRecord) {
  std::string out = "prefix\n";
  AppendFlowJson(MinimalSnapshot(), {}, &out);
  AppendFlowJson(FullSnapshot(), {}, &out);
  EXPECT_EQ(out.rfind("prefix\n{", 0), 0u);
  size_t lines = 0;
  for (char c : out) lines += c == '\n';
  EXPECT_EQ(lines, 3u);
  EXPECT_EQ(out.back(), '\n');
}

}  // namespace
}  // namespace skyprobe
