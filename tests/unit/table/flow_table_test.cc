#include "table/flow_table.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "eal_env.h"
#include "gtest/gtest.h"
#include "packet_builder.h"
#include "table/flow_key.h"

namespace skyprobe {
namespace {

using testing::Make;
using testing::Reverse;
using testing::TestPacket;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;  // a fake clock: packets carry their time

// Collects records as the control lcore would receive them.
struct VectorSink {
  std::vector<FlowSnapshot> records;
  FlowSnapshot slot;
  static FlowSnapshot* Acquire(void* ctx) { return &static_cast<VectorSink*>(ctx)->slot; }
  static void Publish(void* ctx, FlowSnapshot* s) {
    static_cast<VectorSink*>(ctx)->records.push_back(*s);
  }
  RecordSink AsSink() { return RecordSink{this, &Acquire, &Publish}; }
  std::vector<FlowSnapshot> Of(FlowEvent e) const {
    std::vector<FlowSnapshot> out;
    for (const auto& r : records) {
      if (r.event == e) out.push_back(r);
    }
    return out;
  }
};

// A sink whose consumer is sometimes behind: while `blocked`, or once
// `budget` slots (when >= 0) have been handed out, no slot.
struct FlakySink : VectorSink {
  bool blocked = false;
  int budget = -1;
  static FlowSnapshot* Acquire(void* ctx) {
    auto* self = static_cast<FlakySink*>(ctx);
    if (self->blocked || self->budget == 0) return nullptr;
    if (self->budget > 0) --self->budget;
    return &self->slot;
  }
  RecordSink AsSink() { return RecordSink{this, &Acquire, &Publish}; }
};

constexpr testing::Mac kMacA = {0x02, 0, 0, 0, 0, 0xa};
constexpr testing::Mac kMacB = {0x02, 0, 0, 0, 0, 0xb};
constexpr testing::Ip4 kIpA = {10, 0, 0, 1};
constexpr testing::Ip4 kIpB = {10, 0, 0, 2};

class FlowTableTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(FlowTableOptions()); }

  void Build(FlowTableOptions opts) {
    static std::atomic<int> n{0};
    opts.name = "t" + std::to_string(n++);
    if (opts.expire_ns == FlowTableOptions().expire_ns) opts.expire_ns = 10 * kSec;
    if (opts.update_ns == FlowTableOptions().update_ns) opts.update_ns = 5 * kSec;
    opts.tick_ns = 100'000'000;
    if (opts.max_flows == FlowTableOptions().max_flows) opts.max_flows = 1u << 16;
    sink_ = std::make_unique<VectorSink>();
    table_.reset();
    auto t = FlowTable::Create(opts, sink_->AsSink());
    ASSERT_TRUE(t.ok()) << t.status();
    table_ = std::move(*t);
  }

  void Feed(const TestPacket& p, int64_t ts) {
    const uint8_t* frame = p.frame.data();
    table_->AdvanceClock(ts);
    table_->ProcessBurst(&frame, &p.parsed, &ts, 1);
  }

  TestPacket Udp(uint16_t sport, uint16_t dport = 53, uint32_t len = 100) {
    return Make(kMacA, kMacB, kIpA, kIpB, FlowProtocol::kUdp, sport, dport, len);
  }
  TestPacket Tcp(uint8_t flags, uint32_t len = 60) {
    return Make(kMacA, kMacB, kIpA, kIpB, FlowProtocol::kTcp, 40000, 80, len, flags);
  }

  std::unique_ptr<VectorSink> sink_;
  std::unique_ptr<FlowTable> table_;
};

TEST_F(FlowTableTest, CountsBothDirectionsInOneFlowWithAFromTheFirstPacket) {
  auto q = Udp(1234, 53, 80);
  Feed(q, kT0);
  Feed(Reverse(Udp(1234, 53, 200)), kT0 + kSec / 10);
  Feed(q, kT0 + kSec / 5);
  EXPECT_EQ(table_->size(), 1u);
  table_->FlushAll();
  auto exp = sink_->Of(FlowEvent::kExpire);
  ASSERT_EQ(exp.size(), 1u);
  const FlowSnapshot& s = exp[0];
  EXPECT_EQ(s.metric.ab_packets, 2);
  EXPECT_EQ(s.metric.ab_bytes, 160);
  EXPECT_EQ(s.metric.ba_packets, 1);
  EXPECT_EQ(s.metric.ba_bytes, 200);
  EXPECT_EQ(s.transport_a, 1234);
  EXPECT_EQ(s.transport_b, 53);
  EXPECT_EQ(0, memcmp(s.network_a, kIpA.data(), 4));
  EXPECT_EQ(0, memcmp(s.link_a, kMacA.data(), 6));
  EXPECT_EQ(s.start, kT0 / 1'000'000);
  EXPECT_EQ(s.last, (kT0 + kSec / 5) / 1'000'000);
  EXPECT_EQ(s.expire_reason, ExpireReason::kFlush);
  EXPECT_EQ(s.finish_type, FinishType::kTimeout);
  EXPECT_EQ(table_->size(), 0u);
  EXPECT_EQ(table_->counters().packets_in_flows, 3u);
}

