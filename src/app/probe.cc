// probe.cc: RunProbe: EAL, the wiring steps in order (outputs.h, inputs.h,
// service_setup.h), the lcores launched, the control loop run, the summary and
// its accounting check, then teardown in the order EAL memory needs.
#include "app/probe.h"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "app/counters.h"
#include "app/inputs.h"
#include "app/metrics.h"
#include "app/outputs.h"
#include "app/progress.h"
#include "app/running.h"
#include "app/service_setup.h"
#include "app/summary.h"
#include "capture/mapped_file_queue.h"
#include "control/control_loop.h"
#include "control/enhancer_pipeline.h"
#include "skyprobe/status.h"
#include "table/table_hash.h"
#include "table/table_prefault.h"

namespace skyprobe {
namespace {

// Twice a second: the progress line (progress.h), until the input is read
// with --hold (then the table is held: nothing more moves).
void AddProgress(const Config& cfg, Running* r, ControlLoop* loop, TerminalRelay* relay,
                 InputFiles* files, ProgressMeter* meter) {
  const auto start = std::chrono::steady_clock::now();
  bool outputs = false;
  for (const auto& h : loop->handlers()) outputs |= h->output_counters() != nullptr;
  loop->AddPeriodic(500, [=, &cfg, done = false]() mutable {
    if (done) return;
    const Summary s = Collect(*r, *loop);
    ProgressSample p;
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    p.bytes_total = files->total();
    p.bytes_read = files->Read();
    // A file read in shares counts once, as far as its slowest reader is.
    for (const auto& mq : r->ports.mapped) {
      if (mq->share_index() != 0) continue;
      size_t read = mq->file().progress();
      for (const auto& other : r->ports.mapped) {
        if (other->share_count() > 1 && &other->file() != &mq->file() &&
            other->file().name() == mq->file().name()) {
          read = std::min(read, other->file().progress());
        }
      }
      p.bytes_total += mq->file().size();
      p.bytes_read += read;
    }
    p.packets = s.Get("packets_in");
    p.flows_live = s.Get("flows_live");
    p.outputs = outputs;
    p.records_out = s.Get("records_out");
    p.records_lost = s.Get("records_lost");
    relay->Show(meter->Line(p));
    if (cfg.hold && p.bytes_total > 0 && p.bytes_read >= p.bytes_total) {
      relay->Clear();
      done = true;
    }
  });
}

absl::Status Run(const Config& cfg, const std::atomic<bool>* stop,
                 const std::atomic<uint64_t>* reopen, TerminalRelay* progress, Running* r) {
  EnhancerPipeline pipeline;
  SKYPROBE_RETURN_IF_ERROR(SetUpEnhancers(cfg, &pipeline));
  ControlLoop loop(&pipeline);
  loop.SetReopenSignal(reopen);
  r->points = std::make_shared<CapturePoints>(cfg.node_tid);
  SKYPROBE_RETURN_IF_ERROR(SetUpOutputs(cfg, &loop, r));
  uint32_t w = 0;
  if (HasPortInputs(cfg)) SKYPROBE_RETURN_IF_ERROR(SetUpPorts(cfg, stop, &loop, r, &w));
  if (!cfg.sflow_listen.empty()) SKYPROBE_RETURN_IF_ERROR(SetUpSflow(cfg, stop, &loop, r));
  SKYPROBE_RETURN_IF_ERROR(SetUpService(cfg, &loop, r));
  // After `loop`: stopped (no scrape in progress) before the loop goes away.
  std::unique_ptr<MetricsEndpoint> metrics;
  if (!cfg.metrics_listen.empty()) {
    SKYPROBE_ASSIGN_OR_RETURN(metrics, StartMetrics(cfg, r, &loop));
  }
  std::optional<InputFiles> files;
  ProgressMeter meter;
  if (progress != nullptr && !cfg.pcap_inputs.empty()) {
    // Files net_pcap reads are followed through its descriptors; mapped ones
    // (--pcap-reader mapped) through their reader's position (AddProgress).
    std::vector<std::string> paths;
    for (const PcapInput& in : cfg.pcap_inputs) {
      bool mapped = false;
      for (const auto& mq : r->ports.mapped) mapped |= mq->file().name() == in.path;
      if (!mapped) paths.push_back(in.path);
    }
    files.emplace(paths);  // after the ports: their files are open
    AddProgress(cfg, r, &loop, progress, &*files, &meter);
  }
  if (cfg.stats_interval_sec > 0) {
    loop.AddPeriodic(uint64_t{cfg.stats_interval_sec} * 1000,
                     [&] { PrintStatsLine(Collect(*r, loop), stderr); });
  }
  // The TSC's rate and the NIC clocks' drift from the host's clock: each fit
  // is renewed every second (tsc_clock.h, device_clock.h), from the control
  // lcore while the workers read it. A TSC refit that fails (a sample's
  // bracket too wide) keeps the last fit until the next one. A step of the
  // host's clock is not followed by the TSC's: said when it passes a second.
  // Each live port's link too (link_watch.h): a change is said on stderr.
  r->links = std::make_unique<LinkWatch>(r->ports, cfg.quiet);
  if (r->tsc_clock != nullptr || !r->ports.device_clocks.empty() || r->links->size() > 0) {
    loop.AddPeriodic(1000, [&, said_ns = int64_t{0}]() mutable {
      r->links->Poll();
      if (LiveDeviceClock* tsc = r->tsc_clock.get(); tsc != nullptr) {
        RefitTscClock(tsc).IgnoreError();
        const int64_t off = tsc->offset_ns();
        if (std::abs(off - said_ns) >= 1'000'000'000) {
          if (!cfg.quiet) {
            std::fprintf(stderr,
                         "skyprobe: the host's clock stepped %+.3f s: live frame times keep "
                         "their course, %.3f s %s the host's (restart to take its time)\n",
                         static_cast<double>(off - said_ns) / 1e9,
                         static_cast<double>(std::abs(off)) / 1e9,
                         off >= 0 ? "behind" : "ahead of");
          }
          said_ns = off;
        }
      }
      RefitPortClocks(&r->ports, cfg.quiet);
    });
  }
  bool live = false;
  for (const RxQueueSpec& q : r->ports.queues) live |= !q.is_file;
  if (!cfg.quiet && live && r->tsc_clock != nullptr) {
    // The rate live times run at, beside EAL's (tsc_clock.h says why they may differ).
    const double fixed = static_cast<double>(r->tsc_clock->Load().ns_per_tick_fixed);
    const double mhz = 1e3 * static_cast<double>(uint64_t{1} << DeviceClock::kFractionBits) / fixed;
    std::fprintf(stderr,
                 "skyprobe: live clock (expiry, frames without a time of their own): the TSC "
                 "at %.3f MHz, fitted to the host's clock each second (EAL's rate %.3f MHz)\n",
                 mhz, static_cast<double>(rte_get_tsc_hz()) / 1e6);
  }
  if (!cfg.quiet && w > 0) {
    std::string where = absl::StrCat("control on lcore ", rte_get_main_lcore());
    if (r->dispatcher) absl::StrAppend(&where, ", dispatcher on lcore ", r->dispatcher_lcore);
    if (r->ports.pools_rts) {
      absl::StrAppend(&where, " (lcores share CPUs: mbuf pools on relaxed-tail-sync rings)");
    }
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
  // Memory EAL did not map from hugepages is faulted in page by page: the
  // tables' next records are made resident from a thread of their own, not
  // by the workers' first writes (table_prefault.h). Gone before the tables.
  std::unique_ptr<TablePrefaulter> prefault;
  if (!rte_eal_has_hugepages() && !r->tables.empty()) {
    std::vector<const FlowTable*> tables;
    for (const auto& t : r->tables) tables.push_back(t.get());
    prefault = TablePrefaulter::Start(tables);
  }
  absl::Status st = loop.Run();
  rte_eal_mp_wait_lcore();
  prefault.reset();
  if (r->sflow) r->sflow->Join();
#ifdef SKYPROBE_WITH_SERVICE
  if (r->server) r->server->Shutdown();
#endif

  const Summary s = Collect(*r, loop);
  if (progress != nullptr) progress->Clear();
  if (!cfg.quiet) PrintSummary(s, stderr);
  // A damaged capture file: what was read is in the records, the rest lost.
  // (A file read in shares: each reader met the damage; said once.)
  std::set<std::string> said;
  for (const auto& mq : r->ports.mapped) {
    if (!mq->error().empty() && said.insert(mq->error()).second) {
      std::fprintf(stderr, "skyprobe: warning: %s; the rest of the file is not read\n",
                   mq->error().c_str());
    }
  }
  // Every frame is in a flow, filtered or dropped for a counted reason (the
  // counters' kinds, skyprobe/counters.h), none still held: say so if not.
  if (!s.account.Balanced() || s.account.held != 0) {
    return absl::InternalError("packet accounting does not add up (see the summary)");
  }
  if (r->sflow && !s.sflow_account.Balanced()) {
    return absl::InternalError("sFlow frame accounting does not add up (see the summary)");
  }
  return st;
}

}  // namespace

absl::Status RunProbe(const Config& cfg, const std::atomic<bool>* stop,
                      const std::atomic<uint64_t>* reopen, TerminalRelay* progress) {
  // Before any flow table exists: --hash-seed replaces the random secret.
  if (cfg.hash_seed_set) SetTableHashSeed(cfg.hash_seed);
  // The TSC's first sample: the workers' clock is fitted from here to their
  // start, across EAL's and the tables' set-up (tsc_clock.h).
  Running r;
  r.tsc_early = SampleTsc();
  SKYPROBE_RETURN_IF_ERROR(InitEal(EalArguments(cfg)));
  absl::Status st = Run(cfg, stop, reopen, progress, &r);
  // Lcores may still run if start-up failed half-way: stop them first.
  rte_eal_mp_wait_lcore();
#ifdef SKYPROBE_WITH_SERVICE
  if (r.server) r.server->Shutdown();
  r.server.reset();
#endif
  r.backend.reset();
  // Everything below lives in EAL memory: free it before rte_eal_cleanup.
  // Stops and joins its thread first if start-up failed after Start; its
  // agent tables go with the process, as the RX tables below.
  if (r.sflow) r.sflow->LeaveToProcessExit();
  r.sflow.reset();
  r.dispatcher.reset();
  r.workers.clear();
  r.query_ports.clear();
  r.filters.clear();
  // The process ends here (rte_eal_cleanup, then main returns): the tables'
  // big arrays go with it, unwritten (flow_table.h).
  for (auto& t : r.tables) t->LeaveToProcessExit();
  r.tables.clear();
  r.sources.clear();
  r.channels.clear();
  r.rings.clear();
  if (!r.ports.queues.empty()) StopPorts(r.ports);
  rte_eal_cleanup();
  return st;
}

}  // namespace skyprobe
