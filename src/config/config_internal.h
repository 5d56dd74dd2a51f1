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

// Every setting that can come from a flag or a YAML key. Errors are reported against the
// place a field's value came from, so each field carries a label ("--expire" or
// "config.yaml: flow.expire") that follows the last writer.
enum class Field : uint8_t {
  kPcap,
  kEal,
  kLinkType,
  kBpf,
  kIface,
  kIfaceTime,
  kPcapRate,
  kPcapRealtime,
  kPcapSpeed,
  kJson,
  kUpdate,
  kExpire,
  kTcpCloseHoldMs,
  kTimerTickMs,
  kKeyMode,
  kNodeTid,
  kMaxFlows,
  kKeepExpired,
  kKeepExpiredMax,
  kOverload,
  kCaptureLength,
  kCommunityId,
  kCommunityIdSeed,
  kRingSize,
  kStatsInterval,
  kQuiet,
  kWorkers,
  kDistribution,
  kPoll,
  kPcapQueues,
  kGrpcListen,
  kGrpcTlsCert,
  kGrpcTlsKey,
  kGrpcTlsClientCa,
  kGrpcTokenFile,
  kGrpcInsecure,
  kGrpcMaxQueries,
  kGrpcMaxStreams,
  kGrpcMaxSubscribers,
  kGrpcMaxExports,
  kGrpcAnswerMemory,
  kGrpcIdleTimeout,
  kGrpcLog,
  kHold,
  kRawPackets,
  kRawPacketsLast,
  kRawPacketsMemory,
  kSflowListen,
  kSflowMaxAgents,
  kSflowMaxFlows,
  kSflowAgents,
  kSflowAgentIdle,
  kHashSeed,
  kIpDefrag,
  kIpDefragMax,
  kIpDefragTimeoutMs,
  kKafka,
  kKafkaTopic,
  kKafkaFormat,
  kKafkaOption,
  kKafkaFlushTimeout,
  kMetricsListen,
  kIpfix,
  kIpfixDomain,
  kIpfixMtu,
  kIpfixTemplateRefresh,
  kIpfixPen,
  kIpfixRate,
  kIpfixSpoolBytes,
  kPort,
  kIpfixUniflow,
  kTcpStreamMetrics,
  kTcpHealth,
  kProgress,
  kPcapReader,
  kExtraLayers,
  kAppMetadata,
  kAppMetaFlows,
  kCount,
};

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
