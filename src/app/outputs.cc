#include "app/outputs.h"

#include <memory>
#include <utility>

#include "control/enhancers/community_id.h"
#include "export/ipfix/ipfix_handler.h"
#include "export/json_lines_handler.h"
#include "export/kafka_sink.h"
#include "skyprobe/status.h"

namespace skyprobe {

absl::Status SetUpEnhancers(const Config& cfg, EnhancerPipeline* pipeline) {
  if (cfg.community_id) {
    SKYPROBE_RETURN_IF_ERROR(
        pipeline->AddEnhancer(std::make_unique<CommunityIdEnhancer>(cfg.community_id_seed)));
  }
  return absl::OkStatus();
}

namespace {

ipfix::IpfixOptions IpfixOptionsOf(const Config& cfg, const IpfixDestination& d,
                                   std::shared_ptr<const CapturePoints> points) {
  ipfix::IpfixOptions o;
  ipfix::ExporterOptions& e = o.exporter;
  switch (d.kind) {
    case IpfixDestination::Kind::kUdp:
      e.kind = ipfix::TransportKind::kUdp;
      break;
    case IpfixDestination::Kind::kTcp:
      e.kind = ipfix::TransportKind::kTcp;
      break;
    case IpfixDestination::Kind::kFile:
      e.kind = ipfix::TransportKind::kFile;
      break;
  }
  e.host = d.host;
  e.port = d.port;
  e.path = d.path;
  e.name = d.text;
  e.observation_domain = cfg.ipfix_domain;
  e.mtu = cfg.ipfix_mtu;
  e.template_refresh_s = cfg.ipfix_template_refresh_sec;
  e.rate = cfg.ipfix_rate;
  e.spool_bytes = cfg.ipfix_spool_bytes;
  o.encoder.pen = cfg.ipfix_pen;
  o.encoder.uniflow = cfg.ipfix_uniflow;
  o.encoder.node_tid = cfg.node_tid;
  o.encoder.app_metadata = cfg.app_metadata;
  o.encoder.points = std::move(points);  // filled by SetUpPorts, before any record is encoded
  return o;
}

}  // namespace

absl::Status SetUpOutputs(const Config& cfg, ControlLoop* loop, Running* r) {
  JsonContext ctx;
  ctx.node_tid = cfg.node_tid;
  ctx.points = r->points;  // filled by SetUpPorts, before any record is written
  if (!cfg.json_path.empty()) {
    SKYPROBE_ASSIGN_OR_RETURN(auto json, JsonLinesHandler::Open(cfg.json_path, ctx));
    loop->AddHandler(std::move(json));
  }
  if (!cfg.kafka_brokers.empty()) {
    KafkaOptions k;
    k.brokers = cfg.kafka_brokers;
    k.topic = cfg.kafka_topic;
    k.format =
        cfg.kafka_format == RecordFormat::kProtobuf ? KafkaFormat::kProtobuf : KafkaFormat::kJson;
    k.properties = cfg.kafka_options;
    k.flush_timeout_ms = cfg.kafka_flush_timeout_sec * 1000;
    SKYPROBE_ASSIGN_OR_RETURN(auto kafka, KafkaSink::Open(k, ctx));
    r->kafka = kafka.get();  // owned by the loop, which outlives every reader
    loop->AddHandler(std::move(kafka));
  }
  for (const IpfixDestination& d : cfg.ipfix) {
    SKYPROBE_ASSIGN_OR_RETURN(auto h,
                              ipfix::IpfixHandler::Create(IpfixOptionsOf(cfg, d, r->points)));
    r->ipfix.push_back(h.get());
    loop->AddHandler(std::move(h));
  }
  return absl::OkStatus();
}

}  // namespace skyprobe
