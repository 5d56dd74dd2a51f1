// IP defragmentation settings: --ip-defrag / --no-ip-defrag, --ip-defrag-max,
// --ip-defrag-timeout-ms and their YAML keys, defaults and checks.

#include <string>
#include <vector>

#include "config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/config/config_test_util.h"

namespace skyprobe::testing {
namespace {

using ::testing::HasSubstr;

using DefragFlagsTest = ConfigTest;

TEST_F(DefragFlagsTest, OnByDefault) {
  absl::StatusOr<Config> cfg = Load({"--pcap", WritePcap("a.pcap")});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->ip_defrag);
  EXPECT_EQ(cfg->ip_defrag_max, 65536u);
  EXPECT_EQ(cfg->ip_defrag_timeout_ms, 30000u);
}

TEST_F(DefragFlagsTest, Flags) {
  absl::StatusOr<Config> cfg = Load({"--pcap", WritePcap("a.pcap"), "--no-ip-defrag",
                                     "--ip-defrag-max", "4k", "--ip-defrag-timeout-ms=500"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_FALSE(cfg->ip_defrag);
  EXPECT_EQ(cfg->ip_defrag_max, 4096u);
  EXPECT_EQ(cfg->ip_defrag_timeout_ms, 500u);
  cfg = Load({"--pcap", WritePcap("b.pcap"), "--no-ip-defrag", "--ip-defrag"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->ip_defrag);  // the last one wins
}

TEST_F(DefragFlagsTest, Yaml) {
  absl::StatusOr<Config> cfg = ParseYamlConfig(
      "input: { pcap: '" + WritePcap("a.pcap") +
          "' }\nflow: { ip_defrag: false, ip_defrag_max: 1M, ip_defrag_timeout_ms: 1000 }\n",
      Config{}, "c.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_FALSE(cfg->ip_defrag);
  EXPECT_EQ(cfg->ip_defrag_max, 1u << 20);
  EXPECT_EQ(cfg->ip_defrag_timeout_ms, 1000u);
}

TEST_F(DefragFlagsTest, Errors) {
  const std::string pcap = WritePcap("a.pcap");
  auto error = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--pcap", pcap});
    absl::StatusOr<Config> cfg = Load(args);
    EXPECT_FALSE(cfg.ok());
    return std::string(cfg.status().message());
  };
  EXPECT_EQ(error({"--ip-defrag-max", "0"}), "--ip-defrag-max: must be 1..16777216 (16M), got 0");
  EXPECT_EQ(error({"--ip-defrag-max", "32M"}),
            "--ip-defrag-max: must be 1..16777216 (16M), got 33554432");
  EXPECT_THAT(error({"--ip-defrag-max", "many"}), HasSubstr("--ip-defrag-max: 'many' is not"));
  EXPECT_EQ(error({"--ip-defrag-timeout-ms", "0"}),
            "--ip-defrag-timeout-ms: must be 1..3600000 (1 hour), got 0");
  EXPECT_THAT(error({"--ip-defrag-timeout-ms", "1.5"}),
              HasSubstr("--ip-defrag-timeout-ms: '1.5' is not a whole number of milliseconds"));
  EXPECT_EQ(error({"--workers", "4", "--ip-defrag-max", "2"}),
            "--ip-defrag-max: must be >= --workers (4), got 2");
  EXPECT_THAT(error({"--ip-defrag=maybe"}), HasSubstr("--ip-defrag"));
}

TEST(DefragUsageTest, ListsTheFlags) {
  const std::string usage = UsageText();
  for (const char* flag :
       {"--ip-defrag ", "--no-ip-defrag", "--ip-defrag-max N", "--ip-defrag-timeout-ms"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace skyprobe::testing