// A snapshot filled again (a record channel's slot, a query's chunk) is the
// flow's alone, whatever it held before, and keeps the storage of its
// metadata box, emptied, so that a reused slot does not allocate again.
TEST_F(FlowTableTest, RefilledSnapshotIsTheFlowsAloneAndKeepsItsMetadataStorage) {
  Feed(Udp(1234, 53, 80), kT0);
  FlowSnapshot s;
  std::memset(s.community_id, 'x', sizeof(s.community_id) - 1);
  s.network_a[15] = 0xee;
  s.has_tcp_metric = true;
  s.tcp_metric.ab_syn_start = 42;
  AppMeta* storage = s.app.Storage();
  storage->kind = AppKind::kHttp;
  uint32_t pos = 0;
  while (!table_->IsLive(pos)) ++pos;
  table_->FillSnapshot(pos, FlowEvent::kUpdate, ExpireReason::kNone, &s);
  EXPECT_EQ(s.community_id[0], '\0');
  EXPECT_EQ(s.network_a[15], 0);
  EXPECT_EQ(0, memcmp(s.network_a, kIpA.data(), 4));
  EXPECT_FALSE(s.has_tcp_metric);
  EXPECT_EQ(s.tcp_metric.ab_syn_start, 0);
  EXPECT_EQ(s.app.get(), nullptr);
  EXPECT_EQ(s.app.Storage(), storage);
}

TEST_F(FlowTableTest, ReplySeenFirstMakesItsSourceA) {
  Feed(Reverse(Udp(1234)), kT0);
  table_->FlushAll();
  auto exp = sink_->Of(FlowEvent::kExpire);
  ASSERT_EQ(exp.size(), 1u);
  EXPECT_EQ(exp[0].transport_a, 53);
  EXPECT_EQ(0, memcmp(exp[0].network_a, kIpB.data(), 4));
  EXPECT_EQ(exp[0].metric.ab_packets, 1);
}

TEST_F(FlowTableTest, IdleFlowExpiresAtMostOneTickLate) {
  Feed(Udp(1), kT0);
  Feed(Udp(2), kT0 + 3 * kSec);
  // Expire is 10 s: nothing may go before its deadline.
  table_->AdvanceClock(kT0 + 10 * kSec - 1);
  EXPECT_TRUE(sink_->Of(FlowEvent::kExpire).empty());
  table_->AdvanceClock(kT0 + 10 * kSec + 100'000'000);  // one tick later
  auto exp = sink_->Of(FlowEvent::kExpire);
  ASSERT_EQ(exp.size(), 1u);
  EXPECT_EQ(exp[0].transport_a, 1);
  EXPECT_EQ(exp[0].expire_reason, ExpireReason::kIdle);
  EXPECT_EQ(exp[0].finish_type, FinishType::kTimeout);
  EXPECT_EQ(table_->size(), 1u);
}

TEST_F(FlowTableTest, ActivityPostponesExpiry) {
  auto p = Udp(7);
  for (int i = 0; i < 30; ++i) Feed(p, kT0 + i * kSec);  // every second for 30 s
  EXPECT_TRUE(sink_->Of(FlowEvent::kExpire).empty());
  table_->AdvanceClock(kT0 + 29 * kSec + 10 * kSec + 200'000'000);
  EXPECT_EQ(sink_->Of(FlowEvent::kExpire).size(), 1u);
}

