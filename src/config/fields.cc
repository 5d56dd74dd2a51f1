// fields.cc: turning one text value into one Config field, shared by flags and YAML so
// both accept exactly the same spellings and report the same messages.

#include <arpa/inet.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <utility>

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "config/config_internal.h"
#include "skyprobe/status.h"

namespace skyprobe {
namespace config_internal {
namespace {

struct FieldNames {
  absl::string_view flag;
  absl::string_view yaml_key;
};

// Made from SKYPROBE_CONFIG_FIELDS (config_internal.h): indexed by Field.
#define SKYPROBE_CONFIG_FIELD_NAMES_(name, flag, yaml_key) {flag, yaml_key},
constexpr FieldNames kFieldNames[kFieldCount] = {
    SKYPROBE_CONFIG_FIELDS(SKYPROBE_CONFIG_FIELD_NAMES_)};
#undef SKYPROBE_CONFIG_FIELD_NAMES_

// A whole number, without sign; `what` finishes the message ("a whole number of seconds").
absl::Status ParseUint(absl::string_view value, absl::string_view what, uint64_t max,
                       uint64_t* out) {
  absl::string_view v = absl::StripAsciiWhitespace(value);
  uint64_t n = 0;
  // SimpleAtoi accepts a leading '+' or '-'; a setting is never signed, so require digits.
  if (v.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(v[0])) ||
      !absl::SimpleAtoi(v, &n)) {
    return absl::InvalidArgumentError(absl::StrCat("'", value, "' is not ", what));
  }
  if (n > max) {
    return absl::InvalidArgumentError(absl::StrCat("'", value, "' is too large (max ", max, ")"));
  }
  *out = n;
  return absl::OkStatus();
}

absl::Status ParseU32(absl::string_view value, absl::string_view what, uint32_t* out) {
  uint64_t n = 0;
  absl::Status s = ParseUint(value, what, std::numeric_limits<uint32_t>::max(), &n);
  if (s.ok()) *out = static_cast<uint32_t>(n);
  return s;
}

// Counts take binary k/M suffixes (1M = 1048576), matching the power-of-two defaults.
absl::Status ParseCount(absl::string_view value, uint32_t* out) {
  absl::string_view v = absl::StripAsciiWhitespace(value);
  uint64_t multiplier = 1;
  if (!v.empty()) {
    const char last = absl::ascii_tolower(static_cast<unsigned char>(v.back()));
    if (last == 'k') multiplier = 1ull << 10;
    if (last == 'm') multiplier = 1ull << 20;
    if (multiplier != 1) v.remove_suffix(1);
  }
  uint64_t n = 0;
  const uint64_t max = std::numeric_limits<uint32_t>::max();
  if (v.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(v[0])) ||
      !absl::SimpleAtoi(v, &n)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", value, "' is not a whole number (suffixes k and M allowed)"));
  }
  if (n > max / multiplier) {
    return absl::InvalidArgumentError(absl::StrCat("'", value, "' is too large (max ", max, ")"));
  }
  *out = static_cast<uint32_t>(n * multiplier);
  return absl::OkStatus();
}

// Byte sizes take binary k/M/G suffixes (256M = 256 MiB).
absl::Status ParseBytes(absl::string_view value, uint64_t* out) {
  absl::string_view v = absl::StripAsciiWhitespace(value);
  uint64_t multiplier = 1;
  if (!v.empty()) {
    const char last = absl::ascii_tolower(static_cast<unsigned char>(v.back()));
    if (last == 'k') multiplier = 1ull << 10;
    if (last == 'm') multiplier = 1ull << 20;
    if (last == 'g') multiplier = 1ull << 30;
    if (multiplier != 1) v.remove_suffix(1);
  }
  uint64_t n = 0;
  // Up to 1 TiB: far beyond any machine's RAM, and no overflow in sums of it.
  constexpr uint64_t kMax = 1ull << 40;
  if (v.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(v[0])) ||
      !absl::SimpleAtoi(v, &n)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", value, "' is not a number of bytes (suffixes k, M and G allowed)"));
  }
  if (n > kMax / multiplier) {
    return absl::InvalidArgumentError(absl::StrCat("'", value, "' is too large (max 1024G)"));
  }
  *out = n * multiplier;
  return absl::OkStatus();
}

}  // namespace

