// --sflow-listen, --sflow-max-agents, --sflow-max-flows, --sflow-agents,
// --sflow-agent-idle: flags, YAML keys, checks, and the EAL memory they add.

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

TEST_F(SflowFlagsTest, AgentAllowListAndIdleTime) {
  absl::StatusOr<Config> cfg = Load({"--sflow-listen", "127.0.0.1:1"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->sflow_agents.empty());
  EXPECT_EQ(cfg->sflow_agent_idle_sec, 600u);

  cfg = Load({"--sflow-listen", "127.0.0.1:1", "--sflow-agents",
              "10.1.2.3/8, 192.0.2.7,2001:db8:ffff::1/33", "--sflow-agent-idle", "0"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->sflow_agent_idle_sec, 0u);
  ASSERT_EQ(cfg->sflow_agents.size(), 3u);
  const IpNetwork& ten = cfg->sflow_agents[0];
  EXPECT_EQ(ten.ip_version, 4);
  EXPECT_EQ(ten.prefix, 8);
  EXPECT_THAT(std::vector<uint8_t>(ten.addr, ten.addr + 4), ElementsAre(10, 0, 0, 0));
  const uint8_t in[4] = {10, 255, 0, 1}, out[4] = {11, 0, 0, 1};
  EXPECT_TRUE(ten.Contains(4, in));
  EXPECT_FALSE(ten.Contains(4, out));
  const IpNetwork& host = cfg->sflow_agents[1];
  EXPECT_EQ(host.prefix, 32);
  const uint8_t h[4] = {192, 0, 2, 7}, h2[4] = {192, 0, 2, 6};
  EXPECT_TRUE(host.Contains(4, h));
  EXPECT_FALSE(host.Contains(4, h2));
  EXPECT_FALSE(host.Contains(6, h));  // versions never mix
  const IpNetwork& v6 = cfg->sflow_agents[2];
  EXPECT_EQ(v6.ip_version, 6);
  EXPECT_EQ(v6.prefix, 33);
  // 2001:db8:ffff::1/33 is the network 2001:db8:8000::/33 (host bits cleared).
  EXPECT_EQ(v6.addr[4], 0x80);
  EXPECT_EQ(v6.addr[5], 0);
  EXPECT_EQ(v6.addr[15], 0);
  uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x80};
  EXPECT_TRUE(v6.Contains(6, a6));
  a6[4] = 0xff;
  a6[15] = 9;
  EXPECT_TRUE(v6.Contains(6, a6));
  a6[4] = 0x7f;
  EXPECT_FALSE(v6.Contains(6, a6));

  for (const char* bad :
       {"10.0.0.0/33", "host.example", "10.0.0.0/", "::/129", "10.0.0.0/-1", ""}) {
    cfg = Load({"--sflow-listen", "127.0.0.1:1", "--sflow-agents", bad});
    ASSERT_FALSE(cfg.ok()) << bad;
    EXPECT_THAT(std::string(cfg.status().message()),
                HasSubstr(std::string("--sflow-agents: '") + bad + "' is not a network ADDR/LEN"))
        << bad;
  }
  EXPECT_EQ(Load({"--sflow-listen", "127.0.0.1:1", "--sflow-agent-idle", "x"}).status().message(),
            "--sflow-agent-idle: 'x' is not a whole number of seconds");

  // YAML: a list or one string; the flag replaces the file's list.
  cfg = ParseYamlConfig(
      "sflow:\n  listen: 127.0.0.1:1\n  agents: [192.0.2.0/24, '::1']\n  agent_idle: 30\n",
      Config());
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->sflow_agents.size(), 2u);
  EXPECT_EQ(cfg->sflow_agents[1].ip_version, 6);
  EXPECT_EQ(cfg->sflow_agent_idle_sec, 30u);
  cfg = ParseYamlConfig("sflow: { listen: 127.0.0.1:1, agents: '192.0.2.0/24,198.51.100.0/24' }",
                        Config());
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->sflow_agents.size(), 2u);
  cfg = ParseYamlConfig("sflow: { listen: 127.0.0.1:1, agents: [nope] }", Config());
  EXPECT_THAT(std::string(cfg.status().message()), HasSubstr("config: sflow.agents: 'nope'"));
  const std::string path =
      WriteFile("agents.yaml", "sflow: { agents: [10.0.0.0/8, 10.1.0.0/16] }\n");
  cfg = Load({"--config", path, "--sflow-listen", "127.0.0.1:3", "--sflow-agents", "::/0"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  ASSERT_EQ(cfg->sflow_agents.size(), 1u);
  EXPECT_EQ(cfg->sflow_agents[0].prefix, 0);
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
