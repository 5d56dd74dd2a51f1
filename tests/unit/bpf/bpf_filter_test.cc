// Tests for BpfFilter: Skydive's BPF cases on the real traces, errors, raw-IP link types,
// and the burst APIs the RX worker uses.

#include "bpf/bpf_filter.h"

#include <pcap/pcap.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/bpf/filter_test_util.h"

namespace skyprobe::testing {
namespace {

using ::testing::HasSubstr;

constexpr uint32_t kSkydiveSnaplen = 256;  // Skydive's TestBPFFilter / TestVlanBPF

std::unique_ptr<BpfFilter> MustCompile(const std::string& expr, uint32_t dlt,
                                       uint32_t snaplen = kSkydiveSnaplen, bool jit = true) {
  absl::StatusOr<std::unique_ptr<BpfFilter>> f = BpfFilter::Compile(expr, dlt, snaplen, jit);
  EXPECT_TRUE(f.ok()) << expr << ": " << f.status();
  return f.ok() ? std::move(*f) : nullptr;
}

uint16_t EtherType(const Frame& f) {
  return f.bytes.size() < 14 ? 0 : static_cast<uint16_t>(f.bytes[12] << 8 | f.bytes[13]);
}

TEST(BpfFilterTest, CompilesAndJits) {
  std::unique_ptr<BpfFilter> f = MustCompile("port 53 or port 80", DLT_EN10MB);
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->jitted());  // x86-64 and arm64 have a JIT in DPDK 22.11
  EXPECT_FALSE(f->match_all());
  EXPECT_FALSE(f->uses_length());
  EXPECT_GT(f->cbpf_instructions(), 10u);
  EXPECT_GE(f->ebpf_instructions(), f->cbpf_instructions());
  EXPECT_EQ(f->expression(), "port 53 or port 80");
  EXPECT_EQ(f->link_type(), uint32_t{DLT_EN10MB});
  EXPECT_TRUE(MustCompile("greater 100", DLT_EN10MB)->uses_length());
}

TEST(BpfFilterTest, BadExpressionIsInvalidArgumentWithLibpcapText) {
  for (const char* expr : {"porrt 53", "port 99999", "host", "tcp and (", "ip6 host 1.2.3.4"}) {
    absl::StatusOr<std::unique_ptr<BpfFilter>> f = BpfFilter::Compile(expr, DLT_EN10MB, 256);
    ASSERT_FALSE(f.ok()) << expr;
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << expr;
    PcapOracle oracle(expr, DLT_EN10MB, 256);
    ASSERT_FALSE(oracle.ok());
    EXPECT_EQ(f.status().message(), oracle.error()) << expr;
  }
  absl::StatusOr<std::unique_ptr<BpfFilter>> f = BpfFilter::Compile("porrt 53", DLT_EN10MB, 0);
  EXPECT_THAT(f.status().message(), HasSubstr("syntax error"));
  // Valid syntax, but meaningless for the link type.
  f = BpfFilter::Compile("vlan", DLT_RAW, 0);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BpfFilterTest, EmptyExpressionMatchesEverything) {
  for (const char* expr : {"", "  \t"}) {
    std::unique_ptr<BpfFilter> f = MustCompile(expr, DLT_EN10MB);
    ASSERT_NE(f, nullptr);
    EXPECT_TRUE(f->match_all());
    EXPECT_FALSE(f->jitted());
    const uint8_t junk[3] = {1, 2, 3};
    EXPECT_TRUE(f->MatchBytes(junk, sizeof(junk), 1000));
    rte_mbuf* m = MakeChain(std::vector<uint8_t>(junk, junk + 3));
    ASSERT_NE(m, nullptr);
    rte_mbuf* burst[2] = {m, m};
    rte_mbuf* out[2] = {};
    EXPECT_TRUE(f->Match(m));
    EXPECT_EQ(f->Select(burst, 2, out), 2u);
    EXPECT_EQ(out[1], m);
    EXPECT_EQ(f->MatchMask(burst, 2), 3u);
    rte_pktmbuf_free(m);
  }
}

// Skydive TestBPFFilter: "port 53 or port 80" on the google trace keeps every DNS and HTTP
// packet, i.e. everything but the ARP exchange.
TEST(BpfFilterTraceTest, GoogleTracePort53Or80) {
  SKYPROBE_SHARED_PCAPS_OR_RETURN(dir);
  int dlt = 0, snaplen = 0;
  std::string err;
  const std::vector<Frame> frames =
      ReadPcap(dir + "/skydive/eth-ip4-arp-dns-req-http-google.pcap", &dlt, &snaplen, &err);
  ASSERT_EQ(frames.size(), 58u) << err;
  ASSERT_EQ(dlt, DLT_EN10MB);
  const std::string expr = "port 53 or port 80";
  std::unique_ptr<BpfFilter> f = MustCompile(expr, DLT_EN10MB);
  std::unique_ptr<BpfFilter> interp = MustCompile(expr, DLT_EN10MB, kSkydiveSnaplen, false);
  ASSERT_NE(f, nullptr);
  ASSERT_NE(interp, nullptr);
  EXPECT_FALSE(interp->jitted());
  PcapOracle oracle(expr, DLT_EN10MB, kSkydiveSnaplen);
  ASSERT_TRUE(oracle.ok());
  size_t matched = 0, arp = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    const Frame& fr = frames[i];
    const bool got = f->MatchBytes(fr.bytes.data(), fr.hdr.caplen, fr.hdr.len);
    EXPECT_EQ(got, oracle.Offline(fr)) << "packet " << i;
    EXPECT_EQ(interp->MatchBytes(fr.bytes.data(), fr.hdr.caplen, fr.hdr.len), got) << i;
    // Every packet but ARP is DNS or HTTP in this trace.
    const bool is_arp = EtherType(fr) == 0x0806;
    EXPECT_EQ(got, !is_arp) << "packet " << i;
    matched += got;
    arp += is_arp;
  }
  EXPECT_EQ(arp, 2u);
  EXPECT_EQ(matched, 56u);
}

