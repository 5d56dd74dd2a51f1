// grpc_server.cc: ProbeService on the callback API, and the server around it
// (listening address, TLS, token, message-size caps).

#include "service/grpc_server.h"

#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <utility>

#include <grpc/support/log.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>

#include <google/protobuf/stubs/logging.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "config/config.h"
#include "query/compiled_filter.h"
#include "service/aggregate_runner.h"
#include "service/query_runner.h"
#include "service/stream_reactors.h"
#include "service/tls_files.h"
#include "skyprobe/v1/probe_service.grpc.pb.h"

namespace skyprobe {

namespace {

absl::StatusOr<std::string> ReadFile(absl::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// Same time whatever the first differing byte, so the token cannot be guessed
// byte by byte from response times.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

// protobuf logs an ERROR line on stderr for every request with a string
// that is not UTF-8 (found by the grpc_query fuzz target): any client could
// fill the probe's log. Such requests are answered INVALID_ARGUMENT
// (request_traits.h); only FATAL messages still reach stderr.
void QuietProtobufLog(google::protobuf::LogLevel level, const char* file, int line,
                      const std::string& message) {
  if (level < google::protobuf::LOGLEVEL_FATAL) return;
  std::fprintf(stderr, "skyprobe: libprotobuf FATAL %s:%d: %s\n", file, line, message.c_str());
}

// gRPC's own log (connection resets, handshake failures, its shutdown's
// "Cancelling all calls"...): a library's chatter, not the probe's message to
// its user, so off by default, and in the probe's form when asked for.
std::atomic<int> g_grpc_log_level{0};

void GrpcLog(gpr_log_func_args* args) {
  // gpr severities: DEBUG 0, INFO 1, ERROR 2; our levels: 3, 2, 1 show them.
  static constexpr int kLevelNeeded[] = {3, 2, 1};
  static constexpr const char* kNames[] = {"debug", "info", "error"};
  const int sev = args->severity >= 0 && args->severity <= 2 ? args->severity : 2;
  if (g_grpc_log_level.load(std::memory_order_relaxed) < kLevelNeeded[sev]) return;
  std::fprintf(stderr, "skyprobe: grpc %s %s:%d: %s\n", kNames[sev],
               args->file != nullptr ? args->file : "?", args->line,
               args->message != nullptr ? args->message : "");
}

}  // namespace

class GrpcServer::Impl final : public v1::ProbeService::CallbackService {
 public:
  Impl(ProbeBackend* backend, ServiceOptions options, std::string token,
       const RequestCounters* requests)
      : backend_(backend),
        requests_(requests),
        options_(std::move(options)),
        token_(std::move(token)),
        budget_(options_.answer_memory),
        watchdog_(options_.idle_timeout, &counters_.idle_cut) {}

  grpc::ServerUnaryReactor* Query(grpc::CallbackServerContext* ctx, const v1::FlowQuery* request,
                                  v1::FlowSet* reply) override {
    return RunCounted(ctx, *request, [&](BudgetLease* lease) {
      return RunQuery(*request, backend_, reply, lease);
    });
  }

  grpc::ServerWriteReactor<v1::Flow>* Subscribe(grpc::CallbackServerContext* ctx,
                                                const v1::FlowFilter* request) override {
    absl::Status s = Admit(ctx, *request);
    std::shared_ptr<const query::CompiledFilter> filter;
    const std::string node_tid = backend_->NodeTid();
    if (s.ok()) {
      auto compiled = query::CompiledFilter::Compile(
          request->expression(), request->has_filter() ? &request->filter() : nullptr,
          {.node_tid = node_tid, .points = backend_->Points()});
      if (compiled.ok()) {
        if (!(*compiled)->MatchesAll()) filter = *std::move(compiled);
      } else {
        s = Count(compiled.status());
      }
    }
    RequestSlot slot;
    if (s.ok()) {
      s = TakeSlot("Subscribe", &counters_.subscribers, options_.max_subscribers,
                   "--grpc-max-subscribers", &slot);
    }
    if (!s.ok()) return new FailedStream<v1::Flow>(s);
    return new SubscribeReactor(
        backend_, std::move(filter),
        JsonContext{.node_tid = node_tid, .points = backend_->Points()}, options_.subscriber_queue,
        &budget_, StreamGuard(&watchdog_, ctx, std::move(slot)), &counters_, &subscribers_);
  }

  // A normal stop: every subscription ends with OK after its queued records.
  void EndSubscriptions() { subscribers_.EndAll(); }

