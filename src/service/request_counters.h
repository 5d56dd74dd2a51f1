// request_counters.h: every gRPC call the service finished, by method and
// status code (Stats scope "requests", metric skyprobe_requests_total).
//
// Owner: gRPC threads count (a relaxed atomic add per call: calls are rare
// next to packets); anyone reads. A server interceptor counts each call when
// its status is sent, so no handler needs to know.
//
//   builder.experimental().SetInterceptorCreators(counters.Interceptors());
//   for (const RequestCount& c : counters.Read()) ...   // "Query", "OK", 12
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace skyprobe {

struct RequestCount {
  std::string_view rpc;   // "Query", "QueryStream", "Subscribe", "ExportPcap", "Stats", "Flush"
  std::string_view code;  // "OK", "INVALID_ARGUMENT", ... (grpc::StatusCode names)
  uint64_t count = 0;
};

class RequestCounters {
 public:
  static constexpr int kRpcs = 7;    // the six methods, and "other"
  static constexpr int kCodes = 17;  // grpc::StatusCode 0..16

  // `method` is gRPC's full name ("/skyprobe.v1.ProbeService/Query").
  void Count(std::string_view method, int code) noexcept;
  // The pairs counted at least once, in method then code order.
  std::vector<RequestCount> Read() const;
  // A factory for ServerBuilder::experimental().SetInterceptorCreators; the
  // counters must outlive the server.
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
  Interceptors();

  static std::string_view CodeName(int code);

 private:
  std::array<std::array<std::atomic<uint64_t>, kCodes>, kRpcs> counts_{};
};

}  // namespace skyprobe
