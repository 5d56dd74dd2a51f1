// Golden tests on Skydive's traces (MANIFEST.md) and a robustness sweep over
// the tcpdump corpus, both read with libpcap.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "packet_builder.h"
#include "parse/parser.h"
#include "pcap_frames.h"
#include "test_paths.h"

namespace skyprobe::testing {
namespace {

// Returns the shared pcap folder, or "" after skipping/failing the test.
std::string PcapDirOrExplain() {
  const std::string dir = SharedPcapDir();
  if (dir.empty()) {
    const std::string where = SourceRoot() + "/../shared/pcaps (or $SKYPROBE_PCAPS)";
    if (SharedPcapsRequired()) {
      ADD_FAILURE() << "shared traces not found at " << where;
    } else {
      GTEST_LOG_(WARNING) << "shared traces not found at " << where
                          << ": golden parser tests did not run";
    }
  }
  return dir;
}

ParsedPacket ParseOwned(const Frame& f, LinkType link, uint32_t wire_len) {
  const size_t n = f.bytes.size();
  auto buf = std::make_unique<uint8_t[]>(n == 0 ? 1 : n);
  if (n > 0) std::memcpy(buf.get(), f.bytes.data(), n);
  ParserConfig cfg;
  cfg.link_type = link;
  ParsedPacket pkt;
  ParseFrame(buf.get(), static_cast<uint32_t>(n), wire_len, cfg, &pkt);
  return pkt;
}

class SkydiveTraceTest : public ::testing::Test {
 protected:
  std::vector<Frame> Load(const std::string& name) {
    std::vector<Frame> frames;
    int dlt = -1;
    EXPECT_TRUE(ReadPcap(dir_ + "/skydive/" + name, &dlt, &frames)) << name;
    EXPECT_FALSE(frames.empty()) << name;
    return frames;
  }
  ParsedPacket First(const std::string& name, LinkType link = LinkType::kEthernet) {
    std::vector<Frame> frames = Load(name);
    if (frames.empty()) return ParsedPacket{};
    return ParseOwned(frames[0], link, frames[0].wire_len);
  }
  void SetUp() override {
    dir_ = PcapDirOrExplain();
    if (dir_.empty()) GTEST_SKIP() << "shared traces absent";
  }
  std::string dir_;
};

TEST_F(SkydiveTraceTest, FirstPacketPaths) {
  struct Case {
    const char* file;
    const char* path;
  };
  const Case cases[] = {
      {"simple-tcpv4.pcap", "Ethernet/IPv4/TCP"},
      {"simple-tcpv6.pcap", "Ethernet/IPv6/TCP"},
      {"dns.pcap", "Ethernet/IPv4/UDP/DNS"},
      {"eth-ip4-arp-dns-req-http-google.pcap", "Ethernet/ARP"},
      {"eth-ipv4-tcp-http-ooo.pcap", "Ethernet/IPv4/TCP"},
      {"iperf-same-L2L3.pcap", "Ethernet/IPv4/TCP"},
      {"ntp-corrupted.pcap", "Ethernet/Dot1Q/IPv4/UDP"},
      {"ipv4-fragments.pcap", "Ethernet/IPv4/Fragment"},
      {"layer-key-mode.pcap", "Ethernet/IPv4/ICMPv4"},
      {"icmpv4-truncated.pcap", "Ethernet/IPv4/ICMPv4"},
      {"vxlan-src-port.pcap", "Ethernet/IPv4/UDP/VXLAN"},
      {"vxlan-icmpv4-truncated.pcap", "Ethernet/IPv4/UDP/VXLAN"},
      {"gre-gre-icmpv4.pcap", "Ethernet/IPv4/GRE"},
      {"erspanII.pcap", "Ethernet/IPv4/GRE"},
      {"icmp-vlan.pcap", "Ethernet/Dot1Q/IPv4/ICMPv4"},
  };
  for (const Case& c : cases) {
    ParsedPacket p = First(c.file);
    ASSERT_GE(p.num_sub, 1) << c.file;
    EXPECT_EQ(Path(p.sub[0]), c.path) << c.file;
  }
}

// Every packet of the tunnel traces, sub-packet by sub-packet: paths, byte
// counts (MANIFEST.md: AB/BA bytes over packets) and Network.ID.
TEST_F(SkydiveTraceTest, TunnelSubPackets) {
  struct Level {
    std::string path;
    uint32_t length;
    int64_t network_id;
  };
  // What each packet of a trace must give, chosen by a predicate on packets.
  const auto describe = [](const ParsedPacket& p) {
    std::vector<Level> out;
    for (int i = 0; i < p.num_sub; ++i) {
      out.push_back({Path(p.sub[i]), p.sub[i].length, p.sub[i].network_id});
    }
    return out;
  };
  const auto expect = [&](const std::string& file, int packet, const std::vector<Level>& want) {
    std::vector<Frame> frames = Load(file);
    ASSERT_LT(packet, static_cast<int>(frames.size())) << file;
    const std::vector<Level> got =
        describe(ParseOwned(frames[packet], LinkType::kEthernet, frames[packet].wire_len));
    ASSERT_EQ(got.size(), want.size()) << file << " packet " << packet;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i].path, want[i].path) << file << " packet " << packet << " level " << i;
      EXPECT_EQ(got[i].length, want[i].length) << file << " packet " << packet << " level " << i;
      EXPECT_EQ(got[i].network_id, want[i].network_id) << file << " packet " << packet;
    }
  };
  for (int i = 0; i < 10; ++i) {
    expect("gre-gre-icmpv4.pcap", i,
           {{"Ethernet/IPv4/GRE", 162, 0}, {"IPv4/GRE", 124, 0}, {"IPv4/ICMPv4", 100, 0}});
  }
  for (int i = 0; i < 2; ++i) {
    expect("gre-mpls-icmpv4.pcap", i, {{"Ethernet/IPv4/GRE/MPLS", 126, 0}, {"IPv4/ICMPv4", 84, 0}});
  }
  expect("contrail-udp-mpls-eth-and-ipv4.pcap", 0,
         {{"Ethernet/IPv4/UDP/MPLS", 150, 0}, {"IPv4/ICMPv4", 104, 0}});
  expect("contrail-udp-mpls-eth-and-ipv4.pcap", 1,
         {{"Ethernet/IPv4/UDP/MPLS", 120, 0}, {"Ethernet/IPv4/TCP", 74, 0}});
  for (int i = 0; i < 4; ++i) {
    // Skydive would count 122 for the inner frame: ERSPAN's 8 bytes (parser.h).
    expect("erspanII.pcap", i, {{"Ethernet/IPv4/GRE", 164, 0}, {"Ethernet/IPv4/ICMPv4", 114, 0}});
  }
  for (int i = 0; i < 2; ++i) {
    expect("vxlan-icmpv4-truncated.pcap", i,
           {{"Ethernet/IPv4/UDP/VXLAN", 1116, 10}, {"Ethernet/IPv4/ICMPv4", 1066, 0}});
    expect("vxlan-src-port.pcap", i,
           {{"Ethernet/IPv4/UDP/VXLAN", 104, 10}, {"Ethernet/IPv4/TCP", 54, 0}});
  }
  expect("ping-with-without-ethernet.pcap", 0, {{"Ethernet/IPv4/ICMPv4", 98, 0}});
  expect("ping-with-without-ethernet.pcap", 1,
         {{"Ethernet/IPv4/GRE/MPLS", 126, 0}, {"IPv4/ICMPv4", 84, 0}});

  // geneve.pcap: every packet is Geneve with VNI 10 or 11 over one inner
  // Ethernet frame (ping or ssh); the inner frame counts the rest of the packet.
  std::set<int64_t> vnis;
  for (const Frame& f : Load("geneve.pcap")) {
    ParsedPacket p = ParseOwned(f, LinkType::kEthernet, f.wire_len);
    ASSERT_EQ(p.num_sub, 2);
    EXPECT_EQ(Path(p.sub[0]), "Ethernet/IPv4/UDP/Geneve");
    vnis.insert(p.sub[0].network_id);
    const std::string inner = Path(p.sub[1]);
    EXPECT_TRUE(inner == "Ethernet/IPv4/ICMPv4" || inner == "Ethernet/IPv4/TCP") << inner;
    EXPECT_EQ(p.sub[1].length, f.wire_len - p.sub[1].offset);
    EXPECT_EQ(p.sub[1].network_id, 0);
  }
  EXPECT_EQ(vnis, (std::set<int64_t>{10, 11}));
}

