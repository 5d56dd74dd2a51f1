// The TCP sequence trackers on hand-made segment sequences, one rule at a
// time, each written from the rule's statement in docs/tcp-metrics.md (the
// integration test tcp_metrics_test.py checks whole captures against tshark
// and a gopacket model). No EAL.
#include <vector>

#include "gtest/gtest.h"
#include "table/tcp_health.h"
#include "table/tcp_stream.h"

namespace skyprobe {
namespace {

constexpr uint8_t kF = 0x01, kS = 0x02, kR = 0x04, kA = 0x10;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;

TcpSegment Seg(uint32_t seq, uint32_t ack, uint8_t flags, uint32_t len, uint16_t win = 1000) {
  TcpSegment s;
  s.seq = seq;
  s.ack = ack;
  s.flags = flags;
  s.len = len;
  s.window = win;
  return s;
}

class HealthTest : public ::testing::Test {
 protected:
  void SetUp() override { TcpHealthReset(&h_); }
  // Client ISN 100, server ISN 500; handshake SYN t0, SYN/ACK +8 ms, ACK +10 ms.
  void Handshake() {
    Send(0, Seg(100, 0, kS, 0), 0);
    Send(1, Seg(500, 101, kS | kA, 0), 8 * kMs);
    Send(0, Seg(101, 501, kA, 0), 10 * kMs);
  }
  void Send(int dir, const TcpSegment& s, int64_t t) { TcpHealthUpdate(h_, dir, s, kT0 + t); }
  const TcpHealthCounters& C(int dir) const { return h_.count[dir]; }
  TcpHealth h_;
};

TEST_F(HealthTest, HandshakeLatenciesAndIrtt) {
  Handshake();
  EXPECT_EQ(h_.first_rtt_ns, 10 * kMs);
  ASSERT_TRUE(h_.hs_flags & kHealthServerHs);
  ASSERT_TRUE(h_.hs_flags & kHealthClientHs);
  EXPECT_EQ(h_.server_hs_us, 8000);
  EXPECT_EQ(h_.client_hs_us, 2000);
}

TEST_F(HealthTest, LostSegmentThenRetransmissionBeyondIrttThenOutOfOrderWithin) {
  Handshake();
  Send(1, Seg(501, 101, kA, 100), 20 * kMs);
  Send(1, Seg(701, 101, kA, 100), 21 * kMs);  // 601 missing: lost segment
  EXPECT_EQ(C(1).lost_segments, 1u);
  // 601 arrives 30 ms after the segment that set nextseq: > iRTT (10 ms).
  Send(1, Seg(601, 101, kA, 100), 51 * kMs);
  EXPECT_EQ(C(1).retransmissions, 1u);
  EXPECT_EQ(C(1).out_of_order, 0u);
  Send(1, Seg(901, 101, kA, 100), 60 * kMs);
  Send(1, Seg(801, 101, kA, 100), 65 * kMs);  // 5 ms later: within the iRTT
  EXPECT_EQ(C(1).out_of_order, 1u);
  EXPECT_EQ(C(1).retransmissions, 1u);
  EXPECT_EQ(C(1).lost_segments, 2u);
}

TEST_F(HealthTest, WithoutIrttTheOutOfOrderThresholdIs3Ms) {
  Send(1, Seg(1001, 1, kA, 100), 0);  // mid-stream: no handshake, no iRTT
  Send(1, Seg(1201, 1, kA, 100), 1 * kMs);
  Send(1, Seg(1101, 1, kA, 100), 4 * kMs - 1);  // 3 ms - 1 ns after: out of order
  Send(1, Seg(1401, 1, kA, 100), 5 * kMs);
  Send(1, Seg(1301, 1, kA, 100), 8 * kMs);  // exactly 3 ms after: retransmission
  EXPECT_EQ(C(1).out_of_order, 1u);
  EXPECT_EQ(C(1).retransmissions, 1u);
}

TEST_F(HealthTest, TripleDupAckThenFastRetransmissionWithin20Ms) {
  Handshake();
  Send(1, Seg(501, 101, kA, 100), 20 * kMs);
  Send(1, Seg(701, 101, kA, 100), 20 * kMs);
  for (int i = 0; i < 4; ++i) Send(0, Seg(101, 601, kA, 0), 25 * kMs + i);
  EXPECT_EQ(C(0).dup_acks, 3u);  // the first of the four sets lastack
  Send(1, Seg(601, 101, kA, 100), 40 * kMs);
  EXPECT_EQ(C(1).fast_retransmissions, 1u);
  EXPECT_EQ(C(1).retransmissions, 1u);  // tshark flags both
  // The same after 20 ms is a plain retransmission.
  Send(1, Seg(801, 101, kA, 100), 41 * kMs);
  for (int i = 0; i < 3; ++i) Send(0, Seg(101, 701, kA, 0), 45 * kMs + i);
  Send(1, Seg(701, 101, kA, 100), 70 * kMs);
  EXPECT_EQ(C(1).fast_retransmissions, 1u);
  EXPECT_EQ(C(1).retransmissions, 2u);
}

TEST_F(HealthTest, SpuriousRetransmissionCountsAsRetransmission) {
  Handshake();
  Send(1, Seg(501, 101, kA, 100), 20 * kMs);
  Send(0, Seg(101, 601, kA, 0), 30 * kMs);
  Send(1, Seg(501, 101, kA, 100), 60 * kMs);  // already acknowledged
  EXPECT_EQ(C(1).retransmissions, 1u);
  EXPECT_EQ(C(1).fast_retransmissions, 0u);
  EXPECT_EQ(C(1).out_of_order, 0u);
}

TEST_F(HealthTest, ZeroWindowProbeAndKeepAliveAreNotRetransmissionsOrDupAcks) {
  Handshake();
  Send(0, Seg(101, 501, kA, 50), 20 * kMs);
  Send(1, Seg(501, 151, kA, 0, 0), 28 * kMs);  // zero window
  EXPECT_EQ(C(1).zero_windows, 1u);
  Send(0, Seg(151, 501, kA, 1), 228 * kMs);     // zero window probe: not "lost"
  Send(1, Seg(501, 151, kA, 0, 0), 236 * kMs);  // its ACK: zero window again, not a dup ACK
  EXPECT_EQ(C(1).zero_windows, 2u);
  EXPECT_EQ(C(1).dup_acks, 0u);
  EXPECT_EQ(C(0).lost_segments, 0u);
  Send(1, Seg(501, 151, kA, 0), 300 * kMs);   // window update
  Send(0, Seg(150, 501, kA, 0), 1300 * kMs);  // keep-alive: one byte back
  Send(1, Seg(501, 151, kA, 0), 1308 * kMs);  // keep-alive ACK: not a dup ACK
  EXPECT_EQ(C(0).retransmissions, 0u);
  EXPECT_EQ(C(1).dup_acks, 0u);
  // Still the keep-alive's ACK while the client's latest segment is it.
  Send(1, Seg(501, 151, kA, 0), 1309 * kMs);
  EXPECT_EQ(C(1).dup_acks, 0u);
  Send(0, Seg(151, 501, kA, 0), 1310 * kMs);  // the client repeats its ACK: a dup
  EXPECT_EQ(C(0).dup_acks, 1u);
  Send(1, Seg(501, 151, kA, 0), 1311 * kMs);  // now a repeated ACK is a duplicate
  EXPECT_EQ(C(1).dup_acks, 1u);
}

TEST_F(HealthTest, SynWithANewIsnIsANewConnection) {
  Handshake();
  Send(1, Seg(501, 101, kA, 100), 20 * kMs);
  Send(1, Seg(601, 101, kF | kA, 0), 30 * kMs);
  Send(0, Seg(101, 602, kF | kA, 0), 31 * kMs);
  // Ports reused: a SYN with ISN 9000. Without the reset, the server's next
  // segments (ISN 7000) would be far from nextseq: lost segments.
  Send(0, Seg(9000, 0, kS, 0), 500 * kMs);
  Send(1, Seg(7000, 9001, kS | kA, 0), 504 * kMs);
  Send(0, Seg(9001, 7001, kA, 0), 505 * kMs);
  Send(1, Seg(7001, 9001, kA, 100), 510 * kMs);
  EXPECT_EQ(C(1).lost_segments, 0u);
  EXPECT_EQ(C(1).retransmissions, 0u);
  // The first handshake's latencies stay.
  EXPECT_EQ(h_.server_hs_us, 8000);
  // The same ISN again is a retransmitted SYN.
  Send(0, Seg(9000, 0, kS, 0), 600 * kMs);
  EXPECT_EQ(C(0).retransmissions, 1u);
}

TEST_F(HealthTest, PastTenThousandUnackedSegmentsAFinTakesNoSequenceNumber) {
  // One direction captured only: nothing is ever acknowledged.
  uint32_t seq = 1;
  for (int i = 0; i < kTcpMaxUnacked + 5; ++i, seq += 10) Send(0, Seg(seq, 1, kA, 10), i);
  Send(0, Seg(seq, 1, kF | kA, 0), 20000);
  Send(0, Seg(seq + 1, 1, kA, 10), 20001);  // one past the FIN: "previous segment lost"
  EXPECT_EQ(C(0).lost_segments, 1u);
}

class StreamTest : public ::testing::Test {
 protected:
  void Send(const TcpSegment& s, int64_t t) { TcpStreamUpdate(d_, s, kT0 + t); }
  TcpStreamDir Final() const {
    TcpStreamDir f = d_;
    TcpStreamFlush(&f);
    return f;
  }
  TcpStreamDir d_{};
};

TEST_F(StreamTest, InOrderStreamFromSynToFin) {
  Send(Seg(100, 0, kS, 0), 0);
  Send(Seg(101, 0, kA, 0), 1);  // no payload, no flag: ignored
  Send(Seg(101, 0, kA, 500), 2);
  Send(Seg(601, 0, kA, 500), 3);
  Send(Seg(1101, 0, kF | kA, 0), 4);
  Send(Seg(1101, 0, kA, 100), 5);  // after the end: not counted
  EXPECT_EQ(d_.packets, 4u);
  EXPECT_EQ(d_.bytes, 1000u);
  EXPECT_EQ(d_.state & (kStreamSawStart | kStreamSawEnd), kStreamSawStart | kStreamSawEnd);
  EXPECT_EQ(d_.out_of_order, 0u);
  EXPECT_EQ(d_.skipped, 0u);
}

TEST_F(StreamTest, GapFilledLaterMakesTheWaitingSegmentsOutOfOrder) {
  Send(Seg(100, 0, kS, 0), 0);
  Send(Seg(101, 0, kA, 100), 1);
  Send(Seg(301, 0, kA, 100), 2);  // waits behind [201, 301)
  Send(Seg(401, 0, kA, 100), 3);
  EXPECT_EQ(d_.packets, 2u);      // not delivered yet
  Send(Seg(201, 0, kA, 100), 4);  // fills the gap: 301 and 401 follow it
  EXPECT_EQ(d_.packets, 5u);
  EXPECT_EQ(d_.bytes, 400u);
  EXPECT_EQ(d_.out_of_order, 2u);
  EXPECT_EQ(Final().skipped, 0u);
}

TEST_F(StreamTest, GapNeverFilledIsSkippedAtTheEnd) {
  Send(Seg(100, 0, kS, 0), 0);
  Send(Seg(101, 0, kA, 100), 1);
  Send(Seg(301, 0, kA, 100), 2);
  Send(Seg(401, 0, kA, 100), 3);
  const TcpStreamDir f = Final();
  EXPECT_EQ(f.skipped, 1u);
  EXPECT_EQ(f.skipped_bytes, 100u);
  EXPECT_EQ(f.packets, 4u);
  EXPECT_EQ(f.bytes, 300u);
  EXPECT_EQ(f.out_of_order, 0u);  // nothing captured later was delivered first
}

TEST_F(StreamTest, ALowerRunArrivingLaterOvertakesTheHigherOne) {
  Send(Seg(100, 0, kS, 0), 0);
  Send(Seg(501, 0, kA, 100), 1);  // run [501, 601)
  Send(Seg(301, 0, kA, 100), 2);  // run [301, 401), captured later, delivered first
  const TcpStreamDir f = Final();
  EXPECT_EQ(f.skipped, 2u);
  EXPECT_EQ(f.skipped_bytes, 200u + 100u);
  EXPECT_EQ(f.out_of_order, 1u);
}

TEST_F(StreamTest, AThirdGapGivesUpTheLowest) {
  Send(Seg(100, 0, kS, 0), 0);
  Send(Seg(201, 0, kA, 100), 1);  // gap [101, 201)
  Send(Seg(401, 0, kA, 100), 2);  // gap [301, 401)
  EXPECT_EQ(d_.runs, 2);
  Send(Seg(601, 0, kA, 100), 3);  // a third gap: [101, 201) is given up
  EXPECT_EQ(d_.skipped, 1u);
  EXPECT_EQ(d_.skipped_bytes, 100u);
  EXPECT_EQ(d_.packets, 2u);  // SYN + [201, 301)
  EXPECT_EQ(d_.runs, 2);
}

TEST_F(StreamTest, WaitingRunsAreGivenUpAfter30Seconds) {
  Send(Seg(100, 0, kS, 0), 0);
  Send(Seg(201, 0, kA, 100), 1);
  Send(Seg(301, 0, kA, 100), kTcpStreamGiveUpNs - 1000 * kMs);
  EXPECT_EQ(d_.skipped, 0u);
  Send(Seg(401, 0, kA, 100), kTcpStreamGiveUpNs + 10 * kMs);
  EXPECT_EQ(d_.skipped, 1u);
  EXPECT_EQ(d_.packets, 4u);
  EXPECT_EQ(d_.runs, 0);
}

TEST_F(StreamTest, MidStreamStartCountsOneSkipOfUnknownSize) {
  Send(Seg(5000, 0, kF | kA, 0), 0);  // a FIN without data opens nothing
  EXPECT_EQ(d_.state, 0);
  Send(Seg(5000, 0, kA, 100), 1);
  Send(Seg(5100, 0, kA, 100), 2);
  EXPECT_EQ(d_.skipped, 1u);
  EXPECT_EQ(d_.skipped_bytes, 0u);
  EXPECT_EQ(d_.packets, 2u);
  EXPECT_FALSE(d_.state & kStreamSawStart);
}

TEST_F(StreamTest, ResetBeyondAGapEndsTheStreamWhenDelivered) {
  Send(Seg(100, 0, kS, 0), 0);
  Send(Seg(201, 0, kR, 0), 1);  // waits
  EXPECT_FALSE(d_.state & kStreamSawEnd);
  Send(Seg(101, 0, kA, 100), 2);
  EXPECT_TRUE(d_.state & kStreamSawEnd);
  EXPECT_EQ(d_.packets, 3u);
  EXPECT_EQ(d_.out_of_order, 1u);
}

TEST_F(StreamTest, SequenceNumbersWrap) {
  Send(Seg(0xFFFFFF00u, 0, kS, 0), 0);
  Send(Seg(0xFFFFFF01u, 0, kA, 0x200), 1);
  Send(Seg(0x101u, 0, kA, 0x100), 2);
  EXPECT_EQ(d_.bytes, 0x300u);
  EXPECT_EQ(d_.runs, 0);
}

}  // namespace
}  // namespace skyprobe
