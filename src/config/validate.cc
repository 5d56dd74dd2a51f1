// validate.cc: range and combination checks (the one place they live), and the probing
// of pcap inputs with libpcap, so a bad file is reported before EAL starts instead of as
// a net_pcap probe failure deep in rte_eal_init.

#include <net/if.h>
#include <pcap/pcap.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "config/config.h"
#include "config/config_internal.h"
#include "skyprobe/status.h"

namespace skyprobe {
namespace config_internal {
namespace {

constexpr uint32_t kMaxFlowsLimit = 1u << 28;
constexpr uint32_t kKeepExpiredMaxSec = 86400;
constexpr uint32_t kKeepExpiredMaxFlows = 1u << 24;
constexpr uint32_t kTimerTickMaxMs = 10000;
constexpr uint32_t kCaptureLengthMin = 14;  // an Ethernet header, as Skydive
constexpr uint32_t kCaptureLengthMax = 4096;
constexpr uint32_t kCaptureLengthDefault = 256;
constexpr uint32_t kRingSizeMin = 64;
constexpr uint32_t kRingSizeMax = 1u << 20;
constexpr uint32_t kWorkersMax = 64;
// Packets kept per flow, each way: a query copies one flow's packets in one go.
constexpr uint32_t kRawPacketsMax = 1u << 16;
constexpr uint32_t kSflowMaxAgentsMax = 4096;
constexpr uint32_t kSflowListenMax = 16;  // sflow::SflowSockets::kMaxSockets
constexpr uint32_t kIpDefragMaxLimit = 1u << 24;
constexpr uint32_t kIpDefragTimeoutMaxMs = 3'600'000;
// Requests of one kind in progress at once: each may hold a gRPC thread.
constexpr uint32_t kGrpcCapMax = 4096;
constexpr uint64_t kGrpcAnswerMemoryMin = 1ull << 20;
constexpr uint32_t kKafkaFlushTimeoutMaxSec = 3600;
// A slot: its header and capture_length bytes, 8-byte aligned (src/table/raw_packet_arena.h).
constexpr uint64_t kRawSlotHeader = 24;

// "--pcap a.pcap" for a flag, "cfg.yaml: input.pcap: a.pcap" for a YAML key.
std::string PcapLabel(const FieldLabels& labels, absl::string_view path) {
  const std::string& label = LabelOf(labels, Field::kPcap);
  if (absl::StartsWith(label, "--")) return absl::StrCat(label, " ", path);
  return absl::StrCat(label, ": ", path);
}

// --bpf compiled by libpcap for the link type of every input (Ethernet for --eal ports),
// so a bad expression is reported before EAL starts:
// --bpf "porrt 53": can't parse filter expression: syntax error
// TLS files go in pairs, and the files must be readable now rather than when the first
// client connects. The service itself reads them (src/service/grpc_server.cc).
absl::Status Range(const FieldLabels& labels, Field field, absl::string_view rule, uint64_t got);

absl::Status CheckService(const Config& cfg, const FieldLabels& labels) {
  if (cfg.grpc_tls_cert.empty() != cfg.grpc_tls_key.empty()) {
    const Field given = cfg.grpc_tls_cert.empty() ? Field::kGrpcTlsKey : Field::kGrpcTlsCert;
    return absl::InvalidArgumentError(
        absl::StrCat(LabelOf(labels, given),
                     ": needs both a certificate and a key (--grpc-tls-cert, "
                     "--grpc-tls-key)"));
  }
  if (!cfg.grpc_tls_client_ca.empty() && cfg.grpc_tls_cert.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(LabelOf(labels, Field::kGrpcTlsClientCa),
                     ": mutual TLS needs the server's own --grpc-tls-cert and --grpc-tls-key"));
  }
  const std::pair<Field, const std::string*> files[] = {
      {Field::kGrpcTlsCert, &cfg.grpc_tls_cert},
      {Field::kGrpcTlsKey, &cfg.grpc_tls_key},
      {Field::kGrpcTlsClientCa, &cfg.grpc_tls_client_ca},
      {Field::kGrpcTokenFile, &cfg.grpc_token_file}};
  for (const auto& [field, path] : files) {
    if (path->empty()) continue;
    std::FILE* f = std::fopen(path->c_str(), "rb");
    if (f == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(LabelOf(labels, field), ": ", *path, ": ", std::strerror(errno)));
    }
    std::fclose(f);
  }
  if (!cfg.grpc_token_file.empty()) {
    // As the service reads it: surrounding whitespace is not part of the token.
    std::ifstream in(cfg.grpc_token_file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    const size_t bytes = absl::StripAsciiWhitespace(text.str()).size();
    if (bytes < kMinGrpcTokenBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(LabelOf(labels, Field::kGrpcTokenFile), ": ", cfg.grpc_token_file,
                       ": the token is ", bytes, " bytes; it must be at least ", kMinGrpcTokenBytes,
                       " (e.g. head -c 24 /dev/urandom | base64 > ", cfg.grpc_token_file, ")"));
    }
  }
  // Open to the network only with a protection, or when told so in as many words.
  if (cfg.grpc_listen != "none" && !IsLoopbackListen(cfg.grpc_listen) &&
      cfg.grpc_tls_cert.empty() && cfg.grpc_token_file.empty() && !cfg.grpc_insecure) {
    return absl::InvalidArgumentError(absl::StrCat(
        LabelOf(labels, Field::kGrpcListen), " ", cfg.grpc_listen,
        ": not a loopback address, and without TLS or a token anyone who reaches it can "
        "read every flow: give --grpc-tls-cert and --grpc-tls-key, or --grpc-token-file, or "
        "--grpc-insecure to serve it unprotected on purpose"));
  }
  const std::pair<Field, uint32_t> caps[] = {{Field::kGrpcMaxQueries, cfg.grpc_max_queries},
                                             {Field::kGrpcMaxStreams, cfg.grpc_max_streams},
                                             {Field::kGrpcMaxSubscribers, cfg.grpc_max_subscribers},
                                             {Field::kGrpcMaxExports, cfg.grpc_max_exports}};
  for (const auto& [field, cap] : caps) {
    if (cap < 1 || cap > kGrpcCapMax) {
      return Range(labels, field, absl::StrCat("1..", kGrpcCapMax), cap);
    }
  }
  if (cfg.grpc_answer_memory < kGrpcAnswerMemoryMin) {
    return Range(labels, Field::kGrpcAnswerMemory, ">= 1M (1048576 bytes)", cfg.grpc_answer_memory);
  }
  return absl::OkStatus();
}

// One filter expression compiled by libpcap for `dlt`; the error says where it came from.
absl::Status CompileBpf(const std::string& where, const std::string& expr, uint32_t dlt,
                        const std::string& path) {
  pcap_t* p = pcap_open_dead(static_cast<int>(dlt), 262144);
  if (p == nullptr) return absl::InternalError(absl::StrCat(where, ": pcap_open_dead failed"));
  bpf_program prog = {};
  const bool ok = pcap_compile(p, &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0;
  const std::string err = ok ? "" : pcap_geterr(p);
  if (ok) pcap_freecode(&prog);
  pcap_close(p);
  if (ok) return absl::OkStatus();
  // Syntax errors do not depend on the input; name it only when the link type matters.
  if (dlt == DLT_EN10MB || path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", err));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": for ", path, " (", LinkTypeName(dlt), "): ", err));
}

// "--pcap a.pcap" for a flag, "cfg.yaml: input.pcap: a.pcap" for a YAML key.
std::string InputLabel(const FieldLabels& labels, Field field, absl::string_view name) {
  const std::string& label = LabelOf(labels, field);
  return absl::StrCat(label, absl::StartsWith(label, "--") ? " " : ": ", name);
}

// --bpf compiled by libpcap for the link type of every input that takes it (Ethernet for
// --eal ports), and each input's own bpf= for its link type, so a bad expression is
// reported before EAL starts:
// --bpf "porrt 53": can't parse filter expression: syntax error
// --pcap a.pcap: bpf "porrt 53": can't parse filter expression: syntax error
absl::Status CheckBpf(const Config& cfg, const FieldLabels& labels) {
  std::vector<std::pair<uint32_t, std::string>> global;  // link type, input it came from
  const auto own = [&](Field field, const std::string& name, const InputAttributes& a, uint32_t dlt,
                       const std::string& path) {
    if (!a.bpf) {
      global.emplace_back(dlt, path);
      return absl::OkStatus();
    }
    return CompileBpf(absl::StrCat(InputLabel(labels, field, name), ": bpf \"", *a.bpf, "\""),
                      *a.bpf, dlt, path);
  };
  for (size_t i = 0; i < cfg.pcap_inputs.size(); ++i) {
    const PcapInput& in = cfg.pcap_inputs[i];
    SKYPROBE_RETURN_IF_ERROR(
        own(Field::kPcap, in.path, InputAttributesAt(cfg.pcap_attrs, i), in.link_type, in.path));
  }
  for (size_t i = 0; i < cfg.ifaces.size(); ++i) {
    SKYPROBE_RETURN_IF_ERROR(
        own(Field::kIface, cfg.ifaces[i], InputAttributesAt(cfg.iface_attrs, i), DLT_EN10MB, ""));
  }
  for (const PortAttributes& p : cfg.port_attrs) {
    SKYPROBE_RETURN_IF_ERROR(own(Field::kPort, p.device, p.attrs, DLT_EN10MB, ""));
  }
  if (cfg.bpf_filter.empty()) return absl::OkStatus();
  if (!cfg.eal_args.empty() || global.empty()) global.emplace_back(DLT_EN10MB, "");
  const std::string& label = LabelOf(labels, Field::kBpf);
  const std::string where =
      absl::StrCat(label, absl::StartsWith(label, "--") ? " " : ": ", "\"", cfg.bpf_filter, "\"");
  for (const auto& [dlt, path] : global) {
    SKYPROBE_RETURN_IF_ERROR(CompileBpf(where, cfg.bpf_filter, dlt, path));
  }
  return absl::OkStatus();
}

// Capture points: given capture IDs are unique among every input (they name the points
// in records, queries and Stats); --port names a device of --eal once; --pcap-queues makes
// every file one port, which has one set of attributes.
absl::Status CheckCapturePoints(const Config& cfg, const FieldLabels& labels) {
  std::map<std::string, std::string> ids;  // capture ID -> the input that gave it
  const auto check = [&](Field field, const std::string& name, const InputAttributes& a) {
    if (!a.capture_id) return absl::OkStatus();
    const std::string where = InputLabel(labels, field, name);
    auto [it, added] = ids.emplace(*a.capture_id, where);
    if (added) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(where, ": capture-id ", *a.capture_id,
                                                   " is already the capture ID of ", it->second,
                                                   " (each capture point needs its own)"));
  };
  // With --pcap-queues the files of one capture point share its capture-id= (one port).
  for (const std::vector<size_t>& port : PcapPortFiles(cfg)) {
    const size_t first = port[0];
    const InputAttributes& a = InputAttributesAt(cfg.pcap_attrs, first);
    SKYPROBE_RETURN_IF_ERROR(check(Field::kPcap, cfg.pcap_files[first], a));
    for (const size_t i : port) {
      const InputAttributes& b = InputAttributesAt(cfg.pcap_attrs, i);
      if (b.node_tid == a.node_tid && b.bpf == a.bpf) continue;
      return absl::InvalidArgumentError(
          absl::StrCat(InputLabel(labels, Field::kPcap, cfg.pcap_files[i]),
                       ": --pcap-queues makes it a queue of the port of ", cfg.pcap_files[first],
                       " (same capture point): give both the same node-tid= and bpf="));
    }
  }
  for (size_t i = 0; i < cfg.ifaces.size(); ++i) {
    SKYPROBE_RETURN_IF_ERROR(
        check(Field::kIface, cfg.ifaces[i], InputAttributesAt(cfg.iface_attrs, i)));
  }
  for (size_t i = 0; i < cfg.sflow_listen.size(); ++i) {
    SKYPROBE_RETURN_IF_ERROR(
        check(Field::kSflowListen, cfg.sflow_listen[i], InputAttributesAt(cfg.sflow_attrs, i)));
  }
  std::set<std::string> devices;
  for (const PortAttributes& p : cfg.port_attrs) {
    SKYPROBE_RETURN_IF_ERROR(check(Field::kPort, p.device, p.attrs));
    if (!devices.insert(p.device).second) {
      return absl::InvalidArgumentError(absl::StrCat(InputLabel(labels, Field::kPort, p.device),
                                                     ": given twice (one --port per device)"));
    }
  }
  if (!cfg.port_attrs.empty() && cfg.eal_args.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        LabelOf(labels, Field::kPort),
        ": names a port probed through --eal; give a --pcap or --iface input's attributes "
        "after its name (--pcap FILE,capture-id=ID)"));
  }
  return absl::OkStatus();
}