  grpc::ServerWriteReactor<v1::FlowSet>* QueryStream(grpc::CallbackServerContext* ctx,
                                                     const v1::FlowQuery* request) override {
    absl::Status s = Admit(ctx, *request);
    RequestSlot slot;
    if (s.ok()) {
      s = TakeSlot("QueryStream", &counters_.query_streams_active, options_.max_streams,
                   "--grpc-max-streams", &slot);
    }
    QueryAnswer answer;
    answer.lease = BudgetLease(&budget_);
    if (s.ok()) {
      counters_.query_streams.fetch_add(1, std::memory_order_relaxed);
      CallCancelScope cancel([ctx] { return ctx->IsCancelled(); });
      s = Count(CollectAnswer(*request, backend_, &answer));
    }
    if (!s.ok()) return new FailedStream<v1::FlowSet>(s);
    return new QueryStreamReactor(std::move(answer), s,
                                  StreamGuard(&watchdog_, ctx, std::move(slot)));
  }

  grpc::ServerWriteReactor<v1::PcapChunk>* ExportPcap(grpc::CallbackServerContext* ctx,
                                                      const v1::FlowQuery* request) override {
    absl::Status s = Admit(ctx, *request);
    RequestSlot slot;
    if (s.ok()) {
      s = TakeSlot("ExportPcap", &counters_.pcap_exports_active, options_.max_exports,
                   "--grpc-max-exports", &slot);
    }
    PcapPackets packets;
    packets.lease = BudgetLease(&budget_);
    if (s.ok()) {
      counters_.pcap_exports.fetch_add(1, std::memory_order_relaxed);
      CallCancelScope cancel([ctx] { return ctx->IsCancelled(); });
      s = Count(GatherPcapPackets(*request, backend_, options_.max_pcap_bytes, &packets));
    }
    if (!s.ok()) return new FailedStream<v1::PcapChunk>(s);
    return new PcapReactor(std::move(packets), s, StreamGuard(&watchdog_, ctx, std::move(slot)));
  }

  // Counted among the queries (Stats "queries"), and a Query slot it takes.
  grpc::ServerUnaryReactor* Aggregate(grpc::CallbackServerContext* ctx,
                                      const v1::AggregateRequest* request,
                                      v1::AggregateReply* reply) override {
    return RunCounted(ctx, *request, [&](BudgetLease* lease) {
      return RunAggregate(*request, backend_, reply, lease);
    });
  }

  grpc::ServerUnaryReactor* Stats(grpc::CallbackServerContext* ctx, const v1::StatsRequest*,
                                  v1::StatsReply* reply) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    absl::Status s = Authorize(ctx);
    if (s.ok()) {
      reply->set_node_tid(backend_->NodeTid());
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      reply->set_monotonic_ns(static_cast<uint64_t>(now.tv_sec) * 1000000000ull +
                              static_cast<uint64_t>(now.tv_nsec));
      for (const StatsSnapshot::Entry& e : backend_->Stats().entries) {
        v1::StatsEntry* out = reply->add_entries();
        out->set_scope(e.scope);
        out->set_name(e.name);
        out->set_value(e.value);
      }
      auto add = [&](const char* name, const std::atomic<uint64_t>& v) {
        v1::StatsEntry* out = reply->add_entries();
        out->set_scope("service");
        out->set_name(name);
        out->set_value(v.load(std::memory_order_relaxed));
      };
      add("queries", counters_.queries);
      add("bad_requests", counters_.bad_requests);
      add("unauthenticated", counters_.unauthenticated);
      add("subscribers", counters_.subscribers);
      add("subscriber_records", counters_.subscriber_records);
      add("subscriber_dropped", counters_.subscriber_dropped);
      add("pcap_exports", counters_.pcap_exports);
      add("query_streams", counters_.query_streams);
      add("queries_active", counters_.queries_active);
      add("query_streams_active", counters_.query_streams_active);
      add("pcap_exports_active", counters_.pcap_exports_active);
      add("refused_busy", counters_.refused_busy);
      add("idle_cut", counters_.idle_cut);
      auto put = [&](const char* name, uint64_t value) {
        v1::StatsEntry* out = reply->add_entries();
        out->set_scope("service");
        out->set_name(name);
        out->set_value(value);
      };
      put("answer_bytes", budget_.used());
      put("refused_memory", budget_.refusals());
      // Calls finished, by method and code (this one is not finished yet).
      for (const RequestCount& c : requests_->Read()) {
        v1::StatsEntry* out = reply->add_entries();
        out->set_scope("requests." + std::string(c.rpc));
        out->set_name(std::string(c.code));
        out->set_value(c.count);
      }
    }
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }

