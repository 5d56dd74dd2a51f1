// IP defragmentation in the flow table (flow_table_defrag.cc, defragmenter.h):
// real frames through the real parser (ParserConfig::ip_defrag) into a shard.
#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fragment_builder.h"
#include "gtest/gtest.h"
#include "parse/parser.h"
#include "recording_sink.h"
#include "table/defragmenter.h"
#include "table/flow_table.h"

namespace skyprobe {
namespace {

using testing::Bytes;
using testing::Cat;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000 * kMs;
constexpr int64_t kT0 = 1'700'000'000 * kSec;
constexpr testing::Ip4Addr kA = {10, 0, 0, 1};
constexpr testing::Ip4Addr kB = {10, 0, 0, 2};

using Sink = testing::RecordingSink;

std::string Path(const FlowSnapshot& s) {
  std::string out;
  for (int i = 0; i < s.num_layers; ++i) {
    if (i > 0) out += "/";
    out += LayerName(s.layers[i]);
  }
  return out;
}

int64_t SumLen(const std::vector<Bytes>& frames) {
  int64_t n = 0;
  for (const Bytes& f : frames) n += static_cast<int64_t>(f.size());
  return n;
}

class DefragTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(); }

  void Build(uint32_t max_datagrams = 1024, int64_t timeout_ns = 30 * kSec, bool defrag = true) {
    static std::atomic<int> n{0};
    FlowTableOptions opts;
    opts.name = "defrag" + std::to_string(n++);
    opts.max_flows = 1u << 12;
    opts.expire_ns = 600 * kSec;
    opts.update_ns = 600 * kSec;
    opts.ip_defrag = defrag;
    opts.ip_defrag_max = max_datagrams;
    opts.ip_defrag_timeout_ns = timeout_ns;
    sink_ = std::make_unique<Sink>();
    table_.reset();
    auto t = FlowTable::Create(opts, sink_->AsSink());
    ASSERT_TRUE(t.ok()) << t.status();
    table_ = std::move(*t);
    cfg_.ip_defrag = defrag;
  }

  // One burst of frames, all at their own times.
  void Burst(const std::vector<Bytes>& frames, const std::vector<int64_t>& ts) {
    std::vector<ParsedPacket> pkts(frames.size());
    std::vector<const uint8_t*> data;
    std::vector<uint32_t> caplens;
    for (size_t i = 0; i < frames.size(); ++i) {
      ParseFrame(frames[i].data(), static_cast<uint32_t>(frames[i].size()),
                 static_cast<uint32_t>(frames[i].size()), cfg_, &pkts[i]);
      data.push_back(frames[i].data());
      caplens.push_back(static_cast<uint32_t>(frames[i].size()));
    }
    table_->AdvanceClock(ts[0]);
    table_->ProcessBurst(data.data(), pkts.data(), ts.data(), static_cast<uint32_t>(frames.size()),
                         caplens.data());
    table_->AdvanceClock(ts.back());
  }
  void Feed(const Bytes& frame, int64_t ts) { Burst({frame}, {ts}); }

  std::vector<FlowSnapshot> Flush() {
    EXPECT_TRUE(table_->FlushAll());
    return sink_->records;
  }
  const FlowSnapshot* Find(const std::vector<FlowSnapshot>& flows, const std::string& path) {
    for (const FlowSnapshot& f : flows) {
      if (Path(f) == path) return &f;
    }
    ADD_FAILURE() << "no flow " << path;
    return nullptr;
  }
  const TableCounters& counters() const { return table_->counters(); }

  std::unique_ptr<Sink> sink_;
  std::unique_ptr<FlowTable> table_;
  ParserConfig cfg_;
};

std::vector<Bytes> EchoFragments(uint16_t ip_id = 42, bool reverse = false, uint8_t type = 8) {
  return testing::Fragment4(reverse ? kB : kA, reverse ? kA : kB, 1, ip_id,
                            testing::IcmpEcho(type, 7, 3000 - 8), {1480, 1480, 40}, reverse);
}