absl::Status Range(const FieldLabels& labels, Field field, absl::string_view rule, uint64_t got) {
  return absl::InvalidArgumentError(
      absl::StrCat(LabelOf(labels, field), ": must be ", rule, ", got ", got));
}

// "--iface eth0" for a flag, "cfg.yaml: input.iface: eth0" for a YAML key.
std::string IfaceLabel(const FieldLabels& labels, absl::string_view name) {
  const std::string& label = LabelOf(labels, Field::kIface);
  return absl::StrCat(label, absl::StartsWith(label, "--") ? " " : ": ", name);
}

// Live interfaces are looked up now: net_af_packet would only fail inside rte_eal_init,
// with an ioctl message among EAL's.
absl::Status CheckIfaces(const Config& cfg, const FieldLabels& labels) {
  for (const std::string& name : cfg.ifaces) {
    if (name.find_first_of(",= \t") != std::string::npos || name.size() >= IF_NAMESIZE) {
      return absl::InvalidArgumentError(
          absl::StrCat(IfaceLabel(labels, name), ": not an interface name"));
    }
    if (if_nametoindex(name.c_str()) == 0) {
      return absl::NotFoundError(absl::StrCat(IfaceLabel(labels, name), ": no such interface"));
    }
  }
  if (!cfg.ifaces.empty() && !cfg.pcap_files.empty()) {
    // One clock per worker: capture files carry their own time, live ports take the TSC.
    return absl::InvalidArgumentError(absl::StrCat(LabelOf(labels, Field::kIface),
                                                   ": cannot be combined with --pcap (live "
                                                   "and file inputs run as separate probes)"));
  }
  return absl::OkStatus();
}