FieldLabels DefaultLabels() {
  FieldLabels labels;
  for (size_t i = 0; i < kFieldCount; ++i) labels[i] = absl::StrCat("--", kFieldNames[i].flag);
  return labels;
}

absl::string_view FieldFlag(Field field) { return kFieldNames[static_cast<size_t>(field)].flag; }

absl::string_view FieldYamlKey(Field field) {
  return kFieldNames[static_cast<size_t>(field)].yaml_key;
}

absl::Status ParseBool(absl::string_view value, bool* out) {
  const std::string v = absl::AsciiStrToLower(absl::StripAsciiWhitespace(value));
  if (v == "true" || v == "yes" || v == "on" || v == "1") {
    *out = true;
  } else if (v == "false" || v == "no" || v == "off" || v == "0") {
    *out = false;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("'", value, "' is not true or false"));
  }
  return absl::OkStatus();
}

absl::Status ParseLinkType(absl::string_view value, uint32_t* out) {
  std::string v = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(value));
  uint32_t dlt = 0;
  bool known = false;
  if (!v.empty() && absl::ascii_isdigit(static_cast<unsigned char>(v[0]))) {
    known = absl::SimpleAtoi(v, &dlt);
  } else {
    absl::string_view name = v;
    if (!absl::ConsumePrefix(&name, "DLT_")) absl::ConsumePrefix(&name, "LINKTYPE_");
    for (const LinkTypeInfo& e : kLinkTypeTable) {
      if (e.name == name || e.alias == name) {
        dlt = e.dlt;
        known = true;
        break;
      }
    }
  }
  if (!known || !IsSupportedLinkType(dlt)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported link type '", value, "'; supported: ", SupportedLinkTypesText()));
  }
  *out = dlt;
  return absl::OkStatus();
}

// One of a few names, case-insensitively: "'x' is not auto, rss or dispatch".
template <typename T>
absl::Status ParseChoice(absl::string_view value,
                         std::initializer_list<std::pair<absl::string_view, T>> choices, T* out) {
  const absl::string_view v = absl::StripAsciiWhitespace(value);
  std::string names;
  size_t i = 0;
  for (const auto& [name, choice] : choices) {
    if (absl::EqualsIgnoreCase(v, name)) {
      *out = choice;
      return absl::OkStatus();
    }
    absl::StrAppend(&names, i == 0 ? "" : (i + 1 == choices.size() ? " or " : ", "), name);
    ++i;
  }
  return absl::InvalidArgumentError(absl::StrCat("'", value, "' is not ", names));
}