// Skydive TestVlanBPF: libpcap's VLAN semantics.
TEST(BpfFilterTraceTest, VlanNeedsVlanKeyword) {
  SKYPROBE_SHARED_PCAPS_OR_RETURN(dir);
  int dlt = 0, snaplen = 0;
  const std::vector<Frame> frames = ReadPcap(dir + "/skydive/icmp-vlan.pcap", &dlt, &snaplen);
  ASSERT_EQ(frames.size(), 2u);
  std::unique_ptr<BpfFilter> plain = MustCompile("icmp", DLT_EN10MB);
  std::unique_ptr<BpfFilter> vlan = MustCompile("icmp or (vlan and icmp)", DLT_EN10MB);
  ASSERT_NE(plain, nullptr);
  ASSERT_NE(vlan, nullptr);
  for (const Frame& fr : frames) {
    EXPECT_FALSE(plain->MatchBytes(fr.bytes.data(), fr.hdr.caplen, fr.hdr.len));
    EXPECT_TRUE(vlan->MatchBytes(fr.bytes.data(), fr.hdr.caplen, fr.hdr.len));
    rte_mbuf* m = MakeChain(fr.bytes);
    ASSERT_NE(m, nullptr);
    EXPECT_FALSE(plain->Match(m));
    EXPECT_TRUE(vlan->Match(m));
    rte_pktmbuf_free(m);
  }
}

