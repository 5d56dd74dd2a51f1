// Application metadata and extra layer settings: --app-metadata /
// --no-app-metadata, --extra-layers (Skydive's names), --app-meta-flows,
// their YAML keys, defaults, errors, and the EAL memory they add.

#include <string>
#include <vector>

#include "config/config.h"
#include "config/config_internal.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/config/config_test_util.h"

namespace skyprobe::testing {
namespace {

using AppFlagsTest = ConfigTest;
using ::testing::HasSubstr;

uint64_t EalMegabytes(const Config& cfg) {
  const std::vector<std::string> args = config_internal::EalArgumentsForCpus(cfg, "p", {0, 1});
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "-m") return std::stoull(args[i + 1]);
  }
  return 0;
}

TEST_F(AppFlagsTest, OffByDefault) {
  absl::StatusOr<Config> cfg = Load({"--pcap", WritePcap("a.pcap")});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_FALSE(cfg->app_metadata);
  EXPECT_EQ(cfg->extra_layers, 0);
  EXPECT_EQ(cfg->app_meta_flows, 0u);
}

TEST_F(AppFlagsTest, FlagsAndSkydiveNames) {
  absl::StatusOr<Config> cfg = Load({"--pcap", WritePcap("a.pcap"), "--app-metadata",
                                     "--extra-layers", "DNS, VRRP", "--app-meta-flows", "64k"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->app_metadata);
  EXPECT_EQ(cfg->extra_layers, 2 | 1);  // record/app_meta.h ExtraLayerBits
  EXPECT_EQ(cfg->app_meta_flows, 65536u);
  cfg = Load({"--pcap", WritePcap("b.pcap"), "--extra-layers", "ALL", "--extra-layers", "DHCPv4",
              "--app-metadata", "--no-app-metadata"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->extra_layers, 4);  // given again: replaced
  EXPECT_FALSE(cfg->app_metadata);
}

TEST_F(AppFlagsTest, Errors) {
  absl::StatusOr<Config> cfg = Load({"--pcap", WritePcap("a.pcap"), "--extra-layers", "DNS,HTTP"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(std::string(cfg.status().message()), HasSubstr("'HTTP'"));
  cfg = Load({"--pcap", WritePcap("a.pcap"), "--extra-layers", "dns"});  // names are Skydive's
  EXPECT_FALSE(cfg.ok());
  cfg = Load({"--pcap", WritePcap("a.pcap"), "--max-flows", "1000", "--app-meta-flows", "1001"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(std::string(cfg.status().message()), HasSubstr("app-meta-flows"));
}

TEST_F(AppFlagsTest, Yaml) {
  absl::StatusOr<Config> cfg = ParseYamlConfig(
      "input: { pcap: '" + WritePcap("a.pcap") +
          "' }\nflow: { app_metadata: true, extra_layers: [DNS, DHCPv4], app_meta_flows: 10 }\n",
      Config{}, "c.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->app_metadata);
  EXPECT_EQ(cfg->extra_layers, 2 | 4);
  EXPECT_EQ(cfg->app_meta_flows, 10u);
  cfg = ParseYamlConfig(
      "input: { pcap: '" + WritePcap("b.pcap") + "' }\nflow: { extra_layers: \"VRRP\" }\n",
      Config{}, "c.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->extra_layers, 1);
}

TEST_F(AppFlagsTest, EalMemoryOnlyWhenOn) {
  absl::StatusOr<Config> cfg = Load({"--pcap", WritePcap("a.pcap"), "--max-flows", "4M"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  cfg->ifaces = {"eth0"};  // live: the whole --max-flows counts (a replay counts its files)
  const uint64_t base = EalMegabytes(*cfg);
  cfg->app_metadata = true;
  // A quarter of 4M slots of 544 bytes, 4 bytes per flow, the readers.
  const uint64_t bytes = (uint64_t{1} << 20) * 544 + (uint64_t{4} << 20) * 4 + 1024 * 1408;
  EXPECT_GE(EalMegabytes(*cfg), base + (bytes >> 20));
  EXPECT_LE(EalMegabytes(*cfg), base + (bytes >> 20) + 2);
  cfg->app_metadata = false;
  cfg->extra_layers = 1;
  EXPECT_GT(EalMegabytes(*cfg), base);
}

}  // namespace
}  // namespace skyprobe::testing
