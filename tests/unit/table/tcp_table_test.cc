// The TCP trackers inside the flow table: the options make the record
// fields present (never 0-filled when off), the header fields are read from
// the frame at SubPacket::tcp_off, A->B follows Network.A/Transport.A, the
// final record gives up waiting gaps, and a reused slot starts clean.
#include <arpa/inet.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <vector>

#include "eal_env.h"
#include "gtest/gtest.h"
#include "one_table_fixture.h"
#include "packet_builder.h"
#include "table/flow_table.h"

namespace skyprobe {
namespace {

using testing::Make;
using testing::Reverse;
using testing::TestPacket;

constexpr int64_t kMs = testing::OneTableTest::kMs;
constexpr uint8_t kF = 0x01, kS = 0x02, kA = 0x10;

constexpr testing::Mac kMacA = {0x02, 0, 0, 0, 0, 0xa};
constexpr testing::Mac kMacB = {0x02, 0, 0, 0, 0, 0xb};
constexpr testing::Ip4 kIpA = {10, 0, 0, 1};
constexpr testing::Ip4 kIpB = {10, 0, 0, 2};

// A TCP segment from A (or B with `reverse`): the header at offset 34.
TestPacket Segment(bool reverse, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t len) {
  TestPacket p = Make(kMacA, kMacB, kIpA, kIpB, FlowProtocol::kTcp, 40000, 80, 54 + len, flags);
  if (reverse) p = Reverse(p);
  uint8_t* th = &p.frame[34];
  const uint16_t sport = htons(p.sub().src_port), dport = htons(p.sub().dst_port);
  const uint32_t nseq = htonl(seq), nack = htonl(ack);
  std::memcpy(th, &sport, 2);
  std::memcpy(th + 2, &dport, 2);
  std::memcpy(th + 4, &nseq, 4);
  std::memcpy(th + 8, &nack, 4);
  th[12] = 0x50;
  th[13] = flags;
  th[14] = 0x10;  // window 4096
  th[15] = 0x00;
  p.sub().tcp_off = 34;
  p.sub().tcp_seg_len = len;
  return p;
}

class TcpTableTest : public testing::OneTableTest {
 protected:
  void Build(bool stream, bool health, uint32_t max_flows = 64) {
    FlowTableOptions opts = Options("tcp");
    opts.max_flows = max_flows;
    opts.tcp_stream_metrics = stream;
    opts.tcp_health = health;
    Create(opts);
  }
  // Handshake, data B->A with [1101, 1201) missing, nothing closed.
  void Conversation() {
    Feed(Segment(false, 100, 0, kS, 0), 0);
    Feed(Segment(true, 1000, 101, kS | kA, 0), 8 * kMs);
    Feed(Segment(false, 101, 1001, kA, 0), 10 * kMs);
    Feed(Segment(true, 1001, 101, kA, 100), 20 * kMs);
    Feed(Segment(true, 1201, 101, kA, 100), 21 * kMs);  // lost segment, waits
    Feed(Segment(false, 101, 1101, kA, 0), 30 * kMs);
  }
};

TEST_F(TcpTableTest, OffMeansNoGroups) {
  Build(false, false);
  Conversation();
  const FlowSnapshot s = Final();
  ASSERT_TRUE(s.has_tcp_metric);
  EXPECT_FALSE(s.tcp_metric.has_stream);
  EXPECT_FALSE(s.tcp_metric.has_health);
}

TEST_F(TcpTableTest, BothGroupsFromTheFrame) {
  Build(true, true);
  Conversation();
  // A query (an update-style snapshot) does not give up the waiting gap.
  FlowSnapshot live;
  for (uint32_t pos = 0; pos < table_->capacity(); ++pos) {
    if (table_->IsLive(pos))
      table_->FillSnapshot(pos, FlowEvent::kUpdate, ExpireReason::kNone, &live);
  }
  EXPECT_EQ(live.tcp_metric.ba_stream.packets, 2);  // SYN/ACK, [1001, 1101)
  EXPECT_EQ(live.tcp_metric.ba_stream.segment_skipped, 0);
  const FlowSnapshot s = Final();
  const TcpMetric& t = s.tcp_metric;
  ASSERT_TRUE(t.has_stream && t.has_health);
  EXPECT_EQ(t.ba_health.lost_segments, 1);
  EXPECT_EQ(t.ab_health.lost_segments, 0);
  EXPECT_EQ(t.server_handshake_us, 8000);
  EXPECT_EQ(t.client_handshake_us, 2000);
  // The final record gives the gap up: skipped, and the waiting segment counts.
  EXPECT_EQ(t.ba_stream.segment_skipped, 1);
  EXPECT_EQ(t.ba_stream.segment_skipped_bytes, 100);
  EXPECT_EQ(t.ba_stream.packets, 3);
  EXPECT_EQ(t.ba_stream.bytes, 200);
  EXPECT_EQ(t.ab_stream.packets, 1);  // the SYN; pure ACKs are not stream segments
  EXPECT_EQ(t.ab_stream.saw_start, 1);
  EXPECT_EQ(t.ba_stream.saw_start, 1);
}

TEST_F(TcpTableTest, EachOptionAlone) {
  Build(false, true);
  Conversation();
  FlowSnapshot s = Final();
  EXPECT_TRUE(s.tcp_metric.has_health);
  EXPECT_FALSE(s.tcp_metric.has_stream);
  Build(true, false);
  Conversation();
  s = Final();
  EXPECT_FALSE(s.tcp_metric.has_health);
  EXPECT_TRUE(s.tcp_metric.has_stream);
}

TEST_F(TcpTableTest, SegmentsWithoutAKnownLengthAreNotTracked) {
  Build(true, true);
  Feed(Segment(false, 100, 0, kS, 0), 0);
  TestPacket p = Segment(false, 5000, 0, kA, 100);
  p.sub().tcp_off = 0;  // e.g. an IP fragment
  Feed(p, kMs);
  const FlowSnapshot s = Final();
  EXPECT_EQ(s.tcp_metric.ab_health.lost_segments, 0);
  EXPECT_EQ(s.tcp_metric.ab_stream.packets, 1);
  EXPECT_EQ(s.metric.ab_packets, 2);  // still counted in the flow
}

TEST_F(TcpTableTest, ReusedSlotsStartClean) {
  // One flow at a time, 100 times: slots (at most capacity()) are reused,
  // and every record is that of a fresh connection.
  Build(true, true, 1);
  for (int i = 0; i < 100; ++i) {
    ASSERT_LT(table_->capacity(), 100u);
    auto port = [i](TestPacket p) {
      (p.sub().src_port == 40000 ? p.sub().src_port : p.sub().dst_port) =
          static_cast<uint16_t>(41000 + i);
      return p;
    };
    const int64_t t = i * 1000 * kMs;
    Feed(port(Segment(false, 100, 0, kS, 0)), t);
    Feed(port(Segment(true, 1000, 101, kS | kA, 0)), t + 8 * kMs);
    Feed(port(Segment(true, 1201, 101, kA, 100)), t + 20 * kMs);
    const FlowSnapshot s = Final();
    ASSERT_EQ(s.transport_a, 41000 + i);
    EXPECT_EQ(s.tcp_metric.ba_health.lost_segments, 1) << i;
    EXPECT_EQ(s.tcp_metric.ba_stream.packets, 2) << i;
    EXPECT_EQ(s.tcp_metric.ba_stream.segment_skipped, 1) << i;
    EXPECT_EQ(s.tcp_metric.ab_stream.packets, 1) << i;
    EXPECT_EQ(s.tcp_metric.server_handshake_us, 8000) << i;
    // B's data after the SYN/ACK is not the client's ACK.
    EXPECT_EQ(s.tcp_metric.client_handshake_us, -1) << i;
  }
}

TEST_F(TcpTableTest, EqualEndpointsUseTransportAForDirection) {
  // Same MACs and IPs both ways (a loopback capture): A->B is from Transport.A,
  // although the Metric direction follows Skydive's inverted tie-break.
  Build(true, true);
  auto seg = [](uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags, uint16_t len) {
    TestPacket p = Segment(false, seq, 0, flags, len);
    p.sub().src_port = sport;
    p.sub().dst_port = dport;
    std::memcpy(&p.frame[6], &p.frame[0], 6);
    std::memcpy(&p.frame[26], &p.frame[30], 4);
    return p;
  };
  Feed(seg(5001, 6000, 10, kS, 0), 0);
  Feed(seg(5001, 6000, 11, kA, 300), kMs);
  Feed(seg(6000, 5001, 90, kS | kA, 0), 2 * kMs);
  const FlowSnapshot s = Final();
  ASSERT_EQ(s.transport_a, 5001);
  EXPECT_EQ(s.tcp_metric.ab_stream.bytes, 300);
  EXPECT_EQ(s.tcp_metric.ba_stream.packets, 1);
}

}  // namespace
}  // namespace skyprobe
