// Unit tests of ParseFrame on hand-built frames.
#include "parse/parser.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "packet_builder.h"
#include "parse/internal/decode.h"

namespace skyprobe::testing {
namespace {

Bytes EthIpv4Tcp(uint8_t flags = kTcpSyn) {
  Bytes tcp = Tcp(36108, 3333, flags);
  return Eth(0x0800) + Ipv4(6, tcp.size()) + tcp;
}

Bytes EthIpv4UdpDns(const Bytes& dns) {
  Bytes udp = Udp(41278, 53, dns);
  return Eth(0x0800) + Ipv4(17, udp.size()) + udp;
}

TEST(ParserTest, EthernetIpv4Tcp) {
  Bytes f = EthIpv4Tcp(kTcpSyn | kTcpAck);
  ParsedPacket p = Parse(f, 60);
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(p.error, ParseError::kNone);
  EXPECT_EQ(p.anomalies, kAnomalyNone);
  const SubPacket& s = p.sub[0];
  EXPECT_EQ(Path(s), "Ethernet/IPv4/TCP");
  EXPECT_TRUE(s.has_link);
  EXPECT_EQ(s.mac_dst_off, 0);
  EXPECT_EQ(s.mac_src_off, 6);
  EXPECT_EQ(s.ip_version, 4);
  EXPECT_EQ(s.ip_src_off, 14 + 12);
  EXPECT_EQ(s.ip_dst_off, 14 + 16);
  EXPECT_EQ(s.ttl, 64);
  EXPECT_EQ(s.ip_length, 40);
  EXPECT_FALSE(s.ip_fragment);
  EXPECT_EQ(s.transport, FlowProtocol::kTcp);
  EXPECT_EQ(s.transport_key, TransportKeyKind::kPorts);
  EXPECT_EQ(s.src_port, 36108);
  EXPECT_EQ(s.dst_port, 3333);
  EXPECT_EQ(s.tcp_flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(s.icmp_version, 0);
  EXPECT_EQ(s.length, 60u);  // the wire length, not the captured 54
  EXPECT_EQ(s.offset, 0);
}

TEST(ParserTest, UdpDnsQueryAndResponse) {
  for (const Bytes& dns : {DnsQuery(), DnsResponse()}) {
    ParsedPacket p = Parse(EthIpv4UdpDns(dns));
    ASSERT_EQ(p.num_sub, 1);
    EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/UDP/DNS");
    EXPECT_EQ(p.sub[0].transport, FlowProtocol::kUdp);
    EXPECT_EQ(p.sub[0].dst_port, 53);
    EXPECT_EQ(p.anomalies, kAnomalyNone);
  }
}

TEST(ParserTest, MalformedDnsStopsAtUdp) {
  Bytes dns = DnsResponse();
  dns.resize(dns.size() - 3);  // answer's rdata cut short
  ParsedPacket p = Parse(EthIpv4UdpDns(dns));
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/UDP");
  EXPECT_EQ(p.anomalies, kAnomalyBadAppLayer);

  Bytes loop = DnsQuery();
  loop[12] = 0xc0;  // name is a pointer to itself
  loop[13] = 12;
  p = Parse(EthIpv4UdpDns(loop));
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/UDP");
}

TEST(ParserTest, DnsValidatorBounds) {
  Bytes q = DnsQuery();
  EXPECT_TRUE(parse_internal::IsValidDns(q.data(), q.size()));
  for (size_t n = 0; n < q.size(); ++n) {
    auto buf = std::make_unique<uint8_t[]>(n + 1);
    std::memcpy(buf.get(), q.data(), n);
    EXPECT_FALSE(parse_internal::IsValidDns(buf.get(), n)) << n;
  }
}

TEST(ParserTest, Icmpv4EchoCarriesId) {
  Bytes icmp = Icmp(8, 0, 26881, 56);
  Bytes f = Eth(0x0800) + Ipv4(1, icmp.size()) + icmp;
  ParsedPacket p = Parse(f);
  const SubPacket& s = p.sub[0];
  EXPECT_EQ(Path(s), "Ethernet/IPv4/ICMPv4");
  EXPECT_EQ(s.icmp_version, 4);
  EXPECT_EQ(s.icmp_type, IcmpType::kEcho);
  EXPECT_EQ(s.icmp_raw_type, 8);
  EXPECT_EQ(s.icmp_code, 0);
  EXPECT_EQ(s.icmp_id, 26881);
  EXPECT_EQ(s.transport, FlowProtocol::kEthernet);
  EXPECT_EQ(s.transport_key, TransportKeyKind::kNone);
}

TEST(ParserTest, Icmpv4TooShortIsAnAnomaly) {
  Bytes icmp = {8, 0, 0, 0, 0};
  Bytes f = Eth(0x0800) + Ipv4(1, icmp.size()) + icmp;
  ParsedPacket p = Parse(f);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4");
  EXPECT_EQ(p.anomalies, kAnomalyTruncatedL4);
  EXPECT_EQ(p.sub[0].icmp_version, 0);
}

TEST(ParserTest, Icmpv6Echo) {
  Bytes icmp = Icmp(128, 0, 4242, 8);
  Bytes f = Eth(0x86DD) + Ipv6(58, icmp.size()) + icmp;
  ParsedPacket p = Parse(f);
  const SubPacket& s = p.sub[0];
  EXPECT_EQ(Path(s), "Ethernet/IPv6/ICMPv6/ICMPv6Echo");
  EXPECT_EQ(s.ip_version, 6);
  EXPECT_EQ(s.ip_src_off, 14 + 8);
  EXPECT_EQ(s.ip_dst_off, 14 + 24);
  EXPECT_EQ(s.ttl, 255);
  EXPECT_EQ(s.ip_length, icmp.size());
  EXPECT_EQ(s.icmp_version, 6);
  EXPECT_EQ(s.icmp_type, IcmpType::kEcho);
  EXPECT_EQ(s.icmp_id, 4242);
}

TEST(ParserTest, Icmpv6NeighborSolicitationNeedsItsBody) {
  Bytes ns = {135, 0, 0, 0};
  ns.resize(24, 0);  // reserved + target address
  Bytes f = Eth(0x86DD) + Ipv6(58, ns.size()) + ns;
  EXPECT_EQ(Path(Parse(f).sub[0]), "Ethernet/IPv6/ICMPv6/ICMPv6NeighborSolicitation");
  EXPECT_EQ(Parse(f).sub[0].icmp_type, IcmpType::kNeighbor);
  EXPECT_EQ(Parse(f).sub[0].icmp_id, 0);
  Bytes short_ns(ns.begin(), ns.begin() + 12);
  f = Eth(0x86DD) + Ipv6(58, short_ns.size()) + short_ns;
  EXPECT_EQ(Path(Parse(f).sub[0]), "Ethernet/IPv6/ICMPv6");
}

TEST(ParserTest, Ipv6HopByHopAndDestination) {
  Bytes udp = Udp(5000, 6000, Bytes(4, 0));
  Bytes f = Eth(0x86DD) + Ipv6(0, 16 + udp.size()) + Ext8(60) + Ext8(17) + udp;
  ParsedPacket p = Parse(f);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv6/IPv6HopByHop/IPv6Destination/UDP");
  EXPECT_EQ(p.sub[0].src_port, 5000);
  EXPECT_EQ(p.anomalies, kAnomalyNone);
}

TEST(ParserTest, Ipv6ExtensionChainRunsOffTheEnd) {
  Bytes dest = {17, 4, 1, 2, 0, 0, 0, 0};  // claims 40 bytes, only 8 present
  Bytes f = Eth(0x86DD) + Ipv6(0, 16) + Ext8(60) + dest;
  ParsedPacket p = Parse(f);
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv6/IPv6HopByHop");
  EXPECT_EQ(p.anomalies & kAnomalyIpv6ExtChain, kAnomalyIpv6ExtChain);
  EXPECT_EQ(p.sub[0].ip_version, 6);
}

TEST(ParserTest, Ipv6FragmentHeader) {
  Bytes frag = {17, 0, 0x00, 0x01, 0, 0, 0, 7};  // offset 0, M set
  Bytes f = Eth(0x86DD) + Ipv6(44, 16) + frag + Bytes(8, 0);
  ParsedPacket p = Parse(f);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv6/IPv6Fragment/Fragment");
  EXPECT_TRUE(p.sub[0].ip_fragment);
  EXPECT_EQ(p.sub[0].transport, FlowProtocol::kEthernet);
}

TEST(ParserTest, QinQFourTags) {
  Bytes icmp = Icmp(8, 0, 1, 8);
  Bytes f = Eth(0x8100) + Vlan(8, 0x8100) + Vlan(10, 0x8100) + Vlan(20, 0x8100) + Vlan(30, 0x0800) +
            Ipv4(1, icmp.size()) + icmp;
  ParsedPacket p = Parse(f);
  const SubPacket& s = p.sub[0];
  EXPECT_EQ(Path(s), "Ethernet/Dot1Q/Dot1Q/Dot1Q/Dot1Q/IPv4/ICMPv4");
  EXPECT_EQ(s.vlan_count, 4);
  EXPECT_EQ(s.link_id, 2061919887368ull);
  EXPECT_EQ(s.ip_src_off, 14 + 16 + 12);

  Bytes two = Eth(0x88A8) + Vlan(8, 0x8100) + Vlan(10, 0x0800) + Ipv4(1, icmp.size()) + icmp;
  EXPECT_EQ(Parse(two).sub[0].link_id, 40968u);
}

TEST(ParserTest, Arp) {
  Bytes arp = {0, 1, 8, 0, 6, 4, 0, 1};
  arp.resize(28, 0x11);
  ParsedPacket p = Parse(Eth(0x0806) + arp);
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/ARP");
  EXPECT_EQ(p.sub[0].ip_version, 0);
  EXPECT_TRUE(p.sub[0].has_link);

  arp.resize(20);
  p = Parse(Eth(0x0806) + arp);
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet");
  EXPECT_EQ(p.anomalies, kAnomalyTruncatedArp);
}

TEST(ParserTest, LlcSnapAndStp) {
  Bytes stp = Eth(38) + Bytes{0x42, 0x42, 0x03} + Bytes(35, 0);
  EXPECT_EQ(Path(Parse(stp).sub[0]), "Ethernet/LLC/STP");
  Bytes cdp = Eth(12) + Bytes{0xAA, 0xAA, 0x03, 0x00, 0x00, 0x0C, 0x20, 0x00, 2, 180, 0, 0};
  EXPECT_EQ(Path(Parse(cdp).sub[0]), "Ethernet/LLC/SNAP/CiscoDiscovery");
}

TEST(ParserTest, RawIpLinkTypes) {
  Bytes tcp = Tcp(10250, 41252, kTcpAck);
  Bytes v4 = Ipv4(6, tcp.size() + 100) + tcp;  // total length beyond the capture
  for (LinkType link : {LinkType::kRaw, LinkType::kRawOpenBsd, LinkType::kIpv4}) {
    ParsedPacket p = Parse(v4, 0, link);
    ASSERT_EQ(p.num_sub, 1);
    EXPECT_EQ(Path(p.sub[0]), "IPv4/TCP");
    EXPECT_FALSE(p.sub[0].has_link);
    EXPECT_EQ(p.sub[0].ip_src_off, 12);
    EXPECT_EQ(p.sub[0].length, 140u);  // IPv4 total length
    // Cut by the capture (wire length unknown): no anomaly. Whole: one.
    EXPECT_EQ(p.anomalies, kAnomalyNone);
    EXPECT_EQ(Parse(v4, static_cast<uint32_t>(v4.size()), link).anomalies, kAnomalyIpTotalLength);
  }
  Bytes udp = Udp(1, 2, Bytes(10, 0));
  Bytes v6 = Ipv6(17, udp.size()) + udp;
  for (LinkType link : {LinkType::kRaw, LinkType::kIpv6}) {
    ParsedPacket p = Parse(v6, 0, link);
    EXPECT_EQ(Path(p.sub[0]), "IPv6/UDP");
    EXPECT_EQ(p.sub[0].length, udp.size());  // payload length: Skydive excludes the header
  }
  Bytes arp = {0, 1, 8, 0, 6, 4, 0, 1};
  arp.resize(28, 0);
  ParsedPacket p = Parse(arp, 0, LinkType::kRaw);
  EXPECT_EQ(p.num_sub, 0);
  EXPECT_EQ(p.error, ParseError::kNoLayer);
}

TEST(ParserTest, LinuxSllAndNull) {
  Bytes udp = Udp(1000, 2000, Bytes(6, 0));
  Bytes sll = {0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00};
  ParsedPacket p = Parse(sll + Ipv4(17, udp.size()) + udp, 0, LinkType::kLinuxSll);
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(Path(p.sub[0]), "IPv4/UDP");
  EXPECT_FALSE(p.sub[0].has_link);
  EXPECT_EQ(p.sub[0].ip_src_off, 16 + 12);
  EXPECT_EQ(p.sub[0].length, 20 + udp.size());

  Bytes null_le = {2, 0, 0, 0};
  p = Parse(null_le + Ipv4(17, udp.size()) + udp, 0, LinkType::kNull);
  EXPECT_EQ(Path(p.sub[0]), "IPv4/UDP");
  Bytes null_be6 = {0, 0, 0, 30};
  p = Parse(null_be6 + Ipv6(17, udp.size()) + udp, 0, LinkType::kNull);
  EXPECT_EQ(Path(p.sub[0]), "IPv6/UDP");
  p = Parse(Bytes{7, 0, 0, 0, 1, 2}, 0, LinkType::kNull);
  EXPECT_EQ(p.error, ParseError::kNoLayer);
  p = Parse(Bytes(15, 0), 0, LinkType::kLinuxSll);
  EXPECT_EQ(p.error, ParseError::kTooShort);
}

TEST(ParserTest, ShortAndUnsupportedFrames) {
  ParsedPacket p = Parse(Bytes(13, 0));
  EXPECT_EQ(p.num_sub, 0);
  EXPECT_EQ(p.error, ParseError::kTooShort);
  ParserConfig cfg;
  cfg.link_type = static_cast<LinkType>(105);
  uint8_t b[64] = {};
  EXPECT_EQ(ParseFrame(b, sizeof(b), sizeof(b), cfg, &p), 0);
  EXPECT_EQ(p.error, ParseError::kUnsupportedLinkType);
  // Unknown EtherType: a flow on the MACs alone.
  p = Parse(Eth(0x9999) + Bytes(20, 0));
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet");
}

TEST(ParserTest, Ipv4BadHeaderKeepsTheLayerLikeGopacket) {
  // gopacket's decodeIPv4 adds the layer before checking the error: the path
  // keeps IPv4 and nothing after it.
  Bytes tcp = Tcp(1, 2, kTcpSyn);
  Bytes f = Eth(0x0800) + Ipv4(6, tcp.size(), -1, /*ihl=*/4) + tcp;
  ParsedPacket p = Parse(f);
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4");
  EXPECT_EQ(p.anomalies, kAnomalyBadIpHeader);
  EXPECT_EQ(p.sub[0].ip_version, 4);
  EXPECT_EQ(p.sub[0].transport, FlowProtocol::kEthernet);

  f = Eth(0x0800) + Ipv4(6, tcp.size(), /*total=*/12) + tcp;
  EXPECT_EQ(Path(Parse(f).sub[0]), "Ethernet/IPv4");

  // Fewer than 20 bytes: no IPv4 at all (nothing to key on).
  f = Eth(0x0800) + Bytes{0x45, 0, 0, 40, 0, 0};
  p = Parse(f);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet");
  EXPECT_EQ(p.anomalies, kAnomalyTruncatedIp);
  EXPECT_EQ(p.sub[0].ip_version, 0);
}

TEST(ParserTest, Ipv4TotalLengthBeyondCaptureKeepsDecoding) {
  Bytes tcp = Tcp(1, 2, kTcpSyn);
  Bytes f = Eth(0x0800) + Ipv4(6, 0, /*total=*/1500) + tcp;
  ParsedPacket p = Parse(f);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/TCP");
  EXPECT_EQ(p.anomalies, kAnomalyIpTotalLength);
  EXPECT_EQ(p.sub[0].ip_length, 1500);
}

// A frame the capture cut (snaplen, an AF_PACKET ring frame, a GRO/TSO
// super-frame of up to 64 KB, an sFlow header sample) has IP lengths beyond
// its captured bytes: an anomaly only when they reach past its wire length.
TEST(ParserTest, CutFramesAreNoIpLengthAnomaly) {
  Bytes tcp = Tcp(1, 2, kTcpAck);
  Bytes f = Eth(0x0800) + Ipv4(6, 0, /*total=*/64000) + tcp;         // a 64 KB GRO frame, cut
  EXPECT_EQ(Parse(f, 0).anomalies, kAnomalyNone);                    // wire length unknown
  EXPECT_EQ(Parse(f, 14 + 64000).anomalies, kAnomalyNone);           // wire length known
  EXPECT_EQ(Parse(f, 14 + 63999).anomalies, kAnomalyIpTotalLength);  // past the wire
  EXPECT_EQ(Parse(f).anomalies, kAnomalyIpTotalLength);              // whole frame: the header lies
  EXPECT_EQ(Parse(f, 0).sub[0].length, 14u + 64000u);                // counted in full
  // IPv6 likewise.
  Bytes udp = Udp(1, 2, Bytes(10, 0));
  Bytes v6 = Eth(0x86DD) + Ipv6(17, 9000) + udp;
  EXPECT_EQ(Parse(v6, 0).anomalies, kAnomalyNone);
  EXPECT_EQ(Parse(v6, 14 + 40 + 9000).anomalies, kAnomalyNone);
  EXPECT_EQ(Parse(v6, 14 + 40 + 8999).anomalies, kAnomalyIpTotalLength);
  EXPECT_EQ(Parse(v6).anomalies, kAnomalyIpTotalLength);
  // An inner header longer than its tunnel's outer IP datagram lies, cut or not.
  Bytes inner = Ipv4(6, tcp.size(), /*total=*/2000) + tcp;
  Bytes outer = Eth(0x0800) + Ipv4(4, inner.size(), /*total=*/1500) + inner;
  ParsedPacket p = Parse(outer, 0);
  ASSERT_EQ(p.num_sub, 2);
  EXPECT_EQ(p.anomalies, kAnomalyIpTotalLength);
  Bytes inner_ok = Ipv4(6, tcp.size(), /*total=*/1400) + tcp;
  Bytes outer_ok = Eth(0x0800) + Ipv4(4, inner_ok.size(), /*total=*/1500) + inner_ok;
  EXPECT_EQ(Parse(outer_ok, 0).anomalies, kAnomalyNone);
}

TEST(ParserTest, Ipv4TsoZeroLengthAndPadding) {
  Bytes tcp = Tcp(1, 2, kTcpSyn);
  ParsedPacket p = Parse(Eth(0x0800) + Ipv4(6, 0, /*total=*/0) + tcp);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/TCP");
  EXPECT_EQ(p.sub[0].ip_length, 40);
  // Ethernet padding after a short datagram is not IP payload.
  Bytes icmp = Icmp(8, 0, 7);
  p = Parse(Eth(0x0800) + Ipv4(1, icmp.size()) + icmp + Bytes(10, 0));
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/ICMPv4");
}

TEST(ParserTest, Ipv4Fragment) {
  Bytes body(24, 0);
  ParsedPacket p = Parse(Eth(0x0800) + Ipv4(1, body.size(), -1, 5, 0x2000) + body);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/Fragment");
  EXPECT_TRUE(p.sub[0].ip_fragment);
  EXPECT_EQ(p.sub[0].icmp_version, 0);
  p = Parse(Eth(0x0800) + Ipv4(1, body.size(), -1, 5, 0x00b9) + body);
  EXPECT_TRUE(p.sub[0].ip_fragment);
}

TEST(ParserTest, TcpDataOffsetBelowFive) {
  Bytes tcp = Tcp(80, 443, kTcpRst, /*data_offset=*/4);
  ParsedPacket p = Parse(Eth(0x0800) + Ipv4(6, tcp.size()) + tcp);
  ASSERT_EQ(p.num_sub, 1);
  // gopacket keeps the TCP layer (ports, flags) and stops after it.
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/TCP");
  EXPECT_EQ(p.anomalies, kAnomalyBadTcpOffset);
  EXPECT_EQ(p.sub[0].transport, FlowProtocol::kTcp);
  EXPECT_EQ(p.sub[0].tcp_flags, kTcpRst);

  Bytes big = Tcp(80, 443, kTcpAck, /*data_offset=*/15);
  p = Parse(Eth(0x0800) + Ipv4(6, big.size()) + big);
  EXPECT_EQ(p.anomalies, kAnomalyBadTcpOffset);

  Bytes cut = {0, 80, 1, 187, 0, 0, 0, 0, 0, 0};
  p = Parse(Eth(0x0800) + Ipv4(6, cut.size()) + cut);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4");
  EXPECT_EQ(p.anomalies, kAnomalyTruncatedL4);
}

TEST(ParserTest, TlsByPort) {
  Bytes record = {22, 3, 1, 0, 4, 1, 0, 0, 0};
  Bytes tcp = Tcp(50000, 443, kTcpAck | 0x08) + record;
  ParsedPacket p = Parse(Eth(0x0800) + Ipv4(6, tcp.size()) + tcp);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/TCP/TLS");
  Bytes partial = Tcp(50000, 443, kTcpAck) + Bytes{23, 3, 3, 0x10, 0, 1, 2};
  p = Parse(Eth(0x0800) + Ipv4(6, partial.size()) + partial);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/TCP");
  EXPECT_EQ(p.anomalies, kAnomalyBadAppLayer);
  // An empty segment never reaches the application decoder.
  Bytes syn = Tcp(50000, 443, kTcpSyn);
  p = Parse(Eth(0x0800) + Ipv4(6, syn.size()) + syn);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/TCP");
  EXPECT_EQ(p.anomalies, kAnomalyNone);
}

TEST(ParserTest, WireLengthRecoveredFromIpTotalLength) {
  // icmpv4-truncated: 1066 bytes on the wire, 256 captured, wire length lost.
  Bytes icmp = Icmp(8, 0, 1, 1024);
  Bytes frame = Eth(0x0800) + Ipv4(1, icmp.size()) + icmp;
  ASSERT_EQ(frame.size(), 1066u);
  frame.resize(256);
  ParsedPacket p = Parse(frame, 0);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/ICMPv4");
  EXPECT_EQ(p.sub[0].length, 1066u);
  EXPECT_EQ(Parse(frame, 1066).sub[0].length, 1066u);
  // IPv6: 40 + payload length; no IP at all: caplen.
  Bytes udp = Udp(1, 2, Bytes(100, 0));
  Bytes v6 = Eth(0x8100) + Vlan(5, 0x86DD) + Ipv6(17, udp.size()) + udp;
  v6.resize(80);
  EXPECT_EQ(Parse(v6, 0).sub[0].length, 18u + 40u + udp.size());
  EXPECT_EQ(Parse(Eth(0x9999) + Bytes(30, 0), 0).sub[0].length, 44u);
}

TEST(ParserTest, NtpCorruptedShape) {
  // VLAN 202, UDP 40820 -> 123, IPv4 total length 220, cut at 50 bytes.
  Bytes udp = Udp(40820, 123, Bytes(4, 0), /*length=*/200);
  Bytes f = Eth(0x8100) + Vlan(202, 0x0800) + Ipv4(17, 0, /*total=*/220) + udp;
  ASSERT_EQ(f.size(), 50u);
  ParsedPacket p = Parse(f, 50);
  ASSERT_EQ(p.num_sub, 1);
  const SubPacket& s = p.sub[0];
  EXPECT_EQ(Path(s), "Ethernet/Dot1Q/IPv4/UDP");
  EXPECT_EQ(s.link_id, 202u);
  EXPECT_EQ(s.src_port, 40820);
  EXPECT_EQ(s.dst_port, 123);
  EXPECT_EQ(s.length, 50u);
  EXPECT_EQ(p.anomalies, kAnomalyIpTotalLength | kAnomalyBadAppLayer);
}

TEST(ParserTest, UdpPortChoiceIsDestinationFirst) {
  Bytes ntp(48, 0);
  Bytes udp = Udp(53, 123, ntp);  // dst 123 wins over src 53
  ParsedPacket p = Parse(Eth(0x0800) + Ipv4(17, udp.size()) + udp);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/UDP/NTP");
  Bytes sip = Udp(53, 5060, DnsQuery());  // SIP is known to gopacket: no DNS fallback
  p = Parse(Eth(0x0800) + Ipv4(17, sip.size()) + sip);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/UDP");
  EXPECT_EQ(p.anomalies, kAnomalyNone);
}

TEST(ParserTest, Dhcpv4NeedsTheMagicCookie) {
  Bytes dhcp(240, 0);
  dhcp[0] = 1;
  dhcp[236] = 0x63, dhcp[237] = 0x82, dhcp[238] = 0x53, dhcp[239] = 0x63;
  dhcp.push_back(53), dhcp.push_back(1), dhcp.push_back(1), dhcp.push_back(255);
  Bytes udp = Udp(68, 67, dhcp);
  EXPECT_EQ(Path(Parse(Eth(0x0800) + Ipv4(17, udp.size()) + udp).sub[0]),
            "Ethernet/IPv4/UDP/DHCPv4");
  dhcp[236] = 0;
  udp = Udp(68, 67, dhcp);
  EXPECT_EQ(Path(Parse(Eth(0x0800) + Ipv4(17, udp.size()) + udp).sub[0]), "Ethernet/IPv4/UDP");
}

TEST(ParserTest, VxlanOuterKeyIsVniAndPort) {
  Bytes vxlan = {0x08, 0, 0, 0, 0, 0, 10, 0};
  Bytes inner = Eth(0x0800) + Bytes(20, 0);
  Bytes udp = Udp(55091, 4789, vxlan + inner);
  ParsedPacket p = Parse(Eth(0x0800) + Ipv4(17, udp.size()) + udp);
  const SubPacket& s = p.sub[0];
  EXPECT_EQ(p.num_sub, 2);  // tunnel_test.cc covers the inner sub-packets
  EXPECT_EQ(Path(s), "Ethernet/IPv4/UDP/VXLAN");
  EXPECT_EQ(s.transport, FlowProtocol::kUdp);
  EXPECT_EQ(s.transport_key, TransportKeyKind::kVniPort);
  EXPECT_EQ(s.vni, 10u);
  EXPECT_EQ(s.network_id, 10);
  EXPECT_EQ(s.dst_port, 4789);

  Bytes geneve = {0x00, 0, 0x65, 0x58, 0, 0, 11, 0};
  udp = Udp(12618, 6081, geneve + inner);
  p = Parse(Eth(0x0800) + Ipv4(17, udp.size()) + udp);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/UDP/Geneve");
  EXPECT_EQ(p.sub[0].vni, 11u);
}

TEST(ParserTest, GreKeyIsTheNetworkId) {
  Bytes gre = {0x20, 0, 0x08, 0x00, 0, 0, 0x01, 0x02};
  Bytes inner = Ipv4(1, 8) + Icmp(8, 0, 1);
  ParsedPacket p = Parse(Eth(0x0800) + Ipv4(47, gre.size() + inner.size()) + gre + inner);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/GRE");
  EXPECT_EQ(p.sub[0].network_id, 0x0102);
  EXPECT_EQ(p.sub[0].icmp_version, 0);  // the ICMP layer is the inner sub-packet's
  EXPECT_EQ(Path(Parse(Eth(0x8847) + Bytes{0, 0, 0x11, 64} + inner).sub[0]), "Ethernet/MPLS");
}

TEST(ParserTest, ReusedOutputIsReset) {
  ParsedPacket p;
  ParserConfig cfg;
  Bytes vxlan = {0x08, 0, 0, 0, 0, 0, 10, 0};
  Bytes udp = Udp(1, 4789, vxlan + Bytes(14, 0));
  Bytes a = Eth(0x8100) + Vlan(3, 0x0800) + Ipv4(17, udp.size()) + udp;
  ASSERT_EQ(ParseFrame(a.data(), a.size(), a.size(), cfg, &p), 2);
  Bytes arp = {0, 1, 8, 0, 6, 4, 0, 1};
  arp.resize(28, 0);
  Bytes b = Eth(0x0806) + arp;
  ASSERT_EQ(ParseFrame(b.data(), b.size(), b.size(), cfg, &p), 1);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/ARP");
  EXPECT_EQ(p.sub[0].vlan_count, 0);
  EXPECT_EQ(p.sub[0].link_id, 0u);
  EXPECT_EQ(p.sub[0].ip_version, 0);
  EXPECT_EQ(p.sub[0].transport_key, TransportKeyKind::kNone);
  EXPECT_EQ(p.sub[0].vni, 0u);
  EXPECT_EQ(p.anomalies, kAnomalyNone);
}

// Every prefix of every sample frame: no crash, no read past caplen (each
// prefix lives in its own exactly-sized heap block, so ASan sees overreads).
TEST(ParserTest, EveryTruncationIsSafe) {
  Bytes icmp6 = Icmp(128, 0, 1, 8);
  Bytes udp6 = Udp(1, 547, Bytes{1, 0, 0, 1, 0, 1, 0, 0});
  Bytes vx = Udp(1, 4789, Bytes{0x08, 0, 0, 0, 0, 0, 10, 0} + Eth(0x0800) + Bytes(20, 0));
  Bytes gtp = Udp(1, 2152, Bytes{0x34, 0xff, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0x85, 1, 0, 0, 0});
  const std::vector<Bytes> frames = {
      EthIpv4Tcp(),
      EthIpv4UdpDns(DnsResponse()),
      Eth(0x8100) + Vlan(8, 0x8100) + Vlan(10, 0x0800) + Ipv4(1, 16) + Icmp(8, 0, 1, 8),
      Eth(0x86DD) + Ipv6(0, 16 + icmp6.size()) + Ext8(60) + Ext8(58) + icmp6,
      Eth(0x86DD) + Ipv6(17, udp6.size()) + udp6,
      Eth(0x0800) + Ipv4(17, vx.size()) + vx,
      Eth(0x0800) + Ipv4(17, gtp.size()) + gtp,
      Eth(0x0800) + Ipv4(47, 12) + Bytes{0xC0, 0, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0},
  };
  ParserConfig cfg;
  ParsedPacket p;
  for (const Bytes& f : frames) {
    for (LinkType link : {LinkType::kEthernet, LinkType::kRaw, LinkType::kLinuxSll, LinkType::kNull,
                          LinkType::kIpv6}) {
      cfg.link_type = link;
      for (size_t n = 0; n <= f.size(); ++n) {
        auto buf = std::make_unique<uint8_t[]>(n);
        if (n > 0) std::memcpy(buf.get(), f.data(), n);
        const uint8_t got = ParseFrame(buf.get(), n, 0, cfg, &p);
        ASSERT_LE(got, kMaxSubPackets);
        if (got == 0) {
          EXPECT_NE(p.error, ParseError::kNone);
          continue;
        }
        for (uint8_t i = 0; i < got; ++i) {
          const SubPacket& s = p.sub[i];
          ASSERT_LE(s.num_layers, kMaxLayers);
          if (s.has_link) {
            EXPECT_LE(s.mac_src_off + 6u, n);
          }
          if (s.ip_version == 4) {
            EXPECT_LE(s.ip_dst_off + 4u, n);
          }
          if (s.ip_version == 6) {
            EXPECT_LE(s.ip_dst_off + 16u, n);
          }
        }
      }
    }
  }
}

TEST(ParserTest, IcmpTypeMapping) {
  EXPECT_EQ(MapIcmpv4Type(0), IcmpType::kEcho);
  EXPECT_EQ(MapIcmpv4Type(8), IcmpType::kEcho);
  EXPECT_EQ(MapIcmpv4Type(3), IcmpType::kDestinationUnreachable);
  EXPECT_EQ(MapIcmpv4Type(4), IcmpType::kSourceQuench);
  EXPECT_EQ(MapIcmpv4Type(5), IcmpType::kRedirect);
  EXPECT_EQ(MapIcmpv4Type(9), IcmpType::kRouter);
  EXPECT_EQ(MapIcmpv4Type(10), IcmpType::kRouter);
  EXPECT_EQ(MapIcmpv4Type(11), IcmpType::kTimeExceeded);
  EXPECT_EQ(MapIcmpv4Type(12), IcmpType::kParameterProblem);
  EXPECT_EQ(MapIcmpv4Type(14), IcmpType::kTimestamp);
  EXPECT_EQ(MapIcmpv4Type(15), IcmpType::kInfo);
  EXPECT_EQ(MapIcmpv4Type(18), IcmpType::kAddressMask);
  EXPECT_EQ(MapIcmpv4Type(42), IcmpType::kUnknown);
  EXPECT_EQ(MapIcmpv6Type(129), IcmpType::kEcho);
  EXPECT_EQ(MapIcmpv6Type(136), IcmpType::kNeighbor);
  EXPECT_EQ(MapIcmpv6Type(1), IcmpType::kDestinationUnreachable);
  EXPECT_EQ(MapIcmpv6Type(2), IcmpType::kPacketTooBig);
  EXPECT_EQ(MapIcmpv6Type(3), IcmpType::kTimeExceeded);
  EXPECT_EQ(MapIcmpv6Type(4), IcmpType::kParameterProblem);
  EXPECT_EQ(MapIcmpv6Type(133), IcmpType::kRouter);
  EXPECT_EQ(MapIcmpv6Type(137), IcmpType::kRedirect);
  EXPECT_EQ(MapIcmpv6Type(200), IcmpType::kUnknown);
}

TEST(ParserTest, LayerNamesAndLinkTypes) {
  for (int i = 0; i < static_cast<int>(Layer::kCount); ++i) {
    EXPECT_STRNE(LayerName(static_cast<Layer>(i)), "Unknown") << i;
  }
  EXPECT_STREQ(LayerName(Layer::kIcmpv6NeighborAdvertisement), "ICMPv6NeighborAdvertisement");
  EXPECT_STREQ(LayerName(Layer::kLldp), "LinkLayerDiscovery");
  EXPECT_STREQ(LayerName(Layer::kCdp), "CiscoDiscovery");
  EXPECT_STREQ(LayerName(Layer::kPppoe), "PPPoE");
  for (uint32_t dlt : {0u, 1u, 12u, 101u, 113u, 228u, 229u}) EXPECT_TRUE(IsSupportedLinkType(dlt));
  for (uint32_t dlt : {9u, 105u, 127u, 276u}) EXPECT_FALSE(IsSupportedLinkType(dlt));
}

// TCP segment lengths (SubPacket::tcp_seg_len) as Wireshark's tcp.len: IP
// payload end minus the TCP header end, whatever was captured.
TEST(ParserTest, TcpSegmentLengthFromTheIpLength) {
  const Bytes data(300, 0xab);
  const Bytes tcp = Tcp(1, 2, kTcpAck, 8) + Bytes(12, 1) + data;  // 32-byte header
  const Bytes v4 = Eth(0x0800) + Ipv4(6, tcp.size()) + tcp;
  ParsedPacket p = Parse(v4);
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(p.sub[0].tcp_off, 34);
  EXPECT_EQ(p.sub[0].tcp_seg_len, 300);
  // Cut by the snaplen (wire length unknown): still the IP length's.
  const Bytes cut(v4.begin(), v4.begin() + 80);
  p = Parse(cut, 0);
  EXPECT_EQ(p.sub[0].tcp_off, 34);
  EXPECT_EQ(p.sub[0].tcp_seg_len, 300);
  // Ethernet padding is not payload.
  const Bytes small = Eth(0x0800) + Ipv4(6, 20) + Tcp(1, 2, kTcpAck) + Bytes(6, 0);
  p = Parse(small);
  EXPECT_EQ(p.sub[0].tcp_seg_len, 0);
  EXPECT_EQ(p.sub[0].tcp_off, 34);
  // IPv6 with an extension header: the payload length covers it.
  const Bytes tcp6 = Tcp(1, 2, kTcpAck) + Bytes(10, 2);
  const Bytes v6 = Eth(0x86DD) + Ipv6(0, 8 + tcp6.size()) + Ext8(6) + tcp6;
  p = Parse(v6);
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(p.sub[0].tcp_off, 14 + 40 + 8);
  EXPECT_EQ(p.sub[0].tcp_seg_len, 10);
  // A frame shorter on the wire than its IP length says: the wire bounds it.
  p = Parse(cut, 14 + 20 + 32 + 100);
  EXPECT_EQ(p.sub[0].tcp_seg_len, 100);
}

TEST(ParserTest, NoTcpSegmentWhenItsLengthIsUnknown) {
  // A first fragment (MF set): its IP length is not the datagram's.
  const Bytes tcp = Tcp(1, 2, kTcpAck) + Bytes(40, 0);
  ParserConfig cfg;
  cfg.ip_defrag = true;
  const Bytes frag = Eth(0x0800) + Ipv4(6, tcp.size(), -1, 5, 0x2000) + tcp;
  ParsedPacket p;
  ParseFrame(frag.data(), static_cast<uint32_t>(frag.size()), static_cast<uint32_t>(frag.size()),
             cfg, &p);
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(p.sub[0].transport, FlowProtocol::kTcp);
  EXPECT_EQ(p.sub[0].tcp_off, 0);
  // A header cut before its 20 bytes.
  const Bytes v4 = Eth(0x0800) + Ipv4(6, 20) + Tcp(1, 2, kTcpAck);
  const Bytes cut(v4.begin(), v4.begin() + 14 + 20 + 12);
  p = Parse(cut, 0);
  EXPECT_EQ(p.sub[0].tcp_off, 0);
  // An IP length that ends inside the TCP header.
  const Bytes short_ip = Eth(0x0800) + Ipv4(6, 20, 30) + Tcp(1, 2, kTcpAck);
  p = Parse(short_ip);
  EXPECT_EQ(p.sub[0].tcp_off, 0);
}

}  // namespace
}  // namespace skyprobe::testing