TEST_F(DefragTest, InOrderOneFlowEveryFrameCounted) {
  const std::vector<Bytes> f = EchoFragments();
  Feed(f[0], kT0);
  Feed(f[1], kT0 + kMs);
  Feed(f[2], kT0 + 2 * kMs);
  const auto flows = Flush();
  ASSERT_EQ(flows.size(), 1u);
  const FlowSnapshot& s = flows[0];
  EXPECT_EQ(Path(s), "Ethernet/IPv4/Fragment/ICMPv4");
  EXPECT_EQ(s.metric.ab_packets, 3);
  EXPECT_EQ(s.metric.ab_bytes, SumLen(f));
  EXPECT_EQ(s.icmp_id, 7);
  EXPECT_TRUE(s.has_ip_metric);
  EXPECT_EQ(s.ip_metric.fragments, 2);  // the last one completed the datagram
  EXPECT_EQ(s.ip_metric.fragment_errors, 0);
  EXPECT_EQ(s.last, (kT0 + 2 * kMs) / kMs);
  EXPECT_EQ(counters().defrag_fragments, 3u);
  EXPECT_EQ(counters().defrag_datagrams, 1u);
  EXPECT_EQ(counters().packets_in_flows, 3u);
  EXPECT_EQ(counters().defrag_held, 0u);
}

TEST_F(DefragTest, LastFirstIsHeldThenCounted) {
  const std::vector<Bytes> f = EchoFragments();
  Feed(f[2], kT0);
  EXPECT_EQ(counters().defrag_held, 1u);
  EXPECT_EQ(counters().packets_in_flows, 0u);
  Feed(f[1], kT0 + kMs);
  EXPECT_EQ(counters().defrag_held, 2u);
  Feed(f[0], kT0 + 2 * kMs);
  EXPECT_EQ(counters().defrag_held, 0u);
  const auto flows = Flush();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(Path(flows[0]), "Ethernet/IPv4/Fragment/ICMPv4");
  EXPECT_EQ(flows[0].metric.ab_packets, 3);
  EXPECT_EQ(flows[0].metric.ab_bytes, SumLen(f));
  EXPECT_EQ(flows[0].ip_metric.fragments, 2);  // the two held ones; the first completed it
  EXPECT_EQ(flows[0].ip_metric.fragment_errors, 0);
  EXPECT_EQ(counters().defrag_datagrams, 1u);
  EXPECT_EQ(counters().packets_in_flows, 3u);
}

TEST_F(DefragTest, MiddleFirst) {
  const std::vector<Bytes> f = EchoFragments();
  Feed(f[1], kT0);
  Feed(f[0], kT0 + kMs);
  Feed(f[2], kT0 + 2 * kMs);
  const auto flows = Flush();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].metric.ab_packets, 3);
  EXPECT_EQ(flows[0].ip_metric.fragments, 2);
  EXPECT_EQ(counters().defrag_datagrams, 1u);
}

TEST_F(DefragTest, OneBurstKeepsArrivalOrder) {
  // Request in fragments then an unfragmented reply, all in one burst: A is
  // the requester (the first packet's source), one flow, echo RTT measured.
  std::vector<Bytes> frames = EchoFragments();
  frames.push_back(testing::Whole4(kB, kA, 1, testing::IcmpEcho(0, 7, 64), true));
  Burst(frames, {kT0, kT0 + kMs, kT0 + 2 * kMs, kT0 + 5 * kMs});
  const auto flows = Flush();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].metric.ab_packets, 3);
  EXPECT_EQ(flows[0].metric.ba_packets, 1);
  EXPECT_EQ(flows[0].network_a[3], 1);
  EXPECT_EQ(flows[0].metric.rtt, 5 * kMs);  // from the first fragment, not the last
}

TEST_F(DefragTest, FragmentedEchoReplyKeepsRtt) {
  const std::vector<Bytes> req = EchoFragments(42);
  const std::vector<Bytes> rep = EchoFragments(43, true, 0);
  // The reply's later fragments must not re-trigger the echo logic.
  Burst({req[0], req[1], req[2]}, {kT0, kT0 + kMs, kT0 + kMs});
  Burst({rep[0], rep[1], rep[2]}, {kT0 + 7 * kMs, kT0 + 9 * kMs, kT0 + 9 * kMs});
  const auto flows = Flush();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].metric.rtt, 7 * kMs);
  EXPECT_EQ(flows[0].metric.ba_packets, 3);
  EXPECT_EQ(flows[0].ip_metric.fragments, 4);
}

