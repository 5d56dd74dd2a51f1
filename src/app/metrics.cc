// metrics.cc: the table from summary counters to Prometheus metrics, and the
// endpoint that serves them. Names follow Prometheus' conventions: a
// skyprobe_ prefix, _total on counters, base units (bytes), and labels
// instead of numbers in names. docs/metrics.md is this table for people.

#include "app/metrics.h"

#include <cstdio>
#include <map>
#include <optional>
#include <regex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "app/counters.h"

namespace skyprobe {
namespace {

constexpr MetricKind kC = MetricKind::kCounter;
constexpr MetricKind kG = MetricKind::kGauge;

// One summary name pattern (a regex over the whole name) and the metric its
// value goes to. `labels` name the pattern's groups in order; "name=value"
// is a fixed label.
struct Rule {
  const char* pattern;
  const char* metric;
  MetricKind kind;
  std::vector<const char*> labels;
  const char* help;
  double divisor = 1;  // value = summary value / divisor (1e9: ns -> s)
};

// Summary names left out: the sums of labelled series a query adds up itself
// (sum(skyprobe_rx_packets_total) is packets_in).
constexpr const char* kSums =
    "packets_in|bytes_in|drops|flows_live|flows_created|flows_expired|output_errors|"
    "records_lost|port_imissed|port_ierrors|port_rx_nombuf|sflow_malformed|sflow_drops|"
    "worker\\d+_packets_in_flows|worker\\d+_ring_stalls";

// A table reads best one rule to a line or two: clang-format leaves it.
// clang-format off
const std::vector<Rule>& Rules() {
  static const std::vector<Rule> kRules = {
      // Traffic.
      {R"(port(\d+)\.queue(\d+)_packets_in)", "skyprobe_rx_packets_total", kC, {"port", "queue"},
       "Frames the probe took from an RX queue."},
      {R"(port(\d+)\.queue(\d+)_bytes_in)", "skyprobe_rx_bytes_total", kC, {"port", "queue"},
       "Bytes (frame lengths) of the frames taken from an RX queue."},
      {R"(worker(\d+)_packets_in)", "skyprobe_worker_packets_total", kC, {"worker"},
       "Frames an RX worker processed."},
      {"packets_in_flows", "skyprobe_packets_in_flows_total", kC, {},
       "Frames counted in at least one flow."},
      {"filtered", "skyprobe_filtered_packets_total", kC, {},
       "Frames the --bpf filter did not keep."},
      {"drop_(.+)", "skyprobe_drops_total", kC, {"reason"},
       "Frames received and dropped, by reason."},
      {R"(port(\d+)_imissed)", "skyprobe_port_imissed_total", kC, {"port"},
       "Frames the NIC dropped for lack of room in its RX queues (imissed)."},
      {R"(port(\d+)_ierrors)", "skyprobe_port_ierrors_total", kC, {"port"},
       "Erroneous frames the NIC received (ierrors)."},
      {R"(port(\d+)_rx_nombuf)", "skyprobe_port_rx_nombuf_total", kC, {"port"},
       "RX mbuf allocation failures of the port (rx_nombuf)."},
      {R"(port(\d+)_link_up)", "skyprobe_port_link_up", kG, {"port"},
       "1 while a live port's link is up, 0 while it is down or its interface is gone."},
      {R"(port(\d+)_link_downs)", "skyprobe_port_link_down_total", kC, {"port"},
       "Times a live port's link went from up to down, or its interface away."},
      {"file_errors", "skyprobe_file_errors_total", kC, {},
       "--pcap files that ended at a damaged record (the rest of the file not read)."},
      {"anomaly_(.+)", "skyprobe_anomalies_total", kC, {"kind"},
       "Frames with a malformed part the parser stepped over, by kind."},
      {"clock_jumps", "skyprobe_clock_jumps_total", kC, {},
       "Frames stamped past the present, taken at the latest believable time."},
      {"raw_packets_kept", "skyprobe_raw_packets_kept_total", kC, {},
       "Packet copies made by raw packet capture."},
      {"raw_packets_dropped", "skyprobe_raw_packets_dropped_total", kC, {},
       "Packets raw packet capture wanted to keep but had no slot for."},
      {"kept_expired", "skyprobe_kept_expired_total", kC, {},
       "Final records of expired flows kept for queries (--keep-expired)."},
      {"kept_expired_flows", "skyprobe_kept_expired_flows", kG, {},
       "Expired flows kept for queries now."},
      {"kept_expired_overflow", "skyprobe_kept_expired_overflow_total", kC, {},
       "Kept expired flows pushed out before their time (--keep-expired-max)."},
      {"kept_expired_raw_reclaimed", "skyprobe_kept_expired_raw_reclaimed_total", kC, {},
       "Kept expired flows whose raw packets went to live flows."},
      {"defrag_fragments", "skyprobe_defrag_fragments_total", kC, {},
       "IP fragment frames seen by defragmentation."},
      {"defrag_datagrams", "skyprobe_defrag_datagrams_total", kC, {},
       "IP datagrams reassembled."},
      {"defrag_duplicates", "skyprobe_defrag_duplicates_total", kC, {},
       "IP fragments received twice."},
      {"defrag_(timeouts|table_full|flushed|overlaps|too_many)", "skyprobe_defrag_failed_total",
       kC, {"reason"}, "IP datagrams given up incomplete or failed, by reason."},
      {"defrag_held", "skyprobe_defrag_held_frames", kG, {},
       "Frames held now, waiting for the first fragment of their datagram."},
      {"app_flows", "skyprobe_app_flows_total", kC, {},
       "Flows given an application metadata slot (--app-metadata, --extra-layers)."},
      {"app_no_slot", "skyprobe_app_no_slot_total", kC, {},
       "Flows whose application metadata found no free slot (--app-meta-flows)."},
      {"app_pending_full", "skyprobe_app_pending_full_total", kC, {},
       "ClientHellos or request heads spanning segments that found no reader free."},
      {"app_gave_up", "skyprobe_app_gave_up_total", kC, {},
       "Readers of a ClientHello or request head given up (a gap, too many segments, too old)."},
      {"app_tls_malformed", "skyprobe_app_tls_malformed_total", kC, {},
       "TLS ClientHellos that did not parse."},
      {"app_tls_unfingerprinted", "skyprobe_app_tls_unfingerprinted_total", kC, {},
       "TLS ClientHellos with lists longer than kept: no JA3/JA4."},
      {"app_message_too_long", "skyprobe_app_message_too_long_total", kC, {},
       "DNS, DHCPv4 or VRRP layers longer than kept."},
      // Capture points.
      {R"(capture\.(.+)\.packets_in)", "skyprobe_capture_packets_total", kC, {"capture"},
       "Frames a capture point's queues gave (an sFlow listener: the sampled frames)."},
      {R"(capture\.(.+)\.datagrams)", "skyprobe_capture_sflow_datagrams_total", kC, {"capture"},
       "Datagrams an sFlow listener (--sflow-listen) received."},
      {R"(capture\.(.+)\.bytes_in)", "skyprobe_capture_bytes_total", kC, {"capture"},
       "Bytes (frame lengths) of the frames a capture point's queues gave."},
      {R"(capture\.(.+)\.filtered)", "skyprobe_capture_filtered_packets_total", kC, {"capture"},
       "Frames a capture point's filter (bpf=, else --bpf) did not keep."},
      {R"(capture\.(.+)\.packets_in_flows)", "skyprobe_capture_packets_in_flows_total", kC,
       {"capture"}, "Frames of a capture point counted in at least one flow."},
      {R"(capture\.(.+)\.flows_created)", "skyprobe_capture_flows_created_total", kC, {"capture"},
       "Flows created at a capture point."},
      {R"(capture\.(.+)\.flows_live)", "skyprobe_capture_flows_active", kG, {"capture"},
       "Flows of a capture point in the table now."},
      // Flows.
      {R"(worker(\d+)_flows_live)", "skyprobe_flows_active", kG, {"worker"},
       "Flows in the table now."},
      {"sflow_flows_live", "skyprobe_flows_active", kG, {"worker=sflow"},
       "Flows in the table now."},
      {R"(worker(\d+)_flows_capacity)", "skyprobe_flows_capacity", kG, {"worker"},
       "Flows the table holds before the overload policy applies."},
      {R"(worker(\d+)_flows_created)", "skyprobe_flows_created_total", kC, {"worker"},
       "Flows created."},
      {"sflow_flows_created", "skyprobe_flows_created_total", kC, {"worker=sflow"},
       "Flows created."},
      {"expired_(idle|tcp_closed|evicted|flush)", "skyprobe_flows_expired_total", kC, {"reason"},
       "Flows expired (their final record sent), by reason."},
      {"update_records", "skyprobe_update_records_total", kC, {},
       "Update records sent for live flows."},
      {"records_out", "skyprobe_control_records_total", kC, {},
       "Records the control lcore handed to its outputs and subscribers."},
      {"ring_stalls", "skyprobe_record_ring_stalls_total", kC, {},
       "Records delayed because the ring to the control lcore was full."},
      {"table_inconsistencies", "skyprobe_table_inconsistencies_total", kC, {},
       "Flow index operations of a flow table that failed where they cannot (handled and counted)."},
      // Outputs.
      {R"(output\.(.+)\.records)", "skyprobe_records_total", kC, {"output"},
       "Records handed to an output."},
      {R"(output\.(.+)\.records_lost)", "skyprobe_records_lost_total", kC, {"output"},
       "Records that did not reach an output whole."},
      {R"(output\.(.+)\.output_errors)", "skyprobe_output_errors_total", kC, {"output"},
       "Writes, reopens or client operations of an output that failed."},
      {R"(output\.kafka\.(delivered|delivery_failed|queue_full|produce_errors))",
       "skyprobe_kafka_records_total", kC, {"result"},
       "Records handed to Kafka, by what became of them."},
      {R"(output\.(ipfix:.+)\.delivered)", "skyprobe_ipfix_records_delivered_total", kC, {"output"},
       "Flow records an IPFIX destination delivered (UDP sent, file written, TCP surely read)."},
      {R"(output\.(ipfix:.+)\.messages)", "skyprobe_ipfix_messages_total", kC, {"output"},
       "IPFIX messages sent or written."},
      {R"(output\.(ipfix:.+)\.templates)", "skyprobe_ipfix_templates_total", kC, {"output"},
       "IPFIX template records sent (again on each connection and refresh)."},
      {R"(output\.(ipfix:.+)\.bytes)", "skyprobe_ipfix_bytes_total", kC, {"output"},
       "Bytes of the IPFIX messages sent or written."},
      {R"(output\.(ipfix:.+)\.reconnects)", "skyprobe_ipfix_reconnects_total", kC, {"output"},
       "TCP connections an IPFIX destination made after losing one."},
      {R"(output\.(ipfix:.+)\.spool_bytes)", "skyprobe_ipfix_spool_bytes", kG, {"output"},
       "Bytes an IPFIX destination holds in its spool now, not yet delivered."},
      {R"(output\.(ipfix:.+)\.strings_cut)", "skyprobe_ipfix_strings_cut_total", kC,
       {"output"}, "IPFIX records with a string shortened to fit 1024 bytes."},
      // The RX loop: time between two polls of a worker (capture/loop_gap.h),
      // percentiles since start, from each worker's histogram and from all of
      // them merged (not a sum: worker="all"). Seconds, as Prometheus wants.
      {R"(worker(\d+)_loop_gap_(p50|p99|p999|max)_ns)", "skyprobe_loop_gap_seconds", kG,
       {"worker", "percentile"}, "Time between two RX polls of a worker since start, by percentile.",
       1e9},
      {"loop_gap_(p50|p99|p999|max)_ns", "skyprobe_loop_gap_seconds", kG,
       {"worker=all", "percentile"}, "Time between two RX polls of a worker since start, by percentile.",
       1e9},
      // Pacing and dispatch.
      {"dispatcher_waits", "skyprobe_dispatcher_waits_total", kC, {},
       "Times the dispatcher waited for room in a worker's ring (file inputs)."},
      {"pacing_waits", "skyprobe_pacing_waits_total", kC, {},
       "Bursts held back by --pcap-rate or --pcap-realtime."},
      // sFlow.
      {"sflow_datagrams", "skyprobe_sflow_datagrams_total", kC, {}, "sFlow datagrams received."},
      {"sflow_bytes", "skyprobe_sflow_bytes_total", kC, {},
       "UDP payload bytes of the sFlow datagrams received."},
      {"sflow_malformed_(.+)", "skyprobe_sflow_malformed_total", kC, {"reason"},
       "sFlow datagrams refused as malformed, by reason."},
      {"sflow_samples", "skyprobe_sflow_samples_total", kC, {},
       "Samples in accepted sFlow datagrams."},
      {"sflow_flow_samples", "skyprobe_sflow_flow_samples_total", kC, {},
       "sFlow flow samples."},
      {"sflow_samples_skipped", "skyprobe_sflow_samples_skipped_total", kC, {},
       "sFlow samples of other types (counters, enterprise formats)."},
      {"sflow_records", "skyprobe_sflow_records_total", kC, {}, "Records in sFlow flow samples."},
      {"sflow_records_skipped", "skyprobe_sflow_records_skipped_total", kC, {},
       "sFlow flow records other than raw packet headers."},
      {"sflow_headers_unsupported", "skyprobe_sflow_headers_unsupported_total", kC, {},
       "sFlow raw packet headers of a protocol the parser does not decode."},
      {"sflow_frames", "skyprobe_sflow_frames_total", kC, {},
       "sFlow raw packet headers handed to the parser."},
      {"sflow_frames_in_flows", "skyprobe_sflow_frames_in_flows_total", kC, {},
       "sFlow frames counted in a flow."},
      {"sflow_drop_(.+)", "skyprobe_sflow_drops_total", kC, {"reason"},
       "sFlow frames dropped, by reason."},
      {"sflow_agents", "skyprobe_sflow_agents", kG, {}, "sFlow agents with a table now."},
      {"sflow_agent_refusals", "skyprobe_sflow_agent_refusals_total", kC, {},
       "sFlow datagrams of agents beyond --sflow-max-agents."},
      {"sflow_agent_table_errors", "skyprobe_sflow_agent_table_errors_total", kC, {},
       "sFlow agent tables that could not be created."},
      {"sflow_agent_denied", "skyprobe_sflow_agent_denied_total", kC, {},
       "sFlow datagrams refused by --sflow-agents."},
      {"sflow_agents_retired", "skyprobe_sflow_agents_retired_total", kC, {},
       "sFlow agents retired after --sflow-agent-idle."},
      {"sflow_sequence_gaps", "skyprobe_sflow_sequence_gaps_total", kC, {},
       "sFlow datagrams missing from the agents' sequence numbers."},
      {"sflow_sequence_resets", "skyprobe_sflow_sequence_resets_total", kC, {},
       "sFlow sequence numbers that went back or repeated."},
      {"sflow_kernel_drops", "skyprobe_sflow_kernel_drops_total", kC, {},
       "sFlow datagrams the kernel dropped (receive buffer full)."},
      {"sflow_receive_errors", "skyprobe_sflow_receive_errors_total", kC, {},
       "Receive errors on the sFlow sockets."},
      {"sflow_anomaly_(.+)", "skyprobe_sflow_anomalies_total", kC, {"kind"},
       "Sampled frames with a malformed part the parser stepped over, by kind."},
      {R"(sflow_agent\.(.+)\.samples)", "skyprobe_sflow_agent_samples_total", kC, {"agent"},
       "Flow samples of an sFlow agent."},
      {R"(sflow_agent\.(.+)\.drops)", "skyprobe_sflow_agent_drops_total", kC, {"agent"},
       "Sampled frames of an sFlow agent dropped (parse errors, table or ring full)."},
      {R"(sflow_agent\.(.+)\.datagrams)", "skyprobe_sflow_agent_datagrams_total", kC, {"agent"},
       "sFlow datagrams received from an agent."},
      {R"(sflow_agent\.(.+)\.sequence_gaps)", "skyprobe_sflow_agent_sequence_gaps_total", kC,
       {"agent"}, "sFlow datagrams missing from an agent's sequence numbers."},
      {R"(sflow_agent\.(.+)\.sequence_resets)", "skyprobe_sflow_agent_sequence_resets_total", kC,
       {"agent"}, "Times an agent's sequence numbers went back or repeated."},
  };
  return kRules;
}
// clang-format on

struct Compiled {
  std::regex sums{kSums};
  std::vector<std::regex> rules;
  Compiled() {
    for (const Rule& r : Rules()) rules.emplace_back(r.pattern);
  }
};

const Compiled& CompiledRules() {
  static const Compiled kCompiled;
  return kCompiled;
}

}  // namespace

std::optional<MetricFor> MetricForName(const std::string& name) {
  const Compiled& compiled = CompiledRules();
  if (std::regex_match(name, compiled.sums)) return MetricFor{"", MetricKind::kCounter, true};
  const std::vector<Rule>& rules = Rules();
  for (size_t i = 0; i < rules.size(); ++i) {
    if (std::regex_match(name, compiled.rules[i])) {
      return MetricFor{rules[i].metric, rules[i].kind, false};
    }
  }
  return std::nullopt;
}

std::vector<MetricFamilyData> MetricFamilies(const Summary& s,
                                             const std::vector<RequestMetric>& requests) {
  const Compiled& compiled = CompiledRules();
  const std::vector<Rule>& rules = Rules();
  std::vector<MetricFamilyData> out;
  std::map<std::string, size_t> index;  // metric name -> position in out
  const auto family = [&](const char* name, MetricKind kind, const char* help) {
    auto [it, added] = index.emplace(name, out.size());
    if (added) out.push_back(MetricFamilyData{name, help, kind, {}});
    return &out[it->second];
  };
  out.push_back(MetricFamilyData{"skyprobe_build_info",
                                 "The probe's version; always 1.",
                                 kG,
                                 {MetricPoint{{{"version", SKYPROBE_VERSION}}, 1}}});
  for (const auto& [name, value] : s.values) {
    if (std::regex_match(name, compiled.sums)) continue;
    std::smatch m;
    for (size_t i = 0; i < rules.size(); ++i) {
      if (!std::regex_match(name, m, compiled.rules[i])) continue;
      const Rule& rule = rules[i];
      MetricPoint p;
      size_t group = 1;
      for (const char* label : rule.labels) {
        const std::string l = label;
        const size_t eq = l.find('=');
        if (eq != std::string::npos) {
          p.labels.emplace_back(l.substr(0, eq), l.substr(eq + 1));
        } else {
          p.labels.emplace_back(l, m[group++].str());
        }
      }
      p.value = static_cast<double>(value) / rule.divisor;
      family(rule.metric, rule.kind, rule.help)->points.push_back(std::move(p));
      break;
    }
  }
  if (!requests.empty()) {
    MetricFamilyData* f = family("skyprobe_requests_total", kC,
                                 "gRPC calls the service finished, by method and status code.");
    for (const RequestMetric& r : requests) {
      f->points.push_back(
          MetricPoint{{{"rpc", r.rpc}, {"code", r.code}}, static_cast<double>(r.count)});
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> StartMetrics(const Config& cfg, const Running* r,
                                                              const ControlLoop* loop) {
  MetricsGather gather = [r, loop] {
    std::vector<RequestMetric> requests;
#ifdef SKYPROBE_WITH_SERVICE
    if (r->server) {
      for (const RequestCount& c : r->server->requests().Read()) {
        requests.push_back({std::string(c.rpc), std::string(c.code), c.count});
      }
    }
#endif
    return MetricFamilies(Collect(*r, *loop), requests);
  };
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> ep =
      MetricsEndpoint::Start(cfg.metrics_listen, std::move(gather));
  if (ep.ok() && !cfg.quiet) {
    std::fprintf(stderr, "skyprobe: metrics on http://%s/metrics (port %d)\n",
                 cfg.metrics_listen.c_str(), (*ep)->port());
  }
  return ep;
}

}  // namespace skyprobe
