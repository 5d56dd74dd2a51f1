// metrics_endpoint.h: the Prometheus endpoint (--metrics-listen): GET /metrics
// in the text exposition format, served by prometheus-cpp (civetweb).
//
// Owner: civetweb's one server thread calls `gather` at each scrape; nothing
// is kept between scrapes, so the values are those of the moment (no
// registry, no atomics on the data path: the gatherer reads the lcores'
// counters itself, see include/skyprobe/counter_read.h).
//
//   SKYPROBE_ASSIGN_OR_RETURN(auto ep, MetricsEndpoint::Start("127.0.0.1:9464", gather));
//   ... ep.reset();   // before anything `gather` reads goes away
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace prometheus {
class Exposer;
}

namespace skyprobe {

enum class MetricKind : uint8_t { kCounter, kGauge, kHistogram };

// One time series of a family.
struct MetricPoint {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;  // counter, gauge
  // Histograms: cumulative counts by upper bound (+Inf implied by count).
  std::vector<std::pair<double, uint64_t>> buckets;
  double sum = 0;
  uint64_t count = 0;
};

struct MetricFamilyData {
  std::string name;  // skyprobe_..._total for counters
  std::string help;
  MetricKind kind = MetricKind::kCounter;
  std::vector<MetricPoint> points;
};

using MetricsGather = std::function<std::vector<MetricFamilyData>()>;

class MetricsEndpoint {
 public:
  // Listens on `listen` ("ADDR:PORT", port 0 picks one). UNAVAILABLE when the
  // address cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const std::string& listen,
                                                                MetricsGather gather);
  ~MetricsEndpoint();  // stops serving; a scrape in progress finishes first

  int port() const { return port_; }

 private:
  MetricsEndpoint() = default;
  class Source;
  std::shared_ptr<Source> source_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace skyprobe
