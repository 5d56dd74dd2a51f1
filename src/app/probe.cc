#include "app/probe.h"

#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "app/channel_source.h"
#include "app/probe_backend_impl.h"
#include "app/summary.h"
#include "bpf/bpf_filter.h"
#include "capture/dispatcher.h"
#include "capture/pacer.h"
#include "capture/port.h"
#include "capture/query_port.h"
#include "capture/record_channel.h"
#include "capture/rx_worker.h"
#include "control/control_loop.h"
#include "control/enhancer_pipeline.h"
#include "control/enhancers/community_id.h"
#include "export/json_lines_handler.h"
#include "parse/parsed_packet.h"
#include "sflow/sflow_source.h"
#ifdef SKYPROBE_WITH_SERVICE
#include "service/grpc_server.h"
#endif
#include "skyprobe/status.h"
#include "table/flow_table.h"

namespace skyprobe {
namespace {

enum class Mode { kSingle, kRss, kDispatch };

const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kSingle:
      return "single worker";
    case Mode::kRss:
      return "rss";
    default:
      return "dispatch";
  }
}

const char* ParseErrorName(int e) {
  switch (static_cast<ParseError>(e)) {
    case ParseError::kTooShort:
      return "too_short";
    case ParseError::kUnsupportedLinkType:
      return "unsupported_link_type";
    case ParseError::kNoLayer:
      return "no_layer";
    default:
      return "other";
  }
}

const char* AnomalyName(int bit) {
  static const char* const kNames[kAnomalyCountBits] = {
      "truncated_vlan", "truncated_ip",  "bad_ip_header", "truncated_l4",    "bad_tcp_offset",
      "ipv6_ext_chain", "bad_app_layer", "truncated_arp", "ip_total_length", "tunnel_depth"};
  return kNames[bit];
}

struct Running {
  Mode mode = Mode::kSingle;
  Ports ports;
  std::vector<std::unique_ptr<RecordChannel>> channels;
  std::vector<std::unique_ptr<ChannelSource>>
      sources;  // the channels as the control loop sees them
  std::vector<std::unique_ptr<FlowTable>> tables;
  std::vector<std::unique_ptr<DispatchRing>> rings;
  std::vector<std::unique_ptr<QueryPort>> query_ports;
  std::vector<std::unique_ptr<RxWorker>> workers;
  std::unique_ptr<ProbeBackendImpl> backend;
#ifdef SKYPROBE_WITH_SERVICE
  std::unique_ptr<GrpcServer> server;
#endif
  std::unique_ptr<Dispatcher> dispatcher;
  std::unique_ptr<Pacer> pacer;  // --pcap-rate / --pcap-realtime, shared by the readers
  std::vector<std::unique_ptr<BpfFilter>> filters;  // --bpf, one per port
  std::vector<unsigned> worker_lcores;
  unsigned dispatcher_lcore = RTE_MAX_LCORE;
  std::unique_ptr<sflow::SflowSource> sflow;  // --sflow-listen
};

