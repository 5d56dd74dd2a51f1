// sflow_source.h: the sFlow collector: datagrams in, flows out (--sflow-listen).
//
// Owner: one thread of its own (Start/Join) runs the loop and owns every
// agent table; its SflowCounters have that single writer and are read
// (racily, monotonic) by the control lcore for stats. Other threads reach the
// tables only through the source's QueryPort, as they reach RX workers.
//
//   SflowSource src(setup);            // sockets already bound (errors at start-up)
//   loop.AddSource(&channel_source);   // src/app: src.channel(), src.done_flag()
//   src.Start(); ... loop.Run(); src.Join();
//
// Architecture. sFlow is a control-plane rate input (an agent sends a few
// hundred datagrams a second), so the loop is a plain thread that blocks in
// poll() between datagram batches instead of an lcore spinning on the CPU the
// RX workers need. Each batch: one clock read (the reception time: sFlow has
// no packet timestamps), the pure decoder (sflow_decoder.h), then every raw
// packet header goes through the same ParseFrame and FlowTable code as
// captured frames (Skydive's flow/packet.go, PacketSeqFromSFlowSample): link type
// from header_protocol, wire length = frame_length - stripped.
//
// Agents never merge: each agent address gets its own FlowTable, created on
// first sight up to --sflow-max-agents (further agents' datagrams are counted
// and dropped), with --sflow-max-flows flows and node_tid = the agent
// address. sflow_agents.h keeps the agents: the allow-list (--sflow-agents),
// sequence gaps, and retirement of agents silent for --sflow-agent-idle,
// whose table is flushed and then given, empty, to the next new agent. The UUID hashes NodeTID
// (FlowUuid, flow_key.h) but the table key does not, so separate tables are what keeps two agents'
// copies of one conversation apart; TrackingID stays equal across agents, as in Skydive. Sub-agents
// of one agent share its table (one NodeTID). The tables keep the sampling-rate-scaled counters
// beside the raw ones (FlowTableOptions:: scaled_metrics) and put the agent address into each
// record.
//
// Records leave through one RecordChannel shared by every agent table (one
// producer: this thread) to the control lcore, like a worker's; queries,
// Flush and raw-packet look-ups come through one QueryPort served over all
// agent tables between batches. On stop every flow is flushed through the
// expire path, then done_flag() is set.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "capture/query_port.h"
#include "capture/record_channel.h"
#include "parse/parser.h"
#include "sflow/sflow_agents.h"
#include "sflow/sflow_decoder.h"
#include "sflow/sflow_socket.h"
#include "skyprobe/compiler.h"
#include "table/flow_table.h"

namespace skyprobe::sflow {

struct SKYPROBE_CACHE_ALIGNED SflowCounters {
  uint64_t datagrams = 0;                                          // received
  uint64_t bytes = 0;                                              // UDP payload bytes received
  uint64_t malformed[static_cast<int>(DecodeError::kCount)] = {};  // refused, by reason
  uint64_t samples = 0;              // in accepted datagrams, any type
  uint64_t flow_samples = 0;         // flow_sample and expanded_flow_sample
  uint64_t samples_skipped = 0;      // other sample types (counters, enterprise formats)
  uint64_t records = 0;              // flow records in flow samples
  uint64_t records_skipped = 0;      // records other than raw packet headers
  uint64_t headers_unsupported = 0;  // raw headers whose header_protocol is not parsed
  uint64_t frames = 0;               // raw headers handed to the parser
  uint64_t drop_parse[static_cast<int>(ParseError::kCount)] = {};
  // Sampled frames with a malformed part the parser stepped over, as for a
  // port's frames. A sample is a header cut by the agent: lengths reaching
  // past the captured bytes but not past frame_length are no anomaly.
  uint64_t anomalies[kAnomalyCountBits] = {};
  uint64_t agent_refusals = 0;      // datagrams of agents beyond --sflow-max-agents
  uint64_t agent_table_errors = 0;  // agent tables that could not be created (memory)
  uint64_t agent_denied = 0;        // datagrams refused by the allow-list (--sflow-agents)
  uint64_t agents_retired = 0;      // agents silent for --sflow-agent-idle, flushed
  uint64_t sequence_gaps = 0;       // datagrams missing from agents' sequence numbers
  uint64_t sequence_resets = 0;     // sequence numbers that went back or repeated
  uint64_t kernel_drops = 0;        // dropped by the kernel, receive buffer full (SO_RXQ_OVFL)
  uint64_t receive_errors = 0;
  uint64_t batches = 0;
  // Per listener (--sflow-listen, Open's order): its datagrams, and the
  // sampled frames they gave the parser (its capture point's packets_in).
  uint64_t listener_datagrams[SflowSockets::kMaxSockets] = {};
  uint64_t listener_frames[SflowSockets::kMaxSockets] = {};
};

struct SflowSetup {
  std::unique_ptr<SflowSockets> sockets;  // bound at start-up
  std::unique_ptr<RecordChannel> channel;
  std::unique_ptr<QueryPort> queries;
  FlowTableOptions table;  // template of every agent table (name and node_tid are set per agent)
  uint32_t max_agents = 64;
  std::vector<IpNetwork> allowed;  // --sflow-agents; empty: any agent
  int64_t agent_idle_ns = 0;       // --sflow-agent-idle; 0: agents stay
  KeyMode key_mode = KeyMode::kL2;
  const std::atomic<bool>* stop = nullptr;  // set by signals: flush and leave
  // Each listener is a capture point: inputs[i] is the input number of the
  // flows sampled in datagrams that listener i received (0: none). The
  // number is in the flow key, so two listeners' flows never merge; their
  // UUIDs differ through table.uuid_tag_suffixes when there are several.
  std::vector<uint8_t> inputs;
};

class SflowSource {
 public:
  explicit SflowSource(SflowSetup setup);
  ~SflowSource();  // stops and joins the thread if still running
  SflowSource(const SflowSource&) = delete;
  SflowSource& operator=(const SflowSource&) = delete;

