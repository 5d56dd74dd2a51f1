// Tests for the EAL argv derived from a Config.

#include <unistd.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/config_internal.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/config/config_test_util.h"

namespace skyprobe::testing {
namespace {

using config_internal::EalArgumentsForCpus;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

Config PcapConfig() {
  Config cfg;
  cfg.pcap_files = {"/data/a.pcap", "/data/b.pcap"};
  return cfg;
}

TEST(EalArgumentsTest, PcapModeOnTwoCores) {
  EXPECT_THAT(EalArgumentsForCpus(PcapConfig(), "test", {0, 1}),
              ElementsAre("skyprobe", "--no-huge", "--no-pci", "--no-shconf", "--no-telemetry",
                          "-m", "728", "--file-prefix", "test", "--log-level=*:error", "-l", "0-1",
                          "--vdev=net_pcap0,rx_pcap=/data/a.pcap",
                          "--vdev=net_pcap1,rx_pcap=/data/b.pcap"));
}

TEST(EalArgumentsTest, OneCoreOversubscribes) {
  std::vector<std::string> args = EalArgumentsForCpus(PcapConfig(), "test", {3});
  EXPECT_THAT(args, Contains("--lcores"));
  EXPECT_THAT(args, Contains("0@3,1@3"));
  EXPECT_THAT(args, Not(Contains("-l")));
}

TEST(EalArgumentsTest, AffinityNotStartingAtZeroMapsLcoresOntoIt) {
  std::vector<std::string> args = EalArgumentsForCpus(PcapConfig(), "test", {2, 5});
  EXPECT_THAT(args, Contains("0@2,1@5"));
}

TEST(EalArgumentsTest, MemoryFollowsMaxFlows) {
  Config cfg = PcapConfig();
  cfg.max_flows = 1000;  // small table: the 256 MB floor
  EXPECT_THAT(EalArgumentsForCpus(cfg, "p", {0, 1}), Contains("256"));
  cfg.max_flows = 1u << 24;  // 16M flows * 600 B = 9600 MB, + 128
  EXPECT_THAT(EalArgumentsForCpus(cfg, "p", {0, 1}), Contains("9728"));
  cfg.max_flows = (1u << 20) + 1;  // rounds up: 601 MB + 128
  EXPECT_THAT(EalArgumentsForCpus(cfg, "p", {0, 1}), Contains("729"));
}

// A replay's memory counts the flows its files can hold (4 per 16 bytes of
// file), as its tables do; a live input keeps the whole --max-flows.
TEST(EalArgumentsTest, ReplayMemoryFollowsItsFiles) {
  const std::string path = ::testing::TempDir() + "/eal_args_replay.pcap";
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fseek(f, (1 << 20) - 1, SEEK_SET);  // 1 MiB: 262144 flows at most
    std::fputc(0, f);
    std::fclose(f);
  }
  Config cfg;
  cfg.pcap_files = {path};
  cfg.pcap_inputs = {PcapInput{path}};
  cfg.max_flows = 1u << 20;
  EXPECT_EQ(ReplayFlowBound(cfg), 262144u);
  // 262144 * 600 B = 150 MB, + 128.
  EXPECT_THAT(EalArgumentsForCpus(cfg, "p", {0, 1}), Contains("278"));
  cfg.workers = 2;  // a shard each: 300 MB + 128
  EXPECT_THAT(EalArgumentsForCpus(cfg, "p", {0, 1, 2}), Contains("428"));
  cfg.max_flows = 1000;  // --max-flows below the bound still rules: the floor
  EXPECT_THAT(EalArgumentsForCpus(cfg, "p", {0, 1, 2}), Contains("256"));
  cfg.max_flows = 1u << 20;
  cfg.workers = 1;
  cfg.ifaces = {"eth0"};  // live: the whole table
  EXPECT_EQ(ReplayFlowBound(cfg), 0u);
  EXPECT_THAT(EalArgumentsForCpus(cfg, "p", {0, 1}), Contains("728"));
  std::remove(path.c_str());
}

TEST(EalArgumentsTest, ApplicationMetadataAddsItsSlotsReferencesAndReaders) {
  Config cfg = PcapConfig();
  cfg.max_flows = 1u << 20;
  cfg.app_metadata = true;
  // 1M * 600 (table) + 256k * 544 (slots: a quarter of the flows) + 1M * 4
  // (references) + 1 * 1024 * 1408 (one worker's readers) = 741.4 MB -> 742 + 128.
  EXPECT_THAT(EalArgumentsForCpus(cfg, "p", {0, 1}), Contains("870"));
  cfg.app_metadata = false;
  cfg.extra_layers = 2;           // the extra layers alone need them too
  cfg.app_meta_flows = 1u << 20;  // every flow: 600 + 544 + 4 bytes, + 1.4 MB
  EXPECT_THAT(EalArgumentsForCpus(cfg, "p", {0, 1}), Contains("1278"));
  cfg.extra_layers = 0;
  EXPECT_THAT(EalArgumentsForCpus(cfg, "p", {0, 1}), Contains("728"));
}

TEST(EalArgumentsTest, DefaultPrefixIsPerProcess) {
  std::vector<std::string> args = EalArguments(PcapConfig());
  EXPECT_THAT(args, Contains("skyprobe-" + std::to_string(getpid())));
  EXPECT_EQ(args.front(), "skyprobe");
}

TEST(EalArgumentsTest, EalModeKeepsOperatorArgs) {
  Config cfg;
  cfg.eal_args = {"-l", "0-3", "-a", "0000:3b:00.0"};
  EXPECT_THAT(EalArgumentsForCpus(cfg, "ignored", {0, 1}),
              ElementsAre("skyprobe", "-l", "0-3", "-a", "0000:3b:00.0", "--no-telemetry",
                          "--log-level=*:error"));
}

TEST(EalArgumentsTest, EalModeRespectsOperatorTelemetryAndLogLevel) {
  Config cfg;
  cfg.eal_args = {"-l", "0-1", "--telemetry", "--log-level=pmd.net.pcap:debug"};
  EXPECT_THAT(
      EalArgumentsForCpus(cfg, "x", {0, 1}),
      ElementsAre("skyprobe", "-l", "0-1", "--telemetry", "--log-level=pmd.net.pcap:debug"));
  cfg.eal_args = {"--no-telemetry", "--log-level", "8"};
  EXPECT_THAT(EalArgumentsForCpus(cfg, "x", {0, 1}),
              ElementsAre("skyprobe", "--no-telemetry", "--log-level", "8"));
}

TEST(EalArgumentsTest, EalModeAddsPcapVdevsAvoidingTakenNames) {
  Config cfg;
  cfg.eal_args = {"-l", "0-1", "--vdev=net_pcap0,iface=eth0"};
  cfg.pcap_files = {"/data/a.pcap"};
  EXPECT_THAT(EalArgumentsForCpus(cfg, "x", {0, 1}),
              ElementsAre("skyprobe", "-l", "0-1", "--vdev=net_pcap0,iface=eth0", "--no-telemetry",
                          "--log-level=*:error", "--vdev=net_pcap1,rx_pcap=/data/a.pcap"));
}

class EalFromFlagsTest : public ConfigTest {};

TEST_F(EalFromFlagsTest, LoadedConfigGivesVdevPerPcap) {
  const std::string a = WritePcap("a.pcap");
  absl::StatusOr<Config> cfg = Load({"--pcap", a, "--max-flows", "1k"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  std::vector<std::string> args = EalArguments(*cfg, "fixed");
  EXPECT_THAT(args, Contains("--vdev=net_pcap0,rx_pcap=" + a));
  EXPECT_THAT(args, Contains("fixed"));
  EXPECT_THAT(args, Contains("--no-huge"));
}

}  // namespace
}  // namespace skyprobe::testing

namespace skyprobe::config_internal {
namespace {

// The --lcores value of `cfg`'s EAL arguments on CPUs 0 and 1 ("" without one).
std::string LcoresOnTwoCpus(const Config& cfg) {
  const std::vector<std::string> args = EalArgumentsForCpus(cfg, "t", {0, 1});
  const auto it = std::find(args.begin(), args.end(), "--lcores");
  return it == args.end() || it + 1 == args.end() ? "" : *(it + 1);
}

TEST(EalLcoresTest, WorkersAndDispatcherGetLcoresOversubscribedOnTwoCpus) {
  Config cfg;
  cfg.pcap_files = {"/data/a.pcap"};
  cfg.workers = 4;  // one port, one queue read by net_pcap: a dispatcher is needed
  cfg.pcap_reader = PcapReader::kNetPcap;
  EXPECT_FALSE(FileSharesPlanned(cfg));
  EXPECT_TRUE(NeedsDispatcher(cfg, 1));
  EXPECT_EQ(PcapLcoreCount(cfg), 6u);
  EXPECT_EQ(LcoresOnTwoCpus(cfg), "0@0,1@1,2@0,3@1,4@0,5@1");
}

TEST(EalLcoresTest, OneMappedFileIsReadInSharesWithoutADispatcher) {
  Config cfg;
  cfg.pcap_files = {"/data/a.pcap"};
  cfg.workers = 4;  // the mapped reader (the default): each worker reads the file
  EXPECT_TRUE(FileSharesPlanned(cfg));
  EXPECT_FALSE(NeedsDispatcher(cfg, 1));
  EXPECT_EQ(PcapLcoreCount(cfg), 5u);
  EXPECT_EQ(LcoresOnTwoCpus(cfg), "0@0,1@1,2@0,3@1,4@0");
  // Not with pacing (the dispatcher paces), several files, or when asked.
  cfg.pcap_rate = 1000;
  EXPECT_FALSE(FileSharesPlanned(cfg));
  cfg.pcap_rate = 0;
  cfg.pcap_files.push_back("/data/b.pcap");
  EXPECT_FALSE(FileSharesPlanned(cfg));
  cfg.pcap_files.pop_back();
  cfg.distribution = Distribution::kDispatch;
  EXPECT_FALSE(FileSharesPlanned(cfg));
  EXPECT_TRUE(NeedsDispatcher(cfg, 1));
}

TEST(EalLcoresTest, AutoWorkersReadALargeFileInSharesOnTheCpusControlLeaves) {
  // A sparse file: its size is what counts, not its pages.
  const std::string big = ::testing::TempDir() + "/auto_share_big.pcap";
  const std::string small = ::testing::TempDir() + "/auto_share_small.pcap";
  for (const auto& [path, size] : {std::pair{big, kAutoShareMinBytes}, {small, uint64_t{4096}}}) {
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(ftruncate(fileno(f), static_cast<off_t>(size)), 0);
    std::fclose(f);
  }
  Config cfg;
  cfg.pcap_files = {big};
  EXPECT_EQ(AutoShareWorkers(cfg, 3), 2u) << "a CPU for control, one per worker";
  EXPECT_EQ(AutoShareWorkers(cfg, 64), kAutoShareMaxWorkers);
  EXPECT_EQ(AutoShareWorkers(cfg, 2), 0u) << "two CPUs: one worker, control beside it";
  EXPECT_EQ(AutoShareWorkers(cfg, 1), 0u) << "one CPU: one worker";
  cfg.workers = 1;
  EXPECT_EQ(AutoShareWorkers(cfg, 4), 0u) << "asked for";
  cfg.workers = 0;
  cfg.pcap_realtime = true;
  EXPECT_EQ(AutoShareWorkers(cfg, 4), 0u) << "paced: the dispatcher paces";
  cfg.pcap_realtime = false;
  cfg.pcap_reader = PcapReader::kNetPcap;
  EXPECT_EQ(AutoShareWorkers(cfg, 4), 0u) << "net_pcap cannot be shared";
  cfg.pcap_reader = PcapReader::kMapped;
  cfg.pcap_files = {small};
  EXPECT_EQ(AutoShareWorkers(cfg, 4), 0u) << "a small file is over before a worker starts";
  std::remove(big.c_str());
  std::remove(small.c_str());
}

TEST(EalLcoresTest, OneQueuePerWorkerNeedsNoDispatcher) {
  Config cfg;
  cfg.pcap_files = {"/a.pcap", "/b.pcap"};
  cfg.pcap_queues = true;
  cfg.workers = 2;
  EXPECT_FALSE(NeedsDispatcher(cfg, 2));
  EXPECT_EQ(PcapLcoreCount(cfg), 3u);
  const std::vector<std::string> args = EalArgumentsForCpus(cfg, "t", {0, 1, 2, 3});
  EXPECT_NE(std::find(args.begin(), args.end(), "0-2"), args.end());
  EXPECT_NE(std::find(args.begin(), args.end(), "--vdev=net_pcap0,rx_pcap=/a.pcap,rx_pcap=/b.pcap"),
            args.end());
  cfg.distribution = Distribution::kDispatch;
  EXPECT_TRUE(NeedsDispatcher(cfg, 2));
}

}  // namespace
}  // namespace skyprobe::config_internal
