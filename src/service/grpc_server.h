// grpc_server.h: the probe's gRPC service (probe_service.proto) on a listening
// address, with optional TLS (mutual TLS with a client CA) and bearer token.
//
// Owner: created and shut down by the main thread (src/app); the RPCs run on
// gRPC's own threads and reach the probe only through ProbeBackend. Shutdown()
// (or the destructor) returns once every RPC has finished, every subscription
// has ended and unsubscribed: call it before the backend goes away.
//
//   SKYPROBE_ASSIGN_OR_RETURN(std::unique_ptr<GrpcServer> server,
//                             StartGrpcServer(ServiceOptionsFromConfig(cfg), &backend));
//   ...; server->Shutdown();
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "service/probe_backend.h"
#include "service/request_counters.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace skyprobe {

struct Config;

struct ServiceOptions {
  // "HOST:PORT"; port 0 picks a free port (tests). "none" is refused here:
  // the caller does not start the service then.
  std::string listen = "127.0.0.1:50051";
  // PEM files. With cert and key the service speaks TLS only; with a client
  // CA too, clients must present a certificate it signed (mutual TLS).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  // File holding the bearer token clients must send ("authorization: Bearer
  // <token>"); surrounding whitespace is ignored. Empty: no token.
  std::string token_file;
  // Requests are small; answers carry up to kMaxPageSize flows.
  int max_receive_message_bytes = 1 << 20;
  int max_send_message_bytes = 64 << 20;
  // Records queued per subscriber before it counts as too slow.
  size_t subscriber_queue = 8192;
  // Raw packet bytes one ExportPcap may gather; more is RESOURCE_EXHAUSTED.
  uint64_t max_pcap_bytes = 512ull << 20;
  // Serve a non-loopback address without TLS or a token (refused otherwise).
  bool insecure = false;
  // Calls in progress at once per kind; one more is RESOURCE_EXHAUSTED naming
  // the cap (Config's grpc_max_*, docs/configuration.md).
  uint32_t max_queries = 16;
  uint32_t max_streams = 8;
  uint32_t max_subscribers = 64;
  uint32_t max_exports = 4;
  // Bytes all answers in flight may hold together (answer_budget.h).
  uint64_t answer_memory = 1ull << 30;
  // A stream whose client has not taken a message for this long is cut off
  // (stream_watchdog.h); zero: never.
  std::chrono::milliseconds idle_timeout{30000};
  // gRPC's own log lines that reach stderr ("skyprobe: grpc LEVEL file:line:
  // message"): 0 none, 1 errors, 2 and information, 3 and debug. Process-wide:
  // the last server started sets it.
  int log_level = 0;
};

// What protects the service described by `options`, for the start-up line:
// "mutual TLS and bearer token", "TLS", "bearer token", "loopback only",
// "NONE (--grpc-insecure)".
std::string ProtectionText(const ServiceOptions& options);

// The service part of a Config (--grpc-listen, --grpc-tls-*, --grpc-token-file).
ServiceOptions ServiceOptionsFromConfig(const Config& cfg);

// Counters of the service itself, reported by Stats() under scope "service".
struct ServiceCounters;

class GrpcServer {
 public:
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // The bound port (useful with port 0).
  int port() const { return port_; }
  // Every call finished so far, by method and status code.
  const RequestCounters& requests() const { return requests_; }

  // Stops accepting RPCs: subscriptions end with OK once their queued
  // records are sent (the probe stopped); running calls get a moment
  // (`grace_ms`), the rest are cancelled; then waits for them. Idempotent.
  void Shutdown(int grace_ms = 500);

 private:
  friend absl::StatusOr<std::unique_ptr<GrpcServer>> StartGrpcServer(const ServiceOptions&,
                                                                     ProbeBackend*);
  GrpcServer() = default;

  class Impl;
  RequestCounters requests_;    // counted by server_'s interceptor: outlives it
  std::unique_ptr<Impl> impl_;  // the service; outlives server_
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

// Reads the TLS and token files, binds options.listen and starts serving
// `backend` (which must outlive the server). Errors name the option at fault:
// "--grpc-tls-cert /x.pem: No such file or directory", "--grpc-listen
// 1.2.3.4:50051: cannot listen there".
absl::StatusOr<std::unique_ptr<GrpcServer>> StartGrpcServer(const ServiceOptions& options,
                                                            ProbeBackend* backend);

}  // namespace skyprobe