absl::Status SetField(Field field, absl::string_view value, Config* cfg) {
  constexpr absl::string_view kSeconds = "a whole number of seconds";
  constexpr absl::string_view kMillis = "a whole number of milliseconds";
  switch (field) {
    case Field::kPcap:
    case Field::kIface:
    case Field::kSflowListen:
    case Field::kPort: {
      std::string name;
      InputAttributes attrs;
      SKYPROBE_RETURN_IF_ERROR(ParseInputSpec(field, value, &name, &attrs));
      return AddInput(field, name, std::move(attrs), cfg);
    }
    case Field::kEal: {
      std::vector<std::string> args =
          absl::StrSplit(value, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty());
      if (args.empty()) return absl::InvalidArgumentError("no EAL arguments given");
      cfg->eal_args = std::move(args);
      return absl::OkStatus();
    }
    case Field::kLinkType: {
      absl::Status s = ParseLinkType(value, &cfg->link_type_override);
      if (s.ok()) cfg->link_type_override_set = true;
      return s;
    }
    case Field::kBpf:
      // Checked against each input's link type by ValidateWithLabels.
      cfg->bpf_filter = std::string(absl::StripAsciiWhitespace(value));
      return absl::OkStatus();
    case Field::kPcapRate: {
      uint32_t rate = 0;
      absl::Status s = ParseU32(value, "a whole number of packets per second", &rate);
      if (!s.ok()) return s;
      // 0 would mean "off", which is not a rate: say so rather than replay unpaced.
      if (rate == 0) return absl::InvalidArgumentError("must be > 0, got 0");
      cfg->pcap_rate = rate;
      return absl::OkStatus();
    }
    case Field::kPcapRealtime:
      return ParseBool(value, &cfg->pcap_realtime);
    case Field::kPcapSpeed: {
      // A factor like 100 or 0.5; range checked by ValidateWithLabels.
      const std::string v(absl::StripAsciiWhitespace(value));
      double speed = 0;
      if (v.empty() || !absl::SimpleAtod(v, &speed) || !std::isfinite(speed)) {
        return absl::InvalidArgumentError(absl::StrCat("'", value, "' is not a number"));
      }
      cfg->pcap_speed = speed;
      return absl::OkStatus();
    }
    case Field::kJson:
      if (value.empty()) {
        return absl::InvalidArgumentError("empty path (give a file, or - for stdout)");
      }
      cfg->json_path = std::string(value);
      return absl::OkStatus();
    case Field::kUpdate:
      return ParseU32(value, kSeconds, &cfg->update_sec);
    case Field::kExpire:
      return ParseU32(value, kSeconds, &cfg->expire_sec);
    case Field::kTcpCloseHoldMs:
      return ParseU32(value, kMillis, &cfg->tcp_close_hold_ms);
    case Field::kTimerTickMs:
      return ParseU32(value, kMillis, &cfg->timer_tick_ms);
    case Field::kKeyMode:
      return ParseChoice(value, {{"L2", KeyMode::kL2}, {"L3", KeyMode::kL3}}, &cfg->key_mode);
    case Field::kNodeTid:
      cfg->node_tid = std::string(value);
      return absl::OkStatus();
    case Field::kMaxFlows:
      return ParseCount(value, &cfg->max_flows);
    case Field::kKeepExpired:
      return ParseU32(value, kSeconds, &cfg->keep_expired_sec);
    case Field::kKeepExpiredMax:
      return ParseCount(value, &cfg->keep_expired_max);
    case Field::kOverload:
      return ParseChoice(
          value,
          {{"drop-new", OverloadPolicy::kDropNew}, {"evict-oldest", OverloadPolicy::kEvictOldest}},
          &cfg->overload);
    case Field::kCaptureLength:
      return ParseU32(value, "a whole number of bytes", &cfg->capture_length);
    case Field::kCommunityId:
      return ParseBool(value, &cfg->community_id);
    case Field::kCommunityIdSeed: {
      uint64_t n = 0;
      absl::Status s = ParseUint(value, "a whole number", std::numeric_limits<uint16_t>::max(), &n);
      if (s.ok()) cfg->community_id_seed = static_cast<uint16_t>(n);
      return s;
    }
    case Field::kRingSize:
      return ParseCount(value, &cfg->ring_size);
    case Field::kStatsInterval:
      return ParseU32(value, kSeconds, &cfg->stats_interval_sec);
    case Field::kQuiet:
      return ParseBool(value, &cfg->quiet);
    case Field::kProgress:
      return ParseBool(value, &cfg->progress);
    case Field::kWorkers:
      return ParseU32(value, "a whole number of workers", &cfg->workers);
    case Field::kIfaceTime:
      return ParseChoice(value, {{"kernel", IfaceTime::kKernel}, {"burst", IfaceTime::kBurst}},
                         &cfg->iface_time);
    case Field::kPoll:
      return ParseChoice(
          value,
          {{"auto", PollMode::kAuto}, {"busy", PollMode::kBusy}, {"adaptive", PollMode::kAdaptive}},
          &cfg->poll);
    case Field::kDistribution:
      return ParseChoice(value,
                         {{"auto", Distribution::kAuto},
                          {"rss", Distribution::kRss},
                          {"dispatch", Distribution::kDispatch}},
                         &cfg->distribution);
    case Field::kPcapReader:
      return ParseChoice(value,
                         {{"mapped", PcapReader::kMapped}, {"net_pcap", PcapReader::kNetPcap}},
                         &cfg->pcap_reader);
    case Field::kPcapQueues:
      return ParseBool(value, &cfg->pcap_queues);
    case Field::kGrpcListen: {
      const std::string v(absl::StripAsciiWhitespace(value));
      if (v != "none") {
        // HOST:PORT, HOST may be an IPv6 address in brackets; gRPC resolves names later.
        const size_t colon = v.rfind(':');
        uint64_t port = 0;
        if (colon == std::string::npos || colon == 0 ||
            !absl::SimpleAtoi(absl::string_view(v).substr(colon + 1), &port) || port > 65535) {
          return absl::InvalidArgumentError(
              absl::StrCat("'", value, "' is not HOST:PORT (e.g. 127.0.0.1:50051) or none"));
        }
      }
      cfg->grpc_listen = v;
      cfg->grpc_listen_set = true;
      return absl::OkStatus();
    }
    case Field::kGrpcTlsCert:
      cfg->grpc_tls_cert = std::string(value);
      return absl::OkStatus();
    case Field::kGrpcTlsKey:
      cfg->grpc_tls_key = std::string(value);
      return absl::OkStatus();
    case Field::kGrpcTlsClientCa:
      cfg->grpc_tls_client_ca = std::string(value);
      return absl::OkStatus();
    case Field::kGrpcTokenFile:
      cfg->grpc_token_file = std::string(value);
      return absl::OkStatus();
    case Field::kGrpcInsecure:
      return ParseBool(value, &cfg->grpc_insecure);
    case Field::kGrpcMaxQueries:
      return ParseCount(value, &cfg->grpc_max_queries);
    case Field::kGrpcMaxStreams:
      return ParseCount(value, &cfg->grpc_max_streams);
    case Field::kGrpcMaxSubscribers:
      return ParseCount(value, &cfg->grpc_max_subscribers);
    case Field::kGrpcMaxExports:
      return ParseCount(value, &cfg->grpc_max_exports);
    case Field::kGrpcAnswerMemory:
      return ParseBytes(value, &cfg->grpc_answer_memory);
    case Field::kGrpcIdleTimeout:
      return ParseU32(value, kSeconds, &cfg->grpc_idle_timeout_sec);
    case Field::kGrpcLog:
      return ParseChoice(value,
                         {{"off", GrpcLogLevel::kOff},
                          {"error", GrpcLogLevel::kError},
                          {"info", GrpcLogLevel::kInfo},
                          {"debug", GrpcLogLevel::kDebug}},
                         &cfg->grpc_log);
    case Field::kHold:
      return ParseBool(value, &cfg->hold);
    case Field::kRawPackets:
      return ParseCount(value, &cfg->raw_packets);
    case Field::kRawPacketsLast:
      return ParseCount(value, &cfg->raw_packets_last);
    case Field::kRawPacketsMemory:
      return ParseBytes(value, &cfg->raw_packets_memory);
    case Field::kSflowMaxAgents:
      return ParseCount(value, &cfg->sflow_max_agents);
    case Field::kSflowMaxFlows:
      return ParseCount(value, &cfg->sflow_max_flows);
    case Field::kSflowAgents: {
      // One comma-separated list; given again, it replaces the previous one.
      std::vector<IpNetwork> nets;
      for (absl::string_view item : absl::StrSplit(value, ',')) {
        item = absl::StripAsciiWhitespace(item);
        absl::StatusOr<IpNetwork> net = ParseIpNetwork(std::string(item));
        if (!net.ok()) return net.status();
        nets.push_back(*net);
      }
      cfg->sflow_agents = std::move(nets);
      return absl::OkStatus();
    }
    case Field::kSflowAgentIdle:
      return ParseU32(value, kSeconds, &cfg->sflow_agent_idle_sec);
    case Field::kHashSeed: {
      absl::Status s =
          ParseUint(value, "a whole number", std::numeric_limits<uint64_t>::max(), &cfg->hash_seed);
      if (s.ok()) cfg->hash_seed_set = true;
      return s;
    }
    case Field::kIpDefrag:
      return ParseBool(value, &cfg->ip_defrag);
    case Field::kIpDefragMax:
      return ParseCount(value, &cfg->ip_defrag_max);
    case Field::kIpDefragTimeoutMs:
      return ParseU32(value, kMillis, &cfg->ip_defrag_timeout_ms);
    case Field::kKafka: {
      const std::string v(absl::StripAsciiWhitespace(value));
      if (v.empty()) return absl::InvalidArgumentError("no brokers given (HOST:PORT[,HOST:PORT])");
      cfg->kafka_brokers = v;
      return absl::OkStatus();
    }
    case Field::kKafkaTopic:
      cfg->kafka_topic = std::string(absl::StripAsciiWhitespace(value));
      return absl::OkStatus();
    case Field::kKafkaFormat:
      return ParseChoice(value,
                         {{"json", RecordFormat::kJson}, {"protobuf", RecordFormat::kProtobuf}},
                         &cfg->kafka_format);
    case Field::kKafkaOption: {
      // KEY=VALUE for librdkafka; the value may itself hold '=' (SASL JAAS strings).
      const size_t eq = value.find('=');
      const absl::string_view key =
          absl::StripAsciiWhitespace(value.substr(0, eq == absl::string_view::npos ? 0 : eq));
      if (eq == absl::string_view::npos || key.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "'", value, "' is not KEY=VALUE (a librdkafka property, e.g. compression.type=lz4)"));
      }
      cfg->kafka_options.emplace_back(std::string(key), std::string(value.substr(eq + 1)));
      return absl::OkStatus();
    }
    case Field::kKafkaFlushTimeout:
      return ParseU32(value, kSeconds, &cfg->kafka_flush_timeout_sec);
    case Field::kMetricsListen: {
      const std::string v(absl::StripAsciiWhitespace(value));
      if (v != "none") {
        absl::StatusOr<ListenAddress> addr = ParseListenAddress(v);
        if (!addr.ok() || addr->ipv6) {
          // Debian's civetweb (under prometheus-cpp) is built without IPv6.
          return absl::InvalidArgumentError(
              absl::StrCat("'", value,
                           "' is not ADDR:PORT with a numeric IPv4 address (e.g. 127.0.0.1:9464, "
                           "0.0.0.0:9464) or none"));
        }
      }
      cfg->metrics_listen = v == "none" ? "" : v;
      return absl::OkStatus();
    }
    case Field::kIpfix: {
      absl::StatusOr<IpfixDestination> d =
          ParseIpfixDestination(std::string(absl::StripAsciiWhitespace(value)));
      if (!d.ok()) return d.status();
      cfg->ipfix.push_back(*d);
      return absl::OkStatus();
    }
    case Field::kIpfixDomain:
      return ParseU32(value, "a whole number", &cfg->ipfix_domain);
    case Field::kIpfixMtu:
      return ParseU32(value, "a whole number of bytes", &cfg->ipfix_mtu);
    case Field::kIpfixTemplateRefresh:
      return ParseU32(value, kSeconds, &cfg->ipfix_template_refresh_sec);
    case Field::kIpfixPen:
      return ParseU32(value, "a whole number (a Private Enterprise Number)", &cfg->ipfix_pen);
    case Field::kIpfixRate:
      return ParseU32(value, "a whole number of records per second", &cfg->ipfix_rate);
    case Field::kIpfixSpoolBytes:
      return ParseBytes(value, &cfg->ipfix_spool_bytes);
    case Field::kIpfixUniflow:
      return ParseBool(value, &cfg->ipfix_uniflow);
    case Field::kTcpStreamMetrics:
      return ParseBool(value, &cfg->tcp_stream_metrics);
    case Field::kTcpHealth:
      return ParseBool(value, &cfg->tcp_health);
    case Field::kExtraLayers: {
      // Skydive's names (flow.ExtraLayers), comma-separated; ALL for every
      // one, an empty list for none. Given again, it replaces the previous one.
      uint8_t bits = 0;
      for (absl::string_view item : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
        item = absl::StripAsciiWhitespace(item);
        if (item == "DNS") {
          bits |= 2;
        } else if (item == "DHCPv4") {
          bits |= 4;
        } else if (item == "VRRP") {
          bits |= 1;
        } else if (item == "ALL") {
          bits |= 7;
        } else {
          return absl::InvalidArgumentError(
              absl::StrCat("extra layer not supported: '", item, "' (DNS, DHCPv4, VRRP or ALL)"));
        }
      }
      cfg->extra_layers = bits;
      return absl::OkStatus();
    }
    case Field::kAppMetadata:
      return ParseBool(value, &cfg->app_metadata);
    case Field::kAppMetaFlows:
      return ParseCount(value, &cfg->app_meta_flows);
    case Field::kCount:
      break;
  }
  return absl::InternalError("unknown config field");
}

