// Golden tests on Skydive's traces (MANIFEST.md) and a robustness sweep over
// the tcpdump corpus, both read with libpcap.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "packet_builder.h"
#include "parse/parser.h"
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

struct Frame {
  std::vector<uint8_t> bytes;
  uint32_t wire_len = 0;
};

// Reads every record of `path`; each frame gets its own exactly-sized buffer
// later, so sanitizers catch any read past caplen.
bool ReadPcap(const std::string& path, int* dlt, std::vector<Frame>* frames) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  if (p == nullptr) return false;
  *dlt = pcap_datalink(p);
  pcap_pkthdr* hdr;
  const u_char* data;
  while (pcap_next_ex(p, &hdr, &data) == 1) {
    frames->push_back({std::vector<uint8_t>(data, data + hdr->caplen), hdr->len});
  }
  pcap_close(p);
  return true;
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
    ASSERT_EQ(p.num_sub, 1) << c.file;
    EXPECT_EQ(Path(p.sub[0]), c.path) << c.file;
  }
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
  long packets = 0, dropped = 0, anomalous = 0;
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
      const SubPacket& s = p.sub[0];
      const size_t n = f.bytes.size();
      ASSERT_LE(s.num_layers, kMaxLayers);
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
  std::printf(
      "tcpdump corpus: %d files, %d unreadable, %d unsupported link type, %ld packets "
      "parsed, %ld dropped, %ld with anomalies\n",
      files, unreadable, unsupported, packets, dropped, anomalous);
  EXPECT_GT(files, 800);
  EXPECT_GT(packets, 5000);
}

}  // namespace
}  // namespace skyprobe::testing
