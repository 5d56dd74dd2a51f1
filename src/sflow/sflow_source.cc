// sflow_source.cc: the collector loop: receive, decode, parse, account, serve.

#include "sflow/sflow_source.h"

#include <rte_lcore.h>
#include <rte_pause.h>

#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace skyprobe::sflow {
namespace {

int64_t WallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Idle wait for datagrams: short enough for timers and query start-up, long
// enough to leave the CPU alone when no agent talks.
constexpr int kPollMs = 5;
// Time for the agent tables' timers and the queries per batch of datagrams
// (WorkBudget): the kernel's socket buffer holds the datagrams meanwhile.
constexpr uint64_t kTickBudgetUs = 200;

}  // namespace

SflowSource::SflowSource(SflowSetup setup)
    : setup_(std::move(setup)),
      dg_(std::make_unique<Datagram>()),
      agents_(setup_.max_agents, setup_.allowed, setup_.agent_idle_ns) {
  tables_.resize(setup_.max_agents);
  table_ptrs_.assign(setup_.max_agents, nullptr);
  const bool l3 = setup_.key_mode == KeyMode::kL3;
  parser_eth_ = ParserConfig{LinkType::kEthernet, l3};
  parser_ipv4_ = ParserConfig{LinkType::kIpv4, l3};
  parser_ipv6_ = ParserConfig{LinkType::kIpv6, l3};
}

SflowSource::~SflowSource() {
  quit_.store(true, std::memory_order_relaxed);
  Join();
}

void SflowSource::Start() {
  thread_ = std::thread([this] { Run(); });
}

void SflowSource::Join() {
  if (thread_.joinable()) thread_.join();
}

FlowTable* SflowSource::FindOrAddAgent(const Datagram& d, int* slot) noexcept {
  int i = agents_.Find(d);
  if (i >= 0) {
    *slot = i;
    return table_ptrs_[i];
  }
  i = agents_.Claim(d);
  if (i < 0) {
    ++counters_.agent_refusals;
    return nullptr;
  }
  const char* text = agents_.text(i);
  if (tables_[i] != nullptr) {
    // A retired agent's slot: its table is empty, it only changes NodeTID.
    if (!tables_[i]->SetNodeTid(text).ok()) {
      agents_.Release(i);
      ++counters_.agent_table_errors;
      ++counters_.agent_refusals;
      return nullptr;
    }
  } else {
    // A new slot: its table is created here, once (allocation on first sight
    // only, as a worker's shard is allocated at start).
    FlowTableOptions opts = setup_.table;
    opts.name = absl::StrCat("sflow", i);
    opts.node_tid = text;
    opts.scaled_metrics = true;
    opts.node_tid_in_records = true;
    absl::StatusOr<std::unique_ptr<FlowTable>> table =
        FlowTable::Create(opts, setup_.channel->Sink());
    if (!table.ok()) {
      agents_.Release(i);  // retried, this slot first, by the next new agent
      ++counters_.agent_table_errors;
      ++counters_.agent_refusals;
      return nullptr;
    }
    tables_[i] = *std::move(table);
    table_ptrs_[i] = tables_[i].get();
    // Free slots are claimed first, so tables fill slots 0, 1, 2... in order.
    num_tables_.store(static_cast<uint32_t>(i) + 1, std::memory_order_release);
  }
  *slot = i;
  return table_ptrs_[i];
}

void SflowSource::Account(FlowTable* table, uint32_t n) noexcept {
  if (n == 0) return;
  // Only the clock: timer work is Tick's (metered), after the batch.
  WorkBudget none = WorkBudget::None();
  table->AdvanceClock(ts_[0], &none);
  table->ProcessBurst(frames_, pkts_, ts_, n, nullptr, weights_);
}

void SflowSource::HandleDatagram(const uint8_t* data, size_t len, int64_t now_ns,
                                 const PeerAddress& from, uint32_t listener) noexcept {
  ++counters_.datagrams;
  counters_.bytes += len;
  if (listener >= SflowSockets::kMaxSockets) listener = 0;
  ++counters_.listener_datagrams[listener];
  const uint8_t input = listener < setup_.inputs.size() ? setup_.inputs[listener] : 0;
  // The allow-list first by sender: nothing from elsewhere is even decoded.
  if (SKYPROBE_UNLIKELY(!agents_.SenderAllowed(from))) {
    ++counters_.agent_denied;
    return;
  }
  const DecodeError e = DecodeDatagram(data, len, dg_.get());
  if (SKYPROBE_UNLIKELY(e != DecodeError::kNone)) {
    ++counters_.malformed[static_cast<int>(e)];
    return;
  }
  const Datagram& d = *dg_;
  if (SKYPROBE_UNLIKELY(!agents_.AgentAllowed(d))) {
    ++counters_.agent_denied;
    return;
  }
  counters_.samples += d.samples;
  counters_.flow_samples += d.flow_samples;
  counters_.samples_skipped += d.samples_skipped;
  counters_.records += d.records;
  counters_.records_skipped += d.records_skipped;
  int slot = -1;
  if (d.num_headers == 0) {
    // Nothing to account, so no table for an agent not seen yet; a known
    // agent's counter samples still keep it alive and its sequence tracked.
    slot = agents_.Find(d);
    if (slot >= 0) {
      agents_.Seen(slot, d, now_ns, &counters_.sequence_gaps, &counters_.sequence_resets);
      agents_.AddSamples(slot, d.flow_samples, 0);
    }
    return;
  }
  FlowTable* table = FindOrAddAgent(d, &slot);
  if (table == nullptr) return;
  agents_.Seen(slot, d, now_ns, &counters_.sequence_gaps, &counters_.sequence_resets);
  // The agent's drops: its parse errors here, its table's refusals below.
  const TableCounters& tc = table->counters();
  const uint64_t table_drops_before = FrameDrops(tc);
  uint64_t parse_drops = 0;
  uint32_t n = 0;
  for (uint32_t i = 0; i < d.num_headers; ++i) {
    const RawHeader& h = d.headers[i];
    const ParserConfig* cfg;
    switch (h.protocol) {
      case kHeaderEthernet:
        cfg = &parser_eth_;
        break;
      case kHeaderIpv4:
        cfg = &parser_ipv4_;
        break;
      case kHeaderIpv6:
        cfg = &parser_ipv6_;
        break;
      default:
        ++counters_.headers_unsupported;
        continue;
    }
    ++counters_.frames;
    ++counters_.listener_frames[listener];
    frames_[n] = h.data;
    ts_[n] = now_ns;
    weights_[n] = h.sampling_rate;
    ParseFrame(h.data, h.caplen, h.wire_length, *cfg, &pkts_[n]);
    pkts_[n].input = input;  // the listener's capture point (ParserConfig::input: 0)
    if (SKYPROBE_UNLIKELY(pkts_[n].num_sub == 0)) {
      ++counters_.drop_parse[static_cast<int>(pkts_[n].error)];
      ++parse_drops;
    }
    if (SKYPROBE_UNLIKELY(pkts_[n].anomalies != 0)) {
      for (int b = 0; b < kAnomalyCountBits; ++b) {
        if (pkts_[n].anomalies & (1u << b)) ++counters_.anomalies[b];
      }
    }
    if (++n == kBurst) {
      Account(table, n);
      n = 0;
    }
  }
  Account(table, n);
  agents_.AddSamples(slot, d.flow_samples, parse_drops + FrameDrops(tc) - table_drops_before);
}

