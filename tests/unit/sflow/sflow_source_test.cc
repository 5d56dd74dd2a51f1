// The sFlow collector against hostile or unlucky peers: scaled counters at
// their limits, the agent allow-list, made-up agents filling every slot,
// sequence gaps per agent, and the sockets' kernel drop count, sender
// address and receive buffer. Datagrams are built by sflow_builder.h; the
// expected values come from the sFlow spec and the Linux socket API (socket(7),
// /proc/sys/net/core/rmem_max), not from the collector.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <rte_malloc.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "capture/record_channel.h"
#include "eal_env.h"
#include "gtest/gtest.h"
#include "sflow/sflow_socket.h"
#include "sflow/sflow_source.h"
#include "sflow_builder.h"

namespace skyprobe::sflow::testing {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;

IpNetwork Net(const std::string& text) {
  absl::StatusOr<IpNetwork> n = ParseIpNetwork(text);
  EXPECT_TRUE(n.ok()) << n.status();
  return *n;
}

PeerAddress Peer4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  PeerAddress p;
  p.ip_version = 4;
  p.addr[0] = a;
  p.addr[1] = b;
  p.addr[2] = c;
  p.addr[3] = d;
  return p;
}

TestDatagram From(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint32_t sequence = 1,
                  uint32_t sub_agent = 0) {
  TestDatagram t;
  t.agent[0] = a;
  t.agent[1] = b;
  t.agent[2] = c;
  t.agent[3] = d;
  t.sequence = sequence;
  t.sub_agent = sub_agent;
  return t;
}