// The sFlow collector's counters (only when it runs). Its frames are not
// packets_in (those are frames from ports): they balance on their own,
// sflow_frames = sflow_frames_in_flows + sflow_drops.
void CollectSflow(const sflow::SflowSource& src, Summary* s, TableCounters* t, uint64_t* live) {
  const sflow::SflowCounters& c = src.counters();
  TableCounters sum;
  uint64_t flows_live = 0;
  const uint32_t agents = src.agent_count();
  for (uint32_t i = 0; i < agents; ++i) {
    const FlowTable& table = src.agent_table(i);
    const TableCounters& tc = table.counters();
    flows_live += table.size();
    sum.packets_in_flows += tc.packets_in_flows;
    sum.drop_table_full += tc.drop_table_full;
    sum.drop_ring_full += tc.drop_ring_full;
    sum.record_stalls += tc.record_stalls;
    sum.flows_created += tc.flows_created;
    sum.flows_evicted += tc.flows_evicted;
    sum.expired_idle += tc.expired_idle;
    sum.expired_tcp_closed += tc.expired_tcp_closed;
    sum.expired_flush += tc.expired_flush;
    sum.update_records += tc.update_records;
  }
  uint64_t malformed = 0;
  for (int e = 1; e < static_cast<int>(sflow::DecodeError::kCount); ++e)
    malformed += c.malformed[e];
  uint64_t parse = 0;
  for (int e = 1; e < static_cast<int>(ParseError::kCount); ++e) parse += c.drop_parse[e];
  s->Add("sflow_datagrams", c.datagrams);
  s->Add("sflow_bytes", c.bytes);
  s->Add("sflow_malformed", malformed);
  for (int e = 1; e < static_cast<int>(sflow::DecodeError::kCount); ++e) {
    s->Add(absl::StrCat("sflow_malformed_",
                        sflow::DecodeErrorName(static_cast<sflow::DecodeError>(e))),
           c.malformed[e]);
  }
  s->Add("sflow_samples", c.samples);
  s->Add("sflow_flow_samples", c.flow_samples);
  s->Add("sflow_samples_skipped", c.samples_skipped);
  s->Add("sflow_records", c.records);
  s->Add("sflow_records_skipped", c.records_skipped);
  s->Add("sflow_headers_unsupported", c.headers_unsupported);
  s->Add("sflow_frames", c.frames);
  s->Add("sflow_frames_in_flows", sum.packets_in_flows);
  s->Add("sflow_drops", parse + sum.drop_table_full + sum.drop_ring_full);
  for (int e = 1; e < static_cast<int>(ParseError::kCount); ++e) {
    s->Add(absl::StrCat("sflow_drop_parse_", ParseErrorName(e)), c.drop_parse[e]);
  }
  s->Add("sflow_drop_table_full", sum.drop_table_full);
  s->Add("sflow_drop_ring_full", sum.drop_ring_full);
  s->Add("sflow_agents", agents);
  s->Add("sflow_agent_refusals", c.agent_refusals);
  s->Add("sflow_agent_table_errors", c.agent_table_errors);
  s->Add("sflow_receive_errors", c.receive_errors);
  s->Add("sflow_flows_live", flows_live);
  s->Add("sflow_flows_created", sum.flows_created);
  t->record_stalls += sum.record_stalls;
  t->flows_created += sum.flows_created;
  t->flows_evicted += sum.flows_evicted;
  t->expired_idle += sum.expired_idle;
  t->expired_tcp_closed += sum.expired_tcp_closed;
  t->expired_flush += sum.expired_flush;
  t->update_records += sum.update_records;
  *live += flows_live;
}

