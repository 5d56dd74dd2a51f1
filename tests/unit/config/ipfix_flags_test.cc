// --ipfix and its settings: destinations, flags, YAML keys, checks.

#include <string>
#include <vector>

#include "config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/config/config_test_util.h"

namespace skyprobe::testing {
namespace {

class IpfixFlagsTest : public ConfigTest {};

TEST_F(IpfixFlagsTest, DefaultsAndNoDestination) {
  absl::StatusOr<Config> cfg = Load({"--pcap", WritePcap("a.pcap")});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->ipfix.empty());
  EXPECT_EQ(cfg->ipfix_domain, 0u);
  EXPECT_EQ(cfg->ipfix_mtu, 1400u);
  EXPECT_EQ(cfg->ipfix_template_refresh_sec, 60u);
  EXPECT_EQ(cfg->ipfix_pen, 0u);
  EXPECT_EQ(cfg->ipfix_rate, 0u);
  EXPECT_EQ(cfg->ipfix_spool_bytes, 64u << 20);
  EXPECT_FALSE(cfg->ipfix_uniflow);
}

TEST_F(IpfixFlagsTest, DestinationsRepeatAndSettingsParse) {
  absl::StatusOr<Config> cfg = Load({"--pcap",
                                     WritePcap("a.pcap"),
                                     "--ipfix",
                                     "udp://127.0.0.1:4739",
                                     "--ipfix=tcp://[2001:db8::1]:4740",
                                     "--ipfix",
                                     "file:/tmp/x.ipfix",
                                     "--ipfix",
                                     "udp://collector.example:2055",
                                     "--ipfix-domain",
                                     "42",
                                     "--ipfix-mtu",
                                     "9000",
                                     "--ipfix-template-refresh",
                                     "5",
                                     "--ipfix-pen",
                                     "32473",
                                     "--ipfix-rate",
                                     "10000",
                                     "--ipfix-spool-bytes",
                                     "256M",
                                     "--ipfix-uniflow"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  ASSERT_EQ(cfg->ipfix.size(), 4u);
  EXPECT_EQ(cfg->ipfix[0].kind, IpfixDestination::Kind::kUdp);
  EXPECT_EQ(cfg->ipfix[0].host, "127.0.0.1");
  EXPECT_EQ(cfg->ipfix[0].port, 4739);
  EXPECT_EQ(cfg->ipfix[0].text, "udp://127.0.0.1:4739");
  EXPECT_EQ(cfg->ipfix[1].kind, IpfixDestination::Kind::kTcp);
  EXPECT_EQ(cfg->ipfix[1].host, "2001:db8::1");
  EXPECT_EQ(cfg->ipfix[1].port, 4740);
  EXPECT_EQ(cfg->ipfix[2].kind, IpfixDestination::Kind::kFile);
  EXPECT_EQ(cfg->ipfix[2].path, "/tmp/x.ipfix");
  EXPECT_EQ(cfg->ipfix[3].host, "collector.example");  // names resolve at start-up
  EXPECT_EQ(cfg->ipfix_domain, 42u);
  EXPECT_EQ(cfg->ipfix_mtu, 9000u);
  EXPECT_EQ(cfg->ipfix_template_refresh_sec, 5u);
  EXPECT_EQ(cfg->ipfix_pen, 32473u);
  EXPECT_EQ(cfg->ipfix_rate, 10000u);
  EXPECT_EQ(cfg->ipfix_spool_bytes, 256u << 20);
  EXPECT_TRUE(cfg->ipfix_uniflow);
}

TEST_F(IpfixFlagsTest, BadDestinations) {
  const std::string pcap = WritePcap("a.pcap");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"127.0.0.1:4739", ""},
      {"sctp://1.2.3.4:4739", ""},
      {"udp://1.2.3.4", ": no :PORT"},
      {"udp://:4739", ": no :PORT"},
      {"udp://1.2.3.4:0", ": the port must be 1..65535"},
      {"tcp://1.2.3.4:65536", ": the port must be 1..65535"},
      {"tcp://1.2.3.4:x", ": the port must be 1..65535"},
      {"udp://2001:db8::1:4739", ": an IPv6 address goes in brackets ([2001:db8::1]:4739)"},
      {"udp://[2001:db8::1:4739", ": unclosed ["},
      {"udp://[nope]:4739", ": not an IPv6 address in the brackets"},
      {"file:", ": the path is empty"},
  };
  for (const auto& [bad, why] : cases) {
    absl::StatusOr<Config> cfg = Load({"--pcap", pcap, "--ipfix", bad});
    ASSERT_FALSE(cfg.ok()) << bad;
    EXPECT_EQ(cfg.status().message(),
              "--ipfix: '" + bad + "' is not udp://HOST:PORT, tcp://HOST:PORT or file:PATH" + why);
  }
}

TEST_F(IpfixFlagsTest, Limits) {
  const std::string pcap = WritePcap("a.pcap");
  EXPECT_EQ(Load({"--pcap", pcap, "--ipfix-mtu", "1199"}).status().message(),
            "--ipfix-mtu: must be 1200..65507, got 1199");
  EXPECT_EQ(Load({"--pcap", pcap, "--ipfix-mtu", "65508"}).status().message(),
            "--ipfix-mtu: must be 1200..65507, got 65508");
  EXPECT_EQ(Load({"--pcap", pcap, "--ipfix-template-refresh", "0"}).status().message(),
            "--ipfix-template-refresh: must be 1..86400, got 0");
  EXPECT_EQ(Load({"--pcap", pcap, "--ipfix-spool-bytes", "64k"}).status().message(),
            "--ipfix-spool-bytes: must be >= 1M, got 65536");
  EXPECT_EQ(Load({"--pcap", pcap, "--ipfix-pen", "-1"}).status().message(),
            "--ipfix-pen: '-1' is not a whole number (a Private Enterprise Number)");
}

TEST_F(IpfixFlagsTest, YamlListOrSingleAndFlagsReplaceIt) {
  const std::string pcap = WritePcap("a.pcap");
  const std::string yaml =
      WriteFile("p.yaml", "input: { pcap: " + pcap +
                              " }\n"
                              "output:\n"
                              "  ipfix: [udp://10.0.0.1:4739, file:/tmp/a.ipfix]\n"
                              "  ipfix_domain: 7\n"
                              "  ipfix_mtu: 1500\n"
                              "  ipfix_template_refresh: 30\n"
                              "  ipfix_pen: 9\n"
                              "  ipfix_rate: 100\n"
                              "  ipfix_spool_bytes: 2M\n"
                              "  ipfix_uniflow: true\n");
  absl::StatusOr<Config> cfg = Load({"--config", yaml});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  ASSERT_EQ(cfg->ipfix.size(), 2u);
  EXPECT_EQ(cfg->ipfix[1].path, "/tmp/a.ipfix");
  EXPECT_EQ(cfg->ipfix_domain, 7u);
  EXPECT_EQ(cfg->ipfix_mtu, 1500u);
  EXPECT_EQ(cfg->ipfix_template_refresh_sec, 30u);
  EXPECT_EQ(cfg->ipfix_pen, 9u);
  EXPECT_EQ(cfg->ipfix_rate, 100u);
  EXPECT_EQ(cfg->ipfix_spool_bytes, 2u << 20);
  EXPECT_TRUE(cfg->ipfix_uniflow);
  cfg = Load({"--config", yaml, "--ipfix", "tcp://10.0.0.2:4739"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  ASSERT_EQ(cfg->ipfix.size(), 1u);
  EXPECT_EQ(cfg->ipfix[0].text, "tcp://10.0.0.2:4739");
  const std::string one =
      WriteFile("one.yaml", "input: { pcap: " + pcap + " }\noutput: { ipfix: file:/tmp/b }\n");
  cfg = Load({"--config", one});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  ASSERT_EQ(cfg->ipfix.size(), 1u);
  const std::string bad =
      WriteFile("bad.yaml", "input: { pcap: " + pcap + " }\noutput: { ipfix: [udp://1.2.3.4] }\n");
  EXPECT_EQ(Load({"--config", bad}).status().message(),
            bad +
                ": output.ipfix: 'udp://1.2.3.4' is not udp://HOST:PORT, tcp://HOST:PORT or "
                "file:PATH: no :PORT");
}

TEST(IpfixUsageTest, ListsTheFlags) {
  const std::string usage = UsageText();
  for (const char* flag :
       {"--ipfix DEST", "--ipfix-domain", "--ipfix-mtu", "--ipfix-template-refresh", "--ipfix-pen",
        "--ipfix-rate", "--ipfix-spool-bytes", "--ipfix-uniflow"}) {
    EXPECT_THAT(usage, ::testing::HasSubstr(flag));
  }
}

}  // namespace
}  // namespace skyprobe::testing
