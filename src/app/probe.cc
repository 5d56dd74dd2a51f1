#include "app/probe.h"

#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "app/summary.h"
#include "capture/port.h"
#include "capture/record_channel.h"
#include "capture/rx_worker.h"
#include "control/control_loop.h"
#include "control/enhancer_pipeline.h"
#include "control/enhancers/community_id.h"
#include "export/json_lines_handler.h"
#include "parse/parsed_packet.h"
#include "skyprobe/status.h"
#include "table/flow_table.h"

namespace skyprobe {
namespace {

const char* ParseErrorName(int e) {
  switch (static_cast<ParseError>(e)) {
    case ParseError::kTooShort: return "too_short";
    case ParseError::kUnsupportedLinkType: return "unsupported_link_type";
    case ParseError::kNoLayer: return "no_layer";
    default: return "other";
  }
}

const char* AnomalyName(int bit) {
  static const char* const kNames[kAnomalyCountBits] = {
      "truncated_vlan",  "truncated_ip",   "bad_ip_header", "truncated_l4",
      "bad_tcp_offset",  "ipv6_ext_chain", "bad_app_layer", "truncated_arp",
      "ip_total_length", "tunnel_depth"};
  return kNames[bit];
}

struct Running {
  Ports ports;
  std::unique_ptr<RecordChannel> channel;
  std::unique_ptr<FlowTable> table;
  std::unique_ptr<RxWorker> worker;
};

Summary Collect(const Running& r, const ControlLoop& loop) {
  Summary s;
  const WorkerCounters& w = r.worker->counters();
  const TableCounters& t = r.table->counters();
  uint64_t drops = t.drop_table_full + t.drop_ring_full;
  for (int e = 1; e < static_cast<int>(ParseError::kCount); ++e) drops += w.drop_parse[e];
  s.Add("packets_in", w.rx_packets);
  s.Add("bytes_in", w.rx_bytes);
  s.Add("packets_in_flows", t.packets_in_flows);
  s.Add("drops", drops);
  for (int e = 1; e < static_cast<int>(ParseError::kCount); ++e) {
    s.Add(absl::StrCat("drop_parse_", ParseErrorName(e)), w.drop_parse[e]);
  }
  s.Add("drop_table_full", t.drop_table_full);
  s.Add("drop_ring_full", t.drop_ring_full);
  for (int b = 0; b < kAnomalyCountBits; ++b) {
    s.Add(absl::StrCat("anomaly_", AnomalyName(b)), w.anomalies[b]);
  }
  s.Add("flows_live", r.table->size());
  s.Add("flows_created", t.flows_created);
  s.Add("flows_expired",
        t.expired_idle + t.expired_tcp_closed + t.expired_flush + t.flows_evicted);
  s.Add("expired_idle", t.expired_idle);
  s.Add("expired_tcp_closed", t.expired_tcp_closed);
  s.Add("expired_evicted", t.flows_evicted);
  s.Add("expired_flush", t.expired_flush);
  s.Add("update_records", t.update_records);
  s.Add("records_out", loop.counters().records);
  s.Add("ring_stalls", t.record_stalls);
  s.Add("frames_linearized", w.linearized);
  PortCounters pc;
  for (const RxQueueSpec& q : r.ports.queues) {
    const PortCounters c = ReadPortCounters(q.port_id);
    pc.imissed += c.imissed;
    pc.ierrors += c.ierrors;
    pc.rx_nombuf += c.rx_nombuf;
  }
  s.Add("port_imissed", pc.imissed);
  s.Add("port_ierrors", pc.ierrors);
  s.Add("port_rx_nombuf", pc.rx_nombuf);
  return s;
}

absl::Status CheckInputs(const Ports& ports) {
  for (const RxQueueSpec& q : ports.queues) {
    if (!IsSupportedLinkType(static_cast<uint32_t>(q.link_type))) {
      return absl::InvalidArgumentError(
          absl::StrCat(q.name, ": link type ", static_cast<uint32_t>(q.link_type),
                       " is not decoded by skyprobe (supported: NULL 0, EN10MB 1, RAW 12/101, "
                       "LINUX_SLL 113, IPV4 228, IPV6 229)"));
    }
    if (q.is_file && ports.timestamp_offset < 0) {
      return absl::InternalError(
          absl::StrCat(q.name, ": net_pcap gave no capture timestamps"));
    }
  }
  return absl::OkStatus();
}

absl::Status Run(const Config& cfg, const std::atomic<bool>* stop, Running* r) {
  SKYPROBE_ASSIGN_OR_RETURN(r->ports, SetupPorts(cfg));
  SKYPROBE_RETURN_IF_ERROR(CheckInputs(r->ports));

  const unsigned worker_lcore = rte_get_next_lcore(-1, /*skip_main=*/1, /*wrap=*/0);
  if (worker_lcore >= RTE_MAX_LCORE) {
    return absl::FailedPreconditionError(
        "need 2 lcores (control + one RX worker): give EAL e.g. -l 0,1");
  }
  const int socket = static_cast<int>(rte_lcore_to_socket_id(worker_lcore));
  SKYPROBE_ASSIGN_OR_RETURN(r->channel, RecordChannel::Create("rec0", cfg.ring_size, socket));

  FlowTableOptions topts;
  topts.name = "flows0";
  topts.socket_id = socket;
  topts.max_flows = cfg.max_flows;
  topts.key_mode = cfg.key_mode;
  topts.overload = cfg.overload;
  topts.update_ns = int64_t{cfg.update_sec} * 1'000'000'000;
  topts.expire_ns = int64_t{cfg.expire_sec} * 1'000'000'000;
  topts.tcp_close_hold_ns = int64_t{cfg.tcp_close_hold_ms} * 1'000'000;
  topts.tick_ns = int64_t{cfg.timer_tick_ms} * 1'000'000;
  topts.node_tid = cfg.node_tid;
  SKYPROBE_ASSIGN_OR_RETURN(r->table, FlowTable::Create(topts, r->channel->Sink()));

  EnhancerPipeline pipeline;
  if (cfg.community_id) {
    pipeline.AddEnhancer(std::make_unique<CommunityIdEnhancer>(cfg.community_id_seed));
  }
  ControlLoop loop(&pipeline);
  if (!cfg.json_path.empty()) {
    JsonContext ctx;
    ctx.node_tid = cfg.node_tid;
    SKYPROBE_ASSIGN_OR_RETURN(auto json, JsonLinesHandler::Open(cfg.json_path, ctx));
    loop.AddHandler(std::move(json));
  }

  WorkerSetup ws;
  ws.worker_id = 0;
  ws.queues = r->ports.queues;
  ws.table = r->table.get();
  ws.key_mode = cfg.key_mode;
  ws.timestamp_offset = r->ports.timestamp_offset;
  ws.stop = stop;
  r->worker = std::make_unique<RxWorker>(ws);
  loop.AddWorker(r->channel.get(), r->worker.get());
  if (cfg.stats_interval_sec > 0) {
    loop.SetPeriodic(cfg.stats_interval_sec,
                     [&] { PrintStatsLine(Collect(*r, loop), stderr); });
  }
  if (!cfg.quiet) {
    std::fprintf(stderr, "skyprobe: %zu input(s), 1 RX worker on lcore %u, control on lcore %u\n",
                 r->ports.queues.size(), worker_lcore, rte_get_main_lcore());
  }
  const int rc = rte_eal_remote_launch(&RxWorker::LaunchThunk, r->worker.get(), worker_lcore);
  if (rc != 0) return ErrnoToStatus(rc, "rte_eal_remote_launch");
  absl::Status st = loop.Run();
  rte_eal_wait_lcore(worker_lcore);

  const Summary s = Collect(*r, loop);
  if (!cfg.quiet) PrintSummary(s, stderr);
  // Every frame is in a flow or dropped for a counted reason: say so if not.
  if (s.Get("packets_in") != s.Get("packets_in_flows") + s.Get("drops")) {
    return absl::InternalError("packet accounting does not add up (see the summary)");
  }
  return st;
}

}  // namespace

absl::Status RunProbe(const Config& cfg, const std::atomic<bool>* stop) {
  SKYPROBE_RETURN_IF_ERROR(InitEal(EalArguments(cfg)));
  Running r;
  absl::Status st = Run(cfg, stop, &r);
  r.worker.reset();
  r.table.reset();
  r.channel.reset();
  if (!r.ports.queues.empty()) StopPorts(r.ports);
  rte_eal_cleanup();
  return st;
}

}  // namespace skyprobe