// Kafka's rules for a topic name (the broker would refuse it only when the
// first record goes out).
bool IsKafkaTopic(const std::string& t) {
  if (t.empty() || t.size() > 249 || t == "." || t == "..") return false;
  for (const char c : t) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

absl::Status CheckKafka(const Config& cfg, const FieldLabels& labels) {
  if (cfg.kafka_brokers.empty()) {
    if (!cfg.kafka_topic.empty() || !cfg.kafka_options.empty()) {
      const Field f = cfg.kafka_topic.empty() ? Field::kKafkaOption : Field::kKafkaTopic;
      return absl::InvalidArgumentError(
          absl::StrCat(LabelOf(labels, f), ": needs --kafka BROKERS"));
    }
    return absl::OkStatus();
  }
  if (cfg.kafka_topic.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(LabelOf(labels, Field::kKafka), ": needs --kafka-topic TOPIC"));
  }
  if (!IsKafkaTopic(cfg.kafka_topic)) {
    return absl::InvalidArgumentError(
        absl::StrCat(LabelOf(labels, Field::kKafkaTopic), ": '", cfg.kafka_topic,
                     "' is not a Kafka topic name (1..249 of a-z A-Z 0-9 . _ -)"));
  }
  if (cfg.kafka_flush_timeout_sec > kKafkaFlushTimeoutMaxSec) {
    return Range(labels, Field::kKafkaFlushTimeout, absl::StrCat("0..", kKafkaFlushTimeoutMaxSec),
                 cfg.kafka_flush_timeout_sec);
  }
  return absl::OkStatus();
}

