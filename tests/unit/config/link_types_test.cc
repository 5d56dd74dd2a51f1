// The one list of link types (include/skyprobe/link_types.h): every row is accepted by
// the config check (as --link-type name, alias and number, and as a pcap
// file's link type) and decoded by the parser, and a link type outside the
// list is refused with the whole list in the message. The oracle for the
// parser is the link header layout of each type as tcpdump.org's
// LINKTYPE_ list describes it, written out here: a new row without a frame
// below fails until someone writes one.
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "parse/parser.h"
#include "skyprobe/link_types.h"
#include "tests/unit/config/config_test_util.h"

namespace skyprobe {
namespace {

using ::testing::HasSubstr;

// IPv4/UDP 10.0.0.1:1000 -> 10.0.0.2:2000, 4 bytes of payload.
std::vector<uint8_t> Ipv4Udp() {
  return {0x45, 0, 0, 32, 0,    1,    0,    0,    64, 17, 0, 0, 10, 0, 0, 1,
          10,   0, 0, 2,  0x03, 0xe8, 0x07, 0xd0, 0,  12, 0, 0, 1,  2, 3, 4};
}

// IPv6/UDP ::1 -> ::2.
std::vector<uint8_t> Ipv6Udp() {
  std::vector<uint8_t> p = {0x60, 0, 0, 0, 0, 12, 17, 64};
  for (int i = 0; i < 15; ++i) p.push_back(0);
  p.push_back(1);
  for (int i = 0; i < 15; ++i) p.push_back(0);
  p.push_back(2);
  for (uint8_t b : {0x03, 0xe8, 0x07, 0xd0, 0, 12, 0, 0, 1, 2, 3, 4}) p.push_back(b);
  return p;
}

struct LinkFrame {
  std::vector<uint8_t> header;  // the link header before the IP packet
  int ip_version;
};

// One frame per link type, its header as tcpdump.org/linktypes.html gives it.
const std::map<uint32_t, LinkFrame>& Frames() {
  static const auto* frames = new std::map<uint32_t, LinkFrame>{
      // NULL: the address family (AF_INET 2) in the writer's byte order (little endian here).
      {0, {{2, 0, 0, 0}, 4}},
      // EN10MB: destination, source, EtherType 0x0800.
      {1, {{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00}, 4}},
      {12, {{}, 4}},   // RAW: the IP packet alone
      {101, {{}, 6}},  // LINKTYPE_RAW: the same, IPv6 this time
      // LINUX_SLL: packet type, ARPHRD_ETHER, address length 6, 8 address bytes, protocol.
      {113, {{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00}, 4}},
      {228, {{}, 4}},  // IPV4
      {229, {{}, 6}},  // IPV6
  };
  return *frames;
}

TEST(LinkTypesTest, EveryListedTypeIsDecodedByTheParser) {
  for (const LinkTypeInfo& t : kLinkTypeTable) {
    SCOPED_TRACE(absl::StrCat(t.name, " ", t.dlt));
    EXPECT_TRUE(IsSupportedLinkType(t.dlt));
    EXPECT_EQ(static_cast<uint32_t>(t.type), t.dlt);
    auto it = Frames().find(t.dlt);
    ASSERT_NE(it, Frames().end()) << "write a frame of link type " << t.dlt << " in this test";
    std::vector<uint8_t> frame = it->second.header;
    const std::vector<uint8_t> ip = it->second.ip_version == 4 ? Ipv4Udp() : Ipv6Udp();
    frame.insert(frame.end(), ip.begin(), ip.end());
    ParsedPacket pkt;
    const auto len = static_cast<uint32_t>(frame.size());
    ASSERT_EQ(ParseFrame(frame.data(), len, len, ParserConfig{.link_type = t.type}, &pkt), 1);
    EXPECT_EQ(pkt.error, ParseError::kNone);
    EXPECT_EQ(pkt.sub[0].ip_version, it->second.ip_version);
    // The IP source sits where the link header ends plus its offset in the IP header.
    const size_t src_in_ip = it->second.ip_version == 4 ? 12 : 8;
    EXPECT_EQ(pkt.sub[0].ip_src_off, it->second.header.size() + src_in_ip);
  }
}

TEST(LinkTypesTest, ATypeOutsideTheListIsRefusedByTheParser) {
  EXPECT_FALSE(IsSupportedLinkType(147));  // LINKTYPE_USER0
  const std::vector<uint8_t> ip = Ipv4Udp();
  ParsedPacket pkt;
  const auto len = static_cast<uint32_t>(ip.size());
  EXPECT_EQ(
      ParseFrame(ip.data(), len, len, ParserConfig{.link_type = static_cast<LinkType>(147)}, &pkt),
      0);
  EXPECT_EQ(pkt.error, ParseError::kUnsupportedLinkType);
}

class LinkTypesConfigTest : public testing::ConfigTest {
 protected:
  // A pcap file header of any link type and no packet, written by hand:
  // libpcap writes only the link types it can map from a DLT (not 101).
  std::string WriteHeader(const std::string& name, uint32_t linktype) {
    const std::string path = dir() + "/" + name;
    const uint32_t header[6] = {0xa1b2c3d4, 2 | (4u << 16), 0, 0, 65535, linktype};
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(header), 24);
    return path;
  }
};

TEST_F(LinkTypesConfigTest, EveryListedTypeIsAcceptedByTheConfigCheck) {
  const std::string pcap = WritePcap("eth.pcap");
  for (const LinkTypeInfo& t : kLinkTypeTable) {
    std::vector<std::string> names = {t.name, absl::StrCat(t.dlt), absl::StrCat("DLT_", t.name)};
    if (*t.alias != '\0') names.push_back(t.alias);
    for (const std::string& name : names) {
      absl::StatusOr<Config> cfg = Load({"--pcap", pcap, "--link-type", name});
      ASSERT_TRUE(cfg.ok()) << name << ": " << cfg.status();
      // A name shared by two numbers (RAW) gives the first row with it.
      EXPECT_TRUE(IsSupportedLinkType(cfg->pcap_inputs.at(0).link_type)) << name;
      if (name == absl::StrCat(t.dlt)) {
        EXPECT_EQ(cfg->pcap_inputs.at(0).link_type, t.dlt);
      }
    }
    // A file of that link type, with no --link-type (libpcap maps 101 to 12 on read).
    const std::string file = WriteHeader(absl::StrCat("t", t.dlt, ".pcap"), t.dlt);
    absl::StatusOr<Config> cfg = Load({"--pcap", file});
    ASSERT_TRUE(cfg.ok()) << t.dlt << ": " << cfg.status();
    EXPECT_TRUE(IsSupportedLinkType(cfg->pcap_inputs.at(0).link_type));
  }
}

TEST_F(LinkTypesConfigTest, ATypeOutsideTheListIsRefusedWithTheList) {
  std::vector<std::string> listed;
  for (const LinkTypeInfo& t : kLinkTypeTable)
    listed.push_back(absl::StrCat(t.name, " (", t.dlt, ")"));
  const std::string eth = WritePcap("eth.pcap");
  const std::string user0 = WriteHeader("user0.pcap", 147);
  const std::vector<std::vector<std::string>> refused = {
      {"--pcap", eth, "--link-type", "147"},
      {"--pcap", eth, "--link-type", "PPP"},
      {"--pcap", user0},
  };
  for (const auto& args : refused) {
    absl::StatusOr<Config> cfg = Load(args);
    ASSERT_FALSE(cfg.ok()) << args.back();
    for (const std::string& l : listed) EXPECT_THAT(cfg.status().message(), HasSubstr(l));
  }
}

TEST(LinkTypesTest, HelpAndDocumentationNameEveryListedType) {
  std::ifstream in(std::string(SKYPROBE_TEST_SOURCE_ROOT) + "/docs/configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md not found";
  std::string row;
  for (std::string line; std::getline(in, line);) {
    if (line.find("`input.link_type`") != std::string::npos) row = line;
  }
  ASSERT_FALSE(row.empty()) << "docs/configuration.md has no input.link_type row";
  const std::string help = UsageText();
  const size_t at = help.find("--link-type N|NAME");
  ASSERT_NE(at, std::string::npos);
  const std::string help_entry = help.substr(at, help.find("--bpf", at) - at);
  for (const LinkTypeInfo& t : kLinkTypeTable) {
    const std::string number = absl::StrCat(" ", t.dlt);
    EXPECT_THAT(help_entry, HasSubstr(t.name));
    EXPECT_THAT(help_entry, HasSubstr(number));
    EXPECT_THAT(row, HasSubstr(absl::StrCat("`", t.name, "`")));
    EXPECT_THAT(row, HasSubstr(number));
  }
}

}  // namespace
}  // namespace skyprobe