// Counters of every lcore and port, totals first. Safe while running: every
// counter has one writer and only grows.
Summary Collect(const Running& r, const ControlLoop& loop) {
  Summary s;
  uint64_t rx = 0, rx_bytes = 0, in_flows = 0, drops = 0, live = 0, filtered = 0;
  uint64_t parse[static_cast<int>(ParseError::kCount)] = {};
  uint64_t anomalies[kAnomalyCountBits] = {};
  TableCounters t;
  for (size_t i = 0; i < r.workers.size(); ++i) {
    const WorkerCounters& w = r.workers[i]->counters();
    const TableCounters& tc = r.tables[i]->counters();
    rx += w.rx_packets;
    rx_bytes += w.rx_bytes;
    filtered += w.filtered;
    for (int e = 1; e < static_cast<int>(ParseError::kCount); ++e) parse[e] += w.drop_parse[e];
    for (int b = 0; b < kAnomalyCountBits; ++b) anomalies[b] += w.anomalies[b];
    in_flows += tc.packets_in_flows;
    live += r.tables[i]->size();
    t.drop_table_full += tc.drop_table_full;
    t.drop_ring_full += tc.drop_ring_full;
    t.record_stalls += tc.record_stalls;
    t.flows_created += tc.flows_created;
    t.flows_evicted += tc.flows_evicted;
    t.expired_idle += tc.expired_idle;
    t.expired_tcp_closed += tc.expired_tcp_closed;
    t.expired_flush += tc.expired_flush;
    t.update_records += tc.update_records;
    t.raw_packets_kept += tc.raw_packets_kept;
    t.raw_packets_dropped += tc.raw_packets_dropped;
    t.defrag_fragments += tc.defrag_fragments;
    t.defrag_datagrams += tc.defrag_datagrams;
    t.defrag_timeouts += tc.defrag_timeouts;
    t.defrag_table_full += tc.defrag_table_full;
    t.defrag_flushed += tc.defrag_flushed;
    t.defrag_overlaps += tc.defrag_overlaps;
    t.defrag_too_many += tc.defrag_too_many;
    t.defrag_duplicates += tc.defrag_duplicates;
    t.defrag_held += tc.defrag_held;
  }
  uint64_t dispatch_drops = 0;
  if (r.dispatcher) {
    // The dispatcher is where frames enter; what it could not hand over is a drop.
    rx = r.dispatcher->counters().rx_packets;
    rx_bytes = r.dispatcher->counters().rx_bytes;
    dispatch_drops = r.dispatcher->counters().drop_worker_ring_full;
  }
  for (int e = 1; e < static_cast<int>(ParseError::kCount); ++e) drops += parse[e];
  drops += t.drop_table_full + t.drop_ring_full + dispatch_drops;
  s.Add("packets_in", rx);
  s.Add("bytes_in", rx_bytes);
  s.Add("packets_in_flows", in_flows);
  s.Add("filtered", filtered);
  s.Add("drops", drops);
  for (int e = 1; e < static_cast<int>(ParseError::kCount); ++e) {
    s.Add(absl::StrCat("drop_parse_", ParseErrorName(e)), parse[e]);
  }
  s.Add("drop_table_full", t.drop_table_full);
  s.Add("drop_ring_full", t.drop_ring_full);
  s.Add("drop_dispatch_ring_full", dispatch_drops);
  // Only with raw packet capture on: the summary of other runs stays as it was.
  if (!r.tables.empty() && r.tables[0]->raw_packets() != nullptr) {
    s.Add("raw_packets_kept", t.raw_packets_kept);
    s.Add("raw_packets_dropped", t.raw_packets_dropped);
  }
  for (int b = 0; b < kAnomalyCountBits; ++b) {
    s.Add(absl::StrCat("anomaly_", AnomalyName(b)), anomalies[b]);
  }
  Summary sflow;
  if (r.sflow) CollectSflow(*r.sflow, &sflow, &t, &live);
  // IP defragmentation (--ip-defrag). defrag_held frames are in no flow yet:
  // while running packets_in == packets_in_flows + filtered + drops + defrag_held.
  if (!r.tables.empty() && r.tables[0]->ip_defrag()) {
    s.Add("defrag_fragments", t.defrag_fragments);
    s.Add("defrag_datagrams", t.defrag_datagrams);
    s.Add("defrag_timeouts", t.defrag_timeouts);
    s.Add("defrag_table_full", t.defrag_table_full);
    s.Add("defrag_flushed", t.defrag_flushed);
    s.Add("defrag_overlaps", t.defrag_overlaps);
    s.Add("defrag_too_many", t.defrag_too_many);
    s.Add("defrag_duplicates", t.defrag_duplicates);
    s.Add("defrag_held", t.defrag_held);
  }
  s.Add("flows_live", live);
  s.Add("flows_created", t.flows_created);
  s.Add("flows_expired", t.expired_idle + t.expired_tcp_closed + t.expired_flush + t.flows_evicted);
  s.Add("expired_idle", t.expired_idle);
  s.Add("expired_tcp_closed", t.expired_tcp_closed);
  s.Add("expired_evicted", t.flows_evicted);
  s.Add("expired_flush", t.expired_flush);
  s.Add("update_records", t.update_records);
  s.Add("records_out", loop.counters().records);
  s.Add("ring_stalls", t.record_stalls);
  PortCounters pc;
  for (const RxQueueSpec& q : r.ports.queues) {
    if (q.queue_id != 0) continue;  // port counters cover every queue
    const PortCounters c = ReadPortCounters(q.port_id);
    pc.imissed += c.imissed;
    pc.ierrors += c.ierrors;
    pc.rx_nombuf += c.rx_nombuf;
  }
  s.Add("port_imissed", pc.imissed);
  s.Add("port_ierrors", pc.ierrors);
  s.Add("port_rx_nombuf", pc.rx_nombuf);
  if (r.dispatcher) {
    s.Add("dispatcher_waits", r.dispatcher->counters().waits);
  }
  if (r.pacer) {
    uint64_t waits = r.dispatcher ? r.dispatcher->counters().pacing_waits : 0;
    for (const auto& w : r.workers) waits += w->counters().pacing_waits;
    s.Add("pacing_waits", waits);
  }
  for (size_t i = 0; i < r.workers.size(); ++i) {
    const WorkerCounters& w = r.workers[i]->counters();
    const TableCounters& tc = r.tables[i]->counters();
    s.Add(absl::StrCat("worker", i, "_packets_in"), w.rx_packets);
    s.Add(absl::StrCat("worker", i, "_packets_in_flows"), tc.packets_in_flows);
    s.Add(absl::StrCat("worker", i, "_flows_live"), r.tables[i]->size());
    s.Add(absl::StrCat("worker", i, "_flows_created"), tc.flows_created);
    s.Add(absl::StrCat("worker", i, "_ring_stalls"), tc.record_stalls);
  }
  for (auto& v : sflow.values) s.values.push_back(std::move(v));
  return s;
}

