// client.cc: see client.h.

#include "ctl/client.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/strip.h"
#include "ctl/flow_from_proto.h"

namespace skyprobe::ctl {
namespace {

absl::StatusOr<std::string> ReadFile(absl::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, ": cannot read"));
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// What a failed call most likely lacks, from gRPC's words and the client's
// settings (gRPC only says "failed to connect ... Socket closed"); empty when
// nothing better can be said.
std::string Hint(const CtlOptions& o, const grpc::Status& s) {
  const std::string& m = s.error_message();
  const bool tls = !o.tls_ca.empty() || !o.tls_cert.empty();
  auto has = [&](const char* word) { return m.find(word) != std::string::npos; };
  if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    return o.token_file.empty() ? "the probe requires a token: give it with --token-file FILE"
                                : "the probe refused the token of --token-file";
  }
  if (s.error_code() != grpc::StatusCode::UNAVAILABLE &&
      s.error_code() != grpc::StatusCode::UNKNOWN) {
    return "";
  }
  if (has("Connection refused")) {
    return "nothing listens there (is the probe running, with --grpc-listen on that port?)";
  }
  if (has("CERTIFICATE_VERIFY_FAILED") || has("certificate verify failed")) {
    return "the probe's certificate is not signed by --tls-ca (or names another host: "
           "--tls-server-name)";
  }
  if (has("WRONG_VERSION_NUMBER") || has("wrong version number")) {
    return "the probe does not speak TLS: leave out --tls-ca";
  }
  const bool closed = has("Socket closed") || has("Connection reset") || has("handshake") ||
                      has("Handshake") || has("End of TCP stream");
  if (closed && !tls) return "the probe closed the connection: it requires TLS (--tls-ca FILE)";
  if (closed && o.tls_cert.empty()) {
    return "the probe closed the TLS connection: it requires a client certificate "
           "(--tls-cert FILE --tls-key FILE)";
  }
  if (closed) return "the probe refused the TLS connection: is --tls-cert signed by its client CA?";
  return "";
}

}  // namespace

absl::Status FromGrpc(const CtlOptions& o, const std::string& probe, const grpc::Status& s) {
  const std::string hint = Hint(o, s);
  std::string text = s.error_message();
  // One line: gRPC's text may carry newlines (a debug string).
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      hint.empty() ? absl::StrCat(probe, ": ", text)
                                   : absl::StrCat(probe, ": ", hint, " (gRPC: ", text, ")"));
}

absl::StatusOr<Client> Client::Make(const CtlOptions& o) {
  Client c;
  c.options_ = &o;
  if (!o.token_file.empty()) {
    absl::StatusOr<std::string> t = ReadFile("--token-file", o.token_file);
    if (!t.ok()) return t.status();
    c.token_ = std::string(absl::StripAsciiWhitespace(*t));
    if (c.token_.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--token-file ", o.token_file, ": empty (no token to send)"));
    }
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

skyprobe::v1::FlowQuery MakeQuery(const CtlOptions& o) {
  skyprobe::v1::FlowQuery q;
  q.set_expression(o.filter);
  q.set_sort_by(o.sort_by);
  q.set_sort_order(o.sort_order);
  q.set_dedup_by(o.dedup_by);
  // QueryStream and ExportPcap: the total, per probe (0: every match).
  q.set_limit(static_cast<uint32_t>(std::min<uint64_t>(o.limit, UINT32_MAX)));
  return q;
}

// One probe's whole answer from one scan (QueryStream), each flow handed to
// `take` as it arrives. --limit caps the flows (0: all).
absl::Status StreamFlows(const Client& client, const CtlOptions& o, const std::string& probe,
                         const std::function<void(query::FlowRow&&)>& take) {
  auto stub = client.Stub(probe);
  skyprobe::v1::FlowQuery q = MakeQuery(o);
  grpc::ClientContext ctx;
  client.Prepare(&ctx, false);  // a dump takes as long as the table is big
  auto reader = stub->QueryStream(&ctx, q);
  skyprobe::v1::FlowSet set;
  absl::Status bad;
  while (bad.ok() && reader->Read(&set)) {
    for (const skyprobe::v1::Flow& f : set.flows()) {
      query::FlowRow row;
      if (absl::Status st = FlowFromProto(f, &row); !st.ok()) {
        bad = absl::InternalError(absl::StrCat(probe, ": ", st.message()));
        ctx.TryCancel();
        break;
      }
      take(std::move(row));
    }
  }
  grpc::Status s = reader->Finish();
  if (!bad.ok()) return bad;
  if (!s.ok()) return FromGrpc(o, probe, s);
  return absl::OkStatus();
}

}  // namespace skyprobe::ctl