  void Start();
  void Join();

  // Decodes one datagram received at `now_ns` from `from` by `listener`
  // (an index of SflowSetup::inputs) and accounts its
  // packets (the loop's body; tests and benchmarks drive it directly,
  // without Start; an unknown sender is checked by its agent address only).
  void HandleDatagram(const uint8_t* data, size_t len, int64_t now_ns,
                      const PeerAddress& from = PeerAddress(), uint32_t listener = 0) noexcept;
  // Moves every agent table's clock (timers, update ticks), retires idle
  // agents (a bounded flush per call) and serves queries.
  void Tick(int64_t now_ns) noexcept;
  // Hands every flow over (expire path); true when all are out.
  bool FlushAll() noexcept;
  // The process is about to exit: stops and joins the thread (its flows are
  // handed over already when the control loop ended), then leaves the agent
  // tables' memory to the exit instead of rewriting it
  // (FlowTable::LeaveToProcessExit). Nothing may use the source after this
  // but its destructor.
  void LeaveToProcessExit() noexcept;

  RecordChannel* channel() const { return setup_.channel.get(); }
  QueryPort* query_port() const { return setup_.queries.get(); }
  const std::atomic<bool>* done_flag() const { return &done_; }
  const SflowCounters& counters() const { return counters_; }

  // Agent tables so far (safe from any thread: the slots never move; a slot
  // whose agent retired keeps its table, empty, for the next agent).
  uint32_t agent_count() const { return num_tables_.load(std::memory_order_acquire); }
  const FlowTable& agent_table(uint32_t i) const { return *tables_[i]; }
  // Agents now (active or being retired), and one agent's own counters.
  uint32_t agents_in_use() const { return agents_.in_use(); }
  bool ReadAgent(uint32_t i, AgentReport* out) const { return agents_.Read(i, out); }

 private:
  void Run() noexcept;
  FlowTable* FindOrAddAgent(const Datagram& d, int* slot) noexcept;
  void Account(FlowTable* table, uint32_t n) noexcept;

  static constexpr uint32_t kBurst = 64;

  SflowSetup setup_;
  std::unique_ptr<Datagram> dg_;  // decoder output, reused (64 KiB)
  AgentDirectory agents_;         // slot i's table is tables_[i]
  std::vector<std::unique_ptr<FlowTable>> tables_;
  std::vector<FlowTable*> table_ptrs_;
  std::atomic<uint32_t> num_tables_{0};
  uint32_t tick_rotation_ = 0;  // Tick's first table (this thread only)
  ParserConfig parser_eth_;
  ParserConfig parser_ipv4_;
  ParserConfig parser_ipv6_;
  const uint8_t* frames_[kBurst];
  ParsedPacket pkts_[kBurst];
  int64_t ts_[kBurst];
  uint32_t weights_[kBurst];
  SflowCounters counters_;
  std::thread thread_;
  std::atomic<bool> quit_{false};  // the destructor's stop
  std::atomic<bool> done_{false};
};

}  // namespace skyprobe::sflow