absl::Status AddInput(Field field, const std::string& name, InputAttributes attrs, Config* cfg) {
  switch (field) {
    case Field::kPcap:
      if (name.empty()) return absl::InvalidArgumentError("empty file name");
      cfg->pcap_files.push_back(name);
      cfg->pcap_attrs.resize(cfg->pcap_files.size() - 1);  // a Config built by hand may lag
      cfg->pcap_attrs.push_back(std::move(attrs));
      return absl::OkStatus();
    case Field::kIface:
      if (name.empty()) return absl::InvalidArgumentError("empty interface name");
      cfg->ifaces.push_back(name);
      cfg->iface_attrs.resize(cfg->ifaces.size() - 1);
      cfg->iface_attrs.push_back(std::move(attrs));
      return absl::OkStatus();
    case Field::kSflowListen: {
      const std::string v(absl::StripAsciiWhitespace(name));
      absl::StatusOr<ListenAddress> addr = ParseListenAddress(v);
      if (!addr.ok()) return addr.status();
      cfg->sflow_listen.push_back(v);  // ParseInputSpec took capture-id= only
      cfg->sflow_attrs.resize(cfg->sflow_listen.size() - 1);
      cfg->sflow_attrs.push_back(std::move(attrs));
      return absl::OkStatus();
    }
    case Field::kPort: {
      const std::string v(absl::StripAsciiWhitespace(name));
      if (v.empty()) {
        return absl::InvalidArgumentError(
            "empty device name (a PCI address such as 0000:3b:00.0, or a vdev name)");
      }
      if (attrs.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "'", v, "': no attribute given (DEVICE,node-tid=ID,capture-id=ID,bpf=EXPR)"));
      }
      cfg->port_attrs.push_back(PortAttributes{v, std::move(attrs)});
      return absl::OkStatus();
    }
    default:
      return absl::InternalError("not an input list");
  }
}