// The summary as the service's Stats(): "workerN_x" becomes scope workerN, name x.
StatsSnapshot ToStats(const Summary& s) {
  StatsSnapshot out;
  for (const auto& [name, value] : s.values) {
    StatsSnapshot::Entry e;
    e.value = value;
    const size_t us = name.find('_');
    if (name.rfind("worker", 0) == 0 && us != std::string::npos) {
      e.scope = name.substr(0, us);
      e.name = name.substr(us + 1);
    } else {
      e.scope = "total";
      e.name = name;
    }
    out.entries.push_back(std::move(e));
  }
  return out;
}

absl::Status CheckInputs(const std::vector<PortInfo>& infos) {
  for (const PortInfo& info : infos) {
    const RxQueueSpec& q = info.spec;
    if (!IsSupportedLinkType(static_cast<uint32_t>(q.link_type))) {
      const uint32_t dlt = static_cast<uint32_t>(q.link_type);
      return absl::InvalidArgumentError(absl::StrCat(q.name, ": link type ", dlt, " (",
                                                     LinkTypeName(dlt), ") is not supported; ",
                                                     "supported: ", SupportedLinkTypesText()));
    }
  }
  return absl::OkStatus();
}

// True if every port can give each of `workers` its own queue.
bool RssPossible(const std::vector<PortInfo>& infos, uint32_t workers) {
  for (const PortInfo& info : infos) {
    if (info.file_queues != 0) {
      if (info.file_queues < workers) return false;
    } else if (info.kernel_fanout_queues != 0) {
      // AF_PACKET fanout by the kernel's symmetric flow hash: a queue per worker.
      if (info.kernel_fanout_queues < workers) return false;
    } else if (info.spec.is_file || info.max_rx_queues < workers || !info.symmetric_rss) {
      return false;
    }
  }
  return true;
}

// True if `lcore` shares a CPU with another lcore (oversubscribed set-up).
bool SharesCpu(unsigned lcore) {
  const rte_cpuset_t mine = rte_lcore_cpuset(lcore);
  unsigned other;
  RTE_LCORE_FOREACH(other) {
    if (other == lcore) continue;
    rte_cpuset_t theirs = rte_lcore_cpuset(other);
    rte_cpuset_t both;
    CPU_AND(&both, &mine, &theirs);
    if (CPU_COUNT(&both) > 0) return true;
  }
  return false;
}

