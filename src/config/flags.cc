// flags.cc: LoadConfig, the hand-written command-line parser. No getopt (global state,
// no "did you mean") and no absl flags (process-wide registry): argv in, Config out.

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "config/config.h"
#include "config/config_internal.h"
#include "skyprobe/status.h"

namespace skyprobe {
namespace {

using config_internal::Field;

enum class FlagKind : uint8_t {
  kValue,      // --flag VALUE or --flag=VALUE
  kSwitchOn,   // --flag, or --flag=true|false
  kSwitchOff,  // --no-flag
  kConfig,     // --config FILE
  kHelp,
  kVersion,
  kCheck,  // --check: inspect the machine for this config instead of running
};

struct FlagSpec {
  absl::string_view name;  // without "--"
  FlagKind kind;
  Field field;  // unused for kConfig / kHelp / kVersion
};

constexpr FlagSpec kFlags[] = {
    {"config", FlagKind::kConfig, Field::kCount},
    {"pcap", FlagKind::kValue, Field::kPcap},
    {"eal", FlagKind::kValue, Field::kEal},
    {"link-type", FlagKind::kValue, Field::kLinkType},
    {"bpf", FlagKind::kValue, Field::kBpf},
    {"iface", FlagKind::kValue, Field::kIface},
    {"iface-time", FlagKind::kValue, Field::kIfaceTime},
    {"pcap-rate", FlagKind::kValue, Field::kPcapRate},
    {"pcap-realtime", FlagKind::kSwitchOn, Field::kPcapRealtime},
    {"pcap-speed", FlagKind::kValue, Field::kPcapSpeed},
    {"json", FlagKind::kValue, Field::kJson},
    {"update", FlagKind::kValue, Field::kUpdate},
    {"expire", FlagKind::kValue, Field::kExpire},
    {"tcp-close-hold-ms", FlagKind::kValue, Field::kTcpCloseHoldMs},
    {"timer-tick-ms", FlagKind::kValue, Field::kTimerTickMs},
    {"key-mode", FlagKind::kValue, Field::kKeyMode},
    {"node-tid", FlagKind::kValue, Field::kNodeTid},
    {"max-flows", FlagKind::kValue, Field::kMaxFlows},
    {"keep-expired", FlagKind::kValue, Field::kKeepExpired},
    {"keep-expired-max", FlagKind::kValue, Field::kKeepExpiredMax},
    {"overload", FlagKind::kValue, Field::kOverload},
    {"capture-length", FlagKind::kValue, Field::kCaptureLength},
    {"community-id", FlagKind::kSwitchOn, Field::kCommunityId},
    {"no-community-id", FlagKind::kSwitchOff, Field::kCommunityId},
    {"community-id-seed", FlagKind::kValue, Field::kCommunityIdSeed},
    {"ring-size", FlagKind::kValue, Field::kRingSize},
    {"stats-interval", FlagKind::kValue, Field::kStatsInterval},
    {"quiet", FlagKind::kSwitchOn, Field::kQuiet},
    {"progress", FlagKind::kSwitchOn, Field::kProgress},
    {"no-progress", FlagKind::kSwitchOff, Field::kProgress},
    {"workers", FlagKind::kValue, Field::kWorkers},
    {"distribution", FlagKind::kValue, Field::kDistribution},
    {"poll", FlagKind::kValue, Field::kPoll},
    {"pcap-queues", FlagKind::kSwitchOn, Field::kPcapQueues},
    {"pcap-reader", FlagKind::kValue, Field::kPcapReader},
    {"grpc-listen", FlagKind::kValue, Field::kGrpcListen},
    {"grpc-tls-cert", FlagKind::kValue, Field::kGrpcTlsCert},
    {"grpc-tls-key", FlagKind::kValue, Field::kGrpcTlsKey},
    {"grpc-tls-client-ca", FlagKind::kValue, Field::kGrpcTlsClientCa},
    {"grpc-token-file", FlagKind::kValue, Field::kGrpcTokenFile},
    {"grpc-insecure", FlagKind::kSwitchOn, Field::kGrpcInsecure},
    {"grpc-max-queries", FlagKind::kValue, Field::kGrpcMaxQueries},
    {"grpc-max-streams", FlagKind::kValue, Field::kGrpcMaxStreams},
    {"grpc-max-subscribers", FlagKind::kValue, Field::kGrpcMaxSubscribers},
    {"grpc-max-exports", FlagKind::kValue, Field::kGrpcMaxExports},
    {"grpc-answer-memory", FlagKind::kValue, Field::kGrpcAnswerMemory},
    {"grpc-idle-timeout", FlagKind::kValue, Field::kGrpcIdleTimeout},
    {"grpc-log", FlagKind::kValue, Field::kGrpcLog},
    {"hold", FlagKind::kSwitchOn, Field::kHold},
    {"raw-packets", FlagKind::kValue, Field::kRawPackets},
    {"raw-packets-last", FlagKind::kValue, Field::kRawPacketsLast},
    {"raw-packets-memory", FlagKind::kValue, Field::kRawPacketsMemory},
    {"sflow-listen", FlagKind::kValue, Field::kSflowListen},
    {"sflow-max-agents", FlagKind::kValue, Field::kSflowMaxAgents},
    {"sflow-max-flows", FlagKind::kValue, Field::kSflowMaxFlows},
    {"sflow-agents", FlagKind::kValue, Field::kSflowAgents},
    {"sflow-agent-idle", FlagKind::kValue, Field::kSflowAgentIdle},
    {"hash-seed", FlagKind::kValue, Field::kHashSeed},
    {"ip-defrag", FlagKind::kSwitchOn, Field::kIpDefrag},
    {"no-ip-defrag", FlagKind::kSwitchOff, Field::kIpDefrag},
    {"ip-defrag-max", FlagKind::kValue, Field::kIpDefragMax},
    {"ip-defrag-timeout-ms", FlagKind::kValue, Field::kIpDefragTimeoutMs},
    {"kafka", FlagKind::kValue, Field::kKafka},
    {"kafka-topic", FlagKind::kValue, Field::kKafkaTopic},
    {"kafka-format", FlagKind::kValue, Field::kKafkaFormat},
    {"kafka-option", FlagKind::kValue, Field::kKafkaOption},
    {"kafka-flush-timeout", FlagKind::kValue, Field::kKafkaFlushTimeout},
    {"metrics-listen", FlagKind::kValue, Field::kMetricsListen},
    {"ipfix", FlagKind::kValue, Field::kIpfix},
    {"ipfix-domain", FlagKind::kValue, Field::kIpfixDomain},
    {"ipfix-mtu", FlagKind::kValue, Field::kIpfixMtu},
    {"ipfix-template-refresh", FlagKind::kValue, Field::kIpfixTemplateRefresh},
    {"ipfix-pen", FlagKind::kValue, Field::kIpfixPen},
    {"ipfix-rate", FlagKind::kValue, Field::kIpfixRate},
    {"ipfix-spool-bytes", FlagKind::kValue, Field::kIpfixSpoolBytes},
    {"port", FlagKind::kValue, Field::kPort},
    {"ipfix-uniflow", FlagKind::kSwitchOn, Field::kIpfixUniflow},
    {"tcp-stream-metrics", FlagKind::kSwitchOn, Field::kTcpStreamMetrics},
    {"no-tcp-stream-metrics", FlagKind::kSwitchOff, Field::kTcpStreamMetrics},
    {"tcp-health", FlagKind::kSwitchOn, Field::kTcpHealth},
    {"no-tcp-health", FlagKind::kSwitchOff, Field::kTcpHealth},
    {"extra-layers", FlagKind::kValue, Field::kExtraLayers},
    {"app-metadata", FlagKind::kSwitchOn, Field::kAppMetadata},
    {"no-app-metadata", FlagKind::kSwitchOff, Field::kAppMetadata},
    {"app-meta-flows", FlagKind::kValue, Field::kAppMetaFlows},
    {"help", FlagKind::kHelp, Field::kCount},
    {"version", FlagKind::kVersion, Field::kCount},
    {"check", FlagKind::kCheck, Field::kCount},
};

const FlagSpec* FindFlag(absl::string_view name) {
  for (const FlagSpec& f : kFlags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// "--json --quiet" lacks a value, but "--eal '--no-huge -l 0'" has one: only a known flag
// ends a flag's value.
bool LooksLikeFlag(absl::string_view arg) {
  absl::string_view name = arg;
  if (!absl::ConsumePrefix(&name, "--")) return false;
  return FindFlag(name.substr(0, name.find('='))) != nullptr;
}

absl::Status UnknownFlag(absl::string_view arg, absl::string_view name) {
  std::vector<absl::string_view> names;
  for (const FlagSpec& f : kFlags) names.push_back(f.name);
  const std::string match = config_internal::ClosestMatch(name, names);
  std::string msg = absl::StrCat("unknown flag ", arg);
  if (!match.empty()) absl::StrAppend(&msg, " (did you mean --", match, "?)");
  absl::StrAppend(&msg, "; see --help");
  return absl::InvalidArgumentError(msg);
}

struct ParsedFlag {
  const FlagSpec* spec;
  std::string value;  // for kSwitchOn, "true" unless --flag=VALUE
};

// Splits argv into known flags and their values, without applying them, so that --config
// can be read first wherever it appears.
absl::StatusOr<std::vector<ParsedFlag>> Tokenize(const std::vector<absl::string_view>& args) {
  std::vector<ParsedFlag> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const absl::string_view arg = args[i];
    if (arg == "-h") {
      out.push_back({FindFlag("help"), ""});
      continue;
    }
    absl::string_view body = arg;
    if (!absl::ConsumePrefix(&body, "--")) {
      if (absl::StartsWith(arg, "-") && arg.size() > 1) {
        return UnknownFlag(arg, arg.substr(1));
      }
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "' (pcap files go after --pcap)"));
    }
    absl::string_view name = body;
    absl::string_view inline_value;
    const size_t eq = body.find('=');
    const bool has_inline = eq != absl::string_view::npos;
    if (has_inline) {
      name = body.substr(0, eq);
      inline_value = body.substr(eq + 1);
    }
    const FlagSpec* spec = FindFlag(name);
    if (spec == nullptr) return UnknownFlag(has_inline ? arg.substr(0, eq + 2) : arg, name);
    const std::string flag = absl::StrCat("--", name);
    switch (spec->kind) {
      case FlagKind::kValue:
      case FlagKind::kConfig:
        if (has_inline) {
          out.push_back({spec, std::string(inline_value)});
        } else if (i + 1 < args.size() && !LooksLikeFlag(args[i + 1])) {
          out.push_back({spec, std::string(args[++i])});
        } else {
          return absl::InvalidArgumentError(absl::StrCat(flag, ": missing value"));
        }
        break;
      case FlagKind::kSwitchOn:
        out.push_back({spec, has_inline ? std::string(inline_value) : "true"});
        break;
      case FlagKind::kSwitchOff:
      case FlagKind::kHelp:
      case FlagKind::kVersion:
      case FlagKind::kCheck:
        if (has_inline) {
          return absl::InvalidArgumentError(absl::StrCat(flag, ": takes no value"));
        }
        out.push_back({spec, ""});
        break;
    }
  }
  return out;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("--config ", path, ": cannot open: ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat("--config ", path, ": read error"));
  }
  return text.str();
}

}  // namespace

