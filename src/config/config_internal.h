// config_internal.h: pieces shared by the flag, YAML, validation and EAL code of
// src/config; not part of the module's interface (tests may use it).
//
// Owner: main thread only, before EAL starts (like Config itself).
//
//   FieldLabels labels = DefaultLabels();             // "--expire", ...
//   SKYPROBE_RETURN_IF_ERROR(Annotate(SetField(Field::kExpire, "600", &cfg), "--expire"));
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "config/config.h"

namespace skyprobe::config_internal {

// Lcores a pcap run needs: control, the RX workers, and a dispatcher if one is needed.
uint32_t PcapLcoreCount(const Config& cfg);

// The CPUs of the process's affinity mask (every online CPU if it cannot be read).
std::vector<int> AffinityCpus();

// --workers auto on one large file read in shares: how many workers (0: leave auto):
// one per CPU besides the control lcore's, at most kAutoShareMaxWorkers, and only when
// that makes two or more (three CPUs and up).
// `cpus` is how many CPUs the process may run on.
uint32_t AutoShareWorkers(const Config& cfg, size_t cpus);
inline constexpr uint64_t kAutoShareMinBytes = uint64_t{256} << 20;
inline constexpr uint32_t kAutoShareMaxWorkers = 8;

// Every setting that can come from a flag or a YAML key, in one table: the
// enumerator, its flag (without "--") and its dotted YAML key. The enum and
// FieldFlag/FieldYamlKey are made from it, so a field cannot be added to one
// and not the other. Errors are reported against the place a field's value
// came from, so each field carries a label ("--expire" or "config.yaml:
// flow.expire") that follows the last writer.
#define SKYPROBE_CONFIG_FIELDS(X)                                                     \
  X(kPcap, "pcap", "input.pcap")                                                      \
  X(kEal, "eal", "input.eal")                                                         \
  X(kLinkType, "link-type", "input.link_type")                                        \
  X(kBpf, "bpf", "input.bpf")                                                         \
  X(kIface, "iface", "input.iface")                                                   \
  X(kIfaceTime, "iface-time", "input.iface_time")                                     \
  X(kPcapRate, "pcap-rate", "input.pcap_rate")                                        \
  X(kPcapRealtime, "pcap-realtime", "input.pcap_realtime")                            \
  X(kPcapSpeed, "pcap-speed", "input.pcap_speed")                                     \
  X(kJson, "json", "output.json")                                                     \
  X(kUpdate, "update", "flow.update")                                                 \
  X(kExpire, "expire", "flow.expire")                                                 \
  X(kTcpCloseHoldMs, "tcp-close-hold-ms", "flow.tcp_close_hold_ms")                   \
  X(kTimerTickMs, "timer-tick-ms", "flow.timer_tick_ms")                              \
  X(kKeyMode, "key-mode", "flow.key_mode")                                            \
  X(kNodeTid, "node-tid", "flow.node_tid")                                            \
  X(kMaxFlows, "max-flows", "flow.max_flows")                                         \
  X(kKeepExpired, "keep-expired", "flow.keep_expired")                                \
  X(kKeepExpiredMax, "keep-expired-max", "flow.keep_expired_max")                     \
  X(kOverload, "overload", "flow.overload")                                           \
  X(kCaptureLength, "capture-length", "flow.capture_length")                          \
  X(kCommunityId, "community-id", "enhancers.community_id.enabled")                   \
  X(kCommunityIdSeed, "community-id-seed", "enhancers.community_id.seed")             \
  X(kRingSize, "ring-size", "runtime.ring_size")                                      \
  X(kStatsInterval, "stats-interval", "runtime.stats_interval")                       \
  X(kQuiet, "quiet", "runtime.quiet")                                                 \
  X(kWorkers, "workers", "runtime.workers")                                           \
  X(kDistribution, "distribution", "runtime.distribution")                            \
  X(kPoll, "poll", "runtime.poll")                                                    \
  X(kPcapQueues, "pcap-queues", "input.pcap_queues")                                  \
  X(kGrpcListen, "grpc-listen", "service.listen")                                     \
  X(kGrpcTlsCert, "grpc-tls-cert", "service.tls_cert")                                \
  X(kGrpcTlsKey, "grpc-tls-key", "service.tls_key")                                   \
  X(kGrpcTlsClientCa, "grpc-tls-client-ca", "service.tls_client_ca")                  \
  X(kGrpcTokenFile, "grpc-token-file", "service.token_file")                          \
  X(kGrpcInsecure, "grpc-insecure", "service.insecure")                               \
  X(kGrpcMaxQueries, "grpc-max-queries", "service.max_queries")                       \
  X(kGrpcMaxStreams, "grpc-max-streams", "service.max_streams")                       \
  X(kGrpcMaxSubscribers, "grpc-max-subscribers", "service.max_subscribers")           \
  X(kGrpcMaxExports, "grpc-max-exports", "service.max_exports")                       \
  X(kGrpcAnswerMemory, "grpc-answer-memory", "service.answer_memory")                 \
  X(kGrpcIdleTimeout, "grpc-idle-timeout", "service.idle_timeout")                    \
  X(kGrpcLog, "grpc-log", "service.grpc_log")                                         \
  X(kHold, "hold", "runtime.hold")                                                    \
  X(kRawPackets, "raw-packets", "flow.raw_packets")                                   \
  X(kRawPacketsLast, "raw-packets-last", "flow.raw_packets_last")                     \
  X(kRawPacketsMemory, "raw-packets-memory", "flow.raw_packets_memory")               \
  X(kSflowListen, "sflow-listen", "sflow.listen")                                     \
  X(kSflowMaxAgents, "sflow-max-agents", "sflow.max_agents")                          \
  X(kSflowMaxFlows, "sflow-max-flows", "sflow.max_flows")                             \
  X(kSflowAgents, "sflow-agents", "sflow.agents")                                     \
  X(kSflowAgentIdle, "sflow-agent-idle", "sflow.agent_idle")                          \
  X(kHashSeed, "hash-seed", "flow.hash_seed")                                         \
  X(kIpDefrag, "ip-defrag", "flow.ip_defrag")                                         \
  X(kIpDefragMax, "ip-defrag-max", "flow.ip_defrag_max")                              \
  X(kIpDefragTimeoutMs, "ip-defrag-timeout-ms", "flow.ip_defrag_timeout_ms")          \
  X(kKafka, "kafka", "output.kafka.brokers")                                          \
  X(kKafkaTopic, "kafka-topic", "output.kafka.topic")                                 \
  X(kKafkaFormat, "kafka-format", "output.kafka.format")                              \
  X(kKafkaOption, "kafka-option", "output.kafka.options")                             \
  X(kKafkaFlushTimeout, "kafka-flush-timeout", "output.kafka.flush_timeout")          \
  X(kMetricsListen, "metrics-listen", "metrics.listen")                               \
  X(kIpfix, "ipfix", "output.ipfix")                                                  \
  X(kIpfixDomain, "ipfix-domain", "output.ipfix_domain")                              \
  X(kIpfixMtu, "ipfix-mtu", "output.ipfix_mtu")                                       \
  X(kIpfixTemplateRefresh, "ipfix-template-refresh", "output.ipfix_template_refresh") \
  X(kIpfixPen, "ipfix-pen", "output.ipfix_pen")                                       \
  X(kIpfixRate, "ipfix-rate", "output.ipfix_rate")                                    \
  X(kIpfixSpoolBytes, "ipfix-spool-bytes", "output.ipfix_spool_bytes")                \
  X(kPort, "port", "input.ports")                                                     \
  X(kIpfixUniflow, "ipfix-uniflow", "output.ipfix_uniflow")                           \
  X(kTcpStreamMetrics, "tcp-stream-metrics", "flow.tcp_stream_metrics")               \
  X(kTcpHealth, "tcp-health", "flow.tcp_health")                                      \
  X(kProgress, "progress", "runtime.progress")                                        \
  X(kPcapReader, "pcap-reader", "input.pcap_reader")                                  \
  X(kExtraLayers, "extra-layers", "flow.extra_layers")                                \
  X(kAppMetadata, "app-metadata", "flow.app_metadata")                                \
  X(kAppMetaFlows, "app-meta-flows", "flow.app_meta_flows")

#define SKYPROBE_CONFIG_FIELD_ENUM_(name, flag, yaml_key) name,
enum class Field : uint8_t {
  SKYPROBE_CONFIG_FIELDS(SKYPROBE_CONFIG_FIELD_ENUM_) kCount,
};
#undef SKYPROBE_CONFIG_FIELD_ENUM_

constexpr size_t kFieldCount = static_cast<size_t>(Field::kCount);

using FieldLabels = std::array<std::string, kFieldCount>;

// Labels naming each field's main flag ("--expire").
FieldLabels DefaultLabels();

// The flag (without "--") and the dotted YAML key of a field.
absl::string_view FieldFlag(Field field);
absl::string_view FieldYamlKey(Field field);

inline const std::string& LabelOf(const FieldLabels& labels, Field field) {
  return labels[static_cast<size_t>(field)];
}

// Parses `value` into the field. Errors carry no label ("'abc' is not a whole number of
// seconds"); the caller prefixes the flag or YAML key. kPcap appends one file; kEal
// replaces the EAL arguments; kCommunityId and kQuiet take a boolean word.
absl::Status SetField(Field field, absl::string_view value, Config* cfg);

// "NAME[,key=value...]" of --pcap, --iface, --port, --sflow-listen (`field`): the name,
// and the attributes after it (InputAttributes; bpf= takes the rest of the value).
absl::Status ParseInputSpec(Field field, absl::string_view value, std::string* name,
                            InputAttributes* attrs);
// One attribute of an input of `field` ("node-tid" or "node_tid", ...); unknown keys,
// keys given twice and empty values are errors naming the keys the input takes.
absl::Status SetInputAttribute(Field field, absl::string_view key, absl::string_view value,
                               InputAttributes* attrs);
// Appends one input (name and attributes) to the list of `field`, checking the name as
// SetField does.
absl::Status AddInput(Field field, const std::string& name, InputAttributes attrs, Config* cfg);
// Empties the list of `field` (an input list, or --kafka-option's) and its attributes.
void ClearList(Field field, Config* cfg);

// Boolean words accepted by flags and YAML: true/false, yes/no, on/off, 1/0.
absl::Status ParseBool(absl::string_view value, bool* out);

// Link type as a number or a name (EN10MB, ethernet, RAW, LINUX_SLL, IPV4, IPV6, NULL,
// with or without a DLT_ / LINKTYPE_ prefix), restricted to the supported ones.
absl::Status ParseLinkType(absl::string_view value, uint32_t* out);

// Levenshtein distance, and the closest candidate when it is close enough to be a typo
// (empty otherwise). Used for "unknown flag --expirre (did you mean --expire?)".
size_t EditDistance(absl::string_view a, absl::string_view b);
std::string ClosestMatch(absl::string_view word, const std::vector<absl::string_view>& candidates);

// Parses a YAML document into `cfg` without validating; each key it sets relabels its field
// as "<source_name>: <key>".
absl::Status ApplyYaml(const std::string& yaml_text, const std::string& source_name, Config* cfg,
                       FieldLabels* labels);

// The common tail of LoadConfig and ParseYamlConfig: capture_length 0 -> 256, probe every
// pcap file (pcap_inputs), then validate, naming fields by `labels`.
absl::Status FinishConfig(const FieldLabels& labels, Config* cfg);

// Opens every pcap file with libpcap to check it and record its link type and snaplen.
absl::Status ProbePcapInputs(const FieldLabels& labels, Config* cfg);

// ValidateConfig with errors naming where each value came from.
absl::Status ValidateWithLabels(const Config& cfg, const FieldLabels& labels);

// EalArguments with the usable CPUs given (tests); EalArguments passes the process's
// affinity set.
std::vector<std::string> EalArgumentsForCpus(const Config& cfg, const std::string& prefix,
                                             const std::vector<int>& cpus);

}  // namespace skyprobe::config_internal