absl::Status Plan(const Config& cfg, const std::vector<PortInfo>& infos, Running* r,
                  uint32_t* workers) {
  std::vector<unsigned> lcores;
  unsigned l;
  RTE_LCORE_FOREACH_WORKER(l) lcores.push_back(l);
  const uint32_t avail = static_cast<uint32_t>(lcores.size());
  if (avail == 0) {
    return absl::FailedPreconditionError(
        "need at least 2 lcores (control + one RX worker): give EAL e.g. -l 0,1");
  }
  uint32_t w = cfg.workers;
  if (w == 0) {
    if (!cfg.pcap_files.empty() && cfg.eal_args.empty()) {
      w = 1;
    } else {
      w = RssPossible(infos, avail) ? avail : std::max<uint32_t>(avail - 1, 1);
    }
  }
  Mode mode;
  if (cfg.distribution == Distribution::kDispatch) {
    mode = Mode::kDispatch;
  } else if (w == 1) {
    mode = Mode::kSingle;
  } else if (RssPossible(infos, w)) {
    mode = Mode::kRss;
  } else if (cfg.distribution == Distribution::kRss) {
    return absl::FailedPreconditionError(
        absl::StrCat("--distribution rss: not every port can give each of the ", w,
                     " workers its own queue with symmetric RSS; use --distribution dispatch"));
  } else {
    mode = Mode::kDispatch;
  }
  const uint32_t needed = w + (mode == Mode::kDispatch ? 1 : 0);
  if (needed > avail) {
    return absl::FailedPreconditionError(absl::StrCat(
        w, " RX worker(s) in ", ModeName(mode), " mode need ", needed,
        " lcores besides control; EAL has ", avail, " (give more with -l or --lcores)"));
  }
  r->mode = mode;
  size_t next = 0;
  if (mode == Mode::kDispatch) r->dispatcher_lcore = lcores[next++];
  for (uint32_t i = 0; i < w; ++i) r->worker_lcores.push_back(lcores[next++]);
  *workers = w;
  return absl::OkStatus();
}

// What every flow table of the probe shares, RX shards and sFlow agent
// tables alike: key mode, overload policy and the timers.
FlowTableOptions TableTimingFromConfig(const Config& cfg) {
  FlowTableOptions t;
  t.key_mode = cfg.key_mode;
  t.overload = cfg.overload;
  t.update_ns = int64_t{cfg.update_sec} * 1'000'000'000;
  t.expire_ns = int64_t{cfg.expire_sec} * 1'000'000'000;
  t.tcp_close_hold_ns = int64_t{cfg.tcp_close_hold_ms} * 1'000'000;
  t.tick_ns = int64_t{cfg.timer_tick_ms} * 1'000'000;
  return t;
}

