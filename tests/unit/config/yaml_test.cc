// Tests for the --config YAML file: every key, flags overriding it, and its error messages.

#include <fstream>
#include <iterator>
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
using ::testing::StartsWith;

class YamlTest : public ConfigTest {
 protected:
  // A full file naming two pcaps written into the temp dir.
  std::string FullYaml() {
    const std::string a = WritePcap("a.pcap");
    const std::string b = WritePcap("b.pcap", DLT_RAW);
    return "input:\n"
           "  pcap: [" +
           a + ", " + b +
           "]\n"
           "  eal: \"-l 0-1 -a 0000:3b:00.0\"\n"
           "  link_type: EN10MB\n"
           "output: { json: out.json }\n"
           "flow:\n"
           "  update: 10\n"
           "  expire: 20\n"
           "  tcp_close_hold_ms: 300\n"
           "  timer_tick_ms: 50\n"
           "  key_mode: l3\n"
           "  node_tid: \"probe-1\"\n"
           "  max_flows: 4k\n"
           "  overload: drop-new\n"
           "  capture_length: 64\n"
           "enhancers: { community_id: { enabled: false, seed: 9 } }\n"
           "runtime: { ring_size: 512, stats_interval: 5, quiet: true, progress: false }\n";
  }
};

TEST_F(YamlTest, EveryKey) {
  absl::StatusOr<Config> cfg = ParseYamlConfig(FullYaml(), Config{}, "config.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->pcap_files, ElementsAre(dir() + "/a.pcap", dir() + "/b.pcap"));
  ASSERT_EQ(cfg->pcap_inputs.size(), 2u);
  EXPECT_EQ(cfg->pcap_inputs[1].file_link_type, static_cast<uint32_t>(DLT_RAW));
  EXPECT_EQ(cfg->pcap_inputs[1].link_type, 1u);  // link_type overrides the file
  EXPECT_THAT(cfg->eal_args, ElementsAre("-l", "0-1", "-a", "0000:3b:00.0"));
  EXPECT_TRUE(cfg->link_type_override_set);
  EXPECT_EQ(cfg->link_type_override, 1u);
  EXPECT_EQ(cfg->json_path, "out.json");
  EXPECT_EQ(cfg->update_sec, 10u);
  EXPECT_EQ(cfg->expire_sec, 20u);
  EXPECT_EQ(cfg->tcp_close_hold_ms, 300u);
  EXPECT_EQ(cfg->timer_tick_ms, 50u);
  EXPECT_EQ(cfg->key_mode, KeyMode::kL3);
  EXPECT_EQ(cfg->node_tid, "probe-1");
  EXPECT_EQ(cfg->max_flows, 4096u);
  EXPECT_EQ(cfg->overload, OverloadPolicy::kDropNew);
  EXPECT_EQ(cfg->capture_length, 64u);
  EXPECT_FALSE(cfg->community_id);
  EXPECT_EQ(cfg->community_id_seed, 9);
  EXPECT_EQ(cfg->ring_size, 512u);
  EXPECT_EQ(cfg->stats_interval_sec, 5u);
  EXPECT_TRUE(cfg->quiet);
  EXPECT_FALSE(cfg->progress);
}

TEST_F(YamlTest, KeysNotInTheDocumentKeepTheBase) {
  Config base;
  base.expire_sec = 42;
  base.eal_args = {"-l", "0-1"};
  absl::StatusOr<Config> cfg = ParseYamlConfig("flow: { update: 3 }\n", base);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->update_sec, 3u);
  EXPECT_EQ(cfg->expire_sec, 42u);
}

TEST_F(YamlTest, SinglePcapAndEalListForms) {
  const std::string a = WritePcap("a.pcap");
  absl::StatusOr<Config> cfg =
      ParseYamlConfig("input: { pcap: " + a + ", eal: [-l, 0-1] }\n", Config{});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->pcap_files, ElementsAre(a));
  EXPECT_THAT(cfg->eal_args, ElementsAre("-l", "0-1"));
}

TEST_F(YamlTest, ExampleFileInDocsLoads) {
  // docs/skyprobe.example.yaml names pcaps that do not exist here; give them instead.
  std::ifstream in(std::string(SKYPROBE_TEST_SOURCE_ROOT) + "/docs/skyprobe.example.yaml");
  ASSERT_TRUE(in.good());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string path = WriteFile("example.yaml", text);
  const std::string a = WritePcap("a.pcap");
  absl::StatusOr<Config> cfg = Load({"--config", path, "--pcap", a});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->pcap_files, ElementsAre(a));
  EXPECT_FALSE(cfg->eal_args.empty());
}

