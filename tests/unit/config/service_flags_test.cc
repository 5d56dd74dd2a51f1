// The gRPC service settings and --hold: flags, YAML keys, defaults, checks.

#include <fstream>
#include <string>

#include "config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/config/config_test_util.h"

namespace skyprobe::testing {
namespace {

using ::testing::HasSubstr;

class ServiceFlagsTest : public ConfigTest {
 protected:
  std::string File(const std::string& name) {
    const std::string path = dir() + "/" + name;
    std::ofstream(path) << "x\n";
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
                           "--grpc-tls-client-ca", "--grpc-token-file", "--hold"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace skyprobe::testing