absl::StatusOr<Config> LoadConfig(int argc, const char* const* argv) {
  std::vector<absl::string_view> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i] != nullptr ? argv[i] : "");

  SKYPROBE_ASSIGN_OR_RETURN(const std::vector<ParsedFlag> flags, Tokenize(args));

  // --help and --version win over everything else, so a user can always get the usage.
  Config cfg;
  for (const ParsedFlag& f : flags) {
    if (f.spec->kind == FlagKind::kHelp) cfg.help = true;
    if (f.spec->kind == FlagKind::kVersion) cfg.version = true;
  }
  if (cfg.help || cfg.version) return cfg;
  for (const ParsedFlag& f : flags) cfg.check |= f.spec->kind == FlagKind::kCheck;

  config_internal::FieldLabels labels = config_internal::DefaultLabels();
  for (const ParsedFlag& f : flags) {
    if (f.spec->kind == FlagKind::kConfig) cfg.config_path = f.value;
  }
  if (!cfg.config_path.empty()) {
    SKYPROBE_ASSIGN_OR_RETURN(const std::string text, ReadFile(cfg.config_path));
    SKYPROBE_RETURN_IF_ERROR(config_internal::ApplyYaml(text, cfg.config_path, &cfg, &labels));
  }

  // Flags override the file whatever their position. --pcap is repeatable: the first one
  // on the command line replaces the file's list rather than adding to it (likewise every
  // repeatable flag).
  bool list_from_flags[config_internal::kFieldCount] = {};
  for (const ParsedFlag& f : flags) {
    const FlagKind kind = f.spec->kind;
    if (kind != FlagKind::kValue && kind != FlagKind::kSwitchOn && kind != FlagKind::kSwitchOff) {
      continue;
    }
    const std::string label = absl::StrCat("--", f.spec->name);
    const Field field = f.spec->field;
    const bool is_list = field == Field::kPcap || field == Field::kIface ||
                         field == Field::kSflowListen || field == Field::kKafkaOption ||
                         field == Field::kIpfix || field == Field::kPort;
    if (is_list && !list_from_flags[static_cast<size_t>(field)]) {
      config_internal::ClearList(field, &cfg);
      list_from_flags[static_cast<size_t>(field)] = true;
    }
    const std::string value = kind == FlagKind::kSwitchOff ? "false" : f.value;
    absl::Status s = config_internal::SetField(f.spec->field, value, &cfg);
    if (!s.ok()) return Annotate(s, label);
    labels[static_cast<size_t>(f.spec->field)] = label;
  }

  SKYPROBE_RETURN_IF_ERROR(config_internal::FinishConfig(labels, &cfg));
  return cfg;
}

}  // namespace skyprobe
