// TCP tracker settings: --tcp-stream-metrics / --tcp-health (and their --no-
// forms), their YAML keys and defaults, and the EAL memory they add.

#include <string>
#include <vector>

#include "config/config.h"
#include "config/config_internal.h"
#include "gtest/gtest.h"
#include "tests/unit/config/config_test_util.h"

namespace skyprobe::testing {
namespace {

using TcpFlagsTest = ConfigTest;

// The value of "-m" in the EAL arguments of a pcap run.
uint64_t EalMegabytes(const Config& cfg) {
  const std::vector<std::string> args = config_internal::EalArgumentsForCpus(cfg, "p", {0, 1});
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "-m") return std::stoull(args[i + 1]);
  }
  return 0;
}

TEST_F(TcpFlagsTest, OffByDefault) {
  absl::StatusOr<Config> cfg = Load({"--pcap", WritePcap("a.pcap")});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_FALSE(cfg->tcp_stream_metrics);
  EXPECT_FALSE(cfg->tcp_health);
}

TEST_F(TcpFlagsTest, FlagsAndTheLastOneWins) {
  absl::StatusOr<Config> cfg =
      Load({"--pcap", WritePcap("a.pcap"), "--tcp-stream-metrics", "--tcp-health"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->tcp_stream_metrics);
  EXPECT_TRUE(cfg->tcp_health);
  cfg = Load({"--pcap", WritePcap("b.pcap"), "--tcp-health", "--no-tcp-health",
              "--tcp-stream-metrics=false"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_FALSE(cfg->tcp_stream_metrics);
  EXPECT_FALSE(cfg->tcp_health);
}

TEST_F(TcpFlagsTest, Yaml) {
  absl::StatusOr<Config> cfg =
      ParseYamlConfig("input: { pcap: '" + WritePcap("a.pcap") +
                          "' }\nflow: { tcp_stream_metrics: true, tcp_health: false }\n",
                      Config{}, "c.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->tcp_stream_metrics);
  EXPECT_FALSE(cfg->tcp_health);
}

TEST_F(TcpFlagsTest, EachTrackerAdds192BytesPerFlowToEalMemory) {
  absl::StatusOr<Config> cfg = Load({"--pcap", WritePcap("a.pcap"), "--max-flows", "4M"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  cfg->ifaces = {"eth0"};  // live: the whole --max-flows counts (a replay counts its files)
  const uint64_t base = EalMegabytes(*cfg);
  cfg->tcp_health = true;
  EXPECT_EQ(EalMegabytes(*cfg), base + 4 * 192);
  cfg->tcp_stream_metrics = true;
  EXPECT_EQ(EalMegabytes(*cfg), base + 2 * 4 * 192);
}

}  // namespace
}  // namespace skyprobe::testing