// The burst APIs agree with per-packet Match and keep the order.
TEST(BpfFilterTraceTest, BurstApisOnGoogleTrace) {
  SKYPROBE_SHARED_PCAPS_OR_RETURN(dir);
  int dlt = 0, snaplen = 0;
  const std::vector<Frame> frames =
      ReadPcap(dir + "/skydive/eth-ip4-arp-dns-req-http-google.pcap", &dlt, &snaplen);
  ASSERT_EQ(frames.size(), 58u);
  for (bool jit : {true, false}) {
    std::unique_ptr<BpfFilter> f = MustCompile("port 53 or port 80", DLT_EN10MB, 256, jit);
    ASSERT_NE(f, nullptr);
    std::vector<rte_mbuf*> burst;
    for (const Frame& fr : frames) burst.push_back(MakeChain(fr.bytes, 200));
    for (rte_mbuf* m : burst) ASSERT_NE(m, nullptr);
    const uint32_t n = static_cast<uint32_t>(burst.size());
    std::vector<rte_mbuf*> expected;
    uint64_t expected_mask = 0;
    for (uint32_t i = 0; i < n; ++i) {
      if (f->Match(burst[i])) {
        expected.push_back(burst[i]);
        expected_mask |= uint64_t{1} << i;
      }
    }
    ASSERT_EQ(expected.size(), 56u);
    EXPECT_EQ(f->MatchMask(burst.data(), n), expected_mask);

    std::vector<rte_mbuf*> out(n);
    ASSERT_EQ(f->Select(burst.data(), n, out.data()), 56u);
    out.resize(56);
    EXPECT_EQ(out, expected);

    std::vector<rte_mbuf*> inplace = burst;
    std::vector<rte_mbuf*> rejected(n);
    uint32_t n_rejected = 0;
    ASSERT_EQ(f->FilterBurst(inplace.data(), n, rejected.data(), &n_rejected), 56u);
    ASSERT_EQ(n_rejected, 2u);
    inplace.resize(56);
    EXPECT_EQ(inplace, expected);
    for (uint32_t i = 0; i < n_rejected; ++i) {
      EXPECT_EQ(rte_pktmbuf_mtod(rejected[i], uint8_t*)[12], 0x08);
      EXPECT_EQ(rte_pktmbuf_mtod(rejected[i], uint8_t*)[13], 0x06);  // ARP
    }
    // In place, as the RX worker calls it.
    std::vector<rte_mbuf*> same = burst;
    EXPECT_EQ(f->Select(same.data(), n, same.data()), 56u);
    same.resize(56);
    EXPECT_EQ(same, expected);
    rte_pktmbuf_free_bulk(burst.data(), n);
  }
}

std::vector<uint8_t> Ipv4Udp(uint16_t dport) {
  std::vector<uint8_t> p = {0x45,
                            0,
                            0,
                            28,
                            0,
                            1,
                            0,
                            0,
                            64,
                            17,
                            0,
                            0,
                            10,
                            0,
                            0,
                            1,
                            10,
                            0,
                            0,
                            2,
                            0x30,
                            0x39,
                            static_cast<uint8_t>(dport >> 8),
                            static_cast<uint8_t>(dport),
                            0,
                            8,
                            0,
                            0};
  return p;
}

std::vector<uint8_t> Ipv6Udp(uint16_t dport) {
  std::vector<uint8_t> p(48, 0);
  p[0] = 0x60;
  p[5] = 8;   // payload length
  p[6] = 17;  // next header UDP
  p[7] = 64;  // hop limit
  p[23] = 1;  // src ::1
  p[39] = 2;  // dst ::2
  p[40] = 0x30;
  p[41] = 0x39;
  p[42] = static_cast<uint8_t>(dport >> 8);
  p[43] = static_cast<uint8_t>(dport);
  p[45] = 8;
  return p;
}

TEST(BpfFilterTest, RawIpLinkTypes) {
  const std::vector<uint8_t> v4_dns = Ipv4Udp(53), v4_other = Ipv4Udp(80);
  const std::vector<uint8_t> v6_dns = Ipv6Udp(53), v6_other = Ipv6Udp(80);
  struct Case {
    uint32_t dlt;
    const char* expr;
    const std::vector<uint8_t>* pkt;
    bool want;
  } cases[] = {
      {DLT_RAW, "udp port 53", &v4_dns, true},         {DLT_RAW, "udp port 53", &v4_other, false},
      {DLT_RAW, "ip6 and udp port 53", &v6_dns, true}, {DLT_RAW, "udp port 53", &v6_other, false},
      {DLT_IPV4, "udp port 53", &v4_dns, true},        {DLT_IPV4, "host 10.0.0.2", &v4_other, true},
      {DLT_IPV4, "udp port 53", &v4_other, false},     {DLT_IPV6, "udp port 53", &v6_dns, true},
      {DLT_IPV6, "ip6 dst host ::2", &v6_other, true}, {DLT_IPV6, "udp port 53", &v6_other, false},
  };
  for (const Case& c : cases) {
    std::unique_ptr<BpfFilter> f = MustCompile(c.expr, c.dlt, 65535);
    ASSERT_NE(f, nullptr);
    const uint32_t len = static_cast<uint32_t>(c.pkt->size());
    EXPECT_EQ(f->MatchBytes(c.pkt->data(), len, len), c.want) << c.dlt << " " << c.expr;
    PcapOracle oracle(c.expr, static_cast<int>(c.dlt), 65535);
    ASSERT_TRUE(oracle.ok());
    Frame fr{};
    fr.hdr.caplen = fr.hdr.len = len;
    fr.bytes = *c.pkt;
    EXPECT_EQ(oracle.Offline(fr), c.want) << c.dlt << " " << c.expr;
  }
}

