// skyprobectl rebuilds snapshots from Flow messages: printing them with the
// probe's JSON writer must give exactly the probe's --json line.

#include "ctl/flow_from_proto.h"

#include <string>

#include "export/flow_proto.h"
#include "export/json_lines.h"
#include "gtest/gtest.h"
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

TEST(FlowFromProtoTest, RefusesGarbage) {
  v1::Flow msg;
  msg.set_uuid("xyz");
  query::FlowRow row;
  EXPECT_FALSE(ctl::FlowFromProto(msg, &row).ok());
}

}  // namespace
}  // namespace skyprobe
