#include "app/counters.h"

#include <rte_cycles.h>

#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "app/inputs.h"
#include "capture/loop_gap.h"
#include "capture/mapped_file_queue.h"
#include "parse/parsed_packet.h"
#include "skyprobe/counter_read.h"

namespace skyprobe {
namespace {

// drop_parse_NAME, by ParseError (kNone, 0, is no drop): a new error is a
// new drop reason, named here or the build fails.
constexpr const char* kParseErrorNames[] = {"", "too_short", "unsupported_link_type", "no_layer"};
static_assert(std::size(kParseErrorNames) == static_cast<size_t>(ParseError::kCount),
              "kParseErrorNames must name every ParseError, in enum order");

const char* ParseErrorName(int e) { return kParseErrorNames[e]; }

const char* AnomalyName(int bit) {
  static const char* const kNames[kAnomalyCountBits] = {
      "truncated_vlan", "truncated_ip",  "bad_ip_header", "truncated_l4",    "bad_tcp_offset",
      "ipv6_ext_chain", "bad_app_layer", "truncated_arp", "ip_total_length", "tunnel_depth"};
  return kNames[bit];
}

// Whether a table counter shown with `shown` is reported in this run: the
// feature that moves it is on (every shard has the same options).
bool IsShown(const Running& r, CounterShown shown) {
  const FlowTable* t = r.tables.empty() ? nullptr : r.tables[0].get();
  switch (shown) {
    case CounterShown::kAlways:
      return true;
    case CounterShown::kRawPackets:
      return t != nullptr && t->raw_packets() != nullptr;
    case CounterShown::kDefrag:
      return t != nullptr && t->ip_defrag();
    case CounterShown::kKeptExpired:
      return t != nullptr && t->kept() != nullptr;
    case CounterShown::kKeptRaw:
      return t != nullptr && t->kept() != nullptr && t->raw_packets() != nullptr;
    case CounterShown::kAppMeta:
      return t != nullptr && t->app_meta() != nullptr;
    case CounterShown::kNever:
      return false;
  }
  return false;
}

// The sFlow collector's counters (only when it runs). Its frames are not
// packets_in (those are frames from ports): they balance on their own,
// sflow_frames = sflow_frames_in_flows + sflow_drops.
void CollectSflow(const sflow::SflowSource& src, Summary* s, TableCounters* t, uint64_t* live,
                  FrameAccount* account) {
  const sflow::SflowCounters c = RelaxedCopy(src.counters());
  TableCounters sum;
  uint64_t flows_live = 0;
  const uint32_t agents = src.agent_count();
  for (uint32_t i = 0; i < agents; ++i) {
    const FlowTable& table = src.agent_table(i);
    AddCounters(RelaxedCopy(table.counters()), kTableCounters, &sum);
    flows_live += table.size();
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
  *account = FrameAccount{.in = c.frames,
                          .in_flows = SumOfKind(sum, kTableCounters, CounterKind::kInFlows),
                          .drops = parse + FrameDrops(sum)};
  s->Add("sflow_frames", c.frames);
  s->Add("sflow_frames_in_flows", account->in_flows);
  s->Add("sflow_drops", account->drops);
  for (int e = 1; e < static_cast<int>(ParseError::kCount); ++e) {
    s->Add(absl::StrCat("sflow_drop_parse_", ParseErrorName(e)), c.drop_parse[e]);
  }
  for (const auto& f : kTableCounters) {
    if (f.kind == CounterKind::kDrop) s->Add(absl::StrCat("sflow_", f.name), sum.*f.member);
  }
  for (int b = 0; b < kAnomalyCountBits; ++b) {
    s->Add(absl::StrCat("sflow_anomaly_", AnomalyName(b)), c.anomalies[b]);
  }
  s->Add("sflow_agents", src.agents_in_use());
  s->Add("sflow_agent_refusals", c.agent_refusals);
  s->Add("sflow_agent_table_errors", c.agent_table_errors);
  s->Add("sflow_agent_denied", c.agent_denied);
  s->Add("sflow_agents_retired", c.agents_retired);
  s->Add("sflow_sequence_gaps", c.sequence_gaps);
  s->Add("sflow_sequence_resets", c.sequence_resets);
  s->Add("sflow_kernel_drops", c.kernel_drops);
  s->Add("sflow_receive_errors", c.receive_errors);
  s->Add("sflow_flows_live", flows_live);
  s->Add("sflow_flows_created", sum.flows_created);
  // Each agent's own counters: "sflow_agent.ADDRESS.NAME" (Stats: scope
  // "sflow_agent.ADDRESS", name NAME).
  for (uint32_t i = 0; i < agents; ++i) {
    sflow::AgentReport a;
    if (!src.ReadAgent(i, &a)) continue;
    const std::string prefix = absl::StrCat("sflow_agent.", a.address, ".");
    s->Add(absl::StrCat(prefix, "datagrams"), a.datagrams);
    s->Add(absl::StrCat(prefix, "samples"), a.samples);
    s->Add(absl::StrCat(prefix, "drops"), a.drops);
    s->Add(absl::StrCat(prefix, "sequence_gaps"), a.sequence_gaps);
    s->Add(absl::StrCat(prefix, "sequence_resets"), a.sequence_resets);
  }
  // Its flows join the totals (its frames are a domain of their own, above).
  for (const auto& f : kTableCounters) {
    const bool frames = f.kind == CounterKind::kInFlows || f.kind == CounterKind::kDrop;
    if (!frames && f.shown == CounterShown::kAlways) t->*f.member += sum.*f.member;
  }
  *live += flows_live;
}

// Each --ipfix destination's own counters beside the records, output_errors
// and records_lost every output has (Collect): "output.ipfix:DEST.NAME"
// (Stats: scope output.ipfix:DEST, name NAME).
void CollectIpfix(const Running& r, Summary* s) {
  for (const ipfix::IpfixHandler* h : r.ipfix) {
    const ipfix::ExporterCounters& c = h->counters();
    const std::string prefix = absl::StrCat("output.", h->output_name(), ".");
    s->Add(absl::StrCat(prefix, "delivered"), c.delivered.load(std::memory_order_relaxed));
    s->Add(absl::StrCat(prefix, "messages"), c.messages.load(std::memory_order_relaxed));
    s->Add(absl::StrCat(prefix, "templates"), c.templates.load(std::memory_order_relaxed));
    s->Add(absl::StrCat(prefix, "bytes"), c.bytes.load(std::memory_order_relaxed));
    s->Add(absl::StrCat(prefix, "reconnects"), c.reconnects.load(std::memory_order_relaxed));
    s->Add(absl::StrCat(prefix, "spool_bytes"), c.spool_bytes.load(std::memory_order_relaxed));
    s->Add(absl::StrCat(prefix, "strings_cut"), c.strings_cut.load(std::memory_order_relaxed));
  }
}

void AddLoopGaps(const LoopGapStats& g, const std::string& prefix, Summary* s) {
  s->Add(prefix + "loop_gap_p50_ns", g.p50_ns);
  s->Add(prefix + "loop_gap_p99_ns", g.p99_ns);
  s->Add(prefix + "loop_gap_p999_ns", g.p999_ns);
  s->Add(prefix + "loop_gap_max_ns", g.max_ns);
}

// An --sflow-listen's capture point: the datagrams it received, the sampled
// frames they gave the parser (packets_in) and, from every agent table, its
// frames in flows and its flows. Its frames the parser or a table refused are
// in the sFlow totals and the agents' own counters (sflow_agent.ADDRESS.*).
void CollectSflowPoint(const Running& r, uint8_t input, Summary* s) {
  const size_t listener = input - kSflowInputBase;
  if (r.sflow == nullptr || listener >= sflow::SflowSockets::kMaxSockets) return;
  const sflow::SflowCounters c = RelaxedCopy(r.sflow->counters());
  uint64_t in_flows = 0, created = 0, live = 0;
  const uint32_t agents = r.sflow->agent_count();
  for (uint32_t i = 0; i < agents; ++i) {
    const TableCounters t = RelaxedCopy(r.sflow->agent_table(i).counters());
    in_flows += t.input_packets_in_flows[input % kInputSlots];
    created += t.input_flows_created[input % kInputSlots];
    live += t.input_flows_live[input % kInputSlots];
  }
  const std::string scope = absl::StrCat("capture.", r.points->Find(input)->capture_id, ".");
  s->Add(scope + "datagrams", c.listener_datagrams[listener]);
  s->Add(scope + "packets_in", c.listener_frames[listener]);
  s->Add(scope + "packets_in_flows", in_flows);
  s->Add(scope + "flows_created", created);
  s->Add(scope + "flows_live", live);
}

// Each capture point's own counters: "capture.ID.NAME" (Stats: scope
// "capture.ID", name NAME). packets_in and bytes_in are what its queues gave
// (whoever polls them); filtered, packets_in_flows, flows_created and
// flows_live come from every shard, where its frames and flows are counted
// apart by input. At rest packets_in = packets_in_flows + filtered + its drops.
// `workers` and `tables` are Collect's one read of each worker's and shard's counters.
void CollectCapturePoints(const Running& r, const std::vector<WorkerCounters>& workers,
                          const std::vector<TableCounters>& tables, Summary* s) {
  if (r.points == nullptr) return;
  const std::vector<uint8_t> inputs = r.points->Inputs();
  if (inputs.empty()) return;
  std::vector<const RxQueue*> queues;
  if (r.dispatcher) {
    for (const RxQueue& q : r.dispatcher->queues()) queues.push_back(&q);
  }
  for (const auto& w : r.workers) {
    for (const RxQueue& q : w->queues()) queues.push_back(&q);
  }
  for (const uint8_t input : inputs) {
    if (input >= kSflowInputBase) {
      CollectSflowPoint(r, input, s);
      continue;
    }
    const uint16_t port = input - 1;  // inputs.h: input = port id + 1
    uint64_t packets = 0, bytes = 0, filtered = 0, in_flows = 0, created = 0, live = 0;
    for (const RxQueue* q : queues) {
      if (q->spec().port_id != port) continue;
      const RxQueueCounters c = RelaxedCopy(q->counters());
      packets += c.packets;
      bytes += c.bytes;
    }
    for (const WorkerCounters& w : workers) {
      if (port < RTE_MAX_ETHPORTS) filtered += w.filtered_by_port[port];
    }
    for (const TableCounters& t : tables) {
      in_flows += t.input_packets_in_flows[input % kInputSlots];
      created += t.input_flows_created[input % kInputSlots];
      live += t.input_flows_live[input % kInputSlots];
    }
    const std::string scope = absl::StrCat("capture.", r.points->Find(input)->capture_id, ".");
    s->Add(scope + "packets_in", packets);
    s->Add(scope + "bytes_in", bytes);
    s->Add(scope + "filtered", filtered);
    s->Add(scope + "packets_in_flows", in_flows);
    s->Add(scope + "flows_created", created);
    s->Add(scope + "flows_live", live);
  }
}

}  // namespace

Summary Collect(const Running& r, const ControlLoop& loop) {
  Summary s;
  // Each worker's and shard's counters, read once: the totals, the
  // per-worker lines and the capture points all come from this one read.
  std::vector<WorkerCounters> workers;
  std::vector<TableCounters> tables;
  uint64_t live = 0;
  TableCounters t;
  WorkerCounters ws;  // every worker's counters summed
  for (size_t i = 0; i < r.workers.size(); ++i) {
    const WorkerCounters& w = workers.emplace_back(RelaxedCopy(r.workers[i]->counters()));
    AddCounters(w, kWorkerCounters, &ws);
    for (int e = 1; e < static_cast<int>(ParseError::kCount); ++e)
      ws.drop_parse[e] += w.drop_parse[e];
    for (int b = 0; b < kAnomalyCountBits; ++b) ws.anomalies[b] += w.anomalies[b];
    AddCounters(tables.emplace_back(RelaxedCopy(r.tables[i]->counters())), kTableCounters, &t);
    live += r.tables[i]->size();
  }
  const uint64_t* parse = ws.drop_parse;
  const uint64_t filtered = ws.filtered;
  uint64_t rx = ws.rx_packets, rx_bytes = ws.rx_bytes, jumps = ws.clock_jumps;
  DispatcherCounters d;  // all 0 without a dispatcher
  if (r.dispatcher) {
    // The dispatcher is where frames enter; what it could not hand over is a drop.
    d = RelaxedCopy(r.dispatcher->counters());
    rx = d.rx_packets;
    rx_bytes = d.rx_bytes;
    jumps += d.clock_jumps;  // dispatch mode: taken there
  }
  const uint64_t lcore_drops = SumOfKind(ws, kWorkerCounters, CounterKind::kDrop) +
                               SumOfKind(d, kDispatcherCounters, CounterKind::kDrop);
  uint64_t parse_drops = 0;
  for (int e = 1; e < static_cast<int>(ParseError::kCount); ++e) parse_drops += parse[e];
  // The ports' frames, each in a flow, filtered, dropped (every kDrop of the
  // tables) or held (defragmentation): app/probe.cc checks the balance at exit.
  s.account = FrameAccount{.in = rx,
                           .in_flows = SumOfKind(t, kTableCounters, CounterKind::kInFlows),
                           .filtered = filtered,
                           .drops = parse_drops + FrameDrops(t) + lcore_drops,
                           .held = SumOfKind(t, kTableCounters, CounterKind::kHeld)};
  // The table's counters this run can move (CounterShown), by kind.
  const auto add_table = [&r, &s, &t](auto pick) {
    for (const auto& f : kTableCounters) {
      if (IsShown(r, f.shown) && pick(f)) s.Add(f.name, t.*f.member);
    }
  };
  const auto of_kind = [](CounterKind k) { return [k](const auto& f) { return f.kind == k; }; };
  s.Add("packets_in", rx);
  s.Add("bytes_in", rx_bytes);
  s.Add("packets_in_flows", s.account.in_flows);
  s.Add("filtered", filtered);
  s.Add("drops", s.account.drops);
  for (int e = 1; e < static_cast<int>(ParseError::kCount); ++e) {
    s.Add(absl::StrCat("drop_parse_", ParseErrorName(e)), parse[e]);
  }
  add_table(of_kind(CounterKind::kDrop));
  // The workers' and the dispatcher's own drops (every kDrop line of their lists).
  for (const auto& f : kWorkerCounters) {
    if (f.kind == CounterKind::kDrop) s.Add(f.name, ws.*f.member);
  }
  for (const auto& f : kDispatcherCounters) {
    if (f.kind == CounterKind::kDrop) s.Add(f.name, d.*f.member);
  }
  // Frames stamped past the present (capture_clock.h): only inputs with
  // capture timestamps (pcap files) have them.
  if (r.ports.timestamp_offset >= 0) s.Add("clock_jumps", jumps);
  for (int b = 0; b < kAnomalyCountBits; ++b) {
    s.Add(absl::StrCat("anomaly_", AnomalyName(b)), ws.anomalies[b]);
  }
  Summary sflow;
  if (r.sflow) CollectSflow(*r.sflow, &sflow, &t, &live, &s.sflow_account);
  // The features' own counters (raw packets, defragmentation, --keep-expired,
  // application metadata), only when on: other runs' summaries stay as they were.
  add_table([](const auto& f) { return f.shown != CounterShown::kAlways; });
  s.Add("flows_live", live);
  add_table(of_kind(CounterKind::kFlowsCreated));
  s.Add("flows_expired", FlowsOut(t));
  add_table(of_kind(CounterKind::kFlowsOut));
  add_table([](const auto& f) {
    return f.shown == CounterShown::kAlways &&
           (f.kind == CounterKind::kEvent || f.kind == CounterKind::kLevel);
  });
  const uint64_t records_out = RelaxedRead(loop.counters().records);
  s.Add("records_out", records_out);
  // Outputs (--json, ...): what they failed to write, in all and each
  // ("output.NAME.x": Stats scope output.NAME).
  uint64_t output_errors = 0, records_lost = 0;
  Summary outputs;
  for (const auto& h : loop.handlers()) {
    const OutputCounters* oc = h->output_counters();
    if (oc == nullptr) continue;
    const uint64_t errors = oc->output_errors.load(std::memory_order_relaxed);
    const uint64_t lost = oc->records_lost.load(std::memory_order_relaxed);
    output_errors += errors;
    records_lost += lost;
    // Every output is handed every record the loop passes on.
    outputs.Add(absl::StrCat("output.", h->output_name(), ".records"), records_out);
    outputs.Add(absl::StrCat("output.", h->output_name(), ".output_errors"), errors);
    outputs.Add(absl::StrCat("output.", h->output_name(), ".records_lost"), lost);
  }
  if (!outputs.values.empty()) {
    s.Add("output_errors", output_errors);
    s.Add("records_lost", records_lost);
    for (auto& v : outputs.values) s.values.push_back(std::move(v));
  }
  if (r.kafka != nullptr) {
    // Kafka's own view (its records_lost is the sum of the last three).
    const KafkaCounters& k = r.kafka->counters();
    s.Add("output.kafka.delivered", k.delivered.load(std::memory_order_relaxed));
    s.Add("output.kafka.delivery_failed", k.delivery_failed.load(std::memory_order_relaxed));
    s.Add("output.kafka.queue_full", k.queue_full.load(std::memory_order_relaxed));
    s.Add("output.kafka.produce_errors", k.produce_errors.load(std::memory_order_relaxed));
  }
  CollectIpfix(r, &s);
  PortCounters pc;
  Summary ports;  // "portP_x": Stats scope portP
  // Mapped files (--pcap-reader mapped) count the mbufs they could not get
  // as their port's rx_nombuf, and files that ended at a damaged record (the
  // rest of such a file is not read) in file_errors.
  uint64_t file_errors = 0;
  std::vector<uint64_t> mapped_nombuf(RTE_MAX_ETHPORTS, 0);
  // A file read in shares (one port) counts once, if any reader met damage.
  std::vector<bool> shared_file_error(RTE_MAX_ETHPORTS, false);
  for (const RxQueueSpec& q : r.ports.queues) {
    if (q.mapped == nullptr) continue;
    mapped_nombuf[q.port_id] += q.mapped->nombuf();
    if (q.mapped->share_count() > 1) {
      shared_file_error[q.port_id] = shared_file_error[q.port_id] || !q.mapped->error().empty();
    } else {
      file_errors += q.mapped->error().empty() ? 0 : 1;
    }
  }
  for (const bool e : shared_file_error) file_errors += e ? 1 : 0;
  for (const RxQueueSpec& q : r.ports.queues) {
    if (q.queue_id != 0) continue;  // port counters cover every queue
    PortCounters c = ReadPortCounters(q.port_id);
    c.rx_nombuf += mapped_nombuf[q.port_id];
    pc.imissed += c.imissed;
    pc.ierrors += c.ierrors;
    pc.rx_nombuf += c.rx_nombuf;
    ports.Add(absl::StrCat("port", q.port_id, "_imissed"), c.imissed);
    ports.Add(absl::StrCat("port", q.port_id, "_ierrors"), c.ierrors);
    ports.Add(absl::StrCat("port", q.port_id, "_rx_nombuf"), c.rx_nombuf);
  }
  if (r.links != nullptr) r.links->AddTo(&ports);
  s.Add("file_errors", file_errors);
  s.Add("port_imissed", pc.imissed);
  s.Add("port_ierrors", pc.ierrors);
  s.Add("port_rx_nombuf", pc.rx_nombuf);
  if (r.dispatcher) {
    s.Add("dispatcher_waits", d.waits);
  }
  if (r.pacer) {
    s.Add("pacing_waits", d.pacing_waits + ws.pacing_waits);
  }
  for (auto& v : ports.values) s.values.push_back(std::move(v));
  // What was taken from each queue, by whoever polls it (the workers, or the
  // dispatcher): "portP.queueQ_x", Stats scope portP.queueQ. They add up to
  // packets_in and bytes_in.
  const auto add_queues = [&s](const std::vector<RxQueue>& queues) {
    for (const RxQueue& q : queues) {
      const RxQueueCounters c = RelaxedCopy(q.counters());
      const std::string scope = absl::StrCat("port", q.spec().port_id, ".queue", q.spec().queue_id);
      s.Add(absl::StrCat(scope, "_packets_in"), c.packets);
      s.Add(absl::StrCat(scope, "_bytes_in"), c.bytes);
    }
  };
  if (r.dispatcher) add_queues(r.dispatcher->queues());
  for (const auto& w : r.workers) add_queues(w->queues());
  // The time between two rx_burst calls of a worker (capture/loop_gap.h):
  // every worker's histogram merged, then each worker's own.
  const uint64_t tsc_hz = rte_get_tsc_hz();
  std::vector<const LoopGapHistogram*> gaps;
  for (const auto& w : r.workers) gaps.push_back(&w->loop_gaps());
  AddLoopGaps(SummarizeLoopGaps(gaps, tsc_hz), "", &s);
  for (size_t i = 0; i < r.workers.size(); ++i) {
    const WorkerCounters& w = workers[i];
    const TableCounters& tc = tables[i];
    AddLoopGaps(SummarizeLoopGaps({&r.workers[i]->loop_gaps()}, tsc_hz),
                absl::StrCat("worker", i, "_"), &s);
    s.Add(absl::StrCat("worker", i, "_packets_in"), w.rx_packets);
    s.Add(absl::StrCat("worker", i, "_packets_in_flows"), tc.packets_in_flows);
    s.Add(absl::StrCat("worker", i, "_flows_live"), r.tables[i]->size());
    s.Add(absl::StrCat("worker", i, "_flows_capacity"), r.tables[i]->max_flows());
    s.Add(absl::StrCat("worker", i, "_flows_created"), tc.flows_created);
    s.Add(absl::StrCat("worker", i, "_ring_stalls"), tc.record_stalls);
  }
  CollectCapturePoints(r, workers, tables, &s);
  for (auto& v : sflow.values) s.values.push_back(std::move(v));
  return s;
}

}  // namespace skyprobe
