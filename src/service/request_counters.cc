#include "service/request_counters.h"

namespace skyprobe {
namespace {

constexpr std::string_view kRpcNames[RequestCounters::kRpcs] = {
    "Query", "QueryStream", "Subscribe", "ExportPcap", "Stats", "Flush", "other"};

constexpr std::string_view kCodeNames[RequestCounters::kCodes] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

int RpcIndex(std::string_view method) {
  const size_t slash = method.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? method : method.substr(slash + 1);
  for (int i = 0; i + 1 < RequestCounters::kRpcs; ++i) {
    if (kRpcNames[i] == name) return i;
  }
  return RequestCounters::kRpcs - 1;
}

class CountingInterceptor final : public grpc::experimental::Interceptor {
 public:
  CountingInterceptor(RequestCounters* counters, const char* method)
      : counters_(counters), method_(method != nullptr ? method : "") {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      counters_->Count(method_, methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  RequestCounters* counters_;
  std::string_view method_;
};

class Factory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(RequestCounters* counters) : counters_(counters) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CountingInterceptor(counters_, info->method());
  }

 private:
  RequestCounters* counters_;
};

}  // namespace

std::string_view RequestCounters::CodeName(int code) {
  return code >= 0 && code < kCodes ? kCodeNames[code] : "UNKNOWN";
}

void RequestCounters::Count(std::string_view method, int code) noexcept {
  if (code < 0 || code >= kCodes) code = 2;  // UNKNOWN
  counts_[RpcIndex(method)][code].fetch_add(1, std::memory_order_relaxed);
}

std::vector<RequestCount> RequestCounters::Read() const {
  std::vector<RequestCount> out;
  for (int r = 0; r < kRpcs; ++r) {
    for (int c = 0; c < kCodes; ++c) {
      const uint64_t n = counts_[r][c].load(std::memory_order_relaxed);
      if (n != 0) out.push_back({kRpcNames[r], kCodeNames[c], n});
    }
  }
  return out;
}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
RequestCounters::Interceptors() {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> v;
  v.push_back(std::make_unique<Factory>(this));
  return v;
}

}  // namespace skyprobe
