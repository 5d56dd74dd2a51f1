// client.cc: see client.h.

#include "ctl/client.h"

#include <fstream>
#include <sstream>

#include "absl/strings/strip.h"

namespace skyprobe::ctl {
namespace {

absl::StatusOr<std::string> ReadFile(absl::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, ": cannot read"));
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace

absl::Status FromGrpc(const std::string& probe, const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(probe, ": ", s.error_message()));
}

absl::StatusOr<Client> Client::Make(const CtlOptions& o) {
  Client c;
  c.options_ = &o;
  if (!o.token_file.empty()) {
    absl::StatusOr<std::string> t = ReadFile("--token-file", o.token_file);
    if (!t.ok()) return t.status();
    c.token_ = std::string(absl::StripAsciiWhitespace(*t));
  }
  if (o.tls_ca.empty() && o.tls_cert.empty()) {
    c.creds_ = grpc::InsecureChannelCredentials();
    return c;
  }
  grpc::SslCredentialsOptions ssl;
  if (!o.tls_ca.empty()) {
    absl::StatusOr<std::string> ca = ReadFile("--tls-ca", o.tls_ca);
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
  }
  if (!o.tls_cert.empty()) {
    absl::StatusOr<std::string> cert = ReadFile("--tls-cert", o.tls_cert);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile("--tls-key", o.tls_key);
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *cert;
    ssl.pem_private_key = *key;
  }
  c.creds_ = grpc::SslCredentials(ssl);
  return c;
}

}  // namespace skyprobe::ctl
