// Aggregate's grouping: the keys a request may group by (and the clear
// errors for the others), keys encoded and decoded back to the values a
// filter compares, absent values, the group table's cap and merge, the order
// of groups (counters, keys, ties) and the merge across probes.

#include "query/group_by.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/query/test_flows.h"

namespace skyprobe::query {
namespace {

namespace v1 = ::skyprobe::v1;
using testing::IcmpFlow;
using testing::TcpFlow;

std::string Error(const std::vector<std::string>& keys) {
  return std::string(GroupFields(keys).status().message());
}

TEST(GroupBy, RefusesWhatCannotMakeAGroup) {
  EXPECT_EQ(Error({}), "group_by: no key given");
  EXPECT_EQ(Error({"Network.X"}), "group_by: unknown key 'Network.X' (did you mean 'Network.A'?)");
  EXPECT_EQ(Error({"Network.A", "IPV4.A"}), "group_by: Network.A given twice");  // an alias
  EXPECT_EQ(Error(std::vector<std::string>(9, "Network.A")), "group_by: 9 keys; at most 8");
  for (const char* counter : {"Metric.ABBytes", "Start", "Last", "TCPMetric.ABSynStart",
                              "RawPacketsCaptured", "LastUpdateMetric.ABPackets"}) {
    EXPECT_NE(Error({counter}).find("counts or times a flow"), std::string::npos) << counter;
  }
  for (const char* ok :
       {"Network.A", "Network.B", "Transport.A", "Transport.B", "Application", "Link.ID", "NodeTID",
        "CaptureID", "TrackingID", "LayersPath", "ICMP.Type", "ICMP.ID", "Transport.Protocol"}) {
    EXPECT_TRUE(GroupFields({ok}).ok()) << ok;
  }
}

TEST(GroupBy, KeysDecodeToTheValuesFiltersCompare) {
  auto g = GroupBy::Compile({"Network.A", "Transport.A", "NodeTID", "Application"},
                            {.node_tid = "probe-1"});
  ASSERT_TRUE(g.ok()) << g.status();
  GroupKey key;
  key.scratch.reserve(256);
  const FlowSnapshot tcp = TcpFlow(1, "2001:db8::1", "2001:db8::2", 40000, 443, 10);
  ASSERT_TRUE((*g)->Key(tcp, &key));
  std::vector<GroupValue> v = (*g)->Values(key.view());
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(GroupValueText(v[0]), "2001:db8::1");
  EXPECT_FALSE(v[0].is_int);
  EXPECT_TRUE(v[1].present && v[1].is_int);
  EXPECT_EQ(v[1].i, 40000);
  EXPECT_EQ(GroupValueText(v[2]), "probe-1");
  EXPECT_EQ(GroupValueText(v[3]), "TCP");
  // ICMP has no Transport.A: absent, a group of its own.
  const FlowSnapshot icmp = IcmpFlow(2, "10.0.0.1", "10.0.0.2");
  GroupKey other;
  ASSERT_TRUE((*g)->Key(icmp, &other));
  v = (*g)->Values(other.view());
  EXPECT_EQ(GroupValueText(v[0]), "10.0.0.1");
  EXPECT_FALSE(v[1].present);
  EXPECT_NE(key.view(), other.view());
  // Same values, same key: two flows of one host and port make one group.
  GroupKey again;
  ASSERT_TRUE((*g)->Key(TcpFlow(9, "2001:db8::1", "2001:db8::7", 40000, 80, 5), &again));
  EXPECT_EQ(key.view(), again.view());
}

TEST(GroupBy, AValueTooLongDoesNotEncode) {
  auto g = GroupBy::Compile({"NodeTID"}, {.node_tid = std::string(300, 'n')});
  ASSERT_TRUE(g.ok());
  GroupKey key;
  EXPECT_FALSE((*g)->Key(TcpFlow(1, "10.0.0.1", "10.0.0.2", 1, 2, 3), &key));
}

TEST(GroupTable, CapsNewGroupsAndMerges) {
  auto g = GroupBy::Compile({"Transport.B"}, {});
  ASSERT_TRUE(g.ok());
  GroupTable a(3), b(3);
  GroupKey key;
  for (int port : {1, 2, 3, 1}) {
    const FlowSnapshot s = TcpFlow(port, "10.0.0.1", "10.0.0.2", 1000, port, 100 * port);
    ASSERT_TRUE((*g)->Key(s, &key));
    EXPECT_TRUE(a.Add(key, s.metric)) << port;
  }
  const FlowSnapshot four = TcpFlow(4, "10.0.0.1", "10.0.0.2", 1000, 4, 400);
  ASSERT_TRUE((*g)->Key(four, &key));
  EXPECT_FALSE(a.Add(key, four.metric));  // a fourth group: refused, nothing added
  EXPECT_EQ(a.size(), 3u);
  const FlowSnapshot one = TcpFlow(1, "10.0.0.9", "10.0.0.2", 1000, 1, 50);
  ASSERT_TRUE((*g)->Key(one, &key));
  ASSERT_TRUE(b.Add(key, one.metric));
  ASSERT_TRUE(a.Merge(b));  // an existing group: fits
  std::vector<GroupSums> sums;
  a.ForEach([&](std::string_view, const GroupSums& s) { sums.push_back(s); });
  ASSERT_EQ(sums.size(), 3u);
  EXPECT_EQ(sums[0].flows, 3);  // port 1: two flows of a, one of b
  EXPECT_EQ(sums[0].ab_bytes, 100 + 100 + 50);
  EXPECT_EQ(sums[0].ab_packets, 6);
  EXPECT_EQ(sums[0].start, 1001);  // the earliest Start (TcpFlow: 1000 + uuid)
  ASSERT_TRUE(b.Add(key, one.metric));
  b.Clear();
  EXPECT_EQ(b.size(), 0u);
  ASSERT_TRUE((*g)->Key(four, &key));
  EXPECT_TRUE(b.Add(key, four.metric));
  EXPECT_FALSE(a.Merge(b));  // a new group past the cap
}

GroupRow Row(std::vector<GroupValue> key, int64_t flows, int64_t bytes) {
  GroupRow r;
  r.key = std::move(key);
  r.sums.flows = flows;
  r.sums.ab_bytes = bytes;
  return r;
}
GroupValue Str(const std::string& s) { return GroupValue{true, false, 0, s}; }
GroupValue Int(int64_t i) { return GroupValue{true, true, i, ""}; }

TEST(GroupOrder, CountersDescendKeysAscendTiesByKey) {
  const auto fields = *GroupFields({"Network.A", "Transport.B"});
  std::vector<GroupRow> rows = {Row({Str("b"), Int(2)}, 1, 100), Row({Str("a"), Int(9)}, 5, 100),
                                Row({Str("c"), GroupValue{}}, 2, 900),
                                Row({Str("a"), Int(1)}, 1, 50)};
  auto order = MakeGroupOrder("", v1::SORT_ORDER_UNSPECIFIED, fields);
  ASSERT_TRUE(order.ok());
  SortGroups(*order, &rows);  // Bytes, descending; the two 100s by key
  EXPECT_EQ(GroupValueText(rows[0].key[0]), "c");
  EXPECT_EQ(GroupValueText(rows[1].key[0]) + GroupValueText(rows[2].key[0]), "ab");
  order = MakeGroupOrder("Transport.B", v1::SORT_ORDER_UNSPECIFIED, fields);
  ASSERT_TRUE(order.ok());
  SortGroups(*order, &rows);  // a key: ascending, absent last
  EXPECT_EQ(rows[0].key[1].i, 1);
  EXPECT_EQ(rows[2].key[1].i, 9);
  EXPECT_FALSE(rows[3].key[1].present);
  order = MakeGroupOrder("Transport.B", v1::DESCENDING, fields);
  SortGroups(*order, &rows);  // absent last in either direction
  EXPECT_EQ(rows[0].key[1].i, 9);
  EXPECT_FALSE(rows[3].key[1].present);
  order = MakeGroupOrder("Metric.Flows", v1::ASCENDING, fields);  // the Metric. prefix is allowed
  ASSERT_TRUE(order.ok());
  SortGroups(*order, &rows);
  EXPECT_EQ(rows[3].sums.flows, 5);
  EXPECT_FALSE(MakeGroupOrder("Network.B", v1::ASCENDING, fields).ok());
  EXPECT_FALSE(MakeGroupOrder("Bytes", static_cast<v1::SortOrder>(7), fields).ok());
}

TEST(GroupMerge, EqualKeysAddUpAcrossProbes) {
  std::vector<GroupRow> into = {Row({Str("10.0.0.1")}, 1, 10), Row({GroupValue{}}, 1, 1)};
  MergeGroups({Row({Str("10.0.0.1")}, 2, 20), Row({Str("10.0.0.2")}, 1, 5),
               Row({GroupValue{}}, 3, 3), Row({Int(0)}, 1, 1)},
              &into);
  ASSERT_EQ(into.size(), 4u);  // an absent value and 0 are different keys
  EXPECT_EQ(into[0].sums.flows, 3);
  EXPECT_EQ(into[0].sums.ab_bytes, 30);
  EXPECT_EQ(into[1].sums.flows, 4);
  // And through protobuf and back.
  v1::FlowGroup pb;
  GroupToProto(into[0], &pb);
  const GroupRow back = GroupFromProto(pb);
  EXPECT_TRUE(back.key == into[0].key);
  EXPECT_EQ(back.sums.ab_bytes, 30);
}

}  // namespace
}  // namespace skyprobe::query