// The port inputs (--pcap, --iface, --eal): ports, filters, pacing, one
// shard, record channel and query port per RX worker, and the dispatcher.
absl::Status SetUpPorts(const Config& cfg, const std::atomic<bool>* stop, ControlLoop* loop,
                        Running* r, uint32_t* workers) {
  SKYPROBE_ASSIGN_OR_RETURN(std::vector<PortInfo> infos, ProbePorts(cfg));
  SKYPROBE_RETURN_IF_ERROR(CheckInputs(infos));
  uint32_t w = 1;
  SKYPROBE_RETURN_IF_ERROR(Plan(cfg, infos, r, &w));

  constexpr uint32_t kDispatchRing = 2048;
  const uint16_t queues = r->mode == Mode::kRss ? static_cast<uint16_t>(w) : 1;
  const uint32_t extra_mbufs = r->mode == Mode::kDispatch ? w * (kDispatchRing + 64) : 0;
  SKYPROBE_ASSIGN_OR_RETURN(
      r->ports, StartPorts(infos, queues, r->mode == Mode::kRss, !cfg.ip_defrag, extra_mbufs));
  bool any_file = false;
  for (const RxQueueSpec& q : r->ports.queues) any_file |= q.is_file;
  if (any_file && r->ports.timestamp_offset < 0) {
    return absl::InternalError("net_pcap gave no capture timestamps");
  }
  std::vector<RxQueueSpec> port_specs;
  for (const PortInfo& info : infos) port_specs.push_back(info.spec);
  // --bpf: compiled once per port for its link type, JIT-ed, shared read-only
  // by every worker.
  std::vector<const BpfFilter*> filters;
  if (!cfg.bpf_filter.empty()) {
    for (const PortInfo& info : infos) {
      const uint32_t dlt = static_cast<uint32_t>(info.spec.link_type);
      SKYPROBE_ASSIGN_OR_RETURN(
          auto f,
          BpfFilter::Compile(cfg.bpf_filter, dlt, info.spec.snaplen ? info.spec.snaplen : 262144));
      if (filters.size() <= info.spec.port_id) filters.resize(info.spec.port_id + 1, nullptr);
      filters[info.spec.port_id] = f.get();
      r->filters.push_back(std::move(f));
    }
  }

  if (cfg.pcap_rate != 0 || cfg.pcap_realtime) {
    PacerOptions po;
    po.rate_pps = cfg.pcap_rate;
    po.realtime = cfg.pcap_realtime;
    po.speed = cfg.pcap_speed;
    r->pacer = std::make_unique<Pacer>(po);
  }

  // One shard per worker; --max-flows is for the whole probe.
  const uint32_t per_shard = (cfg.max_flows + w - 1) / w;
  for (uint32_t i = 0; i < w; ++i) {
    const unsigned lcore = r->worker_lcores[i];
    const int socket = static_cast<int>(rte_lcore_to_socket_id(lcore));
    SKYPROBE_ASSIGN_OR_RETURN(auto channel,
                              RecordChannel::Create(absl::StrCat("rec", i), cfg.ring_size, socket));
    FlowTableOptions topts = TableTimingFromConfig(cfg);
    topts.name = absl::StrCat("flows", i);
    topts.socket_id = socket;
    topts.worker_id = static_cast<uint8_t>(i);
    topts.max_flows = per_shard;
    topts.node_tid = cfg.node_tid;
    topts.raw_first = cfg.raw_packets;
    topts.raw_last = cfg.raw_packets_last;
    topts.capture_length = cfg.capture_length;
    topts.raw_memory_bytes = cfg.raw_packets_memory / w;  // the budget is for the whole probe
    topts.ip_defrag = cfg.ip_defrag;
    topts.ip_defrag_max = (cfg.ip_defrag_max + w - 1) / w;  // for the whole probe, like max_flows
    topts.ip_defrag_timeout_ns = int64_t{cfg.ip_defrag_timeout_ms} * 1'000'000;
    SKYPROBE_ASSIGN_OR_RETURN(auto table, FlowTable::Create(topts, channel->Sink()));
    // Room for the most packets one flow can hold (N + M slots, within the shard's budget).
    uint64_t raw_query_bytes = 0;
    if (const RawPacketArena* arena = table->raw_packets()) {
      raw_query_bytes = uint64_t{arena->slot_bytes()} *
                        std::min<uint64_t>(arena->max_per_flow(), arena->slot_count());
    }

    WorkerSetup ws;
    ws.worker_id = static_cast<uint8_t>(i);
    ws.table = table.get();
    ws.key_mode = cfg.key_mode;
    ws.ip_defrag = cfg.ip_defrag;
    ws.timestamp_offset = r->ports.timestamp_offset;
    ws.stop = stop;
    ws.ports = port_specs;
    ws.filters = filters;
    ws.shares_cpu = SharesCpu(lcore);
    // With sFlow beside the ports the probe runs until a signal: a finished
    // capture keeps its flows (and answers queries) meanwhile, as with --hold.
    ws.hold = cfg.hold || !cfg.sflow_listen.empty();
    ws.pacer = r->pacer.get();
    SKYPROBE_ASSIGN_OR_RETURN(auto qport,
                              QueryPort::Create(static_cast<int>(i), socket, raw_query_bytes));
    ws.queries = qport.get();
    r->query_ports.push_back(std::move(qport));
    if (r->mode == Mode::kDispatch) {
      SKYPROBE_ASSIGN_OR_RETURN(auto ring,
                                DispatchRing::Create(static_cast<int>(i), kDispatchRing, socket));
      ws.ring = ring.get();
      r->rings.push_back(std::move(ring));
    } else {
      // rss: worker i polls queue i of every port (file queues i, i+w, ...).
      for (const RxQueueSpec& q : r->ports.queues) {
        if (r->mode == Mode::kSingle || q.queue_id % w == i) ws.queues.push_back(q);
      }
    }
    auto worker = std::make_unique<RxWorker>(ws);
    r->sources.push_back(std::make_unique<ChannelSource>(channel.get(), worker->done_flag()));
    loop->AddSource(r->sources.back().get());
    r->channels.push_back(std::move(channel));
    r->tables.push_back(std::move(table));
    r->workers.push_back(std::move(worker));
  }
  if (r->mode == Mode::kDispatch) {
    DispatcherSetup ds;
    ds.queues = r->ports.queues;
    for (auto& ring : r->rings) ds.rings.push_back(ring.get());
    ds.timestamp_offset = r->ports.timestamp_offset;
    ds.mark_every_ns = int64_t{cfg.timer_tick_ms} * 1'000'000;
    ds.stop = stop;
    ds.shares_cpu = SharesCpu(r->dispatcher_lcore);
    ds.pacer = r->pacer.get();
    r->dispatcher = std::make_unique<Dispatcher>(ds);
  }
  *workers = w;
  return absl::OkStatus();
}