TEST_F(YamlTest, FlagsOverrideTheFileWhateverTheirOrder) {
  const std::string a = WritePcap("a.pcap");
  const std::string b = WritePcap("b.pcap");
  const std::string path =
      WriteFile("config.yaml", "input: { pcap: [" + a + "] }\nflow: { expire: 20, update: 10 }\n");
  for (bool config_first : {true, false}) {
    std::vector<std::string> args = {"--expire", "99", "--pcap", b};
    if (config_first) {
      args.insert(args.begin(), {"--config", path});
    } else {
      args.insert(args.end(), {"--config=" + path});
    }
    absl::StatusOr<Config> cfg = Load(args);
    ASSERT_TRUE(cfg.ok()) << cfg.status();
    EXPECT_EQ(cfg->expire_sec, 99u);
    EXPECT_EQ(cfg->update_sec, 10u);               // from the file
    EXPECT_THAT(cfg->pcap_files, ElementsAre(b));  // replaced, not appended
    EXPECT_EQ(cfg->config_path, path);
  }
}

TEST_F(YamlTest, FlagFixesABadFileValue) {
  const std::string a = WritePcap("a.pcap");
  const std::string path = WriteFile("config.yaml", "flow: { expire: 0 }\n");
  absl::StatusOr<Config> cfg = Load({"--config", path, "--pcap", a, "--expire", "5"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->expire_sec, 5u);
}

TEST_F(YamlTest, RangeErrorNamesFileAndKey) {
  const std::string a = WritePcap("a.pcap");
  const std::string path = WriteFile("config.yaml", "flow: { expire: 0 }\n");
  absl::StatusOr<Config> cfg = Load({"--config", path, "--pcap", a});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cfg.status().message(), path + ": flow.expire: must be >= 1, got 0");
}

struct YamlErrorCase {
  std::string yaml;
  std::string message;  // after "config.yaml"
};

TEST_F(YamlTest, ErrorMessages) {
  const std::string a = WritePcap("a.pcap");
  const std::string input = "input: { pcap: [" + a + "] }\n";
  const std::vector<YamlErrorCase> cases = {
      {input + "flow: { expire: 0 }\n", ": flow.expire: must be >= 1, got 0"},
      {input + "flow:\n  expirre: 5\n", ": flow.expirre: unknown key (did you mean expire?)"},
      {input + "flows: { expire: 5 }\n", ": flows: unknown key (did you mean flow?)"},
      {input + "enhancers: { community_id: { enable: true } }\n",
       ": enhancers.community_id.enable: unknown key (did you mean enabled?)"},
      {input + "flow: { expire: abc }\n", ": flow.expire: 'abc' is not a whole number of seconds"},
      {input + "flow: { expire: }\n", ": flow.expire: has no value"},
      {input + "flow: { expire: [1, 2] }\n", ": flow.expire: expected a single value"},
      {input + "flow: 5\n", ": flow: expected a mapping of keys"},
      {input + "runtime: { quiet: perhaps }\n", ": runtime.quiet: 'perhaps' is not true or false"},
      {input + "runtime: { ring_size: 1000 }\n",
       ": runtime.ring_size: must be a power of two in 64..1048576, got 1000"},
      {"input: { link_type: PPP, pcap: " + a + " }\n",
       ": input.link_type: unsupported link type 'PPP'; supported: NULL (0), EN10MB (1), "
       "RAW (12), RAW (101), LINUX_SLL (113), IPV4 (228), IPV6 (229)"},
      {"input: { pcap: " + dir() + "/none.pcap }\n",
       ": input.pcap: " + dir() + "/none.pcap: " + dir() + "/none.pcap: No such file or directory"},
      {"flow: { expire: 5 }\n", ""},  // no input: message checked below
  };
  for (const YamlErrorCase& c : cases) {
    absl::StatusOr<Config> cfg = ParseYamlConfig(c.yaml, Config{}, "config.yaml");
    ASSERT_FALSE(cfg.ok()) << c.yaml;
    if (c.message.empty()) {
      EXPECT_THAT(std::string(cfg.status().message()), StartsWith("no input:"));
    } else {
      EXPECT_EQ(cfg.status().message(), "config.yaml" + c.message);
    }
  }
}

TEST_F(YamlTest, SyntaxErrorGivesTheLine) {
  const std::string yaml =
      "input:\n"
      "  pcap: [a.pcap\n"
      "flow:\n"
      "  expire: 5\n";
  absl::StatusOr<Config> cfg = ParseYamlConfig(yaml, Config{}, "config.yaml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(cfg.status().message()),
              ::testing::MatchesRegex("config\\.yaml:[0-9]+: .+"));

  const std::string tabs = "flow:\n  expire: 5\n\tupdate: 3\n";
  cfg = ParseYamlConfig(tabs, Config{}, "config.yaml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(std::string(cfg.status().message()), StartsWith("config.yaml:3: "));
}

TEST_F(YamlTest, EmptyDocumentSetsNothing) {
  Config base;
  base.eal_args = {"-l", "0-1"};
  absl::StatusOr<Config> cfg = ParseYamlConfig("", base);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->expire_sec, 600u);
}

}  // namespace
}  // namespace skyprobe::testing