TEST_F(FlowTableTest, UpdateTickReportsOnlyTouchedFlowsWithDeltas) {
  Feed(Udp(1), kT0);
  Feed(Udp(2), kT0 + kSec);
  table_->AdvanceClock(kT0 + 5 * kSec);  // first tick at T0+5s
  auto upd = sink_->Of(FlowEvent::kUpdate);
  ASSERT_EQ(upd.size(), 2u);
  for (const auto& u : upd) {
    EXPECT_EQ(u.last_update_metric.ab_packets, 1);
    EXPECT_EQ(u.last_update_metric.last, (kT0 + 5 * kSec) / 1'000'000);
    EXPECT_EQ(u.last_update_metric.start, u.start);  // first window starts at the flow
  }
  // Only flow 1 is touched in the second window, twice.
  Feed(Udp(1), kT0 + 6 * kSec);
  Feed(Udp(1), kT0 + 7 * kSec);
  table_->AdvanceClock(kT0 + 10 * kSec);
  upd = sink_->Of(FlowEvent::kUpdate);
  ASSERT_EQ(upd.size(), 3u);
  EXPECT_EQ(upd[2].transport_a, 1);
  EXPECT_EQ(upd[2].last_update_metric.ab_packets, 2);
  EXPECT_EQ(upd[2].metric.ab_packets, 3);
  EXPECT_EQ(upd[2].last_update_metric.start, (kT0 + 5 * kSec) / 1'000'000);
  // A quiet window reports nothing.
  table_->AdvanceClock(kT0 + 15 * kSec - 1);
  EXPECT_EQ(sink_->Of(FlowEvent::kUpdate).size(), 3u);
}

// LastUpdateMetric is the delta since the flow's previous record, whatever
// happened in between (quiet windows send no record, a query reads the flow
// without moving the mark): a flow's records sum to its Metric. IPFIX sends
// these as octetDeltaCount/packetDeltaCount. Packets at made-up times, each
// way, over 12 update windows, some of them quiet; the flows end idle, by
// eviction and by flush.
TEST_F(FlowTableTest, RecordDeltasSumToMetric) {
  FlowTableOptions o;
  o.max_flows = 3;
  o.expire_ns = 12 * kSec;
  Build(o);
  uint64_t seed = 12345;
  auto rnd = [&seed](uint64_t n) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (seed >> 33) % n;
  };
  int64_t t = kT0;
  for (int i = 0; i < 400; ++i) {
    t += static_cast<int64_t>(rnd(300)) * 1'000'000;  // up to 0.3 s
    if (i == 150) t += 20 * kSec;                     // quiet: updates skip, flows expire idle
    const uint16_t port = static_cast<uint16_t>(1 + rnd(4));  // 4 flows for 3 slots: evictions
    auto p = Udp(port, 53, static_cast<uint32_t>(60 + rnd(1400)));
    Feed(rnd(2) ? p : Reverse(p), t);
    if (i % 97 == 0) {
      FlowSnapshot q;  // a query in between
      for (uint32_t pos = 0; pos < table_->capacity(); ++pos) {
        if (table_->IsLive(pos)) table_->FillSnapshot(pos, FlowEvent::kUpdate, {}, &q);
      }
    }
  }
  table_->FlushAll();
  std::map<uint64_t, FlowMetric> sum;
  int expires = 0;
  bool evicted = false, idle = false;
  for (const FlowSnapshot& r : sink_->records) {
    ASSERT_TRUE(r.has_last_update_metric);
    FlowMetric& m = sum[r.uuid];
    m.ab_packets += r.last_update_metric.ab_packets;
    m.ab_bytes += r.last_update_metric.ab_bytes;
    m.ba_packets += r.last_update_metric.ba_packets;
    m.ba_bytes += r.last_update_metric.ba_bytes;
    if (r.event != FlowEvent::kExpire) continue;
    ++expires;
    evicted |= r.expire_reason == ExpireReason::kEvicted;
    idle |= r.expire_reason == ExpireReason::kIdle;
    EXPECT_EQ(m.ab_packets, r.metric.ab_packets);
    EXPECT_EQ(m.ab_bytes, r.metric.ab_bytes);
    EXPECT_EQ(m.ba_packets, r.metric.ba_packets);
    EXPECT_EQ(m.ba_bytes, r.metric.ba_bytes);
  }
  EXPECT_EQ(static_cast<size_t>(expires), sum.size());  // every flow ended once
  EXPECT_GT(sink_->Of(FlowEvent::kUpdate).size(), 10u);
  EXPECT_TRUE(evicted);
  EXPECT_TRUE(idle);
}

