// Raw packet capture settings: --raw-packets, --raw-packets-last, --raw-packets-memory and
// their YAML keys, defaults, suffixes and checks.

#include <string>
#include <vector>

#include "config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/config/config_test_util.h"

namespace skyprobe::testing {
namespace {

using ::testing::HasSubstr;

using RawPacketsFlagsTest = ConfigTest;

TEST_F(RawPacketsFlagsTest, OffByDefault) {
  absl::StatusOr<Config> cfg = Load({"--pcap", WritePcap("a.pcap")});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->raw_packets, 0u);
  EXPECT_EQ(cfg->raw_packets_last, 0u);
  EXPECT_EQ(cfg->raw_packets_memory, 256ull << 20);
}

TEST_F(RawPacketsFlagsTest, Flags) {
  absl::StatusOr<Config> cfg = Load({"--pcap", WritePcap("a.pcap"), "--raw-packets", "100",
                                     "--raw-packets-last=5", "--raw-packets-memory", "64M"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->raw_packets, 100u);  // more than Skydive's 10
  EXPECT_EQ(cfg->raw_packets_last, 5u);
  EXPECT_EQ(cfg->raw_packets_memory, 64ull << 20);
  for (const auto& [text, bytes] : std::vector<std::pair<std::string, uint64_t>>{
           {"4096", 4096}, {"8k", 8192}, {"2G", 2ull << 30}, {"3g", 3ull << 30}}) {
    cfg = Load({"--pcap", WritePcap("b.pcap"), "--raw-packets", "1", "--raw-packets-memory", text});
    ASSERT_TRUE(cfg.ok()) << text << ": " << cfg.status();
    EXPECT_EQ(cfg->raw_packets_memory, bytes) << text;
  }
}

TEST_F(RawPacketsFlagsTest, Yaml) {
  absl::StatusOr<Config> cfg = ParseYamlConfig(
      "input: { pcap: '" + WritePcap("a.pcap") +
          "' }\nflow: { raw_packets: 3, raw_packets_last: 2, raw_packets_memory: 1M }\n",
      Config{}, "c.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->raw_packets, 3u);
  EXPECT_EQ(cfg->raw_packets_last, 2u);
  EXPECT_EQ(cfg->raw_packets_memory, 1ull << 20);
}

TEST_F(RawPacketsFlagsTest, Errors) {
  const std::string pcap = WritePcap("a.pcap");
  auto error = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--pcap", pcap});
    absl::StatusOr<Config> cfg = Load(args);
    EXPECT_FALSE(cfg.ok());
    return std::string(cfg.status().message());
  };
  EXPECT_THAT(error({"--raw-packets", "-1"}), HasSubstr("--raw-packets: '-1' is not"));
  EXPECT_EQ(error({"--raw-packets", "70000"}),
            "--raw-packets: must be 0 (off) or 1..65536, got 70000");
  EXPECT_EQ(error({"--raw-packets-last", "1M"}),
            "--raw-packets-last: must be 0 (off) or 1..65536, got 1048576");
  EXPECT_THAT(error({"--raw-packets-memory", "lots"}),
              HasSubstr("--raw-packets-memory: 'lots' is not a number of bytes"));
  EXPECT_THAT(error({"--raw-packets-memory", "2048G"}), HasSubstr("too large"));
  // A budget without room for one packet per worker, only when capture is on.
  EXPECT_EQ(error({"--raw-packets", "1", "--raw-packets-memory", "100"}),
            "--raw-packets-memory: must be >= 280 (one packet of --capture-length per worker), "
            "got 100");
  absl::StatusOr<Config> off = Load({"--pcap", pcap, "--raw-packets-memory", "100"});
  EXPECT_TRUE(off.ok()) << off.status();
}

TEST(RawPacketsUsageTest, ListsTheFlags) {
  const std::string usage = UsageText();
  for (const char* flag : {"--raw-packets N", "--raw-packets-last M", "--raw-packets-memory"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace skyprobe::testing