// Skydive's link-type-12 trace: the header says Ethernet, the bytes are raw IPv4.
TEST(BpfFilterTraceTest, LinkType12Trace) {
  SKYPROBE_SHARED_PCAPS_OR_RETURN(dir);
  int dlt = 0, snaplen = 0;
  const std::vector<Frame> frames = ReadPcap(dir + "/skydive/link-type-12.pcap", &dlt, &snaplen);
  ASSERT_EQ(frames.size(), 1u);
  const Frame& fr = frames[0];
  EXPECT_TRUE(
      MustCompile("ip and tcp", DLT_RAW)->MatchBytes(fr.bytes.data(), fr.hdr.caplen, fr.hdr.len));
  EXPECT_FALSE(MustCompile("ip and tcp", DLT_EN10MB)
                   ->MatchBytes(fr.bytes.data(), fr.hdr.caplen, fr.hdr.len));
}

// DPDK 22.11's converter indexes "ldb [x + k]" and "ld [x + k]" by A instead of X (see
// FixIndexedLoads): a TCP SYN with DF set (A = 0x4000 when the index is loaded) exposes it.
TEST(BpfFilterTest, IndexedByteAndWordLoads) {
  std::vector<uint8_t> p(54, 0);
  p[12] = 0x08;                                                 // IPv4
  const uint8_t ip[] = {0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6};  // DF, TCP
  std::copy(std::begin(ip), std::end(ip), p.begin() + 14);
  p[14 + 20 + 7] = 1;      // seq 1
  p[14 + 20 + 13] = 0x02;  // SYN
  for (bool jit : {true, false}) {
    for (const char* expr : {"tcp[13] & 2 != 0", "tcp[tcpflags] == tcp-syn", "tcp[4:4] == 1",
                             "tcp[13] = 2 and tcp[4:4] = 1 and tcp[0:2] = 0"}) {
      std::unique_ptr<BpfFilter> f = MustCompile(expr, DLT_EN10MB, 256, jit);
      ASSERT_NE(f, nullptr);
      EXPECT_TRUE(f->MatchBytes(p.data(), 54, 54)) << expr << " jit " << jit;
      rte_mbuf* m = MakeChain(p, 40);  // the TCP header straddles two segments
      ASSERT_NE(m, nullptr);
      EXPECT_TRUE(f->Match(m)) << expr << " jit " << jit;
      rte_pktmbuf_free(m);
    }
  }
}

TEST(BpfFilterTest, ProtochainIsRefusedClearly) {
  absl::StatusOr<std::unique_ptr<BpfFilter>> f =
      BpfFilter::Compile("ip6 protochain 6", DLT_EN10MB, 0);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(f.status().message(), HasSubstr("protochain"));
}

// "len" is the wire length for byte spans (libpcap's meaning) and pkt_len for mbufs.
TEST(BpfFilterTest, LengthOfTruncatedFrames) {
  std::vector<uint8_t> bytes(256, 0);
  bytes[12] = 0x08;  // IPv4 ethertype, otherwise zeros
  std::unique_ptr<BpfFilter> f = MustCompile("greater 1000", DLT_EN10MB, 256);
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->MatchBytes(bytes.data(), 256, 1066));
  EXPECT_FALSE(f->MatchBytes(bytes.data(), 256, 256));
  rte_mbuf* m = MakeChain(bytes);
  ASSERT_NE(m, nullptr);
  EXPECT_FALSE(f->Match(m));
  rte_pktmbuf_free(m);
}

}  // namespace
}  // namespace skyprobe::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new skyprobe::testing::FilterEalEnvironment);
  return RUN_ALL_TESTS();
}
