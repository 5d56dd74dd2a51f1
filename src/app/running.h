// running.h: everything a running probe holds, made by the wiring steps
// (inputs.h, outputs.h, service_setup.h) and torn down by RunProbe.
//
// Owner: the EAL main lcore (control) builds and frees it; RX lcores, the
// dispatcher and the sFlow thread use the parts handed to them meanwhile.
//
//   Running r;
//   SKYPROBE_RETURN_IF_ERROR(SetUpPorts(cfg, stop, &loop, &r, &workers));
#pragma once

#include <memory>
#include <vector>

#include <rte_lcore.h>

#include "app/channel_source.h"
#include "app/probe_backend_impl.h"
#include "bpf/bpf_filter.h"
#include "capture/dispatcher.h"
#include "capture/link_watch.h"
#include "capture/pacer.h"
#include "capture/port.h"
#include "capture/query_port.h"
#include "capture/record_channel.h"
#include "capture/rx_worker.h"
#include "capture/tsc_clock.h"
#include "control/enhancer_pipeline.h"
#include "export/ipfix/ipfix_handler.h"
#include "export/kafka_sink.h"
#include "record/capture_points.h"
#include "sflow/sflow_source.h"
#ifdef SKYPROBE_WITH_SERVICE
#include "service/grpc_server.h"
#endif
#include "table/flow_table.h"

namespace skyprobe {

// How frames reach the workers: one worker polls every queue; each worker
// its own queues (NIC RSS, --pcap-queues, AF_PACKET fanout); each worker
// reads the one file and keeps its share (MappedFileQueue::BurstShare); or
// a dispatcher lcore spreads them.
enum class Mode { kSingle, kRss, kShares, kDispatch };

inline const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kSingle:
      return "single worker";
    case Mode::kRss:
      return "rss";
    case Mode::kShares:
      return "file shares";
    default:
      return "dispatch";
  }
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
  // The enhancers for live answers (the backend's; see SetUpService).
  std::unique_ptr<EnhancerPipeline> live_enhancers;
#ifdef SKYPROBE_WITH_SERVICE
  std::unique_ptr<GrpcServer> server;
#endif
  std::unique_ptr<Dispatcher> dispatcher;
  // The live ports' links (link_watch.h), polled by the control lcore.
  std::unique_ptr<LinkWatch> links;
  // The TSC read before EAL started, and the clock fitted from it when the
  // workers are made (tsc_clock.h), which the control lcore refits.
  DeviceClockSample tsc_early;
  std::unique_ptr<LiveDeviceClock> tsc_clock;
  std::unique_ptr<Pacer> pacer;  // --pcap-rate / --pcap-realtime, shared by the readers
  std::vector<std::unique_ptr<BpfFilter>> filters;  // --bpf, one per port
  std::vector<unsigned> worker_lcores;
  unsigned dispatcher_lcore = RTE_MAX_LCORE;
  std::unique_ptr<sflow::SflowSource> sflow;  // --sflow-listen
  // The capture points by input, filled by SetUpPorts before any lcore or
  // service thread starts; read-only from then on (record consumers).
  std::shared_ptr<CapturePoints> points;
  const KafkaSink* kafka = nullptr;  // --kafka: a handler owned by the control loop
  // --ipfix destinations (owned by the control loop, which outlives every
  // reader of these: the summary is taken before it goes).
  std::vector<const ipfix::IpfixHandler*> ipfix;
};

}  // namespace skyprobe