class SflowSourceTest : public ::testing::Test {
 protected:
  void Build(uint32_t max_agents, std::vector<IpNetwork> allowed = {}, int64_t idle_ns = 0,
             uint32_t max_flows = 64) {
    static std::atomic<int> n{0};
    SflowSetup setup;
    auto channel = RecordChannel::Create("sfsrc" + std::to_string(n++), 1024, -1);
    ASSERT_TRUE(channel.ok()) << channel.status();
    channel_ = channel->get();
    setup.channel = *std::move(channel);
    setup.table.max_flows = max_flows;
    setup.max_agents = max_agents;
    setup.allowed = std::move(allowed);
    setup.agent_idle_ns = idle_ns;
    src_ = std::make_unique<SflowSource>(std::move(setup));
  }
  // One flow sample of one frame from `t`'s agent.
  void Send(TestDatagram t, int64_t now, const PeerAddress& from = PeerAddress(),
            uint8_t frame_src = 1) {
    t.samples.push_back(TestSample::Flow(10, {TestHeader::Eth(UdpFrame(frame_src))}));
    const std::vector<uint8_t> b = BuildDatagram(t);
    src_->HandleDatagram(b.data(), b.size(), now, from);
  }
  // Every record handed to control so far.
  std::vector<FlowSnapshot> Drain() {
    std::vector<FlowSnapshot> out;
    FlowSnapshot* recs[64];
    for (uint32_t n; (n = channel_->Drain(recs, 64)) > 0;) {
      for (uint32_t i = 0; i < n; ++i) out.push_back(*recs[i]);
      channel_->Release(recs, n);
    }
    return out;
  }
  std::vector<FlowSnapshot> Live(uint32_t table) {
    std::vector<FlowSnapshot> out;
    const FlowTable& t = src_->agent_table(table);
    for (uint32_t pos = 0; pos < t.capacity(); ++pos) {
      if (!t.IsLive(pos)) continue;
      out.emplace_back();
      t.FillSnapshot(pos, FlowEvent::kUpdate, ExpireReason::kNone, &out.back());
    }
    return out;
  }
  std::vector<std::string> Agents() {
    std::vector<std::string> out;
    for (uint32_t i = 0; i < src_->agent_count(); ++i) {
      AgentReport a;
      if (src_->ReadAgent(i, &a)) out.push_back(a.address);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  RecordChannel* channel_ = nullptr;
  std::unique_ptr<SflowSource> src_;
};

// A sampling rate and a frame length of 0xffffffff, through the decoder,
// the parser and the agent's table.
TEST_F(SflowSourceTest, ScaledCountersSaturateAtTheLimits) {
  Build(4);
  TestDatagram t = From(192, 0, 2, 1);
  TestHeader h = TestHeader::Eth(UdpFrame(1));
  h.frame_length = 0xffffffffu;
  h.stripped = 0;
  for (int i = 0; i < 3; ++i) t.samples.push_back(TestSample::Flow(0xffffffffu, {h}));
  const std::vector<uint8_t> b = BuildDatagram(t);
  src_->HandleDatagram(b.data(), b.size(), kT0);
  ASSERT_EQ(src_->counters().frames, 3u);
  const std::vector<FlowSnapshot> flows = Live(0);
  ASSERT_EQ(flows.size(), 1u);
  const FlowSnapshot& f = flows[0];
  EXPECT_EQ(f.metric.ab_packets, 3);
  EXPECT_EQ(f.metric.ab_bytes, 3 * int64_t{0xffffffff});  // the raw sampled lengths
  EXPECT_EQ(f.scaled_metric.ab_packets, 3 * int64_t{0xffffffff});
  EXPECT_EQ(f.scaled_metric.ab_bytes, INT64_MAX);
  EXPECT_EQ(f.scaled_metric.sampling_rate, int64_t{0xffffffff});
}

// The exit's flush hands every agent's flows over, each once, as final
// records; an agent table used again afterwards starts empty and counts its
// frames into new flows (the keys the flush left behind are gone).
TEST_F(SflowSourceTest, FlushAllHandsEveryFlowOverAndTablesStayUsable) {
  Build(4);
  for (uint8_t f = 1; f <= 5; ++f) Send(From(192, 0, 2, 1), kT0, PeerAddress(), f);
  for (uint8_t f = 1; f <= 3; ++f) Send(From(192, 0, 2, 2), kT0, PeerAddress(), f);
  ASSERT_EQ(src_->agent_count(), 2u);
  ASSERT_TRUE(src_->FlushAll());
  const std::vector<FlowSnapshot> out = Drain();
  ASSERT_EQ(out.size(), 8u);
  for (const FlowSnapshot& r : out) {
    EXPECT_EQ(r.event, FlowEvent::kExpire);
    EXPECT_EQ(r.expire_reason, ExpireReason::kFlush);
    EXPECT_EQ(r.metric.ab_packets + r.metric.ba_packets, 1) << r.transport_a;
  }
  EXPECT_EQ(src_->agent_table(0).size(), 0u);
  EXPECT_EQ(src_->agent_table(1).size(), 0u);
  Send(From(192, 0, 2, 1), kT0 + kSec, PeerAddress(), 1);
  Send(From(192, 0, 2, 1), kT0 + kSec, PeerAddress(), 1);
  const std::vector<FlowSnapshot> again = Live(0);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].metric.ab_packets, 2);
}

// At exit the agent tables' memory is left to the process: destroying the
// source afterwards gives none of it back to the EAL heap (a free would
// write every byte of it), where destroying it without gives it all back.
TEST_F(SflowSourceTest, TablesLeftToTheProcessExitAreNotFreed) {
  auto heap_bytes = [] {
    rte_malloc_socket_stats st{};
    uint64_t total = 0;
    for (int socket = 0; socket < RTE_MAX_NUMA_NODES; ++socket) {
      if (rte_malloc_get_socket_stats(socket, &st) == 0) total += st.heap_allocsz_bytes;
    }
    return total;
  };
  for (const bool leave : {false, true}) {
    Build(4, {}, 0, 1u << 16);  // tables far larger than the rest of the source
    Send(From(192, 0, 2, 1), kT0);
    Send(From(192, 0, 2, 2), kT0);
    ASSERT_EQ(src_->agent_count(), 2u);
    ASSERT_TRUE(src_->FlushAll());
    Drain();
    const uint64_t flows = src_->agent_table(0).capacity();  // each agent table's
    ASSERT_GT(flows, 0u);
    const uint64_t before = heap_bytes();
    if (leave) src_->LeaveToProcessExit();
    src_.reset();
    const uint64_t freed = before - heap_bytes();
    // Each agent table holds at least its records (FlowHot, 128 bytes a flow).
    if (leave) {
      EXPECT_LT(freed, 2 * flows * 128) << "the tables' arrays were freed";
    } else {
      EXPECT_GE(freed, 2 * flows * 128);
    }
  }
}