// --sflow-listen: the sockets are bound now, so that an address in use stops
// the probe at start-up with a clear message.
absl::Status SetUpSflow(const Config& cfg, const std::atomic<bool>* stop, ControlLoop* loop,
                        Running* r) {
  sflow::SflowSetup ss;
  SKYPROBE_ASSIGN_OR_RETURN(ss.sockets, sflow::SflowSockets::Open(cfg.sflow_listen));
  const int socket = static_cast<int>(rte_socket_id());
  SKYPROBE_ASSIGN_OR_RETURN(ss.channel, RecordChannel::Create("recsflow", cfg.ring_size, socket));
  SKYPROBE_ASSIGN_OR_RETURN(ss.queries, QueryPort::Create(1000, socket));
  FlowTableOptions& topts = ss.table;
  topts = TableTimingFromConfig(cfg);
  topts.socket_id = socket;
  topts.worker_id = 255;  // not an RX worker
  topts.max_flows = cfg.sflow_max_flows;
  ss.max_agents = cfg.sflow_max_agents;
  ss.key_mode = cfg.key_mode;
  ss.stop = stop;
  const std::vector<uint16_t> ports = ss.sockets->ports();
  r->sflow = std::make_unique<sflow::SflowSource>(std::move(ss));
  r->sources.push_back(std::make_unique<ChannelSource>(r->sflow->channel(), r->sflow->done_flag()));
  loop->AddSource(r->sources.back().get());
  if (!cfg.quiet) {
    for (size_t i = 0; i < cfg.sflow_listen.size(); ++i) {
      std::fprintf(stderr, "skyprobe: sFlow collector on %s (port %u)\n",
                   cfg.sflow_listen[i].c_str(), ports[i]);
    }
  }
  return absl::OkStatus();
}