void ClearList(Field field, Config* cfg) {
  switch (field) {
    case Field::kPcap:
      cfg->pcap_files.clear();
      cfg->pcap_attrs.clear();
      break;
    case Field::kIface:
      cfg->ifaces.clear();
      cfg->iface_attrs.clear();
      break;
    case Field::kSflowListen:
      cfg->sflow_listen.clear();
      cfg->sflow_attrs.clear();
      break;
    case Field::kPort:
      cfg->port_attrs.clear();
      break;
    case Field::kKafkaOption:
      cfg->kafka_options.clear();
      break;
    case Field::kIpfix:
      cfg->ipfix.clear();
      break;
    default:
      break;
  }
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string ClosestMatch(absl::string_view word, const std::vector<absl::string_view>& candidates) {
  // A third of the word's length (at least 2) separates typos from different words.
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  size_t best = limit + 1;
  absl::string_view match;
  for (absl::string_view c : candidates) {
    const size_t d = EditDistance(word, c);
    if (d < best) {
      best = d;
      match = c;
    }
  }
  return std::string(match);
}

}  // namespace config_internal

std::string SupportedLinkTypesText() {
  std::vector<std::string> parts;
  for (const LinkTypeInfo& e : kLinkTypeTable) {
    parts.push_back(absl::StrCat(e.name, " (", e.dlt, ")"));
  }
  return absl::StrJoin(parts, ", ");
}

