// --iface (live capture on AF_PACKET) and replay pacing (--pcap-rate, --pcap-realtime,
// --pcap-speed): flags, YAML keys, checks and the EAL arguments they lead to.

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
using config_internal::PcapLcoreCount;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// "lo" exists in every network namespace, containers included.
constexpr char kLoopback[] = "lo";

class LiveFlagsTest : public ConfigTest {};

TEST_F(LiveFlagsTest, IfaceIsEnoughInputAndRepeats) {
  absl::StatusOr<Config> cfg = Load({"--iface", kLoopback, "--iface=lo"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->ifaces, ElementsAre("lo", "lo"));
  EXPECT_TRUE(cfg->pcap_files.empty());
}

TEST_F(LiveFlagsTest, MissingInterfaceIsNotFoundInOneLine) {
  absl::StatusOr<Config> cfg = Load({"--iface", "veth9nosuch"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(cfg.status().message(), "--iface veth9nosuch: no such interface");
}

TEST_F(LiveFlagsTest, BadInterfaceNames) {
  for (const char* name : {"a=b", "averyveryverylongname"}) {
    absl::StatusOr<Config> cfg = Load({"--iface", name});
    ASSERT_FALSE(cfg.ok()) << name;
    EXPECT_THAT(std::string(cfg.status().message()), HasSubstr("not an interface name"));
  }
  EXPECT_EQ(Load({"--iface="}).status().message(), "--iface: empty interface name");
  EXPECT_THAT(std::string(Load({"--iface", "a,b"}).status().message()),
              HasSubstr("--iface: 'b' after 'a' is not KEY=VALUE"));
}

TEST_F(LiveFlagsTest, IfaceAndPcapAreNotMixed) {
  absl::StatusOr<Config> cfg = Load({"--iface", kLoopback, "--pcap", WritePcap("a.pcap")});
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(std::string(cfg.status().message()), HasSubstr("cannot be combined with --pcap"));
}

TEST_F(LiveFlagsTest, YamlListOrSingleNameAndFlagsReplaceIt) {
  absl::StatusOr<Config> cfg = ParseYamlConfig("input: { iface: [lo, lo] }", Config());
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->ifaces, ElementsAre("lo", "lo"));
  cfg = ParseYamlConfig("input:\n  iface: lo\n", Config());
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->ifaces, ElementsAre("lo"));
  cfg = ParseYamlConfig("input: { iface: nosuch0x }", Config(), "p.yaml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message(), "p.yaml: input.iface: nosuch0x: no such interface");

  const std::string path = WriteFile("c.yaml", "input: { iface: [nosuch0x, nosuch1x] }\n");
  cfg = Load({"--config", path, "--iface", kLoopback});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->ifaces, ElementsAre("lo"));
}

TEST_F(LiveFlagsTest, IfaceTimeFlagAndYamlKey) {
  absl::StatusOr<Config> cfg = Load({"--iface", kLoopback});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->iface_time, IfaceTime::kKernel);
  cfg = Load({"--iface", kLoopback, "--iface-time", "burst"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->iface_time, IfaceTime::kBurst);
  cfg = ParseYamlConfig("input: { iface: lo, iface_time: burst }", Config());
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->iface_time, IfaceTime::kBurst);
  cfg = Load({"--iface", kLoopback, "--iface-time", "nic"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(std::string(cfg.status().message()), HasSubstr("--iface-time"));
}

// --iface-time kernel (the default): net_pcap's live mode, one queue per
// interface, so several workers take their frames from the dispatcher.
TEST_F(LiveFlagsTest, EalArgumentsOpenPcapLiveModeForKernelTime) {
  Config cfg;
  cfg.ifaces = {"eth1", "eth2"};
  EXPECT_EQ(AfPacketQueues(cfg), 1);
  std::vector<std::string> args = EalArgumentsForCpus(cfg, "t", {0, 1});
  EXPECT_THAT(args, Contains("--vdev=net_pcap_iface0,rx_iface=eth1"));
  EXPECT_THAT(args, Contains("--vdev=net_pcap_iface1,rx_iface=eth2"));
  EXPECT_THAT(args, Contains("0-1"));
  EXPECT_FALSE(NeedsDispatcher(cfg, 0));

  cfg.workers = 2;
  EXPECT_EQ(AfPacketQueues(cfg), 1);
  EXPECT_TRUE(NeedsDispatcher(cfg, 0));
  EXPECT_EQ(PcapLcoreCount(cfg), 4u);
  args = EalArgumentsForCpus(cfg, "t", {0, 1, 2, 3});
  EXPECT_THAT(args, Contains("--vdev=net_pcap_iface0,rx_iface=eth1"));
  EXPECT_THAT(args, Contains("0-3"));
}

TEST_F(LiveFlagsTest, EalArgumentsOpenAfPacketWithAQueuePerWorker) {
  Config cfg;
  cfg.ifaces = {"eth1", "eth2"};
  cfg.iface_time = IfaceTime::kBurst;
  EXPECT_EQ(AfPacketQueues(cfg), 1);
  std::vector<std::string> args = EalArgumentsForCpus(cfg, "t", {0, 1});
  EXPECT_THAT(args, Contains("--vdev=net_af_packet0,iface=eth1,qpairs=1,framesz=2048,"
                             "framecnt=4096"));
  EXPECT_THAT(args, Contains("--vdev=net_af_packet1,iface=eth2,qpairs=1,framesz=2048,"
                             "framecnt=4096"));
  EXPECT_THAT(args, Contains("0-1"));

  // rss over the kernel's fanout: a socket per worker and no dispatcher lcore.
  cfg.workers = 2;
  EXPECT_FALSE(NeedsDispatcher(cfg, 0));
  EXPECT_EQ(PcapLcoreCount(cfg), 3u);
  args = EalArgumentsForCpus(cfg, "t", {0, 1, 2});
  EXPECT_THAT(args, Contains("--vdev=net_af_packet0,iface=eth1,qpairs=2,framesz=2048,"
                             "framecnt=4096"));
  EXPECT_THAT(args, Contains("0-2"));

  // dispatch: one socket, read by the dispatcher lcore.
  cfg.distribution = Distribution::kDispatch;
  EXPECT_TRUE(NeedsDispatcher(cfg, 0));
  EXPECT_EQ(PcapLcoreCount(cfg), 4u);
  EXPECT_THAT(EalArgumentsForCpus(cfg, "t", {0, 1, 2, 3}),
              Contains("--vdev=net_af_packet0,iface=eth1,qpairs=1,framesz=2048,"
                       "framecnt=4096"));
}

TEST_F(LiveFlagsTest, OperatorNamedVdevsAreSkipped) {
  Config cfg;
  cfg.ifaces = {"eth1"};
  cfg.iface_time = IfaceTime::kBurst;
  cfg.eal_args = {"-l", "0-1", "--vdev=net_af_packet0,iface=eth0"};
  EXPECT_THAT(EalArgumentsForCpus(cfg, "t", {0, 1}),
              Contains("--vdev=net_af_packet1,iface=eth1,qpairs=1,framesz=2048,"
                       "framecnt=4096"));
}

class PacingFlagsTest : public ConfigTest {};

TEST_F(PacingFlagsTest, DefaultsAreUnpaced) {
  absl::StatusOr<Config> cfg = Load({"--pcap", WritePcap("a.pcap")});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->pcap_rate, 0u);
  EXPECT_FALSE(cfg->pcap_realtime);
  EXPECT_EQ(cfg->pcap_speed, 1.0);
}

TEST_F(PacingFlagsTest, FlagsAndYamlKeys) {
  const std::string pcap = WritePcap("a.pcap");
  absl::StatusOr<Config> cfg = Load({"--pcap", pcap, "--pcap-rate", "200"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->pcap_rate, 200u);
  cfg = Load({"--pcap", pcap, "--pcap-realtime", "--pcap-speed=100"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->pcap_realtime);
  EXPECT_EQ(cfg->pcap_speed, 100.0);
  cfg = ParseYamlConfig("input: { pcap: " + pcap + ", pcap_realtime: yes, pcap_speed: 0.5 }",
                        Config());
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->pcap_realtime);
  EXPECT_EQ(cfg->pcap_speed, 0.5);
  cfg = ParseYamlConfig("input: { pcap: " + pcap + ", pcap_rate: 1000 }", Config());
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->pcap_rate, 1000u);
}

TEST_F(PacingFlagsTest, ErrorMessages) {
  const std::string pcap = WritePcap("a.pcap");
  const struct {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{"--pcap", pcap, "--pcap-rate", "0"}, "--pcap-rate: must be > 0, got 0"},
      {{"--pcap", pcap, "--pcap-rate", "-5"},
       "--pcap-rate: '-5' is not a whole number of packets per second"},
      {{"--pcap", pcap, "--pcap-rate", "10", "--pcap-realtime"},
       "--pcap-rate and --pcap-realtime: choose one pace"},
      {{"--pcap", pcap, "--pcap-speed", "2"}, "--pcap-speed: needs --pcap-realtime"},
      {{"--pcap", pcap, "--pcap-realtime", "--pcap-speed", "0"},
       "--pcap-speed: must be > 0, got 0"},
      {{"--pcap", pcap, "--pcap-realtime", "--pcap-speed", "-1"},
       "--pcap-speed: must be > 0, got -1"},
      {{"--pcap", pcap, "--pcap-realtime", "--pcap-speed", "fast"},
       "--pcap-speed: 'fast' is not a number"},
      {{"--pcap", pcap, "--pcap-realtime", "--pcap-speed", "nan"},
       "--pcap-speed: 'nan' is not a number"},
      {{"--iface", kLoopback, "--pcap-rate", "10"},
       "--pcap-rate: paces a replay, needs --pcap files"},
      {{"--iface", kLoopback, "--pcap-realtime"},
       "--pcap-realtime: paces a replay, needs --pcap files"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<Config> cfg = Load(c.args);
    ASSERT_FALSE(cfg.ok()) << c.message;
    EXPECT_EQ(cfg.status().message(), c.message);
  }
  absl::StatusOr<Config> cfg =
      ParseYamlConfig("input: { pcap: " + pcap + ", pcap_rate: 0 }", Config(), "p.yaml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message(), "p.yaml: input.pcap_rate: must be > 0, got 0");
}

TEST(LivePacingUsageTest, UsageListsTheFlags) {
  const std::string usage = UsageText();
  for (const char* flag : {"--iface NAME", "--pcap-rate N", "--pcap-realtime", "--pcap-speed X"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace skyprobe::testing