TEST_F(SkydiveTraceTest, EveryDnsPacketDecodesAsDns) {
  for (const char* name : {"dns.pcap", "eth-ip4-arp-dns-req-http-google.pcap"}) {
    int dns = 0;
    for (const Frame& f : Load(name)) {
      ParsedPacket p = ParseOwned(f, LinkType::kEthernet, f.wire_len);
      ASSERT_EQ(p.num_sub, 1);
      const SubPacket& s = p.sub[0];
      if (s.transport == FlowProtocol::kUdp && (s.src_port == 53 || s.dst_port == 53)) {
        EXPECT_EQ(Path(s), "Ethernet/IPv4/UDP/DNS") << name << " packet " << dns;
        ++dns;
      }
    }
    EXPECT_GT(dns, 0) << name;
  }
}

TEST_F(SkydiveTraceTest, QinQLinkIds) {
  std::set<uint64_t> ids;
  std::set<int> depths;
  for (const Frame& f : Load("icmpv4-4vlanQinQ-id-8-10-20-30.pcap")) {
    ParsedPacket p = ParseOwned(f, LinkType::kEthernet, f.wire_len);
    ASSERT_EQ(p.num_sub, 1);
    if (p.sub[0].icmp_version != 4) continue;
    ids.insert(p.sub[0].link_id);
    depths.insert(p.sub[0].vlan_count);
    const std::string path = Path(p.sub[0]);
    EXPECT_EQ(path.substr(0, 14), "Ethernet/Dot1Q");
    EXPECT_EQ(path.substr(path.size() - 12), "/IPv4/ICMPv4");
  }
  EXPECT_EQ(ids, (std::set<uint64_t>{8, 40968, 335585288, 2061919887368ull}));
  EXPECT_EQ(depths, (std::set<int>{1, 2, 3, 4}));
}

