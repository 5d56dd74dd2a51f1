#include "control/enhancers/community_id.h"

#include <pcap/pcap.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/test_paths.h"
#include "gtest/gtest.h"
#include "parse/parser.h"

namespace skyprobe {
namespace {

// ---------------------------------------------------------------------------
// Spec properties on hand-built tuples.

TEST(CommunityIdTest, FormatAndBothDirectionsAgree) {
  const uint8_t a[4] = {10, 0, 0, 1};
  const uint8_t b[4] = {10, 0, 0, 2};
  CommunityIdTuple ab{4, a, b, kIpProtoTcp, true, 40000, 80, false};
  CommunityIdTuple ba{4, b, a, kIpProtoTcp, true, 80, 40000, false};
  const std::string id = CommunityId(0, ab);
  ASSERT_EQ(id.size(), kCommunityIdLength);
  EXPECT_EQ(id.substr(0, 2), "1:");
  EXPECT_EQ(id.back(), '=');  // 20 bytes of digest: one padding character
  EXPECT_EQ(CommunityId(0, ba), id);
  EXPECT_NE(CommunityId(1, ab), id);  // the seed is hashed
  ab.proto = kIpProtoUdp;
  EXPECT_NE(CommunityId(0, ab), id);
}

TEST(CommunityIdTest, SymmetricOnRandomTuples) {
  std::mt19937 rng(11);
  for (int n = 0; n < 2000; ++n) {
    uint8_t a[16], b[16];
    for (int i = 0; i < 16; ++i) {
      a[i] = static_cast<uint8_t>(rng() & 3);  // small alphabet: ties happen
      b[i] = static_cast<uint8_t>(rng() & 3);
    }
    const uint8_t version = (n & 1) ? 6 : 4;
    const uint16_t p = static_cast<uint16_t>(rng() & 7), q = static_cast<uint16_t>(rng() & 7);
    const CommunityIdTuple ab{version, a, b, kIpProtoSctp, true, p, q, false};
    const CommunityIdTuple ba{version, b, a, kIpProtoSctp, true, q, p, false};
    ASSERT_EQ(CommunityId(7, ab), CommunityId(7, ba));
  }
}

TEST(CommunityIdTest, IcmpPortMapping) {
  CommunityIdTuple t;
  IcmpPorts(false, 8, 0, &t);  // echo request -> (8, 0), two-way
  EXPECT_EQ(t.src_port, 8);
  EXPECT_EQ(t.dst_port, 0);
  EXPECT_FALSE(t.one_way);
  IcmpPorts(false, 14, 0, &t);  // timestamp reply -> (14, 13)
  EXPECT_EQ(t.dst_port, 13);
  IcmpPorts(false, 3, 1, &t);  // host unreachable: one-way, code as port
  EXPECT_EQ(t.src_port, 3);
  EXPECT_EQ(t.dst_port, 1);
  EXPECT_TRUE(t.one_way);
  IcmpPorts(true, 129, 0, &t);  // ICMPv6 echo reply -> (129, 128)
  EXPECT_EQ(t.dst_port, 128);
  EXPECT_FALSE(t.one_way);
  IcmpPorts(true, 136, 0, &t);  // neighbor advertisement -> (136, 135)
  EXPECT_EQ(t.dst_port, 135);
  IcmpPorts(true, 1, 4, &t);
  EXPECT_TRUE(t.one_way);
  EXPECT_EQ(t.dst_port, 4);

  // Request one way and reply the other give one ID.
  const uint8_t a[4] = {192, 168, 1, 9};
  const uint8_t b[4] = {10, 1, 1, 1};
  CommunityIdTuple req{4, a, b, kIpProtoIcmp};
  IcmpPorts(false, 8, 0, &req);
  CommunityIdTuple rep{4, b, a, kIpProtoIcmp};
  IcmpPorts(false, 0, 0, &rep);
  EXPECT_EQ(CommunityId(0, req), CommunityId(0, rep));
  // One-way messages are never reordered: the two directions differ.
  CommunityIdTuple u1{4, a, b, kIpProtoIcmp};
  IcmpPorts(false, 3, 3, &u1);
  CommunityIdTuple u2{4, b, a, kIpProtoIcmp};
  IcmpPorts(false, 3, 3, &u2);
  EXPECT_NE(CommunityId(0, u1), CommunityId(0, u2));
}

TEST(CommunityIdEnhancerTest, NoNetworkLayerOrUnknownProtocolGivesEmpty) {
  CommunityIdEnhancer e;
  EXPECT_EQ(e.Name(), "CommunityID");
  FlowSnapshot arp;
  arp.has_link = true;
  std::strcpy(arp.community_id, "stale");
  e.Enhance(&arp);
  EXPECT_STREQ(arp.community_id, "");

  FlowSnapshot gre;  // IPv4 without transport or ICMP: protocol unknown here
  gre.ip_version = 4;
  e.Enhance(&gre);
  EXPECT_STREQ(gre.community_id, "");

  FlowSnapshot icmp_unknown;
  icmp_unknown.ip_version = 6;
  icmp_unknown.icmp_version = 6;
  icmp_unknown.icmp_type = IcmpType::kUnknown;
  e.Enhance(&icmp_unknown);
  EXPECT_STREQ(icmp_unknown.community_id, "");

  FlowSnapshot tcp;
  tcp.ip_version = 4;
  tcp.transport = FlowProtocol::kTcp;
  e.Enhance(&tcp);
  EXPECT_EQ(std::strlen(tcp.community_id), kCommunityIdLength);
}

// ---------------------------------------------------------------------------
// Against tshark's "communityid" dissector on the shared Skydive traces.
//
// A tiny decoder turns each packet into the FlowSnapshot its flow would have
// if the packet were the flow's first (A = source), the first packet of each
// conversation fixes the flow's snapshot, and every later packet of that
// conversation (either direction) must carry the ID tshark computed for it.

struct Decoded {
  bool usable = false;
  std::string flow_key;  // same for both directions of one conversation
  FlowSnapshot snap;
};

IcmpType SkydiveIcmpType(bool v6, uint8_t type) {
  // The parser's mapping, the one flows really get.
  return v6 ? MapIcmpv6Type(type) : MapIcmpv4Type(type);
}

std::string Bytes(const uint8_t* p, size_t n) {
  return std::string(reinterpret_cast<const char*>(p), n);
}

std::string OrderedPair(std::string x, std::string y) { return x < y ? x + "|" + y : y + "|" + x; }

Decoded DecodeEthernet(const uint8_t* p, size_t len) {
  Decoded d;
  FlowSnapshot& s = d.snap;
  if (len < 14) return d;
  s.has_link = true;
  std::memcpy(s.link_b, p, 6);
  std::memcpy(s.link_a, p + 6, 6);
  size_t off = 12;
  uint16_t ether_type = static_cast<uint16_t>(p[off] << 8 | p[off + 1]);
  off += 2;
  while ((ether_type == 0x8100 || ether_type == 0x88a8) && off + 4 <= len) {
    ether_type = static_cast<uint16_t>(p[off + 2] << 8 | p[off + 3]);
    off += 4;
  }
  if (ether_type == 0x0806) {
    d.usable = true;
    d.flow_key = "arp:" + OrderedPair(Bytes(s.link_a, 6), Bytes(s.link_b, 6));
    return d;
  }
  uint8_t proto = 0;
  size_t l4 = 0;
  size_t addr_len = 0;
  if (ether_type == 0x0800 && off + 20 <= len) {
    const uint8_t* ip = p + off;
    if ((ip[6] & 0x1f) != 0 || ip[7] != 0) return d;  // non-first fragment: no ports
    s.ip_version = 4;
    addr_len = 4;
    proto = ip[9];
    std::memcpy(s.network_a, ip + 12, 4);
    std::memcpy(s.network_b, ip + 16, 4);
    l4 = off + (ip[0] & 0x0f) * 4u;
  } else if (ether_type == 0x86dd && off + 40 <= len) {
    const uint8_t* ip = p + off;
    s.ip_version = 6;
    addr_len = 16;
    proto = ip[6];
    std::memcpy(s.network_a, ip + 8, 16);
    std::memcpy(s.network_b, ip + 24, 16);
    l4 = off + 40;
    while ((proto == 0 || proto == 43 || proto == 60) && l4 + 8 <= len) {
      proto = p[l4];
      l4 += (p[l4 + 1] + 1u) * 8u;
    }
  } else {
    return d;
  }
  const std::string ips = OrderedPair(Bytes(s.network_a, addr_len), Bytes(s.network_b, addr_len));
  if ((proto == 6 || proto == 17 || proto == 132) && l4 + 4 <= len) {
    s.transport = proto == 6    ? FlowProtocol::kTcp
                  : proto == 17 ? FlowProtocol::kUdp
                                : FlowProtocol::kSctp;
    s.transport_a = static_cast<uint16_t>(p[l4] << 8 | p[l4 + 1]);
    s.transport_b = static_cast<uint16_t>(p[l4 + 2] << 8 | p[l4 + 3]);
    d.flow_key = std::to_string(proto) + ":" +
                 OrderedPair(Bytes(s.network_a, addr_len) + Bytes(p + l4, 2),
                             Bytes(s.network_b, addr_len) + Bytes(p + l4 + 2, 2));
    d.usable = true;
  } else if ((proto == 1 || proto == 58) && l4 + 8 <= len) {
    const bool v6 = proto == 58;
    s.icmp_version = v6 ? 6 : 4;
    s.icmp_type = SkydiveIcmpType(v6, p[l4]);
    s.icmp_code = p[l4 + 1];
    s.icmp_id = static_cast<uint16_t>(p[l4 + 4] << 8 | p[l4 + 5]);
    // Skydive's ICMP key: mapped type, code and id (request and reply merge).
    d.flow_key = std::to_string(proto) + ":" + ips + ":" +
                 std::to_string(static_cast<int>(s.icmp_type)) + ":" + std::to_string(s.icmp_code) +
                 ":" + std::to_string(s.icmp_id);
    d.usable = true;
  }
  return d;
}

bool HaveTshark() { return std::system("command -v tshark >/dev/null 2>&1") == 0; }

bool Required(const char* var) {
  const char* v = std::getenv(var);
  return v != nullptr && std::string(v) == "1";
}

// The command the test runs (also quoted in the report of the change):
//   tshark -n -r FILE -o communityid.seed:SEED --enable-protocol communityid
//          -T fields -e frame.number -e communityid
std::map<int, std::string> TsharkIds(const std::string& file, uint16_t seed) {
  std::map<int, std::string> ids;
  if (file.find('\'') != std::string::npos) return ids;
  const std::string cmd = "tshark -n -r '" + file +
                          "' -o communityid.seed:" + std::to_string(seed) +
                          " --enable-protocol communityid -T fields -e frame.number"
                          " -e communityid 2>/dev/null";
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return ids;
  char line[256];
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    char* tab = std::strchr(line, '\t');
    if (tab == nullptr) continue;
    std::string id(tab + 1);
    while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
    ids[std::atoi(line)] = id;
  }
  pclose(f);
  return ids;
}

class CommunityIdTsharkTest : public ::testing::TestWithParam<const char*> {};

TEST_P(CommunityIdTsharkTest, MatchesTshark) {
  const std::string dir = skyprobe::testing::SharedPcapDir();
  if (dir.empty()) {
    if (skyprobe::testing::SharedPcapsRequired()) {
      FAIL() << "shared traces not found (SKYPROBE_REQUIRE_SHARED=1)";
    }
    GTEST_SKIP() << "shared traces not found: Community ID/tshark test did not run";
  }
  if (!HaveTshark()) {
    if (Required("SKYPROBE_REQUIRE_TSHARK")) FAIL() << "tshark not found";
    GTEST_SKIP() << "tshark not found: Community ID/tshark test did not run";
  }
  const std::string file = dir + "/skydive/" + GetParam() + ".pcap";

  for (uint16_t seed : {uint16_t{0}, uint16_t{4242}}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const std::map<int, std::string> expected = TsharkIds(file, seed);
    ASSERT_FALSE(expected.empty()) << "tshark gave no output for " << file;

    char err[PCAP_ERRBUF_SIZE];
    pcap_t* pcap = pcap_open_offline(file.c_str(), err);
    ASSERT_NE(pcap, nullptr) << err;
    ASSERT_EQ(pcap_datalink(pcap), DLT_EN10MB);

    CommunityIdEnhancer enhancer(seed);
    std::map<std::string, std::string> flow_ids;  // flow key -> ID from its first packet
    int frame = 0, compared = 0, with_id = 0;
    pcap_pkthdr* hdr;
    const u_char* data;
    while (pcap_next_ex(pcap, &hdr, &data) == 1) {
      ++frame;
      Decoded d = DecodeEthernet(data, hdr->caplen);
      if (!d.usable) continue;
      auto it = flow_ids.find(d.flow_key);
      if (it == flow_ids.end()) {
        enhancer.Enhance(&d.snap);
        it = flow_ids.emplace(d.flow_key, d.snap.community_id).first;
      }
      const auto want = expected.find(frame);
      ASSERT_NE(want, expected.end()) << "frame " << frame;
      EXPECT_EQ(it->second, want->second) << "frame " << frame;
      ++compared;
      with_id += !want->second.empty();
    }
    pcap_close(pcap);
    EXPECT_GT(with_id, 0) << "no packet with a Community ID compared";
    EXPECT_GT(compared, 1);
  }
}

INSTANTIATE_TEST_SUITE_P(SkydiveTraces, CommunityIdTsharkTest,
                         ::testing::Values("simple-tcpv4", "simple-tcpv6", "dns", "icmpv4-symetric",
                                           "eth-ip4-arp-dns-req-http-google"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace skyprobe