TEST_F(DefragTest, DuplicateCountsButAddsNothing) {
  const std::vector<Bytes> f = EchoFragments();
  Feed(f[0], kT0);
  Feed(f[1], kT0 + kMs);
  Feed(f[1], kT0 + 2 * kMs);
  Feed(f[2], kT0 + 3 * kMs);
  const auto flows = Flush();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].metric.ab_packets, 4);
  EXPECT_EQ(flows[0].ip_metric.fragments, 3);
  EXPECT_EQ(flows[0].ip_metric.fragment_errors, 0);
  EXPECT_EQ(counters().defrag_duplicates, 1u);
  EXPECT_EQ(counters().defrag_datagrams, 1u);
}

TEST_F(DefragTest, OverlapFailsTheDatagram) {
  const Bytes payload = testing::IcmpEcho(8, 7, 3000 - 8);
  std::vector<Bytes> f = testing::Fragment4(kA, kB, 1, 42, payload, {1480, 1480, 40});
  // A fragment covering [800, 2280): overlaps both.
  const Bytes piece(payload.begin() + 800, payload.begin() + 2280);
  const Bytes bad =
      Cat(Cat(testing::Ether(0x0800), testing::Ip4Header(kA, kB, 1, 42, 800, true, piece.size())),
          piece);
  Feed(f[0], kT0);
  Feed(bad, kT0 + kMs);
  Feed(f[1], kT0 + 2 * kMs);
  Feed(f[2], kT0 + 3 * kMs);
  const auto flows = Flush();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].metric.ab_packets, 4);
  EXPECT_EQ(flows[0].ip_metric.fragment_errors, 4);  // every fragment, once
  EXPECT_EQ(counters().defrag_overlaps, 1u);
  EXPECT_EQ(counters().defrag_datagrams, 0u);
  EXPECT_EQ(counters().defrag_flushed, 1u);
  EXPECT_EQ(counters().packets_in_flows, 4u);
}

TEST_F(DefragTest, TimeoutWithFirstMakesErrors) {
  Build(1024, 30 * kSec);
  const std::vector<Bytes> f = EchoFragments();
  Feed(f[0], kT0);
  Feed(f[1], kT0 + kMs);
  table_->AdvanceClock(kT0 + 31 * kSec);
  EXPECT_EQ(counters().defrag_timeouts, 1u);
  Feed(f[2], kT0 + 32 * kSec);  // too late: a new datagram, never complete
  const auto flows = Flush();
  ASSERT_EQ(flows.size(), 2u);
  const FlowSnapshot* d = Find(flows, "Ethernet/IPv4/Fragment/ICMPv4");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->metric.ab_packets, 2);
  EXPECT_EQ(d->ip_metric.fragments, 2);
  EXPECT_EQ(d->ip_metric.fragment_errors, 2);
  // The late last fragment: held, then given up at flush into the fragment flow.
  const FlowSnapshot* late = Find(flows, "Ethernet/IPv4/Fragment");
  ASSERT_NE(late, nullptr);
  EXPECT_EQ(late->metric.ab_packets, 1);
  EXPECT_EQ(late->transport, FlowProtocol::kEthernet);
  EXPECT_EQ(late->icmp_version, 0);
  EXPECT_EQ(late->ip_metric.fragment_errors, 1);
  EXPECT_EQ(counters().defrag_flushed, 1u);
  EXPECT_EQ(counters().packets_in_flows, 3u);
}

TEST_F(DefragTest, TimeoutWithoutFirstGoesToTheFragmentFlow) {
  const std::vector<Bytes> f = EchoFragments();
  Feed(f[1], kT0);
  Feed(f[2], kT0 + kMs);
  table_->AdvanceClock(kT0 + 29 * kSec);
  EXPECT_EQ(counters().defrag_held, 2u);
  EXPECT_TRUE(sink_->records.empty());
  table_->AdvanceClock(kT0 + 30 * kSec);
  EXPECT_EQ(counters().defrag_timeouts, 1u);
  EXPECT_EQ(counters().defrag_held, 0u);
  EXPECT_EQ(counters().packets_in_flows, 2u);
  const auto flows = Flush();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(Path(flows[0]), "Ethernet/IPv4/Fragment");
  EXPECT_EQ(flows[0].metric.ab_packets, 2);
  EXPECT_EQ(flows[0].metric.ab_bytes, static_cast<int64_t>(f[1].size() + f[2].size()));
  EXPECT_EQ(flows[0].start, kT0 / kMs);  // held frames keep their own time
  EXPECT_EQ(flows[0].ip_metric.fragments, 2);
  EXPECT_EQ(flows[0].ip_metric.fragment_errors, 2);
}

