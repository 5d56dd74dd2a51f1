// Tests for LoadConfig's command-line parsing: defaults, every flag, both value forms, and
// the messages users see for mistakes.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/config/config_test_util.h"

namespace skyprobe::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FlagsTest : public ConfigTest {};

TEST_F(FlagsTest, DefaultsWithOnlyAPcap) {
  const std::string pcap = WritePcap("a.pcap");
  absl::StatusOr<Config> cfg = Load({"--pcap", pcap});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->pcap_files, ElementsAre(pcap));
  EXPECT_TRUE(cfg->eal_args.empty());
  EXPECT_FALSE(cfg->link_type_override_set);
  EXPECT_EQ(cfg->json_path, "");
  EXPECT_EQ(cfg->update_sec, 60u);
  EXPECT_EQ(cfg->expire_sec, 600u);
  EXPECT_EQ(cfg->tcp_close_hold_ms, 2000u);
  EXPECT_EQ(cfg->timer_tick_ms, 100u);
  EXPECT_EQ(cfg->key_mode, KeyMode::kL2);
  EXPECT_EQ(cfg->node_tid, "");
  EXPECT_EQ(cfg->max_flows, 1048576u);
  EXPECT_EQ(cfg->overload, OverloadPolicy::kEvictOldest);
  EXPECT_EQ(cfg->capture_length, 256u);
  EXPECT_TRUE(cfg->community_id);
  EXPECT_EQ(cfg->community_id_seed, 0);
  EXPECT_EQ(cfg->ring_size, 4096u);
  EXPECT_EQ(cfg->stats_interval_sec, 0u);
  EXPECT_FALSE(cfg->quiet);
  EXPECT_TRUE(cfg->progress);
  EXPECT_FALSE(cfg->help);
  EXPECT_FALSE(cfg->version);
}