absl::StatusOr<ListenAddress> ParseListenAddress(const std::string& text) {
  const auto bad = [&text] {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not ADDR:PORT with a numeric address (e.g. 0.0.0.0:6343 or [::]:6343)"));
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad();
  uint64_t port = 0;
  const std::string port_text = text.substr(colon + 1);
  if (port_text.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(port_text[0])) ||
      !absl::SimpleAtoi(port_text, &port) || port > 65535) {
    return bad();
  }
  ListenAddress out;
  out.port = static_cast<uint16_t>(port);
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    in6_addr a6;
    if (inet_pton(AF_INET6, host.c_str(), &a6) != 1) return bad();
    out.ipv6 = true;
  } else {
    in_addr a4;
    if (inet_pton(AF_INET, host.c_str(), &a4) != 1) return bad();
  }
  out.host = host;
  return out;
}

absl::StatusOr<IpfixDestination> ParseIpfixDestination(const std::string& text) {
  const auto bad = [&text](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not udp://HOST:PORT, tcp://HOST:PORT or file:PATH", why));
  };
  IpfixDestination d;
  d.text = text;
  absl::string_view rest = text;
  if (absl::ConsumePrefix(&rest, "file:")) {
    if (rest.empty()) return bad(": the path is empty");
    d.kind = IpfixDestination::Kind::kFile;
    d.path = std::string(rest);
    return d;
  }
  if (absl::ConsumePrefix(&rest, "udp://")) {
    d.kind = IpfixDestination::Kind::kUdp;
  } else if (absl::ConsumePrefix(&rest, "tcp://")) {
    d.kind = IpfixDestination::Kind::kTcp;
  } else {
    return bad("");
  }
  const size_t colon = rest.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return bad(": no :PORT");
  absl::string_view host = rest.substr(0, colon);
  const absl::string_view port_text = rest.substr(colon + 1);
  uint32_t port = 0;
  if (port_text.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(port_text[0])) ||
      !absl::SimpleAtoi(port_text, &port) || port == 0 || port > 65535) {
    return bad(": the port must be 1..65535");
  }
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad(": unclosed [");
    host = host.substr(1, host.size() - 2);
    in6_addr a6;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) {
      return bad(": not an IPv6 address in the brackets");
    }
  } else if (absl::StrContains(host, ':')) {
    return bad(": an IPv6 address goes in brackets ([2001:db8::1]:4739)");
  }
  d.host = std::string(host);
  d.port = static_cast<uint16_t>(port);
  return d;
}

