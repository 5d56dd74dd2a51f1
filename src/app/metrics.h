// metrics.h: the probe's counters as Prometheus metrics (--metrics-listen).
//
// Owner: the metrics endpoint's server thread, at each scrape: it gathers the
// same Summary as Stats (counters.h, read with relaxed loads) and renames it
// by the table in metrics.cc, the one place where a counter becomes a metric
// name with labels (docs/metrics.md lists them all; a test holds both to the
// values of Stats).
//
//   SKYPROBE_ASSIGN_OR_RETURN(auto ep, StartMetrics(cfg, r, &loop));
//   ... ep.reset();   // before the loop and the lcores' objects go away
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "app/running.h"
#include "app/summary.h"
#include "config/config.h"
#include "control/control_loop.h"
#include "export/metrics_endpoint.h"

namespace skyprobe {

// Requests finished by the gRPC service: (rpc, code, count).
struct RequestMetric {
  std::string rpc;
  std::string code;
  uint64_t count = 0;
};

// The families for one scrape: the summary's counters by the table (names
// that are sums of labelled series, like packets_in, are left out), the gRPC
// requests, and skyprobe_build_info. Pure: tests call it with a made-up
// summary.
std::vector<MetricFamilyData> MetricFamilies(const Summary& s,
                                             const std::vector<RequestMetric>& requests);

// The metric a summary name becomes, by the table: its name and kind, or
// `sum` when it is left out as a sum of other series; nullopt when no rule
// takes it (app_unit holds every counter list to it).
struct MetricFor {
  std::string metric;
  MetricKind kind;
  bool sum = false;
};
std::optional<MetricFor> MetricForName(const std::string& name);

// The endpoint on cfg.metrics_listen, reading `r` and `loop` at each scrape
// (both must outlive it). Prints the bound port unless --quiet.
absl::StatusOr<std::unique_ptr<MetricsEndpoint>> StartMetrics(const Config& cfg, const Running* r,
                                                              const ControlLoop* loop);

}  // namespace skyprobe