TEST_F(SflowSourceTest, AllowListChecksSenderAndAgent) {
  Build(8, {Net("192.0.2.0/24"), Net("2001:db8::/32")});
  Send(From(192, 0, 2, 1), kT0, Peer4(192, 0, 2, 1));     // both inside
  Send(From(198, 51, 100, 1), kT0, Peer4(192, 0, 2, 1));  // agent outside
  Send(From(192, 0, 2, 5), kT0, Peer4(203, 0, 113, 9));   // sender outside
  Send(From(192, 0, 2, 6), kT0);                          // sender unknown: agent decides
  // Garbage from a sender outside the list is refused before decoding.
  const uint8_t junk[] = {1, 2, 3};
  src_->HandleDatagram(junk, sizeof(junk), kT0, Peer4(203, 0, 113, 9));
  TestDatagram v6;
  v6.ipv6 = true;
  const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
  std::copy(a6, a6 + 16, v6.agent);
  Send(v6, kT0);
  v6.agent[3] = 0xb9;  // 2001:db9::7
  Send(v6, kT0);
  const SflowCounters& c = src_->counters();
  EXPECT_EQ(c.datagrams, 7u);
  EXPECT_EQ(c.agent_denied, 4u);
  EXPECT_EQ(c.malformed[static_cast<int>(DecodeError::kTruncated)], 0u);
  EXPECT_EQ(c.frames, 3u);
  EXPECT_EQ(Agents(), (std::vector<std::string>{"192.0.2.1", "192.0.2.6", "2001:db8::7"}));
}

// Two made-up agents take both slots; the real one is refused until they
// have been silent for the idle time, then it gets a slot, and the
// made-up agents' flows leave with their final records.
TEST_F(SflowSourceTest, SpoofedAgentsAreRetiredAndRealOnesGetIn) {
  Build(2, {}, 10 * kSec);
  Send(From(10, 66, 0, 1), kT0, PeerAddress(), 1);
  Send(From(10, 66, 0, 2), kT0, PeerAddress(), 2);
  Send(From(192, 0, 2, 10), kT0 + kSec);
  EXPECT_EQ(src_->counters().agent_refusals, 1u);
  EXPECT_EQ(src_->agents_in_use(), 2u);
  src_->Tick(kT0 + 5 * kSec);  // not idle long enough
  EXPECT_EQ(src_->counters().agents_retired, 0u);
  EXPECT_TRUE(Drain().empty());
  Send(From(10, 66, 0, 2, 2), kT0 + 8 * kSec, PeerAddress(), 2);  // this one speaks again

  src_->Tick(kT0 + 10 * kSec + 1);  // 10.66.0.1 silent for more than 10 s
  EXPECT_EQ(src_->counters().agents_retired, 1u);
  EXPECT_EQ(src_->agents_in_use(), 1u);
  const std::vector<FlowSnapshot> out = Drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event, FlowEvent::kExpire);
  EXPECT_EQ(std::string(out[0].node_tid), "10.66.0.1");
  EXPECT_EQ(out[0].metric.ab_packets, 1);

  Send(From(192, 0, 2, 10), kT0 + 11 * kSec);
  EXPECT_EQ(src_->counters().agent_refusals, 1u);  // no new refusal
  EXPECT_EQ(Agents(), (std::vector<std::string>{"10.66.0.2", "192.0.2.10"}));
  EXPECT_EQ(src_->agent_count(), 2u);  // the retired table was reused, none created
  const std::vector<FlowSnapshot> real = Live(0);
  ASSERT_EQ(real.size(), 1u);
  EXPECT_EQ(std::string(real[0].node_tid), "192.0.2.10");
  EXPECT_NE(real[0].uuid, out[0].uuid);  // the same conversation, another agent's flow

  // Idle 0 keeps agents for ever.
  Build(1, {}, 0);
  Send(From(10, 66, 0, 1), kT0);
  src_->Tick(kT0 + 1'000'000 * kSec);
  EXPECT_EQ(src_->counters().agents_retired, 0u);
  Send(From(192, 0, 2, 10), kT0 + 1'000'001 * kSec);
  EXPECT_EQ(src_->counters().agent_refusals, 1u);
}