  grpc::ServerUnaryReactor* Flush(grpc::CallbackServerContext* ctx, const v1::FlushRequest*,
                                  v1::FlushReply*) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    absl::Status s = Authorize(ctx);
    if (s.ok()) s = backend_->Flush();
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }

 private:
  // A stream refused before it started (bad filter, no token).
  template <typename T>
  class FailedStream final : public grpc::ServerWriteReactor<T> {
   public:
    explicit FailedStream(const absl::Status& s) { this->Finish(ToGrpcStatus(s)); }
    void OnDone() override { delete this; }
  };

  absl::Status Authorize(grpc::CallbackServerContext* ctx) {
    if (token_.empty()) return absl::OkStatus();
    const auto& md = ctx->client_metadata();
    auto it = md.find("authorization");
    if (it == md.end()) {
      counters_.unauthenticated.fetch_add(1, std::memory_order_relaxed);
      return absl::UnauthenticatedError(
          "this probe requires a token: send 'authorization: Bearer <token>'");
    }
    const absl::string_view given(it->second.data(), it->second.size());
    if (!ConstantTimeEquals(given, absl::StrCat("Bearer ", token_))) {
      counters_.unauthenticated.fetch_add(1, std::memory_order_relaxed);
      return absl::UnauthenticatedError("wrong bearer token");
    }
    return absl::OkStatus();
  }

  // A place among the `cap` requests of a kind, or RESOURCE_EXHAUSTED naming the cap.
  absl::Status TakeSlot(absl::string_view rpc, std::atomic<uint64_t>* active, uint64_t cap,
                        absl::string_view flag, RequestSlot* slot) {
    *slot = RequestSlot::Take(active, cap);
    if (*slot) return absl::OkStatus();
    counters_.refused_busy.fetch_add(1, std::memory_order_relaxed);
    return absl::ResourceExhaustedError(absl::StrCat("too many ", rpc, " calls in progress (", cap,
                                                     ", ", flag, "); retry when one has ended"));
  }

  // Authorized, and a request that decoded (request_traits.h).
  absl::Status Admit(grpc::CallbackServerContext* ctx, const google::protobuf::Message& request) {
    absl::Status s = Authorize(ctx);
    if (!s.ok()) return s;
    const std::string undecoded = v1::RequestDecodeError(request);
    if (undecoded.empty()) return absl::OkStatus();
    return Count(absl::InvalidArgumentError(undecoded));
  }

  // A unary call counted among the queries (Stats "queries") that takes a
  // Query slot: Query and Aggregate. `run(lease)` does the work, its answer
  // charged to the answer budget; the call can be cancelled meanwhile.
  template <typename Run>
  grpc::ServerUnaryReactor* RunCounted(grpc::CallbackServerContext* ctx,
                                       const google::protobuf::Message& request, Run&& run) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    absl::Status s = Admit(ctx, request);
    RequestSlot slot;
    if (s.ok()) {
      s = TakeSlot("Query", &counters_.queries_active, options_.max_queries, "--grpc-max-queries",
                   &slot);
    }
    if (s.ok()) {
      counters_.queries.fetch_add(1, std::memory_order_relaxed);
      BudgetLease lease(&budget_);
      CallCancelScope cancel([ctx] { return ctx->IsCancelled(); });
      s = Count(run(&lease));
    }
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }

  absl::Status Count(absl::Status s) {
    if (absl::IsInvalidArgument(s)) counters_.bad_requests.fetch_add(1, std::memory_order_relaxed);
    return s;
  }

  ProbeBackend* backend_;
  const RequestCounters* requests_;
  ServiceOptions options_;
  std::string token_;
  ServiceCounters counters_;
  AnswerBudget budget_;
  SubscriberList subscribers_;
  StreamWatchdog watchdog_;  // declared last: its thread stops first
};

ServiceOptions ServiceOptionsFromConfig(const Config& cfg) {
  ServiceOptions o;
  o.listen = cfg.grpc_listen;
  o.tls_cert_file = cfg.grpc_tls_cert;
  o.tls_key_file = cfg.grpc_tls_key;
  o.tls_client_ca_file = cfg.grpc_tls_client_ca;
  o.token_file = cfg.grpc_token_file;
  o.insecure = cfg.grpc_insecure;
  o.max_queries = cfg.grpc_max_queries;
  o.max_streams = cfg.grpc_max_streams;
  o.max_subscribers = cfg.grpc_max_subscribers;
  o.max_exports = cfg.grpc_max_exports;
  o.answer_memory = cfg.grpc_answer_memory;
  o.idle_timeout = std::chrono::seconds(cfg.grpc_idle_timeout_sec);
  o.log_level = static_cast<int>(cfg.grpc_log);
  return o;
}