// A flow made from fragments carries their input, whether it is created by
// the first fragment or, after a give-up, from the headers of a held one.
TEST_F(DefragTest, FlowsFromFragmentsKeepTheirInput) {
  cfg_.input = 7;
  const std::vector<Bytes> f = EchoFragments();
  Feed(f[1], kT0);  // held, then given up: its own headers make the flow
  table_->AdvanceClock(kT0 + 30 * kSec);
  const std::vector<Bytes> g = EchoFragments(43);
  Feed(g[0], kT0 + 31 * kSec);
  Feed(g[1], kT0 + 31 * kSec + kMs);
  Feed(g[2], kT0 + 31 * kSec + 2 * kMs);
  const auto flows = Flush();
  ASSERT_EQ(flows.size(), 2u);
  EXPECT_EQ(Find(flows, "Ethernet/IPv4/Fragment")->input, 7);
  EXPECT_EQ(Find(flows, "Ethernet/IPv4/Fragment/ICMPv4")->input, 7);
}

// The same datagram seen at two capture points, fragments interleaved (and
// the second point's out of order): each point reassembles its own copy, in
// a flow of its own, every frame counted once; no fragment of one point
// completes (or fails) the other's datagram.
TEST_F(DefragTest, CapturePointsReassembleApart) {
  const std::vector<Bytes> f = EchoFragments();
  const auto feed = [&](uint8_t input, const Bytes& frame, int64_t ts) {
    cfg_.input = input;
    Feed(frame, ts);
  };
  feed(1, f[0], kT0);
  feed(2, f[2], kT0 + 1);
  feed(1, f[1], kT0 + 2);
  feed(2, f[0], kT0 + 3);
  feed(1, f[2], kT0 + 4);
  feed(2, f[1], kT0 + 5);
  EXPECT_EQ(counters().defrag_datagrams, 2u);
  EXPECT_EQ(counters().defrag_overlaps + counters().defrag_duplicates, 0u);
  EXPECT_EQ(counters().packets_in_flows, 6u);
  EXPECT_EQ(counters().input_packets_in_flows[1], 3u);
  EXPECT_EQ(counters().input_packets_in_flows[2], 3u);
  const auto flows = Flush();
  ASSERT_EQ(flows.size(), 2u);
  EXPECT_NE(flows[0].input, flows[1].input);
  EXPECT_EQ(flows[0].tracking_id, flows[1].tracking_id);
  // (Their UUIDs differ by the points' tags: FlowTableTest.TwoCapturePointsNeverMerge.)
  // Each point's flow is what its frames alone make.
  for (const FlowSnapshot& s : flows) {
    SCOPED_TRACE(int{s.input});
    Build();
    cfg_.input = 0;
    if (s.input == 1) {
      Feed(f[0], kT0);
      Feed(f[1], kT0 + 2);
      Feed(f[2], kT0 + 4);
    } else {
      Feed(f[2], kT0 + 1);
      Feed(f[0], kT0 + 3);
      Feed(f[1], kT0 + 5);
    }
    const auto alone = Flush();
    ASSERT_EQ(alone.size(), 1u);
    EXPECT_EQ(Path(s), Path(alone[0]));
    EXPECT_EQ(s.metric.ab_packets, alone[0].metric.ab_packets);
    EXPECT_EQ(s.metric.ab_bytes, alone[0].metric.ab_bytes);
    EXPECT_EQ(s.ip_metric.fragments, alone[0].ip_metric.fragments);
    EXPECT_EQ(s.ip_metric.fragment_errors, alone[0].ip_metric.fragment_errors);
    EXPECT_EQ(s.start, alone[0].start);
    EXPECT_EQ(s.last, alone[0].last);
  }
}