absl::Status CheckPacing(const Config& cfg, const FieldLabels& labels) {
  if (!(cfg.pcap_speed > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(LabelOf(labels, Field::kPcapSpeed), ": must be > 0, got ", cfg.pcap_speed));
  }
  if (cfg.pcap_rate != 0 && cfg.pcap_realtime) {
    return absl::InvalidArgumentError(absl::StrCat(LabelOf(labels, Field::kPcapRate), " and ",
                                                   LabelOf(labels, Field::kPcapRealtime),
                                                   ": choose one pace"));
  }
  if (cfg.pcap_speed != 1.0 && !cfg.pcap_realtime) {
    return absl::InvalidArgumentError(
        absl::StrCat(LabelOf(labels, Field::kPcapSpeed), ": needs --pcap-realtime"));
  }
  if ((cfg.pcap_rate != 0 || cfg.pcap_realtime) && cfg.pcap_files.empty()) {
    const Field f = cfg.pcap_rate != 0 ? Field::kPcapRate : Field::kPcapRealtime;
    return absl::InvalidArgumentError(
        absl::StrCat(LabelOf(labels, f), ": paces a replay, needs --pcap files"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ProbePcapInputs(const FieldLabels& labels, Config* cfg) {
  cfg->pcap_inputs.clear();
  for (const std::string& path : cfg->pcap_files) {
    const std::string label = PcapLabel(labels, path);
    // libpcap reads stdin for "-", which a net_pcap vdev cannot do.
    if (path == "-") {
      return absl::InvalidArgumentError(absl::StrCat(label, ": reading stdin is not supported"));
    }
    struct stat st;
    const bool missing = stat(path.c_str(), &st) != 0 && errno == ENOENT;
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
    if (p == nullptr) {
      const std::string msg = absl::StrCat(label, ": ", errbuf);
      return missing ? absl::NotFoundError(msg) : absl::InvalidArgumentError(msg);
    }
    PcapInput input;
    input.path = path;
    input.file_link_type = static_cast<uint32_t>(pcap_datalink(p));
    input.snaplen = static_cast<uint32_t>(pcap_snapshot(p));
    input.link_type = cfg->link_type_override_set ? cfg->link_type_override : input.file_link_type;
    pcap_close(p);
    cfg->pcap_inputs.push_back(std::move(input));
  }
  return absl::OkStatus();
}

absl::Status ValidateWithLabels(const Config& cfg, const FieldLabels& labels) {
  if (!HasPortInputs(cfg) && cfg.sflow_listen.empty()) {
    return absl::InvalidArgumentError(
        "no input: give --pcap FILE, --iface NAME, --sflow-listen ADDR:PORT, or --eal \"...\" "
        "for a real port");
  }
  SKYPROBE_RETURN_IF_ERROR(CheckIfaces(cfg, labels));
  SKYPROBE_RETURN_IF_ERROR(CheckPacing(cfg, labels));
  for (const std::string& path : cfg.pcap_files) {
    // The path becomes "--vdev=net_pcapN,rx_pcap=<path>"; rte_kvargs splits on ',' and '='.
    if (path.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(LabelOf(labels, Field::kPcap), ": empty file name"));
    }
    if (path.find_first_of(",=") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          PcapLabel(labels, path),
          ": ',' and '=' cannot appear in a pcap path (DPDK vdev arguments); rename or "
          "symlink the file"));
    }
  }
  if (cfg.link_type_override_set && !IsSupportedLinkType(cfg.link_type_override)) {
    return absl::InvalidArgumentError(
        absl::StrCat(LabelOf(labels, Field::kLinkType), ": unsupported link type ",
                     cfg.link_type_override, "; supported: ", SupportedLinkTypesText()));
  }
  for (const PcapInput& input : cfg.pcap_inputs) {
    if (!IsSupportedLinkType(input.link_type)) {
      return absl::InvalidArgumentError(
          absl::StrCat(PcapLabel(labels, input.path), ": link type ", input.link_type, " (",
                       LinkTypeName(input.link_type),
                       ") is not supported; supported: ", SupportedLinkTypesText()));
    }
  }
  SKYPROBE_RETURN_IF_ERROR(CheckBpf(cfg, labels));
  SKYPROBE_RETURN_IF_ERROR(CheckCapturePoints(cfg, labels));
  if (cfg.update_sec < 1) return Range(labels, Field::kUpdate, ">= 1", cfg.update_sec);
  if (cfg.expire_sec < 1) return Range(labels, Field::kExpire, ">= 1", cfg.expire_sec);
  if (cfg.timer_tick_ms < 1 || cfg.timer_tick_ms > kTimerTickMaxMs) {
    return Range(labels, Field::kTimerTickMs, absl::StrCat("1..", kTimerTickMaxMs),
                 cfg.timer_tick_ms);
  }
  if (cfg.max_flows < 1 || cfg.max_flows > kMaxFlowsLimit) {
    return Range(labels, Field::kMaxFlows, absl::StrCat("1..", kMaxFlowsLimit, " (256M)"),
                 cfg.max_flows);
  }
  if (cfg.keep_expired_sec > kKeepExpiredMaxSec) {
    return Range(labels, Field::kKeepExpired, absl::StrCat("0 (off) or 1..", kKeepExpiredMaxSec),
                 cfg.keep_expired_sec);
  }
  if (cfg.keep_expired_max < 1 || cfg.keep_expired_max > kKeepExpiredMaxFlows) {
    return Range(labels, Field::kKeepExpiredMax,
                 absl::StrCat("1..", kKeepExpiredMaxFlows, " (16M)"), cfg.keep_expired_max);
  }
  if (cfg.capture_length != 0 &&
      (cfg.capture_length < kCaptureLengthMin || cfg.capture_length > kCaptureLengthMax)) {
    return Range(labels, Field::kCaptureLength,
                 absl::StrCat("0 (default) or ", kCaptureLengthMin, "..", kCaptureLengthMax),
                 cfg.capture_length);
  }
  if (cfg.raw_packets > kRawPacketsMax) {
    return Range(labels, Field::kRawPackets, absl::StrCat("0 (off) or 1..", kRawPacketsMax),
                 cfg.raw_packets);
  }
  if (cfg.raw_packets_last > kRawPacketsMax) {
    return Range(labels, Field::kRawPacketsLast, absl::StrCat("0 (off) or 1..", kRawPacketsMax),
                 cfg.raw_packets_last);
  }
  if (cfg.raw_packets != 0 || cfg.raw_packets_last != 0) {
    // At least one packet per worker; the workers split the budget (checked again then).
    const uint64_t slot = (kRawSlotHeader + cfg.capture_length + 7) & ~uint64_t{7};
    const uint64_t min = slot * std::max<uint32_t>(cfg.workers, 1);
    if (cfg.raw_packets_memory < min) {
      return Range(labels, Field::kRawPacketsMemory,
                   absl::StrCat(">= ", min, " (one packet of --capture-length per worker)"),
                   cfg.raw_packets_memory);
    }
  }
  if (cfg.ip_defrag_max < 1 || cfg.ip_defrag_max > kIpDefragMaxLimit) {
    return Range(labels, Field::kIpDefragMax, absl::StrCat("1..", kIpDefragMaxLimit, " (16M)"),
                 cfg.ip_defrag_max);
  }
  if (cfg.ip_defrag_timeout_ms < 1 || cfg.ip_defrag_timeout_ms > kIpDefragTimeoutMaxMs) {
    return Range(labels, Field::kIpDefragTimeoutMs,
                 absl::StrCat("1..", kIpDefragTimeoutMaxMs, " (1 hour)"), cfg.ip_defrag_timeout_ms);
  }
  if (cfg.workers > 0 && cfg.ip_defrag_max < cfg.workers) {
    return Range(labels, Field::kIpDefragMax, absl::StrCat(">= --workers (", cfg.workers, ")"),
                 cfg.ip_defrag_max);
  }
  if (cfg.app_meta_flows > cfg.max_flows) {
    return Range(
        labels, Field::kAppMetaFlows,
        absl::StrCat("0 (a quarter of --max-flows) or 1..--max-flows (", cfg.max_flows, ")"),
        cfg.app_meta_flows);
  }
  const uint32_t ring = cfg.ring_size;
  if (ring < kRingSizeMin || ring > kRingSizeMax || (ring & (ring - 1)) != 0) {
    return Range(labels, Field::kRingSize,
                 absl::StrCat("a power of two in ", kRingSizeMin, "..", kRingSizeMax), ring);
  }
  if (cfg.workers > kWorkersMax) {
    return Range(labels, Field::kWorkers, absl::StrCat("0 (auto) or 1..", kWorkersMax),
                 cfg.workers);
  }
  if (cfg.workers > 0 && cfg.max_flows < cfg.workers) {
    return Range(labels, Field::kMaxFlows, absl::StrCat(">= --workers (", cfg.workers, ")"),
                 cfg.max_flows);
  }
  if (cfg.pcap_queues && cfg.pcap_files.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(LabelOf(labels, Field::kPcapQueues), ": needs --pcap files"));
  }
  if (cfg.sflow_listen.size() > kSflowListenMax) {
    return Range(labels, Field::kSflowListen,
                 absl::StrCat("given at most ", kSflowListenMax, " times"),
                 cfg.sflow_listen.size());
  }
  if (cfg.sflow_max_agents < 1 || cfg.sflow_max_agents > kSflowMaxAgentsMax) {
    return Range(labels, Field::kSflowMaxAgents, absl::StrCat("1..", kSflowMaxAgentsMax),
                 cfg.sflow_max_agents);
  }
  if (cfg.sflow_max_flows < 1) {
    return Range(labels, Field::kSflowMaxFlows, ">= 1", cfg.sflow_max_flows);
  }
  // Any record fits the smallest message (record_encoder.h kMaxRecordBytes),
  // and the largest is what one UDP datagram over IPv4 carries.
  if (cfg.ipfix_mtu < 1200 || cfg.ipfix_mtu > 65507) {
    return Range(labels, Field::kIpfixMtu, "1200..65507", cfg.ipfix_mtu);
  }
  if (cfg.ipfix_template_refresh_sec < 1 || cfg.ipfix_template_refresh_sec > 86400) {
    return Range(labels, Field::kIpfixTemplateRefresh, "1..86400", cfg.ipfix_template_refresh_sec);
  }
  if (cfg.ipfix_spool_bytes < (1u << 20)) {
    return Range(labels, Field::kIpfixSpoolBytes, ">= 1M", cfg.ipfix_spool_bytes);
  }
  SKYPROBE_RETURN_IF_ERROR(CheckService(cfg, labels));
  SKYPROBE_RETURN_IF_ERROR(CheckKafka(cfg, labels));
  return absl::OkStatus();
}

absl::Status FinishConfig(const FieldLabels& labels, Config* cfg) {
  // Skydive's convention: a capture length of 0 means "the default".
  if (cfg->capture_length == 0) cfg->capture_length = kCaptureLengthDefault;
  SKYPROBE_RETURN_IF_ERROR(ProbePcapInputs(labels, cfg));
  SKYPROBE_RETURN_IF_ERROR(ValidateWithLabels(*cfg, labels));
  // --workers auto on a large file: a worker per CPU reading it in shares,
  // where the configuration holds with that many (else one, as before).
  if (const uint32_t n = AutoShareWorkers(*cfg, AffinityCpus().size()); n != 0) {
    Config shared = *cfg;
    shared.workers = n;
    if (ValidateWithLabels(shared, labels).ok()) cfg->workers = n;
  }
  return absl::OkStatus();
}

}  // namespace config_internal

absl::Status ValidateConfig(const Config& cfg) {
  return config_internal::ValidateWithLabels(cfg, config_internal::DefaultLabels());
}

}  // namespace skyprobe
