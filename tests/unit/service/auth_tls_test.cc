// Bearer token and TLS (server-only and mutual) on an in-process server. The
// certificate is made at test time with the openssl command.

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <grpcpp/grpcpp.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/grpc_server.h"
#include "skyprobe/v1/probe_service.grpc.pb.h"
#include "tests/unit/query/test_flows.h"
#include "tests/unit/service/fake_backend.h"

namespace skyprobe {
namespace {

namespace v1 = ::skyprobe::v1;
using ::skyprobe::testing::FakeBackend;
using ::testing::HasSubstr;

std::string TempDir() {
  static std::string dir = [] {
    char tmpl[] = "/tmp/skyprobe_auth_XXXXXX";
    return std::string(mkdtemp(tmpl));
  }();
  return dir;
}

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

grpc::Status Ping(const std::shared_ptr<grpc::Channel>& channel, const std::string& token = "") {
  auto stub = v1::ProbeService::NewStub(channel);
  grpc::ClientContext ctx;
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::FlowSet set;
  return stub->Query(&ctx, v1::FlowQuery(), &set);
}

TEST(AuthTest, BearerToken) {
  FakeBackend backend("p");
  const std::string token_file = TempDir() + "/token";
  WriteFile(token_file, "s3cret-s3cret-s3cret\n");
  auto server = StartGrpcServer({.listen = "127.0.0.1:0", .token_file = token_file}, &backend);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                                     grpc::InsecureChannelCredentials());
  EXPECT_TRUE(Ping(channel, "s3cret-s3cret-s3cret").ok());
  grpc::Status missing = Ping(channel);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(missing.error_message(), HasSubstr("requires a token"));
  EXPECT_EQ(Ping(channel, "s3cret-s3cret-s3cre").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Ping(channel, "s3cret-s3cret-s3cret!").error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

// Issue 9, item 5, for callers of StartGrpcServer that build ServiceOptions
// themselves: the same rules as the configuration's.
TEST(AuthTest, ShortTokensAndUnprotectedNetworkAddressesAreRefused) {
  FakeBackend backend("p");
  const std::string short_token = TempDir() + "/short";
  WriteFile(short_token, "\n 0123456789abcde \n");  // 15 bytes
  auto s = StartGrpcServer({.listen = "127.0.0.1:0", .token_file = short_token}, &backend);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("the token is 15 bytes; it must be at least 16"));
  s = StartGrpcServer({.listen = "0.0.0.0:0"}, &backend);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("--grpc-listen 0.0.0.0:0: not a loopback address"));
  // Said out loud, it serves, and says so.
  ServiceOptions open{.listen = "0.0.0.0:0", .insecure = true};
  s = StartGrpcServer(open, &backend);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(ProtectionText(open), "NONE: no TLS, no token on a network address (--grpc-insecure)");
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*s)->port()),
                                     grpc::InsecureChannelCredentials());
  EXPECT_TRUE(Ping(channel).ok());
}

TEST(AuthTest, ProtectionText) {
  EXPECT_EQ(ProtectionText({.listen = "127.0.0.1:1"}), "loopback only, no TLS, no token");
  EXPECT_EQ(ProtectionText({.listen = "0.0.0.0:1", .token_file = "t"}), "bearer token, no TLS");
  EXPECT_EQ(ProtectionText({.listen = "0.0.0.0:1", .tls_cert_file = "c", .tls_key_file = "k"}),
            "TLS");
  EXPECT_EQ(ProtectionText({.listen = "0.0.0.0:1",
                            .tls_cert_file = "c",
                            .tls_key_file = "k",
                            .tls_client_ca_file = "ca",
                            .token_file = "t"}),
            "mutual TLS and bearer token");
}

TEST(AuthTest, StartErrorsNameTheOption) {
  FakeBackend backend("p");
  auto s = StartGrpcServer({.listen = "127.0.0.1:0", .token_file = "/nonexistent/t"}, &backend);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("--grpc-token-file /nonexistent/t"));
  s = StartGrpcServer({.listen = "127.0.0.1:0", .tls_cert_file = "/x.pem"}, &backend);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("go together"));
  s = StartGrpcServer({.listen = "256.1.1.1:99999"}, &backend);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("--grpc-listen 256.1.1.1:99999"));
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string d = TempDir();
    const std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + d + "/key.pem -out " + d +
        "/cert.pem -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost "
        ">/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl is needed: " << cmd;
  }

  std::shared_ptr<grpc::Channel> Channel(int port, bool with_client_cert) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = ReadFile(TempDir() + "/cert.pem");
    if (with_client_cert) {
      o.pem_cert_chain = o.pem_root_certs;
      o.pem_private_key = ReadFile(TempDir() + "/key.pem");
    }
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(o),
                                     args);
  }
};

TEST_F(TlsTest, ServerTls) {
  FakeBackend backend("p");
  auto server = StartGrpcServer({.listen = "127.0.0.1:0",
                                 .tls_cert_file = TempDir() + "/cert.pem",
                                 .tls_key_file = TempDir() + "/key.pem"},
                                &backend);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE(Ping(Channel((*server)->port(), false)).ok());
  // A plaintext client gets nowhere.
  auto plain = grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                                   grpc::InsecureChannelCredentials());
  EXPECT_EQ(Ping(plain).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, MutualTlsRefusesClientsWithoutCertificate) {
  FakeBackend backend("p");
  auto server = StartGrpcServer({.listen = "127.0.0.1:0",
                                 .tls_cert_file = TempDir() + "/cert.pem",
                                 .tls_key_file = TempDir() + "/key.pem",
                                 .tls_client_ca_file = TempDir() + "/cert.pem"},
                                &backend);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE(Ping(Channel((*server)->port(), true)).ok());
  EXPECT_EQ(Ping(Channel((*server)->port(), false)).error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace skyprobe