TEST_F(DefragTest, TableFullGivesUpTheOldest) {
  Build(2);
  const auto d1 = EchoFragments(1), d2 = EchoFragments(2), d3 = EchoFragments(3);
  Feed(d1[1], kT0);
  Feed(d2[1], kT0 + kMs);
  Feed(d3[1], kT0 + 2 * kMs);  // no room: d1 is given up
  EXPECT_EQ(counters().defrag_table_full, 1u);
  EXPECT_EQ(counters().packets_in_flows, 1u);
  for (const auto* d : {&d2, &d3}) {
    Feed((*d)[0], kT0 + 3 * kMs);
    Feed((*d)[2], kT0 + 4 * kMs);
  }
  EXPECT_EQ(counters().defrag_datagrams, 2u);
  const auto flows = Flush();
  const FlowSnapshot* frag = Find(flows, "Ethernet/IPv4/Fragment");
  const FlowSnapshot* echo = Find(flows, "Ethernet/IPv4/Fragment/ICMPv4");
  ASSERT_TRUE(frag != nullptr && echo != nullptr);
  EXPECT_EQ(frag->metric.ab_packets, 1);
  EXPECT_EQ(frag->ip_metric.fragment_errors, 1);
  EXPECT_EQ(echo->metric.ab_packets, 6);
  EXPECT_EQ(echo->ip_metric.fragment_errors, 0);
  EXPECT_EQ(counters().packets_in_flows, 7u);
}

TEST_F(DefragTest, FloodOfIdsStaysBoundedAndCounted) {
  Build(64);
  const Bytes payload = testing::IcmpEcho(8, 7, 3000 - 8);
  constexpr int kIds = 5000;
  for (int id = 0; id < kIds; ++id) {
    // Non-first fragments only: each one opens a datagram that never completes.
    Feed(testing::Fragment4(kA, kB, 1, static_cast<uint16_t>(id), payload, {1480, 1480, 40})[1],
         kT0 + id * kMs / 10);
  }
  EXPECT_EQ(counters().defrag_table_full, static_cast<uint64_t>(kIds - 64));
  EXPECT_EQ(counters().defrag_held, 64u);
  const auto flows = Flush();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].metric.ab_packets, kIds);
  EXPECT_EQ(flows[0].ip_metric.fragment_errors, kIds);
  EXPECT_EQ(counters().packets_in_flows, static_cast<uint64_t>(kIds));
  EXPECT_EQ(counters().defrag_held, 0u);
}

TEST_F(DefragTest, Ipv6FragmentsOutOfOrder) {
  testing::Ip6Addr a{}, b{};
  a[0] = b[0] = 0x20;
  a[15] = 1;
  b[15] = 2;
  const std::vector<Bytes> f = testing::Fragment6(
      a, b, 17, 0xdeadbeef, testing::UdpDatagram(5000, 9999, 2992), {1448, 1448, 104});
  Feed(f[2], kT0);
  Feed(f[0], kT0 + kMs);
  Feed(f[1], kT0 + 2 * kMs);
  const auto flows = Flush();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(Path(flows[0]), "Ethernet/IPv6/IPv6Fragment/UDP");
  EXPECT_EQ(flows[0].transport, FlowProtocol::kUdp);
  EXPECT_EQ(flows[0].transport_a, 5000);
  EXPECT_EQ(flows[0].transport_b, 9999);
  EXPECT_EQ(flows[0].metric.ab_packets, 3);
  EXPECT_EQ(flows[0].metric.ab_bytes, SumLen(f));
  EXPECT_EQ(flows[0].ip_metric.fragments, 2);
  EXPECT_EQ(counters().defrag_datagrams, 1u);
}

TEST_F(DefragTest, TcpFlagTimesOnlyFromTheFirstFragment) {
  const Bytes seg = testing::TcpSegment(40000, 80, kTcpFin | kTcpAck, 2000 - 20);
  const auto f = testing::Fragment4(kA, kB, 6, 77, seg, {1480, 520});
  Feed(f[1], kT0);             // held: no TCP header in it
  Feed(f[0], kT0 + 3 * kSec);  // the FIN is seen here
  const auto flows = Flush();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(Path(flows[0]), "Ethernet/IPv4/Fragment/TCP");
  EXPECT_TRUE(flows[0].has_tcp_metric);
  EXPECT_EQ(flows[0].tcp_metric.ab_fin_start, (kT0 + 3 * kSec) / kMs);
  EXPECT_EQ(flows[0].metric.ab_packets, 2);
  EXPECT_EQ(flows[0].start, (kT0 + 3 * kSec) / kMs);  // the flow starts with its first fragment
}