std::string ProtectionText(const ServiceOptions& options) {
  std::string tls;
  if (!options.tls_cert_file.empty()) {
    tls = options.tls_client_ca_file.empty() ? "TLS" : "mutual TLS";
  }
  if (!tls.empty() && !options.token_file.empty()) return tls + " and bearer token";
  if (!tls.empty()) return tls;
  if (!options.token_file.empty()) return "bearer token, no TLS";
  if (IsLoopbackListen(options.listen)) return "loopback only, no TLS, no token";
  return "NONE: no TLS, no token on a network address (--grpc-insecure)";
}

GrpcServer::~GrpcServer() { Shutdown(); }

void GrpcServer::Shutdown(int grace_ms) {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  // Subscriptions end with OK once their queued records are sent: a client
  // knows the probe stopped. Past the deadline gRPC cancels what still runs
  // (a subscriber that does not read), and Shutdown returns once every
  // reactor is done.
  impl_->EndSubscriptions();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(grace_ms));
}

absl::StatusOr<std::unique_ptr<GrpcServer>> StartGrpcServer(const ServiceOptions& options,
                                                            ProbeBackend* backend) {
  if (options.listen.empty() || options.listen == "none") {
    return absl::InvalidArgumentError("--grpc-listen: no address to listen on");
  }
  std::string token;
  if (!options.token_file.empty()) {
    absl::StatusOr<std::string> t = ReadFile("--grpc-token-file", options.token_file);
    if (!t.ok()) return t.status();
    token = std::string(absl::StripAsciiWhitespace(*t));
    if (token.size() < kMinGrpcTokenBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("--grpc-token-file ", options.token_file, ": the token is ", token.size(),
                       " bytes; it must be at least ", kMinGrpcTokenBytes));
    }
  }
  // The same rule as the configuration's (validate.cc), for callers that
  // build ServiceOptions themselves.
  if (!IsLoopbackListen(options.listen) && options.tls_cert_file.empty() && token.empty() &&
      !options.insecure) {
    return absl::InvalidArgumentError(
        absl::StrCat("--grpc-listen ", options.listen,
                     ": not a loopback address, and without TLS or a token anyone who reaches "
                     "it can read every flow (--grpc-insecure to serve it so on purpose)"));
  }
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
      return absl::InvalidArgumentError("--grpc-tls-cert and --grpc-tls-key go together");
    }
    // gRPC would only fail to bind: name a bad file as such.
    if (absl::Status s = CheckTlsFiles(options); !s.ok()) return s;
    grpc::SslServerCredentialsOptions ssl;
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    absl::StatusOr<std::string> cert = ReadFile("--grpc-tls-cert", options.tls_cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile("--grpc-tls-key", options.tls_key_file);
    if (!key.ok()) return key.status();
    pair.cert_chain = *cert;
    pair.private_key = *key;
    ssl.pem_key_cert_pairs.push_back(pair);
    if (!options.tls_client_ca_file.empty()) {
      absl::StatusOr<std::string> ca = ReadFile("--grpc-tls-client-ca", options.tls_client_ca_file);
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
      ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    creds = grpc::SslServerCredentials(ssl);
  } else if (!options.tls_client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--grpc-tls-client-ca needs --grpc-tls-cert and --grpc-tls-key");
  } else {
    creds = grpc::InsecureServerCredentials();
  }

  static std::once_flag quiet;
  std::call_once(quiet, [] {
    google::protobuf::SetLogHandler(&QuietProtobufLog);
    gpr_set_log_function(&GrpcLog);
    gpr_set_log_verbosity(GPR_LOG_SEVERITY_DEBUG);  // GrpcLog filters
  });
  g_grpc_log_level.store(options.log_level, std::memory_order_relaxed);
  std::unique_ptr<GrpcServer> server(new GrpcServer());
  server->impl_ =
      std::make_unique<GrpcServer::Impl>(backend, options, std::move(token), &server->requests_);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, creds, &server->port_);
  builder.RegisterService(server->impl_.get());
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.SetMaxSendMessageSize(options.max_send_message_bytes);
  builder.experimental().SetInterceptorCreators(server->requests_.Interceptors());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("--grpc-listen ", options.listen,
                     ": cannot listen there (address in use, not local, or not HOST:PORT)"));
  }
  return server;
}

}  // namespace skyprobe
