// The gRPC service settings and --hold: flags, YAML keys, defaults, checks.

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/config/config_test_util.h"

namespace skyprobe::testing {
namespace {

using ::testing::HasSubstr;

class ServiceFlagsTest : public ConfigTest {
 protected:
  // A file holding `text` (a token long enough for the service by default).
  std::string File(const std::string& name, const std::string& text = "0123456789abcdef\n") {
    const std::string path = dir() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
};

TEST_F(ServiceFlagsTest, Defaults) {
  absl::StatusOr<Config> cfg = Load({"--pcap", WritePcap("a.pcap")});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->grpc_listen, "127.0.0.1:50051");
  EXPECT_FALSE(cfg->grpc_listen_set);
  EXPECT_EQ(cfg->grpc_tls_cert, "");
  EXPECT_EQ(cfg->grpc_token_file, "");
  EXPECT_FALSE(cfg->hold);
  EXPECT_FALSE(cfg->grpc_insecure);
  EXPECT_EQ(cfg->grpc_max_queries, 16u);
  EXPECT_EQ(cfg->grpc_max_streams, 8u);
  EXPECT_EQ(cfg->grpc_max_subscribers, 64u);
  EXPECT_EQ(cfg->grpc_max_exports, 4u);
  EXPECT_EQ(cfg->grpc_answer_memory, 1ull << 30);
  EXPECT_EQ(cfg->grpc_idle_timeout_sec, 30u);
}

TEST_F(ServiceFlagsTest, CapsFlagsAndYaml) {
  absl::StatusOr<Config> cfg =
      Load({"--pcap", WritePcap("a.pcap"), "--grpc-max-queries", "2", "--grpc-max-streams", "3",
            "--grpc-max-subscribers", "1k", "--grpc-max-exports", "1", "--grpc-answer-memory",
            "256M", "--grpc-idle-timeout", "0"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->grpc_max_queries, 2u);
  EXPECT_EQ(cfg->grpc_max_streams, 3u);
  EXPECT_EQ(cfg->grpc_max_subscribers, 1024u);
  EXPECT_EQ(cfg->grpc_max_exports, 1u);
  EXPECT_EQ(cfg->grpc_answer_memory, 256ull << 20);
  EXPECT_EQ(cfg->grpc_idle_timeout_sec, 0u);
  cfg = ParseYamlConfig("input: { pcap: '" + WritePcap("b.pcap") +
                            "' }\nservice: { max_queries: 5, max_streams: 6, max_subscribers: 7, "
                            "max_exports: 8, answer_memory: 2G, idle_timeout: 9, "
                            "insecure: true }\n",
                        Config{}, "c.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->grpc_max_queries, 5u);
  EXPECT_EQ(cfg->grpc_max_streams, 6u);
  EXPECT_EQ(cfg->grpc_max_subscribers, 7u);
  EXPECT_EQ(cfg->grpc_max_exports, 8u);
  EXPECT_EQ(cfg->grpc_answer_memory, 2ull << 30);
  EXPECT_EQ(cfg->grpc_idle_timeout_sec, 9u);
  EXPECT_TRUE(cfg->grpc_insecure);
}

TEST_F(ServiceFlagsTest, CapsErrors) {
  const std::string pcap = WritePcap("a.pcap");
  auto error = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--pcap", pcap});
    absl::StatusOr<Config> cfg = Load(args);
    EXPECT_FALSE(cfg.ok());
    return std::string(cfg.status().message());
  };
  EXPECT_EQ(error({"--grpc-max-streams", "0"}), "--grpc-max-streams: must be 1..4096, got 0");
  EXPECT_EQ(error({"--grpc-max-queries", "5000"}), "--grpc-max-queries: must be 1..4096, got 5000");
  EXPECT_EQ(error({"--grpc-answer-memory", "1000"}),
            "--grpc-answer-memory: must be >= 1M (1048576 bytes), got 1000");
  EXPECT_THAT(error({"--grpc-idle-timeout", "-1"}), HasSubstr("is not a whole number of seconds"));
}

// Issue 9, item 5: a network address needs TLS or a token, or --grpc-insecure said out loud.
TEST_F(ServiceFlagsTest, NetworkAddressNeedsAProtection) {
  const std::string pcap = WritePcap("a.pcap");
  auto load = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--pcap", pcap});
    return Load(args);
  };
  for (const char* open : {"0.0.0.0:50051", "[::]:50051", "10.1.2.3:50051", "probe.example:1"}) {
    absl::StatusOr<Config> cfg = load({"--grpc-listen", open});
    ASSERT_FALSE(cfg.ok()) << open;
    EXPECT_EQ(cfg.status().message(),
              absl::StrCat("--grpc-listen ", open,
                           ": not a loopback address, and without TLS or a token anyone who "
                           "reaches it can read every flow: give --grpc-tls-cert and "
                           "--grpc-tls-key, or --grpc-token-file, or --grpc-insecure to serve "
                           "it unprotected on purpose"));
    EXPECT_TRUE(load({"--grpc-listen", open, "--grpc-insecure"}).ok()) << open;
    EXPECT_TRUE(load({"--grpc-listen", open, "--grpc-token-file", File("t")}).ok()) << open;
    EXPECT_TRUE(load({"--grpc-listen", open, "--grpc-tls-cert", File("c.pem"), "--grpc-tls-key",
                      File("k.pem")})
                    .ok())
        << open;
  }
  for (const char* local : {"127.0.0.1:1", "127.9.9.9:1", "localhost:1", "LocalHost:1", "[::1]:1",
                            "[::ffff:127.0.0.1]:1"}) {
    EXPECT_TRUE(load({"--grpc-listen", local}).ok()) << local;
  }
  // The YAML key names itself.
  absl::StatusOr<Config> cfg = ParseYamlConfig(
      "input: { pcap: '" + pcap + "' }\nservice: { listen: '0.0.0.0:1' }\n", Config{}, "c.yaml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(cfg.status().message(),
              HasSubstr("c.yaml: service.listen 0.0.0.0:1: not a loopback address"));
}

TEST(ServiceListenTest, Loopback) {
  EXPECT_TRUE(IsLoopbackListen("127.0.0.1:50051"));
  EXPECT_TRUE(IsLoopbackListen("127.255.0.1:1"));
  EXPECT_TRUE(IsLoopbackListen("[::1]:1"));
  EXPECT_TRUE(IsLoopbackListen("localhost:1"));
  EXPECT_TRUE(IsLoopbackListen("[::ffff:127.0.0.2]:1"));
  EXPECT_FALSE(IsLoopbackListen("128.0.0.1:1"));
  EXPECT_FALSE(IsLoopbackListen("0.0.0.0:1"));
  EXPECT_FALSE(IsLoopbackListen("[::]:1"));
  EXPECT_FALSE(IsLoopbackListen("[::2]:1"));
  EXPECT_FALSE(IsLoopbackListen("[::ffff:10.0.0.1]:1"));
  EXPECT_FALSE(IsLoopbackListen("localhost.evil.example:1"));
  EXPECT_FALSE(IsLoopbackListen("none"));
}

TEST_F(ServiceFlagsTest, ShortTokensAreRefused) {
  const std::string pcap = WritePcap("a.pcap");
  const std::string short_token = File("short", "  hunter2\n");
  absl::StatusOr<Config> cfg = Load({"--pcap", pcap, "--grpc-token-file", short_token});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message(),
            absl::StrCat("--grpc-token-file: ", short_token,
                         ": the token is 7 bytes; it must be at least 16 (e.g. head -c 24 "
                         "/dev/urandom | base64 > ",
                         short_token, ")"));
  // 16 bytes once the whitespace around is gone: enough.
  EXPECT_TRUE(
      Load({"--pcap", pcap, "--grpc-token-file", File("ok", "\n 0123456789abcdef \n")}).ok());
  EXPECT_FALSE(Load({"--pcap", pcap, "--grpc-token-file", File("15", "0123456789abcde")}).ok());
  EXPECT_FALSE(Load({"--pcap", pcap, "--grpc-token-file", File("empty", "\n")}).ok());
}

TEST_F(ServiceFlagsTest, Flags) {
  const std::string cert = File("c.pem"), key = File("k.pem"), ca = File("ca.pem");
  const std::string token = File("token");
  absl::StatusOr<Config> cfg = Load(
      {"--pcap", WritePcap("a.pcap"), "--grpc-listen", "0.0.0.0:6000", "--grpc-tls-cert", cert,
       "--grpc-tls-key", key, "--grpc-tls-client-ca", ca, "--grpc-token-file", token, "--hold"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->grpc_listen, "0.0.0.0:6000");
  EXPECT_TRUE(cfg->grpc_listen_set);
  EXPECT_EQ(cfg->grpc_tls_cert, cert);
  EXPECT_EQ(cfg->grpc_tls_key, key);
  EXPECT_EQ(cfg->grpc_tls_client_ca, ca);
  EXPECT_EQ(cfg->grpc_token_file, token);
  EXPECT_TRUE(cfg->hold);
  cfg = Load({"--pcap", WritePcap("b.pcap"), "--grpc-listen", "none", "--grpc-listen=[::1]:7"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->grpc_listen, "[::1]:7");
}

TEST_F(ServiceFlagsTest, Yaml) {
  const std::string token = File("token");
  absl::StatusOr<Config> cfg = ParseYamlConfig("input: { pcap: '" + WritePcap("a.pcap") +
                                                   "' }\nservice: { listen: 'none', token_file: '" +
                                                   token + "' }\nruntime: { hold: true }\n",
                                               Config{}, "c.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->grpc_listen, "none");
  EXPECT_EQ(cfg->grpc_token_file, token);
  EXPECT_TRUE(cfg->hold);
}

TEST_F(ServiceFlagsTest, Errors) {
  const std::string pcap = WritePcap("a.pcap");
  auto error = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--pcap", pcap});
    absl::StatusOr<Config> cfg = Load(args);
    EXPECT_FALSE(cfg.ok());
    return std::string(cfg.status().message());
  };
  EXPECT_EQ(error({"--grpc-listen", "50051"}),
            "--grpc-listen: '50051' is not HOST:PORT (e.g. 127.0.0.1:50051) or none");
  EXPECT_THAT(error({"--grpc-listen", "h:70000"}), HasSubstr("is not HOST:PORT"));
  EXPECT_EQ(error({"--grpc-tls-cert", File("c.pem")}),
            "--grpc-tls-cert: needs both a certificate and a key (--grpc-tls-cert, "
            "--grpc-tls-key)");
  EXPECT_THAT(error({"--grpc-tls-client-ca", File("ca.pem")}),
              HasSubstr("--grpc-tls-client-ca: mutual TLS needs"));
  EXPECT_EQ(error({"--grpc-token-file", "/nonexistent/token"}),
            "--grpc-token-file: /nonexistent/token: No such file or directory");
}

TEST(ServiceUsageTest, ListsTheServiceFlags) {
  const std::string usage = UsageText();
  for (const char* flag : {"--grpc-listen", "--grpc-tls-cert", "--grpc-tls-key",
                           "--grpc-tls-client-ca", "--grpc-token-file", "--hold", "--grpc-insecure",
                           "--grpc-max-queries", "--grpc-max-streams", "--grpc-max-subscribers",
                           "--grpc-max-exports", "--grpc-answer-memory", "--grpc-idle-timeout"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace skyprobe::testing