TEST_F(DefragTest, TinyFirstFragmentHasNoTransport) {
  // 8 bytes of TCP header in the first fragment: not enough for the ports.
  const Bytes seg = testing::TcpSegment(40000, 80, kTcpAck, 200);
  const auto f = testing::Fragment4(kA, kB, 6, 78, seg, {8, 212});
  Feed(f[0], kT0);
  Feed(f[1], kT0 + kMs);
  const auto flows = Flush();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(Path(flows[0]), "Ethernet/IPv4/Fragment");
  EXPECT_EQ(flows[0].transport, FlowProtocol::kEthernet);
  EXPECT_EQ(flows[0].metric.ab_packets, 2);
  EXPECT_EQ(counters().defrag_datagrams, 1u);
}

TEST_F(DefragTest, VxlanOuterFragments) {
  const Bytes inner =
      Cat(Cat(testing::Ether(0x0800),
              testing::Ip4Header({192, 168, 0, 1}, {192, 168, 0, 2}, 6, 5, 0, false, 20 + 2000)),
          testing::TcpSegment(1234, 80, kTcpAck, 2000));
  Bytes vxlan = {0x08, 0, 0, 0, 0, 0x10, 0x01, 0};  // VNI 4097
  Bytes outer_payload;
  testing::Put16(outer_payload, 33333);
  testing::Put16(outer_payload, 4789);
  testing::Put16(outer_payload, static_cast<uint16_t>(8 + vxlan.size() + inner.size()));
  testing::Put16(outer_payload, 0);
  outer_payload = Cat(Cat(outer_payload, vxlan), inner);
  const auto f =
      testing::Fragment4(kA, kB, 17, 9, outer_payload, {1480, outer_payload.size() - 1480});
  for (int order = 0; order < 2; ++order) {
    Build();
    if (order == 0) {
      Feed(f[0], kT0);
      Feed(f[1], kT0 + kMs);
    } else {
      Feed(f[1], kT0);
      Feed(f[0], kT0 + kMs);
    }
    const auto flows = Flush();
    ASSERT_EQ(flows.size(), 2u) << order;
    const FlowSnapshot* o = Find(flows, "Ethernet/IPv4/Fragment/UDP/VXLAN");
    const FlowSnapshot* i = Find(flows, "Ethernet/IPv4/TCP");
    ASSERT_TRUE(o != nullptr && i != nullptr);
    EXPECT_EQ(o->metric.ab_packets, 2);
    EXPECT_EQ(o->metric.ab_bytes, SumLen(f));
    EXPECT_EQ(o->ip_metric.fragments, 1);
    EXPECT_EQ(i->parent_uuid, o->uuid);
    EXPECT_TRUE(i->has_parent);
    EXPECT_FALSE(i->has_ip_metric);
    // One inner packet, its whole length (as a reassembling tshark counts it).
    EXPECT_EQ(i->metric.ab_packets, 1);
    EXPECT_EQ(i->metric.ab_bytes, static_cast<int64_t>(inner.size()));
    EXPECT_EQ(counters().packets_in_flows, 2u);
  }
}

