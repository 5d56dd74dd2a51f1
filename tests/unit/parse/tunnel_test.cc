// Unit tests of tunnel decoding on hand-built frames: which headers split a
// frame into sub-packets, each sub-packet's path, offsets, keys fields,
// Network.ID and byte count, and truncation inside every tunnel header.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "packet_builder.h"
#include "parse/parser.h"

namespace skyprobe::testing {
namespace {

ParsedPacket ParseWith(const Bytes& f, bool l3_mode, uint32_t wire_len = UINT32_MAX,
                       LinkType link = LinkType::kEthernet) {
  ParsedPacket pkt;
  ParserConfig cfg;
  cfg.link_type = link;
  cfg.l3_key_mode = l3_mode;
  ParseFrame(f.data(), static_cast<uint32_t>(f.size()),
             wire_len == UINT32_MAX ? static_cast<uint32_t>(f.size()) : wire_len, cfg, &pkt);
  return pkt;
}

// An inner IPv4 echo request 192.0.0.1 -> 192.0.0.2 (id 77), 28 + data bytes.
Bytes InnerPing(size_t data = 0) {
  Bytes icmp = Icmp(8, 0, 77, data);
  return Net(Ipv4(1, icmp.size()), 192) + icmp;
}

Bytes InnerTcp(uint16_t sport = 40000, uint16_t dport = 80) {
  Bytes tcp = Tcp(sport, dport, kTcpSyn);
  return Net(Ipv4(6, tcp.size()), 172) + tcp;
}

Bytes InnerEth(const Bytes& ip) {
  Bytes e = Eth(0x0800);
  e[5] = 0x22;  // distinct inner MACs
  e[11] = 0x21;
  return e + ip;
}

Bytes OverUdp(uint16_t sport, uint16_t dport, const Bytes& payload) {
  Bytes udp = Udp(sport, dport, payload);
  return Eth(0x0800) + Ipv4(17, udp.size()) + udp;
}

Bytes OverGre(const Bytes& gre_and_payload) {
  return Eth(0x0800) + Ipv4(47, gre_and_payload.size()) + gre_and_payload;
}

TEST(TunnelTest, VxlanSplitsAfterTheHeader) {
  for (uint16_t port : {4789, 8472}) {
    Bytes f = OverUdp(55091, port, Vxlan(10) + InnerEth(InnerPing(56)));
    ParsedPacket p = Parse(f, 1116);
    ASSERT_EQ(p.num_sub, 2) << port;
    const SubPacket& outer = p.sub[0];
    EXPECT_EQ(Path(outer), "Ethernet/IPv4/UDP/VXLAN");
    EXPECT_EQ(outer.transport, FlowProtocol::kUdp);
    EXPECT_EQ(outer.transport_key, TransportKeyKind::kVniPort);
    EXPECT_EQ(outer.vni, 10u);
    EXPECT_EQ(outer.network_id, 10);
    EXPECT_EQ(outer.dst_port, port);
    EXPECT_EQ(outer.icmp_version, 0);
    EXPECT_EQ(outer.length, 1116u);

    const SubPacket& inner = p.sub[1];
    EXPECT_EQ(Path(inner), "Ethernet/IPv4/ICMPv4");
    EXPECT_EQ(inner.offset, 50);
    EXPECT_TRUE(inner.has_link);
    EXPECT_EQ(inner.mac_dst_off, 50);
    EXPECT_EQ(inner.mac_src_off, 56);
    EXPECT_EQ(inner.ip_version, 4);
    EXPECT_EQ(inner.ip_src_off, 50 + 14 + 12);
    EXPECT_EQ(f[inner.ip_src_off], 192);
    EXPECT_EQ(inner.transport, FlowProtocol::kEthernet);
    EXPECT_EQ(inner.transport_key, TransportKeyKind::kNone);
    EXPECT_EQ(inner.icmp_version, 4);
    EXPECT_EQ(inner.icmp_id, 77);
    EXPECT_EQ(inner.network_id, 0);
    EXPECT_EQ(inner.length, 1116u - 50);  // the remaining length, Ethernet inside
  }
}

TEST(TunnelTest, VxlanInnerLengthWhenTheWireLengthIsLost) {
  Bytes f = OverUdp(1, 4789, Vxlan(3) + InnerEth(InnerPing()));
  ParsedPacket p = Parse(f, 0);
  ASSERT_EQ(p.num_sub, 2);
  EXPECT_EQ(p.sub[0].length, f.size());  // 14 + outer IPv4 total length
  EXPECT_EQ(p.sub[1].length, f.size() - 50);
}

TEST(TunnelTest, GeneveCarriesEthernetOrIp) {
  Bytes f = OverUdp(12618, 6081, Geneve(11, 0x6558, 3) + InnerEth(InnerPing()));
  ParsedPacket p = Parse(f);
  ASSERT_EQ(p.num_sub, 2);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/UDP/Geneve");
  EXPECT_EQ(p.sub[0].transport_key, TransportKeyKind::kVniPort);
  EXPECT_EQ(p.sub[0].network_id, 11);
  EXPECT_EQ(Path(p.sub[1]), "Ethernet/IPv4/ICMPv4");
  EXPECT_EQ(p.sub[1].offset, 42 + 8 + 12);

  // IPv4 directly in Geneve: no inner Ethernet, so L2 mode counts the inner
  // IPv4 total length and L3 mode the remaining length.
  f = OverUdp(12618, 6081, Geneve(11, 0x0800) + InnerPing(10));
  for (bool l3 : {false, true}) {
    p = ParseWith(f, l3, 200);
    ASSERT_EQ(p.num_sub, 2);
    EXPECT_EQ(Path(p.sub[1]), "IPv4/ICMPv4");
    EXPECT_FALSE(p.sub[1].has_link);
    EXPECT_EQ(p.sub[1].length, l3 ? 200u - 50 : 38u);
  }
}

TEST(TunnelTest, GreWithKeyAndIpInside) {
  Bytes f = OverGre(Gre(0x0800, true, 0x01020304) + InnerPing(60));
  for (bool l3 : {false, true}) {
    ParsedPacket p = ParseWith(f, l3, 500);
    ASSERT_EQ(p.num_sub, 2);
    const SubPacket& outer = p.sub[0];
    EXPECT_EQ(Path(outer), "Ethernet/IPv4/GRE");
    EXPECT_EQ(outer.network_id, 0x01020304);
    EXPECT_EQ(outer.icmp_version, 0);
    EXPECT_EQ(outer.transport_key, TransportKeyKind::kNone);
    EXPECT_EQ(outer.length, 500u);
    const SubPacket& inner = p.sub[1];
    EXPECT_EQ(Path(inner), "IPv4/ICMPv4");
    EXPECT_EQ(inner.offset, 14 + 20 + 8);
    EXPECT_EQ(inner.network_id, 0);
    EXPECT_EQ(inner.icmp_id, 77);
    EXPECT_EQ(inner.length, l3 ? 500u - 42 : 88u);
  }
}

// Skydive's outer GRE flow would take the inner TCP ports into its key: ours
// has no transport at all, the inner sub-packet has the ports.
TEST(TunnelTest, InnerPortsDoNotLeakIntoTheOuterSubPacket) {
  ParsedPacket p = Parse(OverGre(Gre(0x0800) + InnerTcp(40000, 8080)));
  ASSERT_EQ(p.num_sub, 2);
  EXPECT_EQ(p.sub[0].transport, FlowProtocol::kEthernet);
  EXPECT_EQ(p.sub[0].transport_key, TransportKeyKind::kNone);
  EXPECT_EQ(p.sub[0].src_port, 0);
  EXPECT_EQ(p.sub[0].tcp_flags, 0);
  EXPECT_EQ(p.sub[1].transport, FlowProtocol::kTcp);
  EXPECT_EQ(p.sub[1].src_port, 40000);
  EXPECT_EQ(p.sub[1].dst_port, 8080);
  EXPECT_EQ(p.sub[1].tcp_flags, kTcpSyn);
}

TEST(TunnelTest, GreInGreGivesThreeLevels) {
  Bytes middle = Gre(0x0800, true, 5) + InnerPing(72);
  Bytes f = OverGre(Gre(0x0800) + Net(Ipv4(47, middle.size()), 10) + middle);
  ParsedPacket p = Parse(f);
  ASSERT_EQ(p.num_sub, 3);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/GRE");
  EXPECT_EQ(Path(p.sub[1]), "IPv4/GRE");
  EXPECT_EQ(Path(p.sub[2]), "IPv4/ICMPv4");
  EXPECT_EQ(p.sub[0].network_id, 0);
  EXPECT_EQ(p.sub[1].network_id, 5);
  EXPECT_EQ(p.sub[1].offset, 14 + 20 + 4);
  EXPECT_EQ(p.sub[2].offset, 14 + 20 + 4 + 20 + 8);
  EXPECT_EQ(p.sub[0].length, f.size());
  EXPECT_EQ(p.sub[1].length, 20u + middle.size());  // IPv4 total lengths
  EXPECT_EQ(p.sub[2].length, 100u);
}

TEST(TunnelTest, ErspanTwoSkipsItsHeaderWithoutALayer) {
  Bytes erspan = {0x10, 0x01, 0x00, 0x05, 0, 0, 0, 0};  // version 1, session 5
  Bytes f = OverGre(Gre(0x88BE, false, 0, true) + erspan + InnerEth(InnerPing(56)));
  ParsedPacket p = Parse(f);
  ASSERT_EQ(p.num_sub, 2);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/GRE");
  EXPECT_EQ(Path(p.sub[1]), "Ethernet/IPv4/ICMPv4");
  EXPECT_EQ(p.sub[1].offset, 14 + 20 + 8 + 8);
  EXPECT_EQ(p.sub[1].mac_dst_off, 50);
  EXPECT_EQ(p.sub[1].length, f.size() - 50);  // the mirrored frame, not its ERSPAN header
}

TEST(TunnelTest, GreBridgedEthernet) {
  ParsedPacket p = Parse(OverGre(Gre(0x6558, true, 0x1234) + InnerEth(InnerTcp())));
  ASSERT_EQ(p.num_sub, 2);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/GRE");
  EXPECT_EQ(p.sub[0].network_id, 0x1234);
  EXPECT_EQ(Path(p.sub[1]), "Ethernet/IPv4/TCP");
}

// A label stack of any depth is one "MPLS" layer and one cut.
TEST(TunnelTest, MplsStacksOfOneToFourLabels) {
  for (int depth = 1; depth <= 4; ++depth) {
    Bytes stack = MplsStack(depth);
    Bytes f = Eth(0x8847) + stack + InnerPing();
    ParsedPacket p = Parse(f);
    ASSERT_EQ(p.num_sub, 2) << depth;
    EXPECT_EQ(Path(p.sub[0]), "Ethernet/MPLS") << depth;
    EXPECT_TRUE(p.sub[0].has_link);
    EXPECT_EQ(p.sub[0].ip_version, 0);
    // The stack's entries, for exporters: where they are and how many.
    EXPECT_EQ(p.sub[0].mpls_off, 14);
    EXPECT_EQ(p.sub[0].mpls_entries, depth);
    EXPECT_EQ(Bytes(f.begin() + 14, f.begin() + 14 + 4 * depth), stack);
    EXPECT_EQ(Path(p.sub[1]), "IPv4/ICMPv4") << depth;
    EXPECT_EQ(p.sub[1].offset, 14 + 4 * depth);
    EXPECT_EQ(p.sub[1].length, 28u);
    EXPECT_EQ(p.sub[1].mpls_entries, 0);

    f = OverGre(Gre(0x8847, true, 9) + stack + InnerPing());
    p = Parse(f);
    ASSERT_EQ(p.num_sub, 2) << depth;
    EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/GRE/MPLS") << depth;
    EXPECT_EQ(p.sub[0].network_id, 9);
    EXPECT_EQ(p.sub[0].mpls_off, 14 + 20 + 8);
    EXPECT_EQ(p.sub[0].mpls_entries, depth);
    EXPECT_EQ(Path(p.sub[1]), "IPv4/ICMPv4") << depth;
    EXPECT_EQ(p.sub[1].offset, 14 + 20 + 8 + 4 * depth);
  }
}

// A stack the capture cut: its whole entries are kept, none past the end.
TEST(TunnelTest, MplsStackCutShortKeepsItsWholeEntries) {
  const Bytes f = Eth(0x8847) + MplsLabel(100, false) + MplsLabel(101, false) + Bytes{0, 1};
  const ParsedPacket p = Parse(f);
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/MPLS");
  EXPECT_EQ(p.sub[0].mpls_off, 14);
  EXPECT_EQ(p.sub[0].mpls_entries, 2);
}

TEST(TunnelTest, MplsPayloadByFirstNibble) {
  Bytes icmp6 = Icmp(128, 0, 5, 8);
  Bytes v6 = Ipv6(58, icmp6.size()) + icmp6;
  ParsedPacket p = Parse(Eth(0x8847) + MplsStack(2) + v6);
  ASSERT_EQ(p.num_sub, 2);
  EXPECT_EQ(Path(p.sub[1]), "IPv6/ICMPv6/ICMPv6Echo");
  EXPECT_EQ(p.sub[1].length, icmp6.size());  // IPv6 payload length (Skydive's rule)

  p = Parse(Eth(0x8847) + MplsStack(1) + InnerEth(InnerTcp()));
  ASSERT_EQ(p.num_sub, 2);
  EXPECT_EQ(Path(p.sub[1]), "Ethernet/IPv4/TCP");
}

TEST(TunnelTest, MplsOverUdpPorts) {
  for (uint16_t port : kMplsUdpPorts) {
    ParsedPacket p = Parse(OverUdp(53580, port, MplsStack(1) + InnerPing()));
    ASSERT_EQ(p.num_sub, 2) << port;
    EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/UDP/MPLS");
    EXPECT_EQ(p.sub[0].transport_key, TransportKeyKind::kPorts);
    EXPECT_EQ(p.sub[0].src_port, 53580);
    EXPECT_EQ(p.sub[0].dst_port, port);
    EXPECT_EQ(Path(p.sub[1]), "IPv4/ICMPv4");
  }
  // Known ports win, and only the destination port selects MPLS: a DNS reply
  // to ephemeral port 51234 stays DNS, a datagram from 51234 stays UDP.
  ParsedPacket p = Parse(OverUdp(53, 51234, DnsResponse()));
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/UDP/DNS");
  p = Parse(OverUdp(51234, 5001, MplsStack(1) + InnerPing()));
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/UDP");
}

TEST(TunnelTest, MplsStackWithoutBottomIsTruncated) {
  Bytes f = Eth(0x8847) + MplsLabel(1, false) + MplsLabel(2, false);
  ParsedPacket p = Parse(f);
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/MPLS");
  EXPECT_NE(p.anomalies & kAnomalyTruncatedL4, 0);
}

TEST(TunnelTest, IpInIpSplitsBeyondSkydive) {
  Bytes inner = InnerPing();
  ParsedPacket p = Parse(Eth(0x0800) + Ipv4(4, inner.size()) + inner);
  ASSERT_EQ(p.num_sub, 2);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4");
  EXPECT_EQ(p.sub[0].icmp_version, 0);
  EXPECT_EQ(Path(p.sub[1]), "IPv4/ICMPv4");
  EXPECT_EQ(p.sub[1].offset, 34);
  EXPECT_EQ(p.sub[1].length, 28u);

  // IPv6 in IPv4 (41), IPv4 and IPv6 in IPv6.
  Bytes tcp = Tcp(1, 2, kTcpSyn);
  Bytes v6 = Ipv6(6, tcp.size()) + tcp;
  p = Parse(Eth(0x0800) + Ipv4(41, v6.size()) + v6);
  ASSERT_EQ(p.num_sub, 2);
  EXPECT_EQ(Path(p.sub[1]), "IPv6/TCP");
  EXPECT_EQ(p.sub[1].length, tcp.size());
  p = Parse(Eth(0x86DD) + Ipv6(4, inner.size()) + inner);
  ASSERT_EQ(p.num_sub, 2);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv6");
  EXPECT_EQ(Path(p.sub[1]), "IPv4/ICMPv4");
  p = Parse(Eth(0x86DD) + Ipv6(0, 8 + v6.size()) + Ext8(41) + v6);
  ASSERT_EQ(p.num_sub, 2);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv6/IPv6HopByHop");
  EXPECT_EQ(Path(p.sub[1]), "IPv6/TCP");
  EXPECT_EQ(p.sub[1].offset, 14 + 40 + 8);

  // A fragment is not decoded further: no split.
  p = Parse(Eth(0x0800) + Ipv4(4, inner.size(), -1, 5, 0x2000) + inner);
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/Fragment");
}

TEST(TunnelTest, GtpuTeidAndInnerIp) {
  Bytes f = OverUdp(2152, 2152, Gtpu(0xdeadbeef, InnerTcp(33000, 443)));
  ParsedPacket p = Parse(f);
  ASSERT_EQ(p.num_sub, 2);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/UDP/GTPv1U");
  EXPECT_EQ(p.sub[0].network_id, static_cast<int64_t>(0xdeadbeef));
  EXPECT_EQ(p.sub[0].transport, FlowProtocol::kUdp);
  EXPECT_EQ(p.sub[0].dst_port, 2152);
  EXPECT_EQ(Path(p.sub[1]), "IPv4/TCP");
  EXPECT_EQ(p.sub[1].offset, 42 + 8);
  EXPECT_EQ(p.sub[1].src_port, 33000);
  EXPECT_EQ(p.sub[1].length, 40u);

  // Echo request (not a G-PDU): no inner packet.
  p = Parse(OverUdp(2152, 2152, Gtpu(0, Bytes{0x0e, 0}, 1)));
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/UDP/GTPv1U");

  // Optional fields with one extension header before the inner packet.
  Bytes ext = {0, 0, 0, 0x85, 1, 0x10, 0x05, 0};  // seq, N-PDU, next=0x85; PDU session
  Bytes inner = InnerPing();
  Bytes gtp = {0x34, 0xFF};
  Put16(gtp, static_cast<uint16_t>(ext.size() + inner.size()));
  for (uint8_t b : {0, 0, 0, 9}) gtp.push_back(b);
  p = Parse(OverUdp(2152, 2152, gtp + ext + inner));
  ASSERT_EQ(p.num_sub, 2);
  EXPECT_EQ(p.sub[0].network_id, 9);
  EXPECT_EQ(Path(p.sub[1]), "IPv4/ICMPv4");
}

TEST(TunnelTest, TooManyLevelsStopWithAnAnomaly) {
  Bytes f = InnerPing();
  for (int i = 0; i < kMaxSubPackets + 1; ++i) {
    Bytes gre = Gre(0x0800, true, static_cast<uint32_t>(i)) + f;
    f = Ipv4(47, gre.size()) + gre;
  }
  f = Eth(0x0800) + f;
  ParsedPacket p = Parse(f);
  ASSERT_EQ(p.num_sub, kMaxSubPackets);
  EXPECT_NE(p.anomalies & kAnomalyTunnelDepth, 0);
  EXPECT_EQ(Path(p.sub[kMaxSubPackets - 1]), "IPv4/GRE");

  // Exactly kMaxSubPackets levels fit.
  f = InnerPing();
  for (int i = 0; i < kMaxSubPackets - 1; ++i) {
    Bytes gre = Gre(0x0800) + f;
    f = Ipv4(47, gre.size()) + gre;
  }
  p = Parse(Eth(0x0800) + f);
  ASSERT_EQ(p.num_sub, kMaxSubPackets);
  EXPECT_EQ(p.anomalies & kAnomalyTunnelDepth, 0);
  EXPECT_EQ(Path(p.sub[kMaxSubPackets - 1]), "IPv4/ICMPv4");
}

TEST(TunnelTest, RawIpOuterCountsIpLengths) {
  Bytes gre = Gre(0x0800) + InnerPing(12);
  Bytes f = Ipv4(47, gre.size()) + gre;
  ParsedPacket p = Parse(f, UINT32_MAX, LinkType::kRaw);
  ASSERT_EQ(p.num_sub, 2);
  EXPECT_EQ(Path(p.sub[0]), "IPv4/GRE");
  EXPECT_EQ(p.sub[0].length, f.size());
  EXPECT_EQ(p.sub[1].length, 40u);
  p = ParseWith(f, true, UINT32_MAX, LinkType::kRaw);
  EXPECT_EQ(p.sub[1].length, f.size() - 24);  // L3 mode: the remaining length
}

// MPLS right after a Linux cooked header has nothing to key on: the inner
// packet is the first (and only) sub-packet.
TEST(TunnelTest, UnkeyableOuterPartMakesNoFlow) {
  Bytes sll(16, 0);
  sll[14] = 0x88;
  sll[15] = 0x47;
  Bytes f = sll + MplsStack(1) + InnerPing();
  ParsedPacket p = Parse(f, UINT32_MAX, LinkType::kLinuxSll);
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(Path(p.sub[0]), "IPv4/ICMPv4");
  EXPECT_EQ(p.sub[0].offset, 20);
  EXPECT_EQ(p.sub[0].length, 28u);
}

// Every prefix of every tunnel frame: no crash, no read past caplen (each
// prefix lives in its own exactly-sized heap block, so ASan sees overreads),
// every offset inside the prefix, and no inner sub-packet from a cut header.
TEST(TunnelTest, TruncationInsideEveryTunnelHeaderIsSafe) {
  Bytes erspan = {0x10, 0x01, 0x00, 0x05, 0, 0, 0, 0};
  Bytes gtp_ext = {0x34, 0xFF, 0, 36, 0, 0, 0, 9, 0, 0, 0, 0x85, 1, 0x10, 0x05, 0};
  const std::vector<Bytes> frames = {
      OverUdp(1, 4789, Vxlan(10) + InnerEth(InnerPing(8))),
      OverUdp(1, 6081, Geneve(11, 0x6558, 2) + InnerEth(InnerTcp())),
      OverGre(Gre(0x0800, true, 7, true) + InnerTcp()),
      OverGre(Gre(0x88BE, false, 0, true) + erspan + InnerEth(InnerPing())),
      OverGre(Gre(0x8847, true, 3) + MplsStack(3) + InnerPing()),
      Eth(0x8847) + MplsStack(4) + InnerEth(InnerPing()),
      OverUdp(1, 51234, MplsStack(2) + InnerPing()),
      OverUdp(2152, 2152, Gtpu(5, InnerTcp())),
      OverUdp(2152, 2152, gtp_ext + InnerPing()),
      Eth(0x0800) + Ipv4(4, 28) + InnerPing(),
      Eth(0x86DD) + Ipv6(41, 40) + Ipv6(59, 0),
  };
  ParserConfig cfg;
  ParsedPacket p;
  for (size_t k = 0; k < frames.size(); ++k) {
    const Bytes& f = frames[k];
    for (bool l3 : {false, true}) {
      cfg.l3_key_mode = l3;
      for (size_t n = 0; n <= f.size(); ++n) {
        auto buf = std::make_unique<uint8_t[]>(n);
        if (n > 0) std::memcpy(buf.get(), f.data(), n);
        const uint8_t got = ParseFrame(buf.get(), n, n == f.size() ? n : 0, cfg, &p);
        ASSERT_LE(got, kMaxSubPackets);
        if (n == f.size()) {
          EXPECT_GE(got, 2) << "frame " << k;
        }
        if (got == 0) {
          EXPECT_NE(p.error, ParseError::kNone);
          continue;
        }
        for (uint8_t i = 0; i < got; ++i) {
          const SubPacket& s = p.sub[i];
          ASSERT_LE(s.num_layers, kMaxLayers);
          EXPECT_LT(s.offset, n) << "frame " << k << " prefix " << n;
          if (i > 0) {
            EXPECT_GT(s.offset, p.sub[i - 1].offset);
          }
          if (s.has_link) {
            EXPECT_LE(s.mac_src_off + 6u, n);
          }
          if (s.ip_version == 4) {
            EXPECT_LE(s.ip_dst_off + 4u, n);
          }
          if (s.ip_version == 6) {
            EXPECT_LE(s.ip_dst_off + 16u, n);
          }
          EXPECT_TRUE(s.has_link || s.ip_version != 0);
        }
      }
    }
  }
}

}  // namespace
}  // namespace skyprobe::testing
