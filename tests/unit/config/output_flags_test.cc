// The Kafka and metrics settings: flags, YAML keys, defaults, checks.

#include <string>

#include "config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/config/config_test_util.h"

namespace skyprobe::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

class OutputFlagsTest : public ConfigTest {};

TEST_F(OutputFlagsTest, Defaults) {
  absl::StatusOr<Config> cfg = Load({"--pcap", WritePcap("a.pcap")});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->kafka_brokers, "");
  EXPECT_EQ(cfg->kafka_format, RecordFormat::kJson);
  EXPECT_TRUE(cfg->kafka_options.empty());
  EXPECT_EQ(cfg->kafka_flush_timeout_sec, 10u);
  EXPECT_EQ(cfg->metrics_listen, "");
}

TEST_F(OutputFlagsTest, Flags) {
  absl::StatusOr<Config> cfg =
      Load({"--pcap", WritePcap("a.pcap"), "--kafka", "k1:9092,k2:9092", "--kafka-topic",
            "flows.v1", "--kafka-format", "PROTOBUF", "--kafka-option", "compression.type=lz4",
            "--kafka-option=sasl.jaas=a=b", "--kafka-flush-timeout", "0", "--metrics-listen",
            "127.0.0.1:9464"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->kafka_brokers, "k1:9092,k2:9092");
  EXPECT_EQ(cfg->kafka_topic, "flows.v1");
  EXPECT_EQ(cfg->kafka_format, RecordFormat::kProtobuf);
  // Order kept; a value may hold '='.
  EXPECT_THAT(cfg->kafka_options,
              ElementsAre(Pair("compression.type", "lz4"), Pair("sasl.jaas", "a=b")));
  EXPECT_EQ(cfg->kafka_flush_timeout_sec, 0u);
  EXPECT_EQ(cfg->metrics_listen, "127.0.0.1:9464");
  cfg = Load({"--pcap", WritePcap("b.pcap"), "--metrics-listen", "127.0.0.1:1", "--metrics-listen",
              "none"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->metrics_listen, "");
}

TEST_F(OutputFlagsTest, Yaml) {
  const std::string pcap = WritePcap("a.pcap");
  absl::StatusOr<Config> cfg = ParseYamlConfig(
      "input: { pcap: '" + pcap +
          "' }\noutput:\n  kafka:\n    brokers: k:9092\n    topic: t\n    format: json\n"
          "    options: { linger.ms: 50, acks: all }\n    flush_timeout: 3\n"
          "metrics: { listen: '0.0.0.0:9464' }\n",
      Config{}, "c.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->kafka_brokers, "k:9092");
  EXPECT_EQ(cfg->kafka_topic, "t");
  EXPECT_THAT(cfg->kafka_options, ElementsAre(Pair("linger.ms", "50"), Pair("acks", "all")));
  EXPECT_EQ(cfg->kafka_flush_timeout_sec, 3u);
  EXPECT_EQ(cfg->metrics_listen, "0.0.0.0:9464");
  // A list of KEY=VALUE works too.
  cfg = ParseYamlConfig("input: { pcap: '" + pcap +
                            "' }\noutput: { kafka: { brokers: k, topic: t, options: "
                            "['acks=1'] } }\n",
                        Config{}, "c.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->kafka_options, ElementsAre(Pair("acks", "1")));
}

TEST_F(OutputFlagsTest, Refused) {
  const std::string pcap = WritePcap("a.pcap");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{"--kafka", "k:9092"}, "--kafka: needs --kafka-topic TOPIC"},
      {{"--kafka-topic", "t"}, "--kafka-topic: needs --kafka BROKERS"},
      {{"--kafka-option", "acks=1"}, "--kafka-option: needs --kafka BROKERS"},
      {{"--kafka", "k", "--kafka-topic", "a b"}, "'a b' is not a Kafka topic name"},
      {{"--kafka", "k", "--kafka-topic", std::string(250, 'x')}, "is not a Kafka topic name"},
      {{"--kafka", "k", "--kafka-topic", ".."}, "is not a Kafka topic name"},
      {{"--kafka", " "}, "--kafka: no brokers given"},
      {{"--kafka", "k", "--kafka-topic", "t", "--kafka-format", "avro"},
       "--kafka-format: 'avro' is not json or protobuf"},
      {{"--kafka", "k", "--kafka-topic", "t", "--kafka-option", "acks"},
       "--kafka-option: 'acks' is not KEY=VALUE"},
      {{"--kafka", "k", "--kafka-topic", "t", "--kafka-option", "=1"}, "is not KEY=VALUE"},
      {{"--kafka", "k", "--kafka-topic", "t", "--kafka-flush-timeout", "3601"},
       "--kafka-flush-timeout: must be 0..3600, got 3601"},
      {{"--metrics-listen", "localhost:9464"},
       "--metrics-listen: 'localhost:9464' is not ADDR:PORT"},
      {{"--metrics-listen", "127.0.0.1"}, "is not ADDR:PORT"},
      {{"--metrics-listen", "[::1]:9464"}, "with a numeric IPv4 address"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"--pcap", pcap};
    args.insert(args.end(), c.args.begin(), c.args.end());
    absl::StatusOr<Config> cfg = Load(args);
    ASSERT_FALSE(cfg.ok()) << c.message;
    EXPECT_THAT(std::string(cfg.status().message()), HasSubstr(c.message));
  }
}

}  // namespace
}  // namespace skyprobe::testing
