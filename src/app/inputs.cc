#include "app/inputs.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capture/mapped_file_queue.h"
#include "parse/parsed_packet.h"
#include "skyprobe/status.h"

namespace skyprobe {
namespace {

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

// --poll: adaptive (rest when idle) or busy; auto is adaptive when every
// queue is a file or a kernel ring (--pcap, --iface), whose idle spinning
// would only steal a core, and busy on a NIC's queues, whose ring a sleep
// could let overflow at line rate.
bool AdaptivePolling(const Config& cfg, const std::vector<RxQueueSpec>& queues) {
  switch (cfg.poll) {
    case PollMode::kBusy:
      return false;
    case PollMode::kAdaptive:
      return true;
    case PollMode::kAuto:
      break;
  }
  return std::all_of(queues.begin(), queues.end(),
                     [](const RxQueueSpec& q) { return q.is_file || q.is_kernel; });
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
  // NOLINTNEXTLINE(bugprone-branch-clone): asked for, or the last resort (below)
  if (cfg.distribution == Distribution::kDispatch) {
    mode = Mode::kDispatch;
  } else if (w == 1) {
    mode = Mode::kSingle;
  } else if (RssPossible(infos, w)) {
    mode = Mode::kRss;
  } else if (FileSharesPlanned(cfg) && infos.size() == 1 && infos[0].file_shareable) {
    mode = Mode::kShares;
  } else if (FileSharesPlanned(cfg) && w + 1 > avail) {
    // EAL was given no lcore for a dispatcher: the file turned out to be one
    // only libpcap reads, which one lcore must read for every worker. One of
    // the lcores becomes the dispatcher (with two, one worker reads alone).
    w = avail - 1;
    mode = w > 1 ? Mode::kDispatch : Mode::kSingle;
    std::fprintf(stderr, "skyprobe: %s is read through net_pcap, by one lcore: %u RX worker(s)%s\n",
                 infos.empty() ? "the capture" : infos[0].spec.name.c_str(), w,
                 w > 1 ? " behind a dispatcher" : "");
  } else if (cfg.distribution == Distribution::kRss) {
    if (!cfg.ifaces.empty() && cfg.iface_time == IfaceTime::kKernel) {
      return absl::FailedPreconditionError(
          "--distribution rss: --iface-time kernel reads each interface through one queue; "
          "use --iface-time burst (a socket per worker) or --distribution dispatch");
    }
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

// The input number of a port's records (FlowSnapshot::input; RxWorker sets
// ParserConfig::input to it).
uint8_t InputOf(uint16_t port_id) { return static_cast<uint8_t>(port_id + 1); }

uint8_t SflowInputOf(size_t listener) { return static_cast<uint8_t>(kSflowInputBase + listener); }

// Every --sflow-listen is a capture point too: its CaptureID (capture-id=,
// else its address) names the flows its datagrams sampled; their NodeTID
// stays their agent's. Several listeners: each agent table's UUIDs hash the
// agent's NodeTID, a NUL and the listener's CaptureID (FlowTableOptions::
// uuid_tag_suffixes), so that one agent's samples reaching two listeners
// make flows with distinct UUIDs.
void SetUpSflowPoints(const Config& cfg, Running* r, sflow::SflowSetup* ss) {
  std::vector<CapturePointSpec> specs;
  for (const uint8_t input : r->points->Inputs()) {
    CapturePointSpec p;  // the ports' points, already unique
    p.capture_id = r->points->Find(input)->capture_id;
    p.capture_id_given = true;
    specs.push_back(p);
  }
  const size_t ports = specs.size();
  for (size_t i = 0; i < cfg.sflow_listen.size(); ++i) {
    const InputAttributes& a = InputAttributesAt(cfg.sflow_attrs, i);
    CapturePointSpec p;
    p.name = cfg.sflow_listen[i];
    p.capture_id_given = a.capture_id.has_value();
    p.capture_id = a.capture_id ? *a.capture_id : CaptureIdFromName(p.name);
    specs.push_back(p);
  }
  UniqueCaptureIds(&specs);
  const bool several = cfg.sflow_listen.size() > 1;
  for (size_t i = 0; i < cfg.sflow_listen.size(); ++i) {
    const CapturePointSpec& p = specs[ports + i];
    const uint8_t input = SflowInputOf(i);
    r->points->Add(input, CapturePoint{p.name, "", p.capture_id});
    ss->inputs.push_back(input);
    if (several) {
      ss->table.uuid_tag_suffixes.resize(input + 1);
      ss->table.uuid_tag_suffixes[input] = p.capture_id;
    }
    if (!cfg.quiet) {
      std::string line = absl::StrCat("skyprobe: capture point ", p.capture_id);
      if (p.name != p.capture_id) absl::StrAppend(&line, " (sFlow ", p.name, ")");
      std::fprintf(stderr, "%s\n", line.c_str());
    }
  }
}

// Every port is a capture point: capture IDs made unique, the points
// registered by input (r->points, read by every record consumer) and listed
// at start-up.
absl::Status SetUpCapturePoints(const Config& cfg, std::vector<PortInfo>* infos, Running* r) {
  std::vector<CapturePointSpec> specs;
  for (const PortInfo& info : *infos) specs.push_back(info.point);
  UniqueCaptureIds(&specs);
  for (size_t i = 0; i < infos->size(); ++i) {
    PortInfo& info = (*infos)[i];
    info.point = specs[i];
    r->points->Add(InputOf(info.spec.port_id),
                   CapturePoint{info.point.name, info.point.node_tid, info.point.capture_id});
    if (!cfg.quiet) {
      std::string line = absl::StrCat("skyprobe: capture point ", info.point.capture_id);
      if (info.point.name != info.point.capture_id)
        absl::StrAppend(&line, " (", info.point.name, ")");
      if (!info.point.node_tid.empty()) absl::StrAppend(&line, " node-tid ", info.point.node_tid);
      if (!info.point.bpf.empty()) absl::StrAppend(&line, " bpf \"", info.point.bpf, "\"");
      std::fprintf(stderr, "%s\n", line.c_str());
    }
  }
  return absl::OkStatus();
}

static_assert(kReplayFlowsPerFrame == kMaxSubPackets,
              "ReplayFlowBound (config.h) counts the flows a frame opens");

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

}  // namespace

// The port inputs (--pcap, --iface, --eal): ports, filters, pacing, one
// shard, record channel and query port per RX worker, and the dispatcher.
absl::Status SetUpPorts(const Config& cfg, const std::atomic<bool>* stop, ControlLoop* loop,
                        Running* r, uint32_t* workers) {
  SKYPROBE_ASSIGN_OR_RETURN(std::vector<PortInfo> infos, ProbePorts(cfg));
  SKYPROBE_RETURN_IF_ERROR(CheckInputs(infos));
  SKYPROBE_RETURN_IF_ERROR(SetUpCapturePoints(cfg, &infos, r));
  uint32_t w = 1;
  SKYPROBE_RETURN_IF_ERROR(Plan(cfg, infos, r, &w));

  constexpr uint32_t kDispatchRing = 2048;
  const uint16_t queues = r->mode == Mode::kRss ? static_cast<uint16_t>(w) : 1;
  const uint32_t extra_mbufs = r->mode == Mode::kDispatch ? w * (kDispatchRing + 64) : 0;
  const uint16_t shares = r->mode == Mode::kShares ? static_cast<uint16_t>(w) : 1;
  SKYPROBE_ASSIGN_OR_RETURN(r->ports, StartPorts(infos, queues, r->mode == Mode::kRss,
                                                 !cfg.ip_defrag, extra_mbufs, shares));
  if (r->mode == Mode::kShares) {
    // Share i of the file is worker i's, its clock marks the dispatcher's.
    uint32_t made = 0;
    for (const RxQueueSpec& q : r->ports.queues) {
      if (q.mapped == nullptr) continue;
      q.mapped->SetShare(q.queue_id, w, q.link_type, int64_t{cfg.timer_tick_ms} * 1'000'000);
      ++made;
    }
    if (made != w) {
      return absl::InternalError(
          absl::StrCat("file shares: ", made, " readers for ", w, " workers"));
    }
  }
  bool any_stamped = false;
  for (const RxQueueSpec& q : r->ports.queues) any_stamped |= q.is_file || q.kernel_time;
  if (any_stamped && r->ports.timestamp_offset < 0) {
    return absl::InternalError("net_pcap gave no capture timestamps");
  }
  std::vector<RxQueueSpec> port_specs;
  port_specs.reserve(infos.size());
  for (const PortInfo& info : infos) port_specs.push_back(info.spec);
  // A NIC port's clock, fitted once started (every queue of a port shares it).
  for (RxQueueSpec& spec : port_specs) {
    for (const RxQueueSpec& q : r->ports.queues) {
      if (q.port_id == spec.port_id) spec.device_clock = q.device_clock;
    }
  }
  // Each capture point's filter (its bpf=, else --bpf): compiled once per port
  // for its link type, JIT-ed, shared read-only by every worker.
  std::vector<const BpfFilter*> filters;
  for (const PortInfo& info : infos) {
    if (info.point.bpf.empty()) continue;
    const uint32_t dlt = static_cast<uint32_t>(info.spec.link_type);
    SKYPROBE_ASSIGN_OR_RETURN(
        auto f,
        BpfFilter::Compile(info.point.bpf, dlt, info.spec.snaplen ? info.spec.snaplen : 262144));
    if (filters.size() <= info.spec.port_id) filters.resize(info.spec.port_id + 1, nullptr);
    filters[info.spec.port_id] = f.get();
    r->filters.push_back(std::move(f));
  }
  // What each point's UUIDs hash after Start (capture_points.h), by input.
  std::vector<std::string> uuid_tags(RTE_MAX_ETHPORTS + 1);
  uuid_tags[0] = cfg.node_tid;
  for (const PortInfo& info : infos) {
    const uint8_t input = InputOf(info.spec.port_id);
    uuid_tags[input] = r->points->UuidTag(input);
  }

  if (cfg.pcap_rate != 0 || cfg.pcap_realtime) {
    PacerOptions po;
    po.rate_pps = cfg.pcap_rate;
    po.realtime = cfg.pcap_realtime;
    po.speed = cfg.pcap_speed;
    r->pacer = std::make_unique<Pacer>(po);
  }

  // One shard per worker; --max-flows is for the whole probe. A replay's
  // shards are no larger than its frames can fill (ReplayFlowBound): a small
  // file then starts in a fraction of the time and memory, with the same
  // results (no shard can reach the bound, so none is ever full because of it).
  uint32_t per_shard = (cfg.max_flows + w - 1) / w;
  if (const uint64_t bound = ReplayFlowBound(cfg); bound != 0 && bound < per_shard) {
    per_shard = static_cast<uint32_t>(bound);
  }
  // Live frames without a time of their own are timed by the TSC (tsc_clock.h).
  r->tsc_clock = StartTscClock(r->tsc_early);
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
    topts.uuid_tags = uuid_tags;
    topts.raw_first = cfg.raw_packets;
    topts.raw_last = cfg.raw_packets_last;
    topts.capture_length = cfg.capture_length;
    topts.raw_memory_bytes = cfg.raw_packets_memory / w;  // the budget is for the whole probe
    topts.ip_defrag = cfg.ip_defrag;
    topts.ip_defrag_max = (cfg.ip_defrag_max + w - 1) / w;  // for the whole probe, like max_flows
    topts.ip_defrag_timeout_ns = int64_t{cfg.ip_defrag_timeout_ms} * 1'000'000;
    topts.tcp_stream_metrics = cfg.tcp_stream_metrics;
    topts.tcp_health = cfg.tcp_health;
    topts.keep_expired_ns = int64_t{cfg.keep_expired_sec} * 1'000'000'000;
    // For the whole probe, and never more than a shard holds live: a small table
    // (--max-flows 512) does not reserve 64k kept flows.
    topts.keep_expired_max = std::min((cfg.keep_expired_max + w - 1) / w, per_shard);
    topts.app_metadata = cfg.app_metadata;
    topts.extra_layers = cfg.extra_layers;
    const uint32_t app_flows =
        cfg.app_meta_flows != 0 ? cfg.app_meta_flows : std::max<uint32_t>(cfg.max_flows / 4, 1);
    // For the whole probe, like max_flows, and never more than a shard holds.
    topts.app_meta_flows = std::min((app_flows + w - 1) / w, per_shard);
    SKYPROBE_ASSIGN_OR_RETURN(auto table, FlowTable::Create(topts, channel->Sink()));
    // The export buffer: room for the most packets one flow can hold (N + M
    // slots, within the shard's budget), and at least kRawExportBytes, so
    // that an export of many small flows hands over a few buffers, not one
    // per flow. Uninitialised: only the pages an export writes are resident.
    uint64_t raw_query_bytes = 0;
    if (const RawPacketArena* arena = table->raw_packets()) {
      constexpr uint64_t kRawExportBytes = uint64_t{1} << 20;
      raw_query_bytes = std::max(
          kRawExportBytes, uint64_t{arena->slot_bytes()} *
                               std::min<uint64_t>(arena->max_per_flow(), arena->slot_count()));
    }

    WorkerSetup ws;
    ws.worker_id = static_cast<uint8_t>(i);
    ws.tsc_clock = r->tsc_clock.get();
    ws.table = table.get();
    ws.key_mode = cfg.key_mode;
    ws.ip_defrag = cfg.ip_defrag;
    ws.app_payload = cfg.app_metadata || cfg.extra_layers != 0;
    ws.timestamp_offset = r->ports.timestamp_offset;
    ws.timestamp_flag = r->ports.timestamp_flag;
    ws.stop = stop;
    ws.ports = port_specs;
    ws.filters = filters;
    ws.shares_cpu = LcoreSharesCpu(lcore);
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
      // rss: worker i polls queue i of every port (file queues i, i+w, ...);
      // file shares: worker i reads share i.
      for (const RxQueueSpec& q : r->ports.queues) {
        if (r->mode == Mode::kSingle || q.queue_id % w == i) ws.queues.push_back(q);
      }
      if (r->mode == Mode::kShares) ws.share = ws.queues.at(0).mapped;
    }
    // A worker of the dispatcher rests as the dispatcher does.
    ws.adaptive = AdaptivePolling(cfg, r->mode == Mode::kDispatch ? r->ports.queues : ws.queues);
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
    ds.timestamp_flag = r->ports.timestamp_flag;
    ds.mark_every_ns = int64_t{cfg.timer_tick_ms} * 1'000'000;
    ds.stop = stop;
    ds.shares_cpu = LcoreSharesCpu(r->dispatcher_lcore);
    ds.adaptive = AdaptivePolling(cfg, r->ports.queues);
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
  ss.allowed = cfg.sflow_agents;
  ss.agent_idle_ns = int64_t{cfg.sflow_agent_idle_sec} * 1000000000;
  // A receive buffer smaller than asked loses bursts: say so, with the numbers.
  for (const sflow::SflowSockets::BufferReport& b : ss.sockets->buffer_reports()) {
    if (!b.short_of_ask()) continue;
    std::fprintf(stderr,
                 "skyprobe: warning: %s: socket receive buffer is %d bytes, asked for %d "
                 "(%d once doubled by the kernel); net.core.rmem_max limits it: raise it, or "
                 "bursts of datagrams are dropped by the kernel (counted as "
                 "sflow_kernel_drops)\n",
                 b.where.c_str(), b.granted, b.asked, 2 * b.asked);
  }
  ss.key_mode = cfg.key_mode;
  ss.stop = stop;
  SetUpSflowPoints(cfg, r, &ss);
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

}  // namespace skyprobe
