#include "app/service_setup.h"

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "app/counters.h"
#include "app/outputs.h"
#include "app/probe.h"
#include "control/enhancer_pipeline.h"
#include "skyprobe/status.h"
#ifdef SKYPROBE_WITH_SERVICE
#include "service/tls_files.h"
#endif

namespace skyprobe {
namespace {

// The summary as the service's Stats(): "workerN_x" becomes scope workerN,
// name x ("portN_x" and "portN.queueM_x" likewise); "sflow_agent.ADDRESS.x" scope
// sflow_agent.ADDRESS, name x; "output.NAME.x" scope output.NAME, name x;
// "capture.ID.x" scope capture.ID, name x.
StatsSnapshot ToStats(const Summary& s) {
  StatsSnapshot out;
  for (const auto& [name, value] : s.values) {
    StatsSnapshot::Entry e;
    e.value = value;
    const size_t us = name.find('_');
    const size_t dot = name.rfind('.');
    // "workerN_x", "portN_x", "portN.queueM_x" (not the totals "port_x").
    const bool per_port =
        name.rfind("port", 0) == 0 && name.size() > 4 && name[4] >= '0' && name[4] <= '9';
    if ((name.rfind("worker", 0) == 0 || per_port) && us != std::string::npos) {
      e.scope = name.substr(0, us);
      e.name = name.substr(us + 1);
    } else if ((name.rfind("sflow_agent.", 0) == 0 || name.rfind("output.", 0) == 0 ||
                name.rfind("capture.", 0) == 0) &&
               dot != std::string::npos) {
      e.scope = name.substr(0, dot);
      e.name = name.substr(dot + 1);
    } else {
      e.scope = "total";
      e.name = name;
    }
    out.entries.push_back(std::move(e));
  }
  return out;
}

}  // namespace

absl::Status CheckConfigFiles([[maybe_unused]] const Config& cfg) {
#ifdef SKYPROBE_WITH_SERVICE
  if (cfg.grpc_listen != "none") return CheckTlsFiles(ServiceOptionsFromConfig(cfg));
#endif
  return absl::OkStatus();
}

absl::Status SetUpService([[maybe_unused]] const Config& cfg, [[maybe_unused]] ControlLoop* loop,
                          [[maybe_unused]] Running* r) {
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
        qp, done, [r, loop] { return ToStats(Collect(*r, *loop)); }, cfg.node_tid, r->points);
    r->backend->SetLiveFlows([r] {
      size_t n = 0;
      for (const auto& t : r->tables) {  // racy by design: a hint
        n += t->size();
        if (t->kept() != nullptr) n += t->kept()->size();
      }
      if (r->sflow) {
        for (uint32_t i = 0; i < r->sflow->agent_count(); ++i) n += r->sflow->agent_table(i).size();
      }
      return n;
    });
    // The enhancers again, for live answers (the control loop's own are its
    // lcore's; these run on gRPC threads, one query at a time).
    r->live_enhancers = std::make_unique<EnhancerPipeline>();
    SKYPROBE_RETURN_IF_ERROR(SetUpEnhancers(cfg, r->live_enhancers.get()));
    if (r->live_enhancers->size() > 0) {
      r->backend->SetEnhancer([p = r->live_enhancers.get()](FlowSnapshot* s) { p->Enhance(s); });
    }
    loop->AddHandler(r->backend->Handler());
    SKYPROBE_ASSIGN_OR_RETURN(r->server,
                              StartGrpcServer(ServiceOptionsFromConfig(cfg), r->backend.get()));
    if (!cfg.quiet) {
      // Which protection is on, said where the address is (issue 9, item 5).
      std::fprintf(stderr, "skyprobe: gRPC service on %s (port %d), protection: %s\n",
                   cfg.grpc_listen.c_str(), r->server->port(),
                   ProtectionText(ServiceOptionsFromConfig(cfg)).c_str());
    }
  }
#endif
  return absl::OkStatus();
}

}  // namespace skyprobe
