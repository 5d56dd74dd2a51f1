#include "export/flow_proto.h"

#include <memory>
#include <string>

#include "export/json_lines.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "unit/export/test_snapshots.h"

namespace skyprobe {
namespace {

using google::protobuf::util::JsonParseOptions;
using google::protobuf::util::JsonStringToMessage;
using google::protobuf::util::MessageDifferencer;

// The JSON line must parse as a skyprobe.v1.Flow with unknown fields refused
// (so every key we write is a proto field with that exact name) and must
// equal what ToProto() builds from the same snapshot.
void ExpectRoundTrip(const FlowSnapshot& s, const JsonContext& ctx) {
  std::string json;
  AppendFlowJson(s, ctx, &json);
  json.pop_back();  // '\n'

  skyprobe::v1::Flow parsed;
  JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = JsonStringToMessage(json, &parsed, options);
  ASSERT_TRUE(status.ok()) << status.ToString() << "\n" << json;

  skyprobe::v1::Flow built;
  ToProto(s, ctx, &built);
  std::string diff;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(built, parsed)) << diff << "\n" << json;
}

TEST(FlowProtoTest, RoundTripFull) {
  JsonContext ctx;
  ctx.node_tid = "node \"one\"\n\xc3\xa9";
  ctx.capture_id = "capture-7";
  ExpectRoundTrip(testing::FullSnapshot(), ctx);
}

// A capture point's NodeTID and CaptureID, in the message and the JSON line alike.
TEST(FlowProtoTest, CapturePointNamesTheRecord) {
  auto points = std::make_shared<CapturePoints>("probe");
  points->Add(4, CapturePoint{"eth1", "tap-4", "downlink"});
  JsonContext ctx{.node_tid = "probe", .capture_id = "", .points = points};
  FlowSnapshot s = testing::FullSnapshot();
  s.input = 4;
  skyprobe::v1::Flow f;
  ToProto(s, ctx, &f);
  EXPECT_EQ(f.nodetid(), "tap-4");
  EXPECT_EQ(f.captureid(), "downlink");
  ExpectRoundTrip(s, ctx);
  s.input = 0;
  ToProto(s, ctx, &f);
  EXPECT_EQ(f.nodetid(), "probe");
  EXPECT_EQ(f.captureid(), "");
}

TEST(FlowProtoTest, RoundTripMinimal) { ExpectRoundTrip(testing::MinimalSnapshot(), {}); }

TEST(FlowProtoTest, RoundTripIpv6) { ExpectRoundTrip(testing::Ipv6Snapshot(), {}); }

TEST(FlowProtoTest, RoundTripEveryEnumValue) {
  FlowSnapshot s = testing::FullSnapshot();
  for (int i = 0; i <= 7; ++i) {
    s.transport = static_cast<FlowProtocol>(i);
    ExpectRoundTrip(s, {});
  }
  for (int i = 0; i <= 12; ++i) {
    s.icmp_type = static_cast<IcmpType>(i);
    ExpectRoundTrip(s, {});
  }
  for (int i = 0; i <= 3; ++i) {
    s.finish_type = static_cast<FinishType>(i);
    ExpectRoundTrip(s, {});
  }
  for (int i = 0; i <= 4; ++i) {
    s.expire_reason = static_cast<ExpireReason>(i);
    s.event = i == 0 ? FlowEvent::kUpdate : FlowEvent::kExpire;
    ExpectRoundTrip(s, {});
  }
}

TEST(FlowProtoTest, FillsFields) {
  JsonContext ctx;
  ctx.node_tid = "n";
  skyprobe::v1::Flow f;
  f.set_captureid("stale");  // ToProto starts from a clear message
  ToProto(testing::FullSnapshot(), ctx, &f);
  EXPECT_EQ(f.uuid(), "123456789abcdef");
  EXPECT_EQ(f.parentuuid(), "fbe08c181ff8df3a");
  EXPECT_EQ(f.layerspath(), "Ethernet/IPv4/TCP");
  EXPECT_EQ(f.application(), "TCP");
  EXPECT_EQ(f.link().a(), "aa:bb:cc:dd:ee:ff");
  EXPECT_EQ(f.network().protocol(), skyprobe::v1::IPV4);
  EXPECT_EQ(f.network().b(), "192.168.0.1");
  EXPECT_EQ(f.transport().protocol(), skyprobe::v1::TCP);
  EXPECT_EQ(f.transport().a(), 36108);
  EXPECT_EQ(f.icmp().type(), skyprobe::v1::ECHO);
  EXPECT_EQ(f.metric().rtt(), 33000);
  EXPECT_EQ(f.tcpmetric().absynttl(), 64u);
  EXPECT_EQ(f.finishtype(), skyprobe::v1::TCP_FIN);
  EXPECT_EQ(f.event(), skyprobe::v1::Flow::EXPIRE);
  EXPECT_EQ(f.expirereason(), skyprobe::v1::Flow::TCP_CLOSED);
  EXPECT_EQ(f.communityid(), "1:Gtsx5OozooeGFAFpbwPzYTPgCIs=");
  EXPECT_EQ(f.nodetid(), "n");
  EXPECT_EQ(f.captureid(), "");
  EXPECT_EQ(f.lastrawpackets_size(), 0);
}

}  // namespace
}  // namespace skyprobe