TEST_F(FlowTableTest, TcpClosedByFinBothWaysIsExportedAfterTheHold) {
  FlowTableOptions o;
  o.tcp_close_hold_ns = 2 * kSec;
  o.expire_ns = 600 * kSec;
  Build(o);
  auto syn = Tcp(kTcpSyn);
  Feed(syn, kT0);
  Feed(Reverse(Tcp(kTcpSyn | kTcpAck)), kT0 + 33'000);
  Feed(Tcp(kTcpAck), kT0 + 50'000);
  Feed(Tcp(kTcpFin | kTcpAck), kT0 + kSec);
  Feed(Reverse(Tcp(kTcpFin | kTcpAck)), kT0 + kSec + 10'000'000);
  Feed(Tcp(kTcpAck), kT0 + kSec + 20'000'000);  // the last ACK still counts
  table_->AdvanceClock(kT0 + 3 * kSec);
  EXPECT_TRUE(sink_->Of(FlowEvent::kExpire).empty());
  table_->AdvanceClock(kT0 + 3 * kSec + 200'000'000);
  auto exp = sink_->Of(FlowEvent::kExpire);
  ASSERT_EQ(exp.size(), 1u);
  const FlowSnapshot& s = exp[0];
  EXPECT_EQ(s.finish_type, FinishType::kTcpFin);
  EXPECT_EQ(s.expire_reason, ExpireReason::kTcpClosed);
  EXPECT_EQ(s.metric.ab_packets, 4);
  EXPECT_EQ(s.metric.ba_packets, 2);
  EXPECT_EQ(s.metric.rtt, 33'000);
  ASSERT_TRUE(s.has_tcp_metric);
  EXPECT_EQ(s.tcp_metric.ab_syn_start, kT0 / 1'000'000);
  EXPECT_EQ(s.tcp_metric.ba_syn_start, kT0 / 1'000'000);
  EXPECT_EQ(s.tcp_metric.ab_syn_ttl, 64u);
  EXPECT_EQ(s.tcp_metric.ab_fin_start, (kT0 + kSec) / 1'000'000);
  EXPECT_EQ(s.tcp_metric.ba_fin_start, (kT0 + kSec + 10'000'000) / 1'000'000);
}

// tcpControlBits both ways (IPFIX): the OR of every packet's flags per
// direction, in update and expire records alike; PSH/URG/ECE/CWR too.
TEST_F(FlowTableTest, TcpFlagsAreOredPerDirection) {
  FlowTableOptions o;
  o.expire_ns = 600 * kSec;
  Build(o);
  Feed(Tcp(kTcpSyn), kT0);
  Feed(Reverse(Tcp(kTcpSyn | kTcpAck)), kT0 + 1'000);
  Feed(Tcp(kTcpAck | 0x08), kT0 + 2'000);  // PSH
  table_->AdvanceClock(kT0 + 6 * kSec);    // an update tick (5 s)
  auto upd = sink_->Of(FlowEvent::kUpdate);
  ASSERT_EQ(upd.size(), 1u);
  EXPECT_EQ(upd[0].tcp_flags_ab, kTcpSyn | kTcpAck | 0x08);
  EXPECT_EQ(upd[0].tcp_flags_ba, kTcpSyn | kTcpAck);
  Feed(Reverse(Tcp(kTcpAck | 0x20 | 0x80)), kT0 + 7 * kSec);  // URG, CWR
  Feed(Tcp(kTcpRst), kT0 + 7 * kSec + 1'000);
  table_->AdvanceClock(kT0 + 20 * kSec);
  auto exp = sink_->Of(FlowEvent::kExpire);
  ASSERT_EQ(exp.size(), 1u);
  EXPECT_EQ(exp[0].tcp_flags_ab, kTcpSyn | kTcpAck | 0x08 | kTcpRst);
  EXPECT_EQ(exp[0].tcp_flags_ba, kTcpSyn | kTcpAck | 0x20 | 0x80);
}

TEST_F(FlowTableTest, NonTcpFlowsHaveNoTcpFlags) {
  Feed(Udp(1000), kT0);
  Feed(Reverse(Udp(1000)), kT0 + 1'000);
  table_->FlushAll();
  ASSERT_EQ(sink_->records.size(), 1u);
  EXPECT_EQ(sink_->records[0].tcp_flags_ab, 0);
  EXPECT_EQ(sink_->records[0].tcp_flags_ba, 0);
}

// The input of a flow is the one its first packet came from
// (ParsedPacket::input, set by the worker from the port), in every record.
// Inputs are capture points: a packet from another input is another flow
// (two_capture_points below), here the reply's.
TEST_F(FlowTableTest, RecordCarriesTheInputOfTheFirstPacket) {
  auto first = Udp(1000);
  first.parsed.input = 3;
  Feed(first, kT0);
  auto again = Reverse(Udp(1000));
  again.parsed.input = 3;
  Feed(again, kT0 + 500);
  auto reply = Reverse(Udp(1000));
  reply.parsed.input = 5;
  Feed(reply, kT0 + 1'000);
  auto other = Udp(2000);  // input 0: unknown (sFlow tables)
  Feed(other, kT0 + 2'000);
  table_->FlushAll();
  ASSERT_EQ(sink_->records.size(), 3u);
  std::multiset<std::pair<int, int64_t>> got;  // (input, packets)
  for (const FlowSnapshot& r : sink_->records) {
    got.insert({r.input, r.metric.ab_packets + r.metric.ba_packets});
  }
  EXPECT_EQ(got, (std::multiset<std::pair<int, int64_t>>{{0, 1}, {3, 2}, {5, 1}}));
}

// Two capture points (inputs) seeing the same conversation: two flows, one
// per point, each with every packet of its point, the same TrackingID and
// L3TrackingID, different UUIDs, A/B from each point's own first packet.
// The UUID hashes the point's tag (FlowTableOptions::uuid_tags) as Skydive
// hashes a NodeTID; input 0 and inputs without a tag hash node_tid.
TEST_F(FlowTableTest, TwoCapturePointsNeverMerge) {
  FlowTableOptions o;
  o.node_tid = "probe";
  o.uuid_tags = {"probe", "tap-1", std::string("same\0b", 6), std::string("same\0c", 6)};
  Build(o);
  for (uint8_t input : {1, 2, 3, 4}) {
    auto q = Udp(1234);
    q.parsed.input = input;
    auto r = Reverse(Udp(1234));
    r.parsed.input = input;
    // Point 2 sees the reply first: its A is the server.
    if (input == 2) std::swap(q, r);
    Feed(q, kT0 + input);
    Feed(r, kT0 + 10 + input);
    Feed(q, kT0 + 20 + input);
  }
  EXPECT_EQ(table_->size(), 4u);
  const TableCounters c = table_->counters();
  for (uint8_t input : {1, 2, 3, 4}) {
    EXPECT_EQ(c.input_packets_in_flows[input], 3u) << int{input};
    EXPECT_EQ(c.input_flows_created[input], 1u) << int{input};
    EXPECT_EQ(c.input_flows_live[input], 1u) << int{input};
  }
  EXPECT_EQ(c.input_packets_in_flows[0], 0u);
  table_->FlushAll();
  EXPECT_EQ(table_->counters().input_flows_live[1], 0u);
  ASSERT_EQ(sink_->records.size(), 4u);
  std::set<uint64_t> uuids;
  const FlowSnapshot& first = sink_->records[0];
  KeyBytes kb;
  const auto q = Udp(1234);
  BuildKeyBytes(q.frame.data(), q.parsed.sub[0], KeyMode::kL2, 0, false, &kb);
  for (const FlowSnapshot& r : sink_->records) {
    SCOPED_TRACE(int{r.input});
    EXPECT_EQ(r.tracking_id, first.tracking_id);
    EXPECT_EQ(r.l3_tracking_id, first.l3_tracking_id);
    EXPECT_EQ(r.metric.ab_packets + r.metric.ba_packets, 3);
    EXPECT_EQ(r.transport_a, r.input == 2 ? 53 : 1234);
    uuids.insert(r.uuid);
    // Skydive's UUID, with the point's tag where Skydive has the NodeTID.
    const std::string tag = r.input < o.uuid_tags.size() ? o.uuid_tags[r.input] : o.node_tid;
    EXPECT_EQ(r.uuid, FlowUuid(TableKey(kb), r.start, tag.data(), tag.size()));
  }
  EXPECT_EQ(uuids.size(), 4u);
}

// An Ethernet/MPLS flow (the stack ends its sub-packet): its record carries
// the first packet's top entries (at most kMaxMplsEntries) as on the wire;
// a later packet with another stack changes nothing. Flows without MPLS,
// TCP ones included (whose RST times share the bytes), have none.
TEST_F(FlowTableTest, RecordCarriesTheMplsStackOfTheFirstPacket) {
  auto mpls = [](std::initializer_list<uint32_t> labels, const testing::Mac& dst = kMacB) {
    TestPacket p = Make(kMacA, dst, kIpA, kIpB, FlowProtocol::kUdp, 1, 2, 100);
    SubPacket& s = p.sub();
    s.layers[1] = Layer::kMpls;
    s.num_layers = 2;
    s.ip_version = 0;
    s.transport = FlowProtocol::kEthernet;
    s.transport_key = TransportKeyKind::kNone;
    s.src_port = s.dst_port = 0;
    s.mpls_off = 14;
    s.mpls_entries = static_cast<uint8_t>(labels.size());
    uint16_t off = 14;
    for (const uint32_t label : labels) {
      const bool bottom = off == 14 + 4 * (labels.size() - 1);
      const uint32_t e = label << 12 | (bottom ? 1u : 0u) << 8 | 0x2u << 9 | 64;  // TC 2
      const uint8_t b[4] = {static_cast<uint8_t>(e >> 24), static_cast<uint8_t>(e >> 16),
                            static_cast<uint8_t>(e >> 8), static_cast<uint8_t>(e)};
      std::memcpy(&p.frame[off], b, 4);
      off += 4;
    }
    return p;
  };
  Feed(mpls({1000, 4096, 0xFFFFF, 77}), kT0);              // four entries: the top three kept
  Feed(Reverse(mpls({5})), kT0 + 1'000);                   // the same flow (MACs), another stack
  Feed(mpls({16}, {0x02, 0, 0, 0, 0, 0xc}), kT0 + 2'000);  // another MAC pair: another flow
  Feed(Tcp(kTcpRst), kT0 + 3'000);
  table_->FlushAll();
  ASSERT_EQ(sink_->records.size(), 3u);
  int seen = 0;
  for (const FlowSnapshot& r : sink_->records) {
    if (r.transport == FlowProtocol::kTcp) {
      EXPECT_EQ(r.mpls_count, 0);
      EXPECT_EQ(r.tcp_metric.ab_rst_start, (kT0 + 3'000) / 1'000'000);
      continue;
    }
    ++seen;
    if (r.metric.ab_packets + r.metric.ba_packets == 2) {
      ASSERT_EQ(r.mpls_count, 3);
      EXPECT_EQ(r.mpls[0][0], 0x00);  // 1000 << 4 | TC 2 << 1
      EXPECT_EQ(r.mpls[0][1], 0x3e);
      EXPECT_EQ(r.mpls[0][2], 0x84);
      EXPECT_EQ(r.mpls[1][0], 0x01);  // 4096
      EXPECT_EQ(r.mpls[1][2], 0x04);
      EXPECT_EQ(r.mpls[2][0], 0xff);  // 0xFFFFF, not yet the bottom
      EXPECT_EQ(r.mpls[2][1], 0xff);
      EXPECT_EQ(r.mpls[2][2], 0xf4);
    } else {
      ASSERT_EQ(r.mpls_count, 1);
      EXPECT_EQ(r.mpls[0][0], 0x00);  // 16 << 4 | TC 2 << 1 | bottom
      EXPECT_EQ(r.mpls[0][1], 0x01);
      EXPECT_EQ(r.mpls[0][2], 0x05);
    }
  }
  EXPECT_EQ(seen, 2);
}

TEST_F(FlowTableTest, RstFinishesAFlowWhateverItsFirstPacket) {
  FlowTableOptions o;
  o.tcp_close_hold_ns = kSec;
  Build(o);
  Feed(Tcp(kTcpAck), kT0);  // mid-stream start: no SYN seen
  Feed(Reverse(Tcp(kTcpRst)), kT0 + kSec);
  table_->AdvanceClock(kT0 + 2 * kSec + 100'000'000);
  auto exp = sink_->Of(FlowEvent::kExpire);
  ASSERT_EQ(exp.size(), 1u);
  EXPECT_EQ(exp[0].finish_type, FinishType::kTcpRst);
  EXPECT_EQ(exp[0].tcp_metric.ba_rst_start, (kT0 + kSec) / 1'000'000);
}

TEST_F(FlowTableTest, EchoRequestToReplyGivesRtt) {
  auto req = Make(kMacA, kMacB, kIpA, kIpB, FlowProtocol::kIcmpv4, 77, 0, 98, 8);
  auto rep = Reverse(Make(kMacA, kMacB, kIpA, kIpB, FlowProtocol::kIcmpv4, 77, 0, 98, 0));
  Feed(req, kT0);
  Feed(rep, kT0 + 13'104'000);
  table_->FlushAll();
  auto exp = sink_->Of(FlowEvent::kExpire);
  ASSERT_EQ(exp.size(), 1u);
  EXPECT_EQ(exp[0].metric.rtt, 13'104'000);
  EXPECT_EQ(exp[0].metric.ab_packets, 1);
  EXPECT_EQ(exp[0].metric.ba_packets, 1);
  EXPECT_EQ(exp[0].icmp_id, 77);
}

TEST_F(FlowTableTest, EqualEndpointsFollowSkydivesInvertedTieBreak) {
  constexpr testing::Mac kZero = {};
  constexpr testing::Ip4 kLo = {127, 0, 0, 1};
  auto c2s = Make(kZero, kZero, kLo, kLo, FlowProtocol::kTcp, 60038, 5001, 74, kTcpSyn);
  Feed(c2s, kT0);
  Feed(Reverse(c2s), kT0 + 1000);
  Feed(c2s, kT0 + 2000);
  table_->FlushAll();
  auto exp = sink_->Of(FlowEvent::kExpire);
  ASSERT_EQ(exp.size(), 1u);
  // Transport.A (60038) > 60038 is false: client->server counts as B->A.
  EXPECT_EQ(exp[0].metric.ba_packets, 2);
  EXPECT_EQ(exp[0].metric.ab_packets, 1);
}

TEST_F(FlowTableTest, DropNewPolicyCountsRefusedPackets) {
  FlowTableOptions o;
  o.max_flows = 2;
  o.overload = OverloadPolicy::kDropNew;
  Build(o);
  Feed(Udp(1), kT0);
  Feed(Udp(2), kT0 + 1);
  Feed(Udp(3), kT0 + 2);
  Feed(Udp(3), kT0 + 3);
  Feed(Udp(1), kT0 + 4);
  EXPECT_EQ(table_->size(), 2u);
  EXPECT_EQ(table_->counters().drop_table_full, 2u);
  EXPECT_EQ(table_->counters().packets_in_flows, 3u);
  EXPECT_TRUE(sink_->records.empty());
}

TEST_F(FlowTableTest, EvictOldestPolicyExportsTheVictim) {
  FlowTableOptions o;
  o.max_flows = 2;
  o.overload = OverloadPolicy::kEvictOldest;
  Build(o);
  Feed(Udp(1), kT0);
  Feed(Udp(2), kT0 + 2 * kSec);
  Feed(Udp(3), kT0 + 4 * kSec);
  EXPECT_EQ(table_->size(), 2u);
  auto exp = sink_->Of(FlowEvent::kExpire);
  ASSERT_EQ(exp.size(), 1u);
  EXPECT_EQ(exp[0].transport_a, 1);
  EXPECT_EQ(exp[0].expire_reason, ExpireReason::kEvicted);
  EXPECT_EQ(table_->counters().flows_evicted, 1u);
  EXPECT_EQ(table_->counters().packets_in_flows, 3u);
}

TEST_F(FlowTableTest, ClockJumpPastTheWheelExpiresEverythingDue) {
  for (uint16_t i = 1; i <= 50; ++i) Feed(Udp(i), kT0 + i * 1000);
  Feed(Udp(999), kT0 + 3600 * kSec);  // an hour later
  auto exp = sink_->Of(FlowEvent::kExpire);
  EXPECT_EQ(exp.size(), 50u);
  EXPECT_EQ(table_->size(), 1u);
}

TEST(FlowTableBackpressureTest, AFullSinkDelaysRecordsAndLosesNone) {
  FlakySink sink;
  FlowTableOptions o;
  o.name = "flaky";
  o.max_flows = 4;
  o.expire_ns = 10 * kSec;
  o.update_ns = 5 * kSec;
  auto t = FlowTable::Create(o, sink.AsSink());
  ASSERT_TRUE(t.ok()) << t.status();
  FlowTable& table = **t;
  auto feed = [&](uint16_t port, int64_t ts) {
    auto p = Make(kMacA, kMacB, kIpA, kIpB, FlowProtocol::kUdp, port, 53, 100);
    const uint8_t* frame = p.frame.data();
    table.AdvanceClock(ts);
    table.ProcessBurst(&frame, &p.parsed, &ts, 1);
  };
  for (uint16_t i = 1; i <= 4; ++i) feed(i, kT0 + i);
  sink.blocked = true;
  // The update tick cannot be reported, idle flows cannot leave, and a new
  // flow cannot evict: its packet is dropped with a reason, flows are kept.
  EXPECT_FALSE(table.AdvanceClock(kT0 + 6 * kSec));  // the first update tick is due
  feed(5, kT0 + 7 * kSec);
  EXPECT_EQ(table.counters().drop_ring_full, 1u);
  EXPECT_FALSE(table.AdvanceClock(kT0 + 20 * kSec));
  EXPECT_EQ(table.size(), 4u);
  EXPECT_GT(table.counters().record_stalls, 0u);
  EXPECT_TRUE(sink.records.empty());
  // The consumer catches up: everything owed comes out, once.
  sink.blocked = false;
  table.AdvanceClock(kT0 + 20 * kSec + 200'000'000);
  EXPECT_EQ(sink.Of(FlowEvent::kUpdate).size(), 4u);
  EXPECT_EQ(sink.Of(FlowEvent::kExpire).size(), 4u);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.counters().packets_in_flows, 4u);
}

// A flush whose sink runs dry half-way: the next call resumes at the flow it
// could not hand over, not at slot 0 (a restart would hand over first the
// flow created meanwhile in a slot already passed), still reaches that flow
// by wrapping round (true means the shard is empty), and every flow leaves
// exactly once.
TEST(FlowTableBackpressureTest, FlushResumesWhereTheSinkStopped) {
  FlakySink sink;
  FlowTableOptions o;
  o.name = "flaky2";
  o.max_flows = 8;
  auto t = FlowTable::Create(o, sink.AsSink());
  ASSERT_TRUE(t.ok()) << t.status();
  FlowTable& table = **t;
  auto udp = [](uint16_t port) {
    return Make(kMacA, kMacB, kIpA, kIpB, FlowProtocol::kUdp, port, 53, 100);
  };
  auto feed = [&](const TestPacket& p, int64_t ts) {
    const uint8_t* frame = p.frame.data();
    table.ProcessBurst(&frame, &p.parsed, &ts, 1);
  };
  auto slot_of = [&](const TestPacket& p) {
    KeyOrientation orient;
    FlowTableKey key;
    LookupKey(p.frame.data(), p.parsed.sub[0], o.key_mode, 0, false, &key, &orient);
    return table.Lookup(key);
  };
  // Ports 1..8 in slot order (the flush's order).
  std::vector<std::pair<int32_t, uint16_t>> by_slot;
  for (uint16_t port = 1; port <= 8; ++port) {
    feed(udp(port), kT0 + port);
    by_slot.emplace_back(slot_of(udp(port)), port);
    ASSERT_GE(by_slot.back().first, 0);
  }
  std::sort(by_slot.begin(), by_slot.end());

  sink.budget = 4;
  EXPECT_FALSE(table.FlushAll());
  ASSERT_EQ(sink.records.size(), 4u);
  EXPECT_EQ(table.size(), 4u);
  // New flows between the two calls, until one sits in a slot the flush has
  // passed (the index gives freed positions first, the last freed first).
  const int32_t resume = by_slot[4].first;
  std::vector<std::pair<int32_t, uint16_t>> added;
  for (uint16_t port = 100; port < 104; ++port) {
    feed(udp(port), kT0 + 20);
    added.emplace_back(slot_of(udp(port)), port);
    ASSERT_GE(added.back().first, 0);
    if (added.back().first < resume) break;
  }
  ASSERT_LT(added.back().first, resume)
      << "the test needs a new flow in a slot the flush has passed";
  // What the second call must hand over: from where the first stopped, in
  // slot order, then round to the slots before it.
  std::vector<std::pair<int32_t, uint16_t>> rest(by_slot.begin() + 4, by_slot.end());
  rest.insert(rest.end(), added.begin(), added.end());
  std::sort(rest.begin(), rest.end(), [resume](const auto& x, const auto& y) {
    return std::make_pair(x.first < resume, x.first) < std::make_pair(y.first < resume, y.first);
  });
  sink.budget = -1;
  EXPECT_TRUE(table.FlushAll());
  EXPECT_EQ(table.size(), 0u);

  const size_t flows = 8 + added.size();
  ASSERT_EQ(sink.records.size(), flows);
  std::set<uint64_t> uuids;
  for (size_t i = 0; i < sink.records.size(); ++i) {
    const FlowSnapshot& r = sink.records[i];
    EXPECT_EQ(r.event, FlowEvent::kExpire);
    EXPECT_EQ(r.expire_reason, ExpireReason::kFlush);
    uuids.insert(r.uuid);
    const uint16_t want = i < 4 ? by_slot[i].second : rest[i - 4].second;
    EXPECT_EQ(r.transport_a, want) << "record " << i;
  }
  EXPECT_EQ(uuids.size(), flows);
}

TEST_F(FlowTableTest, ManyFlowsRoundTrip) {
  for (uint32_t i = 0; i < 20000; ++i) {
    auto p = Make(kMacA, kMacB, {10, 1, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)},
                  kIpB, FlowProtocol::kUdp, 1000, 2000, 64);
    Feed(p, kT0 + i);
  }
  EXPECT_EQ(table_->size(), 20000u);
  table_->FlushAll();
  EXPECT_EQ(sink_->Of(FlowEvent::kExpire).size(), 20000u);
  EXPECT_EQ(table_->size(), 0u);
}

}  // namespace
}  // namespace skyprobe

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new skyprobe::testing::EalEnvironment());
  return RUN_ALL_TESTS();
}
