// Tests for the --bpf flag / input.bpf key: stored as given, checked with libpcap for
// each input's link type, errors naming the flag or key and quoting libpcap.

#include <pcap/pcap.h>

#include <string>

#include "absl/status/status.h"
#include "config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/config/config_test_util.h"

namespace skyprobe::testing {
namespace {

using ::testing::HasSubstr;

class BpfFlagTest : public ConfigTest {};

TEST_F(BpfFlagTest, DefaultIsNoFilter) {
  absl::StatusOr<Config> cfg = Load({"--pcap", WritePcap("a.pcap")});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->bpf_filter, "");
}

TEST_F(BpfFlagTest, FlagBothForms) {
  const std::string pcap = WritePcap("a.pcap");
  absl::StatusOr<Config> cfg = Load({"--pcap", pcap, "--bpf", "port 53 or port 80"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->bpf_filter, "port 53 or port 80");
  cfg = Load({"--pcap", pcap, "--bpf= icmp or (vlan and icmp) "});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->bpf_filter, "icmp or (vlan and icmp)");
}

TEST_F(BpfFlagTest, BadExpressionQuotesLibpcap) {
  absl::StatusOr<Config> cfg = Load({"--pcap", WritePcap("a.pcap"), "--bpf", "porrt 53"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cfg.status().message(),
            "--bpf \"porrt 53\": can't parse filter expression: syntax error");
  // --eal ports are Ethernet.
  cfg = Load({"--eal", "-l 0-1", "--bpf", "tcp and ("});
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(cfg.status().message(), HasSubstr("--bpf \"tcp and (\": "));
}

TEST_F(BpfFlagTest, CheckedForEachInputLinkType) {
  const std::string eth = WritePcap("eth.pcap", DLT_EN10MB);
  const std::string raw = WritePcap("raw.pcap", DLT_RAW);
  ASSERT_TRUE(Load({"--pcap", eth, "--pcap", raw, "--bpf", "udp port 53"}).ok());
  ASSERT_TRUE(Load({"--pcap", eth, "--bpf", "vlan and icmp"}).ok());
  absl::StatusOr<Config> cfg = Load({"--pcap", eth, "--pcap", raw, "--bpf", "vlan and icmp"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(cfg.status().message(),
              HasSubstr("--bpf \"vlan and icmp\": for " + raw + " (RAW): "));
}

TEST_F(BpfFlagTest, YamlKeyAndFlagOverride) {
  const std::string pcap = WritePcap("a.pcap");
  const std::string yaml =
      WriteFile("p.yaml", "input:\n  pcap: " + pcap + "\n  bpf: \"port 53\"\n");
  absl::StatusOr<Config> cfg = Load({"--config", yaml});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->bpf_filter, "port 53");
  cfg = Load({"--config", yaml, "--bpf", "port 80"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->bpf_filter, "port 80");
  const std::string bad =
      WriteFile("bad.yaml", "input:\n  pcap: " + pcap + "\n  bpf: \"porrt 53\"\n");
  cfg = Load({"--config", bad});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message(), bad +
                                        ": input.bpf: \"porrt 53\": can't parse filter "
                                        "expression: syntax error");
}

TEST_F(BpfFlagTest, InUsageText) {
  EXPECT_THAT(UsageText(), HasSubstr("--bpf \"EXPR\""));
  EXPECT_THAT(UsageText(), HasSubstr("vlan and"));
}

}  // namespace
}  // namespace skyprobe::testing