TEST_F(SflowSourceTest, SequenceGapsPerAgentAndSubAgent) {
  Build(4);
  const PeerAddress none;
  // Agent A, sub-agent 0: 1 2 5 6 (2 lost), 3 (back: a reset), 4 (in order after it).
  for (uint32_t seq : {1u, 2u, 5u, 6u, 3u, 4u}) Send(From(192, 0, 2, 1, seq), kT0, none);
  // Agent A, sub-agent 1: 100 then 103 (2 lost), own numbering.
  Send(From(192, 0, 2, 1, 100, 1), kT0, none);
  Send(From(192, 0, 2, 1, 103, 1), kT0, none);
  // Agent B: a repeat (reset); 7 -> 2^32 - 1 is forward by more than 2^31,
  // read as going back (reset); then the wrap from 2^32 - 1 to 0 (in order).
  for (uint32_t seq : {7u, 7u, 0xffffffffu, 0u, 1u}) Send(From(192, 0, 2, 2, seq), kT0, none);
  // A counter-only datagram of agent B still counts: 1 -> 4 loses 2.
  TestDatagram counters = From(192, 0, 2, 2, 4);
  counters.samples.push_back(TestSample::Counter());
  const std::vector<uint8_t> b = BuildDatagram(counters);
  src_->HandleDatagram(b.data(), b.size(), kT0);
  const SflowCounters& c = src_->counters();
  EXPECT_EQ(c.sequence_gaps, 2u + 2u + 2u);
  EXPECT_EQ(c.sequence_resets, 1u + 2u);
  AgentReport a, bb;
  ASSERT_TRUE(src_->ReadAgent(0, &a));
  ASSERT_TRUE(src_->ReadAgent(1, &bb));
  EXPECT_STREQ(a.address, "192.0.2.1");
  EXPECT_EQ(a.datagrams, 8u);
  EXPECT_EQ(a.sequence_gaps, 4u);
  EXPECT_EQ(a.sequence_resets, 1u);
  EXPECT_STREQ(bb.address, "192.0.2.2");
  EXPECT_EQ(bb.datagrams, 6u);
  EXPECT_EQ(bb.sequence_gaps, 2u);
  EXPECT_EQ(bb.sequence_resets, 2u);
  EXPECT_FALSE(src_->ReadAgent(2, &a));  // no agent there
}

// The real sockets: sender addresses, SO_RXQ_OVFL and the receive buffer.
class SflowSocketTest : public ::testing::Test {
 protected:
  static int Sender() { return socket(AF_INET, SOCK_DGRAM, 0); }
  static void SendTo(int fd, uint16_t port, size_t len) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::vector<uint8_t> b(len, 0x5a);
    ASSERT_EQ(sendto(fd, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
              static_cast<ssize_t>(len));
  }
  // Receives until the sockets have nothing left; returns how many came.
  static uint64_t DrainAll(SflowSockets& s) {
    uint64_t got = 0;
    for (uint32_t n; (n = s.Receive(0)) > 0;) got += n;
    return got;
  }
};