TEST_F(DefragTest, InnerFragmentsInsideAnUnfragmentedTunnel) {
  // IPv4-in-IPv4: the outer header is whole, the inner datagram fragmented.
  const std::vector<Bytes> inner =
      testing::Fragment4({192, 168, 0, 1}, {192, 168, 0, 2}, 1, 5,
                         testing::IcmpEcho(8, 9, 3000 - 8), {1480, 1480, 40});
  std::vector<Bytes> frames;
  for (const Bytes& f : inner) {
    const Bytes ip(f.begin() + 14, f.end());  // the inner IP packet, without Ethernet
    frames.push_back(Cat(
        Cat(testing::Ether(0x0800), testing::Ip4Header(kA, kB, 4, 1, 0, false, ip.size())), ip));
  }
  Feed(frames[1], kT0);
  Feed(frames[0], kT0 + kMs);
  Feed(frames[2], kT0 + 2 * kMs);
  const auto flows = Flush();
  ASSERT_EQ(flows.size(), 2u);
  const FlowSnapshot* o = Find(flows, "Ethernet/IPv4");
  const FlowSnapshot* i = Find(flows, "IPv4/Fragment/ICMPv4");
  ASSERT_TRUE(o != nullptr && i != nullptr);
  EXPECT_EQ(o->metric.ab_packets, 3);
  EXPECT_EQ(o->metric.ab_bytes, SumLen(frames));
  EXPECT_FALSE(o->has_ip_metric);
  EXPECT_EQ(i->parent_uuid, o->uuid);
  EXPECT_EQ(i->metric.ab_packets, 3);
  EXPECT_EQ(i->icmp_id, 9);
  EXPECT_EQ(i->ip_metric.fragments, 2);
  EXPECT_EQ(counters().defrag_datagrams, 1u);
  EXPECT_EQ(counters().packets_in_flows, 3u);
}

TEST_F(DefragTest, OffKeepsTodaysFlows) {
  Build(1024, 30 * kSec, false);
  const std::vector<Bytes> f = EchoFragments();
  for (size_t i = 0; i < f.size(); ++i) Feed(f[i], kT0 + static_cast<int64_t>(i) * kMs);
  const auto flows = Flush();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(Path(flows[0]), "Ethernet/IPv4/Fragment");
  EXPECT_FALSE(flows[0].has_ip_metric);
  EXPECT_EQ(counters().defrag_fragments, 0u);
}

TEST(DefragmenterTest, RemoveKeepsEveryOtherKeyFindable) {
  auto d = Defragmenter::Create(500);
  ASSERT_TRUE(d.ok());
  std::mt19937 rng(1);
  std::vector<DefragKey> keys;
  std::vector<uint32_t> idx;
  for (uint32_t i = 0; i < 500; ++i) {
    DefragKey k{};
    k.ip_version = 4;
    k.id = rng();
    keys.push_back(k);
    idx.push_back((*d)->Insert(k, DefragHash(k), i));
  }
  EXPECT_TRUE((*d)->full());
  std::vector<bool> gone(500, false);
  for (int r = 0; r < 300; ++r) {
    const uint32_t i = rng() % 500;
    if (gone[i]) continue;
    (*d)->Remove(idx[i]);
    gone[i] = true;
  }
  for (uint32_t i = 0; i < 500; ++i) {
    const uint32_t got = (*d)->Find(keys[i], DefragHash(keys[i]));
    EXPECT_EQ(got, gone[i] ? kNoIndex : idx[i]) << i;
  }
}

TEST(DefragmenterTest, CoverageAndErrors) {
  DefragEntry e{};
  EXPECT_EQ(Defragmenter::AddFragment(e, 0, 16, true), FragmentFit::kAdded);
  EXPECT_EQ(Defragmenter::AddFragment(e, 0, 16, true), FragmentFit::kDuplicate);
  EXPECT_EQ(Defragmenter::AddFragment(e, 8, 16, true), FragmentFit::kOverlap);
  EXPECT_EQ(Defragmenter::AddFragment(e, 16, 12, true), FragmentFit::kInconsistent);  // not x8
  EXPECT_FALSE(Defragmenter::Complete(e));
  EXPECT_EQ(Defragmenter::AddFragment(e, 24, 5, false), FragmentFit::kAdded);
  EXPECT_EQ(Defragmenter::AddFragment(e, 40, 5, false), FragmentFit::kInconsistent);  // 2nd end
  EXPECT_FALSE(Defragmenter::Complete(e));  // hole [16, 24)
  EXPECT_EQ(Defragmenter::AddFragment(e, 16, 8, true), FragmentFit::kAdded);
  EXPECT_TRUE(Defragmenter::Complete(e));
  DefragEntry many{};
  for (uint32_t i = 0; i < kDefragMaxFragments; ++i) {
    ASSERT_EQ(Defragmenter::AddFragment(many, i * 8, 8, true), FragmentFit::kAdded);
  }
  EXPECT_EQ(Defragmenter::AddFragment(many, 1000 * 8, 8, true), FragmentFit::kTooMany);
}

}  // namespace
}  // namespace skyprobe
