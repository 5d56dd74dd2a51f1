// client.h: skyprobectl's connection to its probes: credentials (token,
// TLS, mutual TLS) read once, a stub per probe, each call's metadata and
// deadline; and gRPC errors as one-line Statuses naming the probe.
//
// Owner: skyprobectl's main thread (watch's reader threads share it read-only).
//
//   SKYPROBE_ASSIGN_OR_RETURN(Client client, Client::Make(options));
//   grpc::ClientContext ctx;  client.Prepare(&ctx, true);  client.Stub(probe)->Stats(&ctx, ...);
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ctl/ctl_options.h"
#include "query/result_set.h"
#include "skyprobe/v1/probe_service.grpc.pb.h"

namespace skyprobe::ctl {

// "PROBE: message" with the gRPC code, on one line; where gRPC's words and
// the client's settings say what is likely missing (TLS, a client
// certificate, a token, nothing listening), "PROBE: hint (gRPC: message)".
absl::Status FromGrpc(const CtlOptions& o, const std::string& probe, const grpc::Status& s);

// Connection settings shared by every call.
class Client {
 public:
  // Reads --token-file and the TLS files; INVALID_ARGUMENT naming one that cannot be read
  // (or an empty token file).
  static absl::StatusOr<Client> Make(const CtlOptions& o);

  std::unique_ptr<skyprobe::v1::ProbeService::Stub> Stub(const std::string& probe) const {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(128 << 20);  // a full page of 10000 flows fits
    if (!options_->tls_server_name.empty()) {
      args.SetSslTargetNameOverride(options_->tls_server_name);
    }
    return skyprobe::v1::ProbeService::NewStub(grpc::CreateCustomChannel(probe, creds_, args));
  }

  // `deadline`: false for streams that last as long as the user wants.
  void Prepare(grpc::ClientContext* ctx, bool deadline) const {
    if (!token_.empty()) ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token_));
    if (deadline) {
      ctx->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(options_->timeout_sec));
    }
  }

 private:
  const CtlOptions* options_ = nullptr;
  std::string token_;
  std::shared_ptr<grpc::ChannelCredentials> creds_;
};

// The query of `flows` (--filter, --sort, --dedup, --limit: the total per probe).
skyprobe::v1::FlowQuery MakeQuery(const CtlOptions& o);

// One probe's whole answer from one scan (QueryStream), each flow handed to
// `take` as it arrives. --limit caps the flows (0: all).
absl::Status StreamFlows(const Client& client, const CtlOptions& o, const std::string& probe,
                         const std::function<void(query::FlowRow&&)>& take);

}  // namespace skyprobe::ctl