TEST_F(SkydiveTraceTest, NtpCorrupted) {
  ParsedPacket p = First("ntp-corrupted.pcap");
  ASSERT_EQ(p.num_sub, 1);
  const SubPacket& s = p.sub[0];
  EXPECT_EQ(s.link_id, 202u);
  EXPECT_EQ(s.transport, FlowProtocol::kUdp);
  EXPECT_EQ(s.src_port, 40820);
  EXPECT_EQ(s.dst_port, 123);
  EXPECT_EQ(s.length, 50u);
  EXPECT_NE(p.anomalies & kAnomalyBadAppLayer, 0);
}

TEST_F(SkydiveTraceTest, LinkType12AsRawIp) {
  ParsedPacket p = First("link-type-12.pcap", LinkType::kRaw);
  ASSERT_EQ(p.num_sub, 1);
  EXPECT_EQ(Path(p.sub[0]), "IPv4/TCP");
  EXPECT_EQ(p.sub[0].src_port, 10250);
  EXPECT_EQ(p.sub[0].dst_port, 41252);
  EXPECT_EQ(p.sub[0].length, 1398u);  // the IPv4 total length, not the 256 captured
}

TEST_F(SkydiveTraceTest, TruncatedIcmpCountsTheWireLength) {
  for (const Frame& f : Load("icmpv4-truncated.pcap")) {
    EXPECT_EQ(f.wire_len, 1066u);
    EXPECT_EQ(ParseOwned(f, LinkType::kEthernet, f.wire_len).sub[0].length, 1066u);
    EXPECT_EQ(ParseOwned(f, LinkType::kEthernet, 0).sub[0].length, 1066u);
  }
}