absl::StatusOr<IpNetwork> ParseIpNetwork(const std::string& text) {
  const auto bad = [&text](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not a network ADDR/LEN (e.g. 192.0.2.0/24 or 2001:db8::/32): ", why));
  };
  const size_t slash = text.find('/');
  const std::string host = text.substr(0, slash);
  IpNetwork net;
  if (inet_pton(AF_INET, host.c_str(), net.addr) == 1) {
    net.ip_version = 4;
    net.prefix = 32;
  } else if (inet_pton(AF_INET6, host.c_str(), net.addr) == 1) {
    net.ip_version = 6;
    net.prefix = 128;
  } else {
    return bad("not a numeric IPv4 or IPv6 address");
  }
  if (slash != std::string::npos) {
    const std::string len = text.substr(slash + 1);
    uint32_t prefix = 0;
    if (len.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(len[0])) ||
        !absl::SimpleAtoi(len, &prefix) || prefix > net.prefix) {
      return bad(absl::StrCat("the prefix length must be 0..", net.prefix));
    }
    net.prefix = static_cast<uint8_t>(prefix);
  }
  // Host bits cleared, so that Contains compares whole bytes.
  const int bytes = net.ip_version == 4 ? 4 : 16;
  for (int i = 0; i < bytes; ++i) {
    const int keep = std::clamp(static_cast<int>(net.prefix) - 8 * i, 0, 8);
    net.addr[i] &= static_cast<uint8_t>(0xFF00 >> keep);
  }
  return net;
}

bool IsLoopbackListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  uint8_t a[16];
  if (inet_pton(AF_INET, host.c_str(), a) == 1) return a[0] == 127;
  if (inet_pton(AF_INET6, host.c_str(), a) != 1) return false;  // a name: could be anywhere
  static constexpr uint8_t kLoopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr uint8_t kMapped4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(a, a + 16, kLoopback6)) return true;
  return std::equal(a, a + 12, kMapped4) && a[12] == 127;
}

std::string LinkTypeName(uint32_t dlt) {
  for (const LinkTypeInfo& e : kLinkTypeTable) {
    if (e.dlt == dlt) return e.name;
  }
  const char* name = pcap_datalink_val_to_name(static_cast<int>(dlt));
  return name != nullptr ? std::string(name) : absl::StrCat("DLT ", dlt);
}

}  // namespace skyprobe