TEST_F(SflowSocketTest, KernelDropsAreCounted) {
  // A small buffer (the kernel grants twice 4 KiB, a few datagrams' worth).
  auto socks = SflowSockets::Open({"127.0.0.1:0"}, "--sflow-listen", 4096);
  ASSERT_TRUE(socks.ok()) << socks.status();
  const uint16_t port = (*socks)->ports()[0];
  const int fd = Sender();
  constexpr int kSent = 200;
  for (int i = 0; i < kSent; ++i) SendTo(fd, port, 1000);
  uint64_t received = DrainAll(**socks);
  EXPECT_LT(received, uint64_t{kSent});  // the buffer cannot hold them all
  // The count rides on datagrams queued after the drops: one more brings it.
  SendTo(fd, port, 100);
  received += DrainAll(**socks);
  close(fd);
  EXPECT_GT((*socks)->kernel_drops(), 0u);
  EXPECT_EQ(received + (*socks)->kernel_drops(), uint64_t{kSent} + 1);
}

TEST_F(SflowSocketTest, SenderAddressComesWithEachDatagram) {
  auto socks = SflowSockets::Open({"127.0.0.1:0", "[::1]:0"});
  ASSERT_TRUE(socks.ok()) << socks.status();
  const int fd = Sender();
  SendTo(fd, (*socks)->ports()[0], 10);
  close(fd);
  const int fd6 = socket(AF_INET6, SOCK_DGRAM, 0);
  sockaddr_in6 to{};
  to.sin6_family = AF_INET6;
  to.sin6_port = htons((*socks)->ports()[1]);
  to.sin6_addr = in6addr_loopback;
  ASSERT_EQ(sendto(fd6, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 1);
  close(fd6);
  std::vector<PeerAddress> from;
  for (int tries = 0; from.size() < 2 && tries < 1000; ++tries) {
    const uint32_t n = (*socks)->Receive(10);
    for (uint32_t i = 0; i < n; ++i) from.push_back((*socks)->datagram(i).from);
  }
  ASSERT_EQ(from.size(), 2u);
  std::sort(from.begin(), from.end(),
            [](const PeerAddress& a, const PeerAddress& b) { return a.ip_version < b.ip_version; });
  EXPECT_EQ(from[0].ip_version, 4);
  EXPECT_EQ(std::vector<uint8_t>(from[0].addr, from[0].addr + 4),
            (std::vector<uint8_t>{127, 0, 0, 1}));
  EXPECT_EQ(from[1].ip_version, 6);
  EXPECT_EQ(from[1].addr[15], 1);
  EXPECT_EQ(std::count(from[1].addr, from[1].addr + 15, 0), 15);
}

// socket(7): the kernel caps SO_RCVBUF at net.core.rmem_max and doubles it.
TEST_F(SflowSocketTest, GrantedReceiveBufferIsReported) {
  int64_t rmem_max = 0;
  std::ifstream("/proc/sys/net/core/rmem_max") >> rmem_max;
  ASSERT_GT(rmem_max, 0) << "cannot read /proc/sys/net/core/rmem_max";
  const int asked = 64 << 20;
  auto socks = SflowSockets::Open({"127.0.0.1:0"}, "--sflow-listen", asked);
  ASSERT_TRUE(socks.ok()) << socks.status();
  const auto& reports = (*socks)->buffer_reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].where, "--sflow-listen 127.0.0.1:0");
  EXPECT_EQ(reports[0].asked, asked);
  EXPECT_EQ(reports[0].granted, 2 * std::min<int64_t>(asked, rmem_max));
  EXPECT_EQ(reports[0].short_of_ask(), rmem_max < asked);
}

}  // namespace
}  // namespace skyprobe::sflow::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new skyprobe::testing::EalEnvironment());
  return RUN_ALL_TESTS();
}
