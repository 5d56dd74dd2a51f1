// --sflow-listen, --sflow-max-agents, --sflow-max-flows: flags, YAML keys,
// checks, and the EAL memory they add.

#include <string>
#include <vector>

#include "config/config.h"
#include "config/config_internal.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/config/config_test_util.h"

namespace skyprobe::testing {
namespace {

using config_internal::EalArgumentsForCpus;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SflowFlagsTest : public ConfigTest {};

TEST_F(SflowFlagsTest, ListenAloneIsEnoughInputAndRepeats) {
  absl::StatusOr<Config> cfg = Load({"--sflow-listen", "127.0.0.1:6343", "--sflow-listen=[::1]:0"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->sflow_listen, ElementsAre("127.0.0.1:6343", "[::1]:0"));
  EXPECT_FALSE(HasPortInputs(*cfg));
  EXPECT_EQ(cfg->sflow_max_agents, 64u);
  EXPECT_EQ(cfg->sflow_max_flows, 16384u);
}

TEST_F(SflowFlagsTest, CombinesWithPcap) {
  absl::StatusOr<Config> cfg =
      Load({"--pcap", WritePcap("a.pcap"), "--sflow-listen", "0.0.0.0:6343"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(HasPortInputs(*cfg));
  EXPECT_EQ(cfg->sflow_listen.size(), 1u);
}

TEST_F(SflowFlagsTest, BadAddresses) {
  for (const char* bad : {"6343", ":6343", "localhost:6343", "1.2.3.4:", "1.2.3.4:65536",
                          "1.2.3.4:-1", "::1:6343", "[::1]", "[nope]:1", "1.2.3:6343"}) {
    absl::StatusOr<Config> cfg = Load({"--sflow-listen", bad});
    ASSERT_FALSE(cfg.ok()) << bad;
    EXPECT_EQ(cfg.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(cfg.status().message(),
              "--sflow-listen: '" + std::string(bad) +
                  "' is not ADDR:PORT with a numeric address (e.g. 0.0.0.0:6343 or [::]:6343)")
        << bad;
  }
}

TEST_F(SflowFlagsTest, ParseListenAddress) {
  absl::StatusOr<ListenAddress> a = ParseListenAddress("[2001:db8::1]:6343");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "2001:db8::1");
  EXPECT_EQ(a->port, 6343);
  EXPECT_TRUE(a->ipv6);
  a = ParseListenAddress("10.1.2.3:0");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "10.1.2.3");
  EXPECT_EQ(a->port, 0);
  EXPECT_FALSE(a->ipv6);
}

TEST_F(SflowFlagsTest, LimitsAreChecked) {
  EXPECT_EQ(Load({"--sflow-listen", "127.0.0.1:1", "--sflow-max-agents", "0"}).status().message(),
            "--sflow-max-agents: must be 1..4096, got 0");
  EXPECT_EQ(
      Load({"--sflow-listen", "127.0.0.1:1", "--sflow-max-agents", "5000"}).status().message(),
      "--sflow-max-agents: must be 1..4096, got 5000");
  EXPECT_EQ(Load({"--sflow-listen", "127.0.0.1:1", "--sflow-max-flows", "0"}).status().message(),
            "--sflow-max-flows: must be >= 1, got 0");
  absl::StatusOr<Config> cfg =
      Load({"--sflow-listen", "127.0.0.1:1", "--sflow-max-agents", "8", "--sflow-max-flows", "1k"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->sflow_max_agents, 8u);
  EXPECT_EQ(cfg->sflow_max_flows, 1024u);
  std::vector<std::string> many;
  for (int i = 0; i < 17; ++i) {
    many.push_back("--sflow-listen");
    many.push_back("127.0.0.1:" + std::to_string(7000 + i));
  }
  EXPECT_EQ(Load(many).status().message(),
            "--sflow-listen: must be given at most 16 times, got 17");
}

TEST_F(SflowFlagsTest, YamlKeysAndFlagsReplaceTheList) {
  absl::StatusOr<Config> cfg = ParseYamlConfig(
      "sflow:\n  listen: [127.0.0.1:6343, '[::]:6343']\n  max_agents: 4\n  max_flows: 100\n",
      Config());
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->sflow_listen, ElementsAre("127.0.0.1:6343", "[::]:6343"));
  EXPECT_EQ(cfg->sflow_max_agents, 4u);
  EXPECT_EQ(cfg->sflow_max_flows, 100u);
  cfg = ParseYamlConfig("sflow: { listen: 127.0.0.1:9 }", Config());
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->sflow_listen, ElementsAre("127.0.0.1:9"));
  cfg = ParseYamlConfig("sflow: { listen: nope }", Config());
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(std::string(cfg.status().message()), HasSubstr("config: sflow.listen: 'nope'"));
  const std::string path = WriteFile("s.yaml", "sflow: { listen: [127.0.0.1:1, 127.0.0.1:2] }\n");
  cfg = Load({"--config", path, "--sflow-listen", "127.0.0.1:3"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->sflow_listen, ElementsAre("127.0.0.1:3"));
}

// Agent tables may all appear: EAL gets memory for them beside --max-flows.
TEST_F(SflowFlagsTest, EalMemoryCoversAgentTables) {
  Config cfg;
  cfg.sflow_listen = {"127.0.0.1:6343"};
  cfg.max_flows = 1024;
  cfg.sflow_max_agents = 64;
  cfg.sflow_max_flows = 16384;
  const std::vector<std::string> args = EalArgumentsForCpus(cfg, "p", {0, 1});
  auto m = std::find(args.begin(), args.end(), "-m");
  ASSERT_NE(m, args.end());
  // (1024 + 64 * 16384) flows x 600 bytes = 601 MB, + 128 MB.
  EXPECT_EQ(*(m + 1), "729");
  cfg.sflow_listen.clear();
  const std::vector<std::string> without = EalArgumentsForCpus(cfg, "p", {0, 1});
  EXPECT_EQ(*(std::find(without.begin(), without.end(), "-m") + 1), "256");
}

}  // namespace
}  // namespace skyprobe::testing