TEST_F(SkydiveTraceTest, TunnelOuterKeys) {
  for (const Frame& f : Load("vxlan-src-port.pcap")) {
    ParsedPacket p = ParseOwned(f, LinkType::kEthernet, f.wire_len);
    EXPECT_EQ(p.sub[0].transport_key, TransportKeyKind::kVniPort);
    EXPECT_EQ(p.sub[0].vni, 10u);
    EXPECT_EQ(p.sub[0].network_id, 10);
  }
  std::set<uint32_t> vnis;
  for (const Frame& f : Load("geneve.pcap")) {
    ParsedPacket p = ParseOwned(f, LinkType::kEthernet, f.wire_len);
    if (Path(p.sub[0]) == "Ethernet/IPv4/UDP/Geneve") vnis.insert(p.sub[0].vni);
  }
  EXPECT_EQ(vnis, (std::set<uint32_t>{10, 11}));
  ParsedPacket icmp = First("layer-key-mode.pcap");
  EXPECT_EQ(icmp.sub[0].icmp_id, 23604);
  EXPECT_EQ(icmp.sub[0].icmp_type, IcmpType::kEcho);
}

// Every packet of every tcpdump capture (many malformed) goes through the
// parser. Unsupported link types are counted, not parsed.
TEST(TcpdumpCorpusTest, EveryPacketParsesSafely) {
  const std::string dir = PcapDirOrExplain();
  if (dir.empty()) GTEST_SKIP() << "shared traces absent";
  int files = 0, unreadable = 0, unsupported = 0;
  long packets = 0, dropped = 0, anomalous = 0, tunnelled = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/tcpdump")) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".pcap" && ext != ".pcapng" && ext != ".cap") continue;
    ++files;
    std::vector<Frame> frames;
    int dlt = -1;
    if (!ReadPcap(entry.path().string(), &dlt, &frames)) {
      ++unreadable;
      continue;
    }
    if (!IsSupportedLinkType(static_cast<uint32_t>(dlt))) {
      ++unsupported;
      continue;
    }
    for (const Frame& f : frames) {
      ParsedPacket p = ParseOwned(f, static_cast<LinkType>(dlt), f.wire_len);
      ++packets;
      if (p.num_sub == 0) {
        ++dropped;
        ASSERT_NE(p.error, ParseError::kNone) << entry.path();
        continue;
      }
      if (p.anomalies != 0) ++anomalous;
      ASSERT_LE(p.num_sub, kMaxSubPackets);
      if (p.num_sub > 1) ++tunnelled;
      const size_t n = f.bytes.size();
      for (int i = 0; i < p.num_sub; ++i) {
        const SubPacket& s = p.sub[i];
        ASSERT_LE(s.num_layers, kMaxLayers);
        ASSERT_TRUE(s.has_link || s.ip_version != 0) << entry.path();
        if (i > 0) {
          ASSERT_GT(s.offset, p.sub[i - 1].offset) << entry.path();
        }
        if (s.has_link) {
          ASSERT_LE(s.mac_src_off + 6u, n) << entry.path();
        }
        if (s.ip_version == 4) {
          ASSERT_LE(s.ip_dst_off + 4u, n) << entry.path();
        }
        if (s.ip_version == 6) {
          ASSERT_LE(s.ip_dst_off + 16u, n) << entry.path();
        }
      }
    }
  }
  std::printf(
      "tcpdump corpus: %d files, %d unreadable, %d unsupported link type, %ld packets "
      "parsed, %ld dropped, %ld with anomalies, %ld with tunnels\n",
      files, unreadable, unsupported, packets, dropped, anomalous, tunnelled);
  EXPECT_GT(files, 800);
  EXPECT_GT(packets, 5000);
  EXPECT_GT(tunnelled, 0);  // the corpus has GRE, MPLS, VXLAN, Geneve...
}

}  // namespace
}  // namespace skyprobe::testing