absl::Status Run(const Config& cfg, const std::atomic<bool>* stop, Running* r) {
  EnhancerPipeline pipeline;
  if (cfg.community_id) {
    SKYPROBE_RETURN_IF_ERROR(
        pipeline.AddEnhancer(std::make_unique<CommunityIdEnhancer>(cfg.community_id_seed)));
  }
  ControlLoop loop(&pipeline);
  if (!cfg.json_path.empty()) {
    JsonContext ctx;
    ctx.node_tid = cfg.node_tid;
    SKYPROBE_ASSIGN_OR_RETURN(auto json, JsonLinesHandler::Open(cfg.json_path, ctx));
    loop.AddHandler(std::move(json));
  }
  uint32_t w = 0;
  if (HasPortInputs(cfg)) SKYPROBE_RETURN_IF_ERROR(SetUpPorts(cfg, stop, &loop, r, &w));
  if (!cfg.sflow_listen.empty()) SKYPROBE_RETURN_IF_ERROR(SetUpSflow(cfg, stop, &loop, r));
#ifdef SKYPROBE_WITH_SERVICE
  // The gRPC service: for live ports and --hold runs by default; a plain pcap
  // replay ends on its own, so there it starts only with --grpc-listen.
  const bool want_service =
      cfg.grpc_listen != "none" &&
      (cfg.pcap_files.empty() || cfg.hold || cfg.grpc_listen_set || !cfg.sflow_listen.empty());
  if (want_service) {
    std::vector<QueryPort*> qp;
    std::vector<const std::atomic<bool>*> done;
    for (auto& p : r->query_ports) qp.push_back(p.get());
    for (auto& w : r->workers) done.push_back(w->done_flag());
    if (r->sflow) {
      qp.push_back(r->sflow->query_port());
      done.push_back(r->sflow->done_flag());
    }
    r->backend = std::make_unique<ProbeBackendImpl>(
        qp, done, [r, &loop] { return ToStats(Collect(*r, loop)); }, cfg.node_tid);
    r->backend->SetLiveFlows([r] {
      size_t n = 0;
      for (const auto& t : r->tables) n += t->size();  // racy by design: a hint
      if (r->sflow) {
        for (uint32_t i = 0; i < r->sflow->agent_count(); ++i) n += r->sflow->agent_table(i).size();
      }
      return n;
    });
    loop.AddHandler(r->backend->Handler());
    SKYPROBE_ASSIGN_OR_RETURN(r->server,
                              StartGrpcServer(ServiceOptionsFromConfig(cfg), r->backend.get()));
    if (!cfg.quiet) {
      std::fprintf(stderr, "skyprobe: gRPC service on %s (port %d)\n", cfg.grpc_listen.c_str(),
                   r->server->port());
    }
  }
#endif
  if (cfg.stats_interval_sec > 0) {
    loop.SetPeriodic(cfg.stats_interval_sec, [&] { PrintStatsLine(Collect(*r, loop), stderr); });
  }
  if (!cfg.quiet && w > 0) {
    std::string where = absl::StrCat("control on lcore ", rte_get_main_lcore());
    if (r->dispatcher) absl::StrAppend(&where, ", dispatcher on lcore ", r->dispatcher_lcore);
    std::fprintf(stderr,
                 "skyprobe: %zu RX queue(s), distribution %s, %u RX worker(s) on lcore(s) %s, %s\n",
                 r->ports.queues.size(), ModeName(r->mode), w,
                 absl::StrJoin(r->worker_lcores, ",").c_str(), where.c_str());
  }
  for (uint32_t i = 0; i < w; ++i) {
    const int rc =
        rte_eal_remote_launch(&RxWorker::LaunchThunk, r->workers[i].get(), r->worker_lcores[i]);
    if (rc != 0) return ErrnoToStatus(rc, "rte_eal_remote_launch(worker)");
  }
  if (r->dispatcher) {
    const int rc =
        rte_eal_remote_launch(&Dispatcher::LaunchThunk, r->dispatcher.get(), r->dispatcher_lcore);
    if (rc != 0) return ErrnoToStatus(rc, "rte_eal_remote_launch(dispatcher)");
  }
  if (r->sflow) r->sflow->Start();
  absl::Status st = loop.Run();
  rte_eal_mp_wait_lcore();
  if (r->sflow) r->sflow->Join();
#ifdef SKYPROBE_WITH_SERVICE
  if (r->server) r->server->Shutdown();
#endif

  const Summary s = Collect(*r, loop);
  if (!cfg.quiet) PrintSummary(s, stderr);
  // Every frame is in a flow or dropped for a counted reason: say so if not.
  if (s.Get("packets_in") != s.Get("packets_in_flows") + s.Get("filtered") + s.Get("drops")) {
    return absl::InternalError("packet accounting does not add up (see the summary)");
  }
  if (r->sflow && s.Get("sflow_frames") != s.Get("sflow_frames_in_flows") + s.Get("sflow_drops")) {
    return absl::InternalError("sFlow frame accounting does not add up (see the summary)");
  }
  return st;
}

}  // namespace

absl::Status RunProbe(const Config& cfg, const std::atomic<bool>* stop) {
  SKYPROBE_RETURN_IF_ERROR(InitEal(EalArguments(cfg)));
  Running r;
  absl::Status st = Run(cfg, stop, &r);
  // Lcores may still run if start-up failed half-way: stop them first.
  rte_eal_mp_wait_lcore();
#ifdef SKYPROBE_WITH_SERVICE
  if (r.server) r.server->Shutdown();
  r.server.reset();
#endif
  r.backend.reset();
  // Everything below lives in EAL memory: free it before rte_eal_cleanup.
  r.sflow.reset();  // stops and joins its thread first if start-up failed after Start
  r.dispatcher.reset();
  r.workers.clear();
  r.query_ports.clear();
  r.filters.clear();
  r.tables.clear();
  r.sources.clear();
  r.channels.clear();
  r.rings.clear();
  if (!r.ports.queues.empty()) StopPorts(r.ports);
  rte_eal_cleanup();
  return st;
}

}  // namespace skyprobe
