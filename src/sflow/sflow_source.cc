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

}  // namespace

SflowSource::SflowSource(SflowSetup setup)
    : setup_(std::move(setup)), dg_(std::make_unique<Datagram>()) {
  agents_.resize(setup_.max_agents);
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

FlowTable* SflowSource::FindOrAddAgent(const Datagram& d) noexcept {
  const size_t len = d.agent_ip_version == 4 ? 4 : 16;
  const uint32_t n = num_agents_.load(std::memory_order_relaxed);
  // Agents send runs of datagrams: the last one first, then a scan (a few
  // dozen agents; a datagram carries many samples, so this is per batch of
  // packets, not per packet).
  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t i = k == 0 ? last_agent_ : (k <= last_agent_ ? k - 1 : k);
    const Agent& a = agents_[i];
    if (a.ip_version == d.agent_ip_version && std::memcmp(a.addr, d.agent, len) == 0) {
      last_agent_ = i;
      return table_ptrs_[i];
    }
  }
  if (n >= setup_.max_agents) {
    ++counters_.agent_refusals;
    return nullptr;
  }
  // A new agent: its table is created here, once (allocation on first sight
  // only, as a worker's shard is allocated at start).
  char text[kAgentTextMax];
  AgentText(d, text);
  FlowTableOptions opts = setup_.table;
  opts.name = absl::StrCat("sflow", n);
  opts.node_tid = text;
  opts.scaled_metrics = true;
  opts.node_tid_in_records = true;
  absl::StatusOr<std::unique_ptr<FlowTable>> table =
      FlowTable::Create(opts, setup_.channel->Sink());
  if (!table.ok()) {
    ++counters_.agent_table_errors;
    ++counters_.agent_refusals;
    return nullptr;
  }
  agents_[n].ip_version = d.agent_ip_version;
  std::memcpy(agents_[n].addr, d.agent, len);
  tables_[n] = *std::move(table);
  table_ptrs_[n] = tables_[n].get();
  last_agent_ = n;
  num_agents_.store(n + 1, std::memory_order_release);
  return table_ptrs_[n];
}

void SflowSource::Account(FlowTable* table, uint32_t n) noexcept {
  if (n == 0) return;
  table->AdvanceClock(ts_[0]);
  table->ProcessBurst(frames_, pkts_, ts_, n, nullptr, weights_);
}

void SflowSource::HandleDatagram(const uint8_t* data, size_t len, int64_t now_ns) noexcept {
  ++counters_.datagrams;
  counters_.bytes += len;
  const DecodeError e = DecodeDatagram(data, len, dg_.get());
  if (SKYPROBE_UNLIKELY(e != DecodeError::kNone)) {
    ++counters_.malformed[static_cast<int>(e)];
    return;
  }
  const Datagram& d = *dg_;
  counters_.samples += d.samples;
  counters_.flow_samples += d.flow_samples;
  counters_.samples_skipped += d.samples_skipped;
  counters_.records += d.records;
  counters_.records_skipped += d.records_skipped;
  if (d.num_headers == 0) return;  // nothing to account: no table needed
  FlowTable* table = FindOrAddAgent(d);
  if (table == nullptr) return;
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
    frames_[n] = h.data;
    ts_[n] = now_ns;
    weights_[n] = h.sampling_rate;
    ParseFrame(h.data, h.caplen, h.wire_length, *cfg, &pkts_[n]);
    if (SKYPROBE_UNLIKELY(pkts_[n].num_sub == 0)) {
      ++counters_.drop_parse[static_cast<int>(pkts_[n].error)];
    }
    if (++n == kBurst) {
      Account(table, n);
      n = 0;
    }
  }
  Account(table, n);
}

void SflowSource::Tick(int64_t now_ns) noexcept {
  const uint32_t n = num_agents_.load(std::memory_order_relaxed);
  for (uint32_t i = 0; i < n; ++i) table_ptrs_[i]->AdvanceClock(now_ns);
  if (setup_.queries != nullptr) setup_.queries->Serve(table_ptrs_.data(), n);
}

bool SflowSource::FlushAll() noexcept {
  const uint32_t n = num_agents_.load(std::memory_order_relaxed);
  bool all = true;
  for (uint32_t i = 0; i < n; ++i) {
    FlowTable* t = table_ptrs_[i];
    // Finish pending expiry work first, then hand over what is left.
    all = all && t->AdvanceClock(t->now_ns()) && t->FlushAll();
  }
  return all;
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
        counters_.bytes += dg.len;
        ++counters_.malformed[static_cast<int>(DecodeError::kBadLength)];
        continue;
      }
      HandleDatagram(dg.data, dg.len, now);
    }
    counters_.receive_errors = socks.receive_errors();
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
