// ParseFrame with ParserConfig::ip_defrag: first fragments decoded through
// their L4 header, fragment header facts for the table's defragmenter.
#include <gtest/gtest.h>

#include "packet_builder.h"
#include "parse/parser.h"

namespace skyprobe::testing {
namespace {

ParsedPacket ParseDefrag(const Bytes& f, bool defrag = true) {
  ParsedPacket pkt;
  ParserConfig cfg;
  cfg.ip_defrag = defrag;
  ParseFrame(f.data(), static_cast<uint32_t>(f.size()), static_cast<uint32_t>(f.size()), cfg, &pkt);
  return pkt;
}

TEST(DefragParseTest, FirstIpv4FragmentGoesThroughItsPayload) {
  Bytes icmp = Icmp(8, 0, 77, 16);  // 24 bytes: a first fragment of a longer echo
  Bytes f = Eth(0x0800) + Ipv4(1, icmp.size(), -1, 5, 0x2000) + icmp;
  ParsedPacket p = ParseDefrag(f);
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/Fragment/ICMPv4");
  EXPECT_EQ(p.frag_sub, 0);
  const SubPacket& s = p.sub[0];
  EXPECT_TRUE(s.ip_fragment);
  EXPECT_EQ(s.icmp_version, 4);
  EXPECT_EQ(s.icmp_id, 77);
  EXPECT_EQ(s.frag_id, 0x1234u);
  EXPECT_EQ(s.frag_offset, 0);
  EXPECT_TRUE(s.frag_more);
  EXPECT_EQ(s.frag_proto, 1);
  EXPECT_EQ(s.frag_data_len, 24);
  EXPECT_EQ(s.length, f.size());
  // Off: the same frame stops at Fragment and is not marked.
  ParsedPacket off = ParseDefrag(f, false);
  EXPECT_EQ(Path(off.sub[0]), "Ethernet/IPv4/Fragment");
  EXPECT_EQ(off.frag_sub, kNoFragSub);
  EXPECT_TRUE(off.sub[0].ip_fragment);
}

TEST(DefragParseTest, LaterIpv4FragmentStopsAtFragment) {
  Bytes body(40, 0xAB);
  // Offset 185 * 8 = 1480, last fragment.
  ParsedPacket p = ParseDefrag(Eth(0x0800) + Ipv4(1, body.size(), -1, 5, 185) + body);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/Fragment");
  EXPECT_EQ(p.frag_sub, 0);
  EXPECT_EQ(p.sub[0].frag_offset, 1480);
  EXPECT_FALSE(p.sub[0].frag_more);
  EXPECT_EQ(p.sub[0].frag_data_len, 40);
  EXPECT_EQ(p.sub[0].icmp_version, 0);
}

TEST(DefragParseTest, FirstIpv6FragmentGoesThroughItsPayload) {
  Bytes udp = Udp(5000, 9999, Bytes(32, 1));
  Bytes frag = {17, 0, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef};  // offset 0, M set
  Bytes f = Eth(0x86DD) + Ipv6(44, static_cast<uint16_t>(8 + udp.size())) + frag + udp;
  ParsedPacket p = ParseDefrag(f);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv6/IPv6Fragment/UDP");
  EXPECT_EQ(p.frag_sub, 0);
  EXPECT_EQ(p.sub[0].transport, FlowProtocol::kUdp);
  EXPECT_EQ(p.sub[0].src_port, 5000);
  EXPECT_EQ(p.sub[0].frag_id, 0xdeadbeefu);
  EXPECT_EQ(p.sub[0].frag_proto, 17);
  EXPECT_EQ(p.sub[0].frag_data_len, udp.size());
  EXPECT_EQ(Path(ParseDefrag(f, false).sub[0]), "Ethernet/IPv6/IPv6Fragment/Fragment");
}

TEST(DefragParseTest, Ipv6LaterAndAtomicFragments) {
  Bytes later = {17, 0, 0x05, 0xa8, 0, 0, 0, 9};  // offset 181 * 8 = 1448, last
  ParsedPacket p = ParseDefrag(Eth(0x86DD) + Ipv6(44, 8 + 16) + later + Bytes(16, 0));
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv6/IPv6Fragment/Fragment");
  EXPECT_EQ(p.sub[0].frag_offset, 1448);
  EXPECT_EQ(p.sub[0].frag_data_len, 16);
  // An atomic fragment (offset 0, no M) is a whole datagram: no reassembly.
  Bytes udp = Udp(1, 2, Bytes(4, 0));
  Bytes atomic = {17, 0, 0, 0, 0, 0, 0, 1};
  p = ParseDefrag(Eth(0x86DD) + Ipv6(44, static_cast<uint16_t>(8 + udp.size())) + atomic + udp);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv6/IPv6Fragment/UDP");
  EXPECT_FALSE(p.sub[0].ip_fragment);
  EXPECT_EQ(p.frag_sub, kNoFragSub);
}

TEST(DefragParseTest, FragmentedOuterVxlanSplitsInFirstFragment) {
  Bytes icmp = Icmp(8, 0, 5, 8);
  Bytes inner = Eth(0x0800) + Ipv4(1, icmp.size()) + icmp;
  Bytes udp = Udp(40000, 4789, Vxlan(42) + inner);
  ParsedPacket p = ParseDefrag(Eth(0x0800) + Ipv4(17, udp.size(), -1, 5, 0x2000) + udp);
  ASSERT_EQ(p.num_sub, 2);
  EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/Fragment/UDP/VXLAN");
  EXPECT_EQ(Path(p.sub[1]), "Ethernet/IPv4/ICMPv4");
  EXPECT_EQ(p.frag_sub, 0);
}

}  // namespace
}  // namespace skyprobe::testing