// --no-progress turns the terminal's progress line off; --progress=false too.
TEST_F(FlagsTest, Progress) {
  const std::string pcap = WritePcap("p.pcap");
  for (const char* off : {"--no-progress", "--progress=false"}) {
    absl::StatusOr<Config> cfg = Load({"--pcap", pcap, off});
    ASSERT_TRUE(cfg.ok()) << cfg.status();
    EXPECT_FALSE(cfg->progress) << off;
  }
  absl::StatusOr<Config> cfg = Load({"--pcap", pcap, "--no-progress", "--progress"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->progress);
}

// --check: the configuration is still loaded and validated (main then checks the
// machine for it instead of running); it takes no value.
TEST_F(FlagsTest, Check) {
  const std::string pcap = WritePcap("c.pcap");
  absl::StatusOr<Config> cfg = Load({"--pcap", pcap});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_FALSE(cfg->check);
  cfg = Load({"--check", "--pcap", pcap, "--workers", "2"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->check);
  EXPECT_EQ(cfg->workers, 2u);
  EXPECT_FALSE(Load({"--check", "--pcap", pcap, "--expire", "abc"}).ok());
  cfg = Load({"--check=yes", "--pcap", pcap});
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(std::string(cfg.status().message()), ::testing::HasSubstr("--check: takes no value"));
}

// --hash-seed: off (a random secret) unless given; any 64-bit number.
TEST_F(FlagsTest, HashSeed) {
  const std::string pcap = WritePcap("h.pcap");
  absl::StatusOr<Config> cfg = Load({"--pcap", pcap});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_FALSE(cfg->hash_seed_set);
  cfg = Load({"--pcap", pcap, "--hash-seed", "18446744073709551615"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->hash_seed_set);
  EXPECT_EQ(cfg->hash_seed, 18446744073709551615ull);
  cfg = Load({"--pcap", pcap, "--hash-seed=0"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->hash_seed_set);
  EXPECT_EQ(cfg->hash_seed, 0u);
  EXPECT_EQ(Load({"--pcap", pcap, "--hash-seed", "-1"}).status().message(),
            "--hash-seed: '-1' is not a whole number");
  EXPECT_THAT(
      std::string(Load({"--pcap", pcap, "--hash-seed", "18446744073709551616"}).status().message()),
      HasSubstr("--hash-seed: '18446744073709551616'"));
  cfg = ParseYamlConfig("input: { pcap: " + pcap + " }\nflow: { hash_seed: 42 }\n", Config());
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->hash_seed_set);
  EXPECT_EQ(cfg->hash_seed, 42u);
}

TEST_F(FlagsTest, RecordsLinkTypeAndSnaplenOfEachPcap) {
  const std::string a = WritePcap("a.pcap", DLT_EN10MB, 65535);
  const std::string b = WritePcap("b.pcap", DLT_LINUX_SLL, 1500);
  absl::StatusOr<Config> cfg = Load({"--pcap", a, "--pcap=" + b});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  ASSERT_EQ(cfg->pcap_inputs.size(), 2u);
  EXPECT_EQ(cfg->pcap_inputs[0].path, a);
  EXPECT_EQ(cfg->pcap_inputs[0].link_type, 1u);
  EXPECT_EQ(cfg->pcap_inputs[0].file_link_type, 1u);
  EXPECT_EQ(cfg->pcap_inputs[0].snaplen, 65535u);
  EXPECT_EQ(cfg->pcap_inputs[1].path, b);
  EXPECT_EQ(cfg->pcap_inputs[1].link_type, 113u);
  EXPECT_EQ(cfg->pcap_inputs[1].snaplen, 1500u);
}

TEST_F(FlagsTest, EveryFlagInBothForms) {
  const std::string pcap = WritePcap("a.pcap");
  for (bool inline_form : {false, true}) {
    SCOPED_TRACE(inline_form ? "--flag=value" : "--flag value");
    const std::vector<std::pair<std::string, std::string>> flags = {
        {"pcap", pcap},
        {"eal", "-l 0-1  -a 0000:3b:00.0"},
        {"link-type", "IPV4"},
        {"json", "-"},
        {"update", "5"},
        {"expire", "30"},
        {"tcp-close-hold-ms", "500"},
        {"timer-tick-ms", "10"},
        {"key-mode", "l3"},
        {"node-tid", "probe-1"},
        {"max-flows", "64k"},
        {"overload", "drop-new"},
        {"capture-length", "128"},
        {"community-id-seed", "7"},
        {"ring-size", "1024"},
        {"stats-interval", "10"},
    };
    std::vector<std::string> args;
    for (const auto& [flag, value] : flags) {
      if (inline_form) {
        args.push_back("--" + flag + "=" + value);
      } else {
        args.push_back("--" + flag);
        args.push_back(value);
      }
    }
    args.push_back("--no-community-id");
    args.push_back("--quiet");
    absl::StatusOr<Config> cfg = Load(args);
    ASSERT_TRUE(cfg.ok()) << cfg.status();
    EXPECT_THAT(cfg->pcap_files, ElementsAre(pcap));
    EXPECT_THAT(cfg->eal_args, ElementsAre("-l", "0-1", "-a", "0000:3b:00.0"));
    EXPECT_TRUE(cfg->link_type_override_set);
    EXPECT_EQ(cfg->link_type_override, 228u);
    EXPECT_EQ(cfg->pcap_inputs.at(0).link_type, 228u);
    EXPECT_EQ(cfg->pcap_inputs.at(0).file_link_type, 1u);
    EXPECT_EQ(cfg->json_path, "-");
    EXPECT_EQ(cfg->update_sec, 5u);
    EXPECT_EQ(cfg->expire_sec, 30u);
    EXPECT_EQ(cfg->tcp_close_hold_ms, 500u);
    EXPECT_EQ(cfg->timer_tick_ms, 10u);
    EXPECT_EQ(cfg->key_mode, KeyMode::kL3);
    EXPECT_EQ(cfg->node_tid, "probe-1");
    EXPECT_EQ(cfg->max_flows, 65536u);
    EXPECT_EQ(cfg->overload, OverloadPolicy::kDropNew);
    EXPECT_EQ(cfg->capture_length, 128u);
    EXPECT_FALSE(cfg->community_id);
    EXPECT_EQ(cfg->community_id_seed, 7);
    EXPECT_EQ(cfg->ring_size, 1024u);
    EXPECT_EQ(cfg->stats_interval_sec, 10u);
    EXPECT_TRUE(cfg->quiet);
  }
}

TEST_F(FlagsTest, LastOfRepeatedFlagWinsAndSwitchesToggle) {
  const std::string pcap = WritePcap("a.pcap");
  absl::StatusOr<Config> cfg =
      Load({"--pcap", pcap, "--expire", "5", "--expire=7", "--no-community-id", "--community-id"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->expire_sec, 7u);
  EXPECT_TRUE(cfg->community_id);
}

TEST_F(FlagsTest, MaxFlowsSuffixesAreBinary) {
  const std::string pcap = WritePcap("a.pcap");
  absl::StatusOr<Config> cfg = Load({"--pcap", pcap, "--max-flows", "2M"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->max_flows, 2u << 20);
  cfg = Load({"--pcap", pcap, "--max-flows", "1000"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->max_flows, 1000u);
}

TEST_F(FlagsTest, CaptureLengthZeroMeansDefault) {
  const std::string pcap = WritePcap("a.pcap");
  absl::StatusOr<Config> cfg = Load({"--pcap", pcap, "--capture-length", "0"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->capture_length, 256u);
}

TEST_F(FlagsTest, LinkTypeNamesAndNumbers) {
  const std::string pcap = WritePcap("a.pcap");
  const std::vector<std::pair<std::string, uint32_t>> cases = {
      {"EN10MB", 1}, {"ethernet", 1},    {"1", 1},          {"RAW", 12},          {"12", 12},
      {"101", 101},  {"LINUX_SLL", 113}, {"113", 113},      {"ipv4", 228},        {"IPV6", 229},
      {"NULL", 0},   {"0", 0},           {"DLT_EN10MB", 1}, {"LINKTYPE_RAW", 12},
  };
  for (const auto& [name, dlt] : cases) {
    absl::StatusOr<Config> cfg = Load({"--pcap", pcap, "--link-type", name});
    ASSERT_TRUE(cfg.ok()) << name << ": " << cfg.status();
    EXPECT_TRUE(cfg->link_type_override_set) << name;
    EXPECT_EQ(cfg->link_type_override, dlt) << name;
    EXPECT_EQ(cfg->pcap_inputs.at(0).link_type, dlt) << name;
  }
}

TEST_F(FlagsTest, EalAloneIsEnoughInput) {
  absl::StatusOr<Config> cfg = Load({"--eal", "-l 0-1 -a 0000:3b:00.0"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->pcap_files.empty());
  EXPECT_THAT(cfg->eal_args, ElementsAre("-l", "0-1", "-a", "0000:3b:00.0"));
}

TEST_F(FlagsTest, EalValueMayStartWithDashes) {
  absl::StatusOr<Config> cfg = Load({"--eal", "--no-huge -l 0-1", "--quiet"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->eal_args, ElementsAre("--no-huge", "-l", "0-1"));
  EXPECT_TRUE(cfg->quiet);
}

TEST_F(FlagsTest, HelpAndVersionNeedNoInput) {
  for (const char* flag : {"--help", "-h"}) {
    absl::StatusOr<Config> cfg = Load({"--expire", "abc", flag});
    ASSERT_TRUE(cfg.ok()) << cfg.status();
    EXPECT_TRUE(cfg->help);
  }
  absl::StatusOr<Config> cfg = Load({"--version"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->version);
  EXPECT_FALSE(cfg->help);
  EXPECT_THAT(VersionText(), HasSubstr("skyprobe "));
}

// Error paths: the message names the flag and the bad value, on one line.
struct ErrorCase {
  std::vector<std::string> args;  // "PCAP" is replaced by a valid pcap file
  absl::StatusCode code;
  std::string message;  // exact
};

TEST_F(FlagsTest, ErrorMessages) {
  const std::string pcap = WritePcap("a.pcap");
  const std::vector<ErrorCase> cases = {
      {{"--expire", "abc"},
       absl::StatusCode::kInvalidArgument,
       "--expire: 'abc' is not a whole number of seconds"},
      {{"--expire=-5"},
       absl::StatusCode::kInvalidArgument,
       "--expire: '-5' is not a whole number of seconds"},
      {{"--expire", "0"}, absl::StatusCode::kInvalidArgument, "--expire: must be >= 1, got 0"},
      {{"--update", "0"}, absl::StatusCode::kInvalidArgument, "--update: must be >= 1, got 0"},
      {{"--update", "99999999999"},
       absl::StatusCode::kInvalidArgument,
       "--update: '99999999999' is too large (max 4294967295)"},
      {{"--tcp-close-hold-ms", "1.5"},
       absl::StatusCode::kInvalidArgument,
       "--tcp-close-hold-ms: '1.5' is not a whole number of milliseconds"},
      {{"--timer-tick-ms", "0"},
       absl::StatusCode::kInvalidArgument,
       "--timer-tick-ms: must be 1..10000, got 0"},
      {{"--timer-tick-ms", "10001"},
       absl::StatusCode::kInvalidArgument,
       "--timer-tick-ms: must be 1..10000, got 10001"},
      {{"--key-mode", "L4"},
       absl::StatusCode::kInvalidArgument,
       "--key-mode: 'L4' is not L2 or L3"},
      {{"--max-flows", "0"},
       absl::StatusCode::kInvalidArgument,
       "--max-flows: must be 1..268435456 (256M), got 0"},
      {{"--max-flows", "512M"},
       absl::StatusCode::kInvalidArgument,
       "--max-flows: must be 1..268435456 (256M), got 536870912"},
      {{"--max-flows", "8G"},
       absl::StatusCode::kInvalidArgument,
       "--max-flows: '8G' is not a whole number (suffixes k and M allowed)"},
      {{"--overload", "drop"},
       absl::StatusCode::kInvalidArgument,
       "--overload: 'drop' is not drop-new or evict-oldest"},
      {{"--capture-length", "13"},
       absl::StatusCode::kInvalidArgument,
       "--capture-length: must be 0 (default) or 14..4096, got 13"},
      {{"--capture-length", "4097"},
       absl::StatusCode::kInvalidArgument,
       "--capture-length: must be 0 (default) or 14..4096, got 4097"},
      {{"--community-id-seed", "65536"},
       absl::StatusCode::kInvalidArgument,
       "--community-id-seed: '65536' is too large (max 65535)"},
      {{"--ring-size", "100"},
       absl::StatusCode::kInvalidArgument,
       "--ring-size: must be a power of two in 64..1048576, got 100"},
      {{"--ring-size", "32"},
       absl::StatusCode::kInvalidArgument,
       "--ring-size: must be a power of two in 64..1048576, got 32"},
      {{"--ring-size", "2M"},
       absl::StatusCode::kInvalidArgument,
       "--ring-size: must be a power of two in 64..1048576, got 2097152"},
      {{"--stats-interval", "x"},
       absl::StatusCode::kInvalidArgument,
       "--stats-interval: 'x' is not a whole number of seconds"},
      {{"--quiet=maybe"},
       absl::StatusCode::kInvalidArgument,
       "--quiet: 'maybe' is not true or false"},
      {{"--no-community-id=1"},
       absl::StatusCode::kInvalidArgument,
       "--no-community-id: takes no value"},
      {{"--json", ""},
       absl::StatusCode::kInvalidArgument,
       "--json: empty path (give a file, or - for stdout)"},
      {{"--expirre", "5"},
       absl::StatusCode::kInvalidArgument,
       "unknown flag --expirre (did you mean --expire?); see --help"},
      {{"--expirre=5"},
       absl::StatusCode::kInvalidArgument,
       "unknown flag --expirre (did you mean --expire?); see --help"},
      {{"-expire", "5"},
       absl::StatusCode::kInvalidArgument,
       "unknown flag -expire (did you mean --expire?); see --help"},
      {{"--frobnicate"},
       absl::StatusCode::kInvalidArgument,
       "unknown flag --frobnicate; see --help"},
      {{"stray.pcap"},
       absl::StatusCode::kInvalidArgument,
       "unexpected argument 'stray.pcap' (pcap files go after --pcap)"},
      {{"--expire"}, absl::StatusCode::kInvalidArgument, "--expire: missing value"},
      {{"--json", "--quiet"}, absl::StatusCode::kInvalidArgument, "--json: missing value"},
      {{"--link-type", "IEEE802_11"},
       absl::StatusCode::kInvalidArgument,
       "--link-type: unsupported link type 'IEEE802_11'; supported: NULL (0), EN10MB (1), "
       "RAW (12), RAW (101), LINUX_SLL (113), IPV4 (228), IPV6 (229)"},
      {{"--link-type", "105"},
       absl::StatusCode::kInvalidArgument,
       "--link-type: unsupported link type '105'; supported: NULL (0), EN10MB (1), "
       "RAW (12), RAW (101), LINUX_SLL (113), IPV4 (228), IPV6 (229)"},
      {{"--eal", "  "}, absl::StatusCode::kInvalidArgument, "--eal: no EAL arguments given"},
      {{"--config", "/nonexistent/skyprobe.yaml"},
       absl::StatusCode::kNotFound,
       "--config /nonexistent/skyprobe.yaml: cannot open: No such file or directory"},
  };
  for (const ErrorCase& c : cases) {
    std::vector<std::string> args = {"--pcap", pcap};
    args.insert(args.end(), c.args.begin(), c.args.end());
    absl::StatusOr<Config> cfg = Load(args);
    ASSERT_FALSE(cfg.ok()) << c.message;
    EXPECT_EQ(cfg.status().code(), c.code) << c.message;
    EXPECT_EQ(cfg.status().message(), c.message);
  }
}

TEST_F(FlagsTest, NoInput) {
  absl::StatusOr<Config> cfg = Load({"--expire", "30"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cfg.status().message(),
            "no input: give --pcap FILE, --iface NAME, --sflow-listen ADDR:PORT, or --eal "
            "\"...\" for a real port");
}

TEST_F(FlagsTest, MissingPcapIsNotFoundWithLibpcapMessage) {
  const std::string missing = dir() + "/missing.pcap";
  absl::StatusOr<Config> cfg = Load({"--pcap", missing});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(cfg.status().message(),
            "--pcap " + missing + ": " + missing + ": No such file or directory");
}

TEST_F(FlagsTest, NotAPcapIsInvalidArgument) {
  const std::string text = WriteFile("notes.pcap", "this is not a capture file\n");
  absl::StatusOr<Config> cfg = Load({"--pcap", text});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(cfg.status().message()), HasSubstr("--pcap " + text + ": "));
  EXPECT_THAT(std::string(cfg.status().message()),
              HasSubstr("format"));  // libpcap: "unknown file format"
}

TEST_F(FlagsTest, PcapOfUnsupportedLinkTypeIsRefusedUnlessOverridden) {
  const std::string wifi = WritePcap("wifi.pcap", DLT_IEEE802_11);
  absl::StatusOr<Config> cfg = Load({"--pcap", wifi});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(
      cfg.status().message(),
      "--pcap " + wifi +
          ": link type 105 (IEEE802_11) is not supported; supported: "
          "NULL (0), EN10MB (1), RAW (12), RAW (101), LINUX_SLL (113), IPV4 (228), IPV6 (229)");
  cfg = Load({"--pcap", wifi, "--link-type", "EN10MB"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->pcap_inputs.at(0).link_type, 1u);
  EXPECT_EQ(cfg->pcap_inputs.at(0).file_link_type, 105u);
}

TEST_F(FlagsTest, PcapPathWithCommaOrEqualsIsRefused) {
  const std::string eq = WritePcap("a=b.pcap");
  absl::StatusOr<Config> cfg = Load({"--pcap", eq});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message(),
            "--pcap " + eq +
                ": ',' and '=' cannot appear in a pcap path (DPDK vdev arguments); rename or "
                "symlink the file");
  // A comma starts the input's attributes (capture points).
  const std::string comma = WritePcap("a,b.pcap");
  cfg = Load({"--pcap", comma});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message(),
            "--pcap: 'b.pcap' after '" + dir() +
                "/a' is not KEY=VALUE (node-tid=ID, capture-id=ID, bpf=EXPR); a comma starts "
                "the input's attributes, so a name cannot hold one");
}

TEST_F(FlagsTest, PcapFromStdinIsRefused) {
  absl::StatusOr<Config> cfg = Load({"--pcap", "-"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message(), "--pcap -: reading stdin is not supported");
}

TEST(UsageTextTest, ListsEveryFlagGroupAndExample) {
  const std::string usage = UsageText();
  for (const char* flag : {"--config",
                           "--pcap",
                           "--eal",
                           "--link-type",
                           "--json",
                           "--update",
                           "--expire",
                           "--tcp-close-hold-ms",
                           "--timer-tick-ms",
                           "--key-mode",
                           "--node-tid",
                           "--max-flows",
                           "--overload",
                           "--capture-length",
                           "--community-id",
                           "--no-community-id",
                           "--community-id-seed",
                           "--ring-size",
                           "--stats-interval",
                           "--quiet",
                           "--help",
                           "--version",
                           "INPUT",
                           "OUTPUT",
                           "FLOW TABLE",
                           "ENHANCERS",
                           "RUNTIME",
                           "EXAMPLES",
                           "skyprobe --pcap trace.pcap",
                           "--eal \"-l 0-1 -a"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
  EXPECT_THAT(usage, HasSubstr("(default: 600, >= 1)"));
  EXPECT_THAT(usage, HasSubstr("(default: 4096)"));
}

}  // namespace
}  // namespace skyprobe::testing
