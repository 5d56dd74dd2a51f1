#include "export/metrics_endpoint.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace skyprobe {

// What prometheus-cpp calls at each scrape: our families in its types.
class MetricsEndpoint::Source final : public prometheus::Collectable {
 public:
  explicit Source(MetricsGather gather) : gather_(std::move(gather)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    for (MetricFamilyData& f : gather_()) {
      prometheus::MetricFamily pf;
      pf.name = std::move(f.name);
      pf.help = std::move(f.help);
      pf.type = f.kind == MetricKind::kCounter ? prometheus::MetricType::Counter
                : f.kind == MetricKind::kGauge ? prometheus::MetricType::Gauge
                                               : prometheus::MetricType::Histogram;
      for (MetricPoint& p : f.points) {
        prometheus::ClientMetric m;
        for (auto& [k, v] : p.labels) m.label.push_back({std::move(k), std::move(v)});
        switch (f.kind) {
          case MetricKind::kCounter:
            m.counter.value = p.value;
            break;
          case MetricKind::kGauge:
            m.gauge.value = p.value;
            break;
          case MetricKind::kHistogram:
            for (const auto& [bound, n] : p.buckets) m.histogram.bucket.push_back({n, bound});
            m.histogram.sample_sum = p.sum;
            m.histogram.sample_count = p.count;
            break;
        }
        pf.metric.push_back(std::move(m));
      }
      out.push_back(std::move(pf));
    }
    return out;
  }

 private:
  MetricsGather gather_;
};

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(const std::string& listen,
                                                                        MetricsGather gather) {
  std::unique_ptr<MetricsEndpoint> ep(new MetricsEndpoint());
  ep->source_ = std::make_shared<Source>(std::move(gather));
  try {
    // One server thread: scrapes are rare and read the same counters; one at
    // a time keeps the gatherer single-threaded.
    ep->exposer_ = std::make_unique<prometheus::Exposer>(listen, 1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("--metrics-listen ", listen, ": cannot listen there (", e.what(), ")"));
  }
  ep->exposer_->RegisterCollectable(ep->source_);
  const std::vector<int> ports = ep->exposer_->GetListeningPorts();
  if (!ports.empty()) ep->port_ = ports[0];
  return ep;
}

MetricsEndpoint::~MetricsEndpoint() {
  exposer_.reset();  // joins the server thread
  source_.reset();
}

}  // namespace skyprobe
