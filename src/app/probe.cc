// probe.cc: RunProbe: EAL, the wiring steps in order (outputs.h, inputs.h,
// service_setup.h), the lcores launched, the control loop run, the summary and
// its accounting check, then teardown in the order EAL memory needs.
#include "app/probe.h"

#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "app/counters.h"
#include "app/inputs.h"
#include "app/metrics.h"
#include "app/outputs.h"
#include "app/running.h"
#include "app/service_setup.h"
#include "app/summary.h"
#include "control/control_loop.h"
#include "control/enhancer_pipeline.h"
#include "skyprobe/status.h"
#include "table/table_hash.h"

namespace skyprobe {
namespace {

absl::Status Run(const Config& cfg, const std::atomic<bool>* stop,
                 const std::atomic<uint64_t>* reopen, Running* r) {
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

absl::Status RunProbe(const Config& cfg, const std::atomic<bool>* stop,
                      const std::atomic<uint64_t>* reopen) {
  // Before any flow table exists: --hash-seed replaces the random secret.
  if (cfg.hash_seed_set) SetTableHashSeed(cfg.hash_seed);
  SKYPROBE_RETURN_IF_ERROR(InitEal(EalArguments(cfg)));
  Running r;
  absl::Status st = Run(cfg, stop, reopen, &r);
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