void SflowSource::Tick(int64_t now_ns) noexcept {
  const uint32_t n = num_tables_.load(std::memory_order_relaxed);
  WorkBudget budget = WorkBudget::For(kTickBudgetUs * rte_get_tsc_hz() / 1'000'000);
  // A different first table each time: one agent's backlog does not starve the others.
  const uint32_t first = tick_rotation_++;
  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t i = (k + first) % n;
    const int slot = static_cast<int>(i);
    if (agents_.state(slot) == AgentState::kFree) continue;  // an empty table
    FlowTable* t = table_ptrs_[i];
    const bool clock_done = t->AdvanceClock(now_ns, &budget);
    // A silent agent leaves like the probe's flows at exit: every flow with
    // its final record (as many per call as the record ring takes), then the
    // slot is free.
    if (agents_.CheckIdle(slot, now_ns) && clock_done && t->FlushAll(&budget)) {
      agents_.Retired(slot);
      ++counters_.agents_retired;
    }
  }
  if (setup_.queries != nullptr) {
    // Queries get their own slice: timers may have spent the first.
    WorkBudget q = WorkBudget::For(kTickBudgetUs * rte_get_tsc_hz() / 1'000'000);
    setup_.queries->Serve(table_ptrs_.data(), n, &q);
  }
}

bool SflowSource::FlushAll() noexcept {
  const uint32_t n = num_tables_.load(std::memory_order_relaxed);
  bool all = true;
  for (uint32_t i = 0; i < n; ++i) {
    FlowTable* t = table_ptrs_[i];
    // Finish pending expiry work first, then hand over what is left: the
    // records of FlushAll, without taking each key and timer out one by one
    // (Retire; an agent table taken again starts from an empty index).
    all = all && t->AdvanceClock(t->now_ns()) && t->Retire();
  }
  return all;
}

void SflowSource::LeaveToProcessExit() noexcept {
  quit_.store(true, std::memory_order_relaxed);
  Join();
  // Slots below num_tables_ all hold a table (FindOrAddAgent fills them in order).
  const uint32_t n = num_tables_.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < n; ++i) table_ptrs_[i]->LeaveToProcessExit();
}

void SflowSource::Run() noexcept {
  // A registered thread gets an lcore id (mempool caches, rte_socket_id).
  rte_thread_register();
  SflowSockets& socks = *setup_.sockets;
  for (;;) {
    if (quit_.load(std::memory_order_relaxed)) break;
    if (setup_.stop != nullptr && setup_.stop->load(std::memory_order_relaxed)) break;
    // Block while idle; never while a query waits for its answer.
    const bool busy = setup_.queries != nullptr && setup_.queries->pending();
    const uint32_t got = socks.Receive(busy ? 0 : kPollMs);
    const int64_t now = WallNs();  // one clock read per batch
    if (got > 0) ++counters_.batches;
    for (uint32_t i = 0; i < got; ++i) {
      const SflowSockets::Datagram dg = socks.datagram(i);
      if (SKYPROBE_UNLIKELY(dg.truncated)) {
        ++counters_.datagrams;
        ++counters_.listener_datagrams[dg.socket % SflowSockets::kMaxSockets];
        counters_.bytes += dg.len;
        ++counters_.malformed[static_cast<int>(DecodeError::kBadLength)];
        continue;
      }
      HandleDatagram(dg.data, dg.len, now, dg.from, dg.socket);
    }
    counters_.receive_errors = socks.receive_errors();
    counters_.kernel_drops = socks.kernel_drops();
    Tick(now);
  }
  // Control drains concurrently: retry until every flow is handed over.
  // (Only the destructor's quit, on a failed start-up with no control loop
  // running, gives up.)
  while (!FlushAll() && !quit_.load(std::memory_order_relaxed)) {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  done_.store(true, std::memory_order_release);
  rte_thread_unregister();
}

}  // namespace skyprobe::sflow
