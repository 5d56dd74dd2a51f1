// flow_fields.cc: the key table and the getters. Text forms come from
// record/flow_format.h so that a filter compares exactly what --json prints.

#include "query/flow_fields.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "record/app_format.h"
#include "record/dns_message.h"
#include "record/flow_format.h"

namespace skyprobe::query {
namespace {

// flow_format.h speaks std::string_view; absl::string_view is a distinct type here.
absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

static_assert(static_cast<int>(FieldId::kIpMetricFragments) -
                      static_cast<int>(FieldId::kTcpMetricFirst) ==
                  kTcpMetricFields,
              "FieldId leaves one id per TCPMetric field");

constexpr absl::string_view kMetricNames[7] = {"ABPackets", "ABBytes", "BAPackets", "BABytes",
                                               "Start",     "Last",    "RTT"};

std::vector<FieldInfo> BuildFields() {
  // The names own static storage: StrCat results are kept alive by `names`.
  static std::vector<std::string>* names = new std::vector<std::string>();
  names->reserve(128);  // never reallocated: the FieldInfo views point into it
  std::vector<FieldInfo> f;
  auto add = [&](absl::string_view name, FieldType type, FieldId id) {
    f.push_back({name, type, id});
  };
  auto add_owned = [&](std::string name, FieldType type, int id) {
    names->push_back(std::move(name));
    f.push_back({names->back(), type, static_cast<FieldId>(id)});
  };
  using T = FieldType;
  add("UUID", T::kString, FieldId::kUuid);
  add("LayersPath", T::kString, FieldId::kLayersPath);
  add("Application", T::kString, FieldId::kApplication);
  add("TrackingID", T::kString, FieldId::kTrackingId);
  add("L3TrackingID", T::kString, FieldId::kL3TrackingId);
  add("ParentUUID", T::kString, FieldId::kParentUuid);
  add("NodeTID", T::kString, FieldId::kNodeTid);
  add("CaptureID", T::kString, FieldId::kCaptureId);
  add("CommunityID", T::kString, FieldId::kCommunityId);
  add("Event", T::kString, FieldId::kEvent);
  add("ExpireReason", T::kString, FieldId::kExpireReason);
  add("FinishType", T::kString, FieldId::kFinishType);
  add("Link.Protocol", T::kString, FieldId::kLinkProtocol);
  add("Link.A", T::kString, FieldId::kLinkA);
  add("Link.B", T::kString, FieldId::kLinkB);
  add("Network.Protocol", T::kString, FieldId::kNetworkProtocol);
  add("Network.A", T::kString, FieldId::kNetworkA);
  add("Network.B", T::kString, FieldId::kNetworkB);
  add("Transport.Protocol", T::kString, FieldId::kTransportProtocol);
  add("ICMP.Type", T::kString, FieldId::kIcmpType);
  add("TLS.SNI", T::kString, FieldId::kTlsSni);
  add("TLS.ALPN", T::kString, FieldId::kTlsAlpn);
  add("TLS.Version", T::kString, FieldId::kTlsVersion);
  add("TLS.JA3", T::kString, FieldId::kTlsJa3);
  add("TLS.JA4", T::kString, FieldId::kTlsJa4);
  add("HTTP.Method", T::kString, FieldId::kHttpMethod);
  add("HTTP.Host", T::kString, FieldId::kHttpHost);
  add("DNSQuery.Name", T::kString, FieldId::kDnsQueryName);
  add("DNSQuery.Type", T::kString, FieldId::kDnsQueryType);
  add("DNSQuery.ResponseCode", T::kString, FieldId::kDnsQueryResponseCode);
  add("Start", T::kInt, FieldId::kStart);
  add("Last", T::kInt, FieldId::kLast);
  add("RawPacketsCaptured", T::kInt, FieldId::kRawPacketsCaptured);
  add("Link.ID", T::kInt, FieldId::kLinkId);
  add("Network.ID", T::kInt, FieldId::kNetworkId);
  add("Transport.A", T::kInt, FieldId::kTransportA);
  add("Transport.B", T::kInt, FieldId::kTransportB);
  add("Transport.ID", T::kInt, FieldId::kTransportId);
  add("ICMP.Code", T::kInt, FieldId::kIcmpCode);
  add("ICMP.ID", T::kInt, FieldId::kIcmpId);
  const int metric = static_cast<int>(FieldId::kMetricFirst);
  const int update = static_cast<int>(FieldId::kLastUpdateMetricFirst);
  const int tcp = static_cast<int>(FieldId::kTcpMetricFirst);
  for (int i = 0; i < 7; ++i)
    add_owned(absl::StrCat("Metric.", kMetricNames[i]), T::kInt, metric + i);
  for (int i = 0; i < 7; ++i) {
    add_owned(absl::StrCat("LastUpdateMetric.", kMetricNames[i]), T::kInt, update + i);
  }
  for (int i = 0; i < kTcpMetricFields; ++i) {
    add_owned(absl::StrCat("TCPMetric.",
                           absl::string_view(kTcpMetricNames[i].data(), kTcpMetricNames[i].size())),
              T::kInt, tcp + i);
  }
  add("IPMetric.Fragments", T::kInt, FieldId::kIpMetricFragments);
  add("IPMetric.FragmentErrors", T::kInt, FieldId::kIpMetricFragmentErrors);
  add("ScaledMetric.ABPackets", T::kInt, FieldId::kScaledMetricAbPackets);
  add("ScaledMetric.ABBytes", T::kInt, FieldId::kScaledMetricAbBytes);
  add("ScaledMetric.BAPackets", T::kInt, FieldId::kScaledMetricBaPackets);
  add("ScaledMetric.BABytes", T::kInt, FieldId::kScaledMetricBaBytes);
  add("ScaledMetric.SamplingRate", T::kInt, FieldId::kScaledMetricSamplingRate);
  return f;
}

bool HasNetwork(const FlowSnapshot& s) { return s.ip_version == 4 || s.ip_version == 6; }
bool HasTransport(const FlowSnapshot& s) { return s.transport != FlowProtocol::kEthernet; }

// The DNSQuery summary of a record: a DNS flow with application metadata on.
bool HasDnsSummary(const FlowSnapshot& s) {
  return s.app.value().kind == AppKind::kDns && (s.app.value().dns.flags & kDnsSummary) != 0;
}

int64_t MetricValue(const FlowMetric& m, int i) {
  switch (i) {
    case 0:
      return m.ab_packets;
    case 1:
      return m.ab_bytes;
    case 2:
      return m.ba_packets;
    case 3:
      return m.ba_bytes;
    case 4:
      return m.start;
    case 5:
      return m.last;
    default:
      return m.rtt;
  }
}

}  // namespace

const std::vector<FieldInfo>& AllFields() {
  static const std::vector<FieldInfo>* fields = new std::vector<FieldInfo>(BuildFields());
  return *fields;
}

namespace {

struct Alias {
  absl::string_view alias;
  absl::string_view layer;
};
constexpr Alias kAliases[] = {{"IPV4.", "Network."},   {"IPV6.", "Network."},
                              {"TCP.", "Transport."},  {"UDP.", "Transport."},
                              {"SCTP.", "Transport."}, {"ETHERNET.", "Link."}};

const FieldInfo* ExactField(absl::string_view key) {
  for (const FieldInfo& f : AllFields()) {
    if (f.name == key) return &f;
  }
  return nullptr;
}

}  // namespace

std::string UnknownKeyMessage(absl::string_view key) {
  for (const Alias& a : kAliases) {
    if (!absl::StartsWith(key, a.alias)) continue;
    const std::string canonical = absl::StrCat(a.layer, key.substr(a.alias.size()));
    if (ExactField(canonical) != nullptr) {
      return absl::StrCat("unknown key '", key, "' (the ", a.alias,
                          " alias names string keys only: use '", canonical, "')");
    }
  }
  std::string msg = absl::StrCat("unknown key '", Excerpt(key), "'");
  const std::string near = SuggestField(key);
  if (!near.empty()) absl::StrAppend(&msg, " (did you mean '", near, "'?)");
  return msg;
}

const FieldInfo* FindField(absl::string_view key) {
  if (const FieldInfo* f = ExactField(key)) return f;
  // Skydive's aliases name the protocol instead of the layer, for string keys only.
  for (const Alias& a : kAliases) {
    if (absl::StartsWith(key, a.alias)) {
      const FieldInfo* f = ExactField(absl::StrCat(a.layer, key.substr(a.alias.size())));
      if (f != nullptr && f->type == FieldType::kString) return f;
    }
  }
  return nullptr;
}

std::string Excerpt(absl::string_view text) {
  constexpr size_t kMax = 64;
  if (text.size() <= kMax) return std::string(text);
  return absl::StrCat(text.substr(0, kMax), "... (", text.size(), " characters)");
}

std::string SuggestField(absl::string_view key) {
  // Edit distance, case-insensitive, given up as soon as a whole row is past
  // `bound` (the distance can only grow from there).
  auto distance = [](absl::string_view a, absl::string_view b, size_t bound) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      size_t lowest = row[0];
      for (size_t j = 1; j <= b.size(); ++j) {
        const size_t above = row[j];
        const bool same = absl::ascii_tolower(a[i - 1]) == absl::ascii_tolower(b[j - 1]);
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
        diagonal = above;
        lowest = std::min(lowest, row[j]);
      }
      if (lowest > bound) return bound + 1;
    }
    return row[b.size()];
  };
  const size_t limit = std::max<size_t>(2, key.size() / 3);
  // The distance to a name is at least the difference in length: past that,
  // nothing can be close, and a 1 MB key would cost seconds of comparisons
  // (found by the filter_text fuzz target).
  size_t longest = 0;
  for (const FieldInfo& f : AllFields()) longest = std::max(longest, f.name.size());
  if (key.size() > longest + limit) return std::string();
  size_t best = limit + 1;
  absl::string_view match;
  for (const FieldInfo& f : AllFields()) {
    const size_t gap =
        key.size() > f.name.size() ? key.size() - f.name.size() : f.name.size() - key.size();
    if (gap >= best) continue;
    const size_t d = distance(key, f.name, best - 1);
    if (d < best) {
      best = d;
      match = f.name;
    }
  }
  return std::string(match);
}

bool HasField(FieldId id, const FlowView& flow) noexcept {
  const FlowSnapshot& s = *flow.snap;
  const int n = static_cast<int>(id);
  switch (id) {
    case FieldId::kParentUuid:
      return s.has_parent;
    case FieldId::kCommunityId:
      return s.community_id[0] != '\0';
    case FieldId::kFinishType:
      // NOT_FINISHED is no value: records and answers leave it out.
      return s.finish_type != FinishType::kNotFinished;
    case FieldId::kLinkProtocol:
    case FieldId::kLinkA:
    case FieldId::kLinkB:
    case FieldId::kLinkId:
      return s.has_link;
    case FieldId::kNetworkProtocol:
    case FieldId::kNetworkA:
    case FieldId::kNetworkB:
    case FieldId::kNetworkId:
      return HasNetwork(s);
    case FieldId::kTransportProtocol:
    case FieldId::kTransportA:
    case FieldId::kTransportB:
    case FieldId::kTransportId:
      return HasTransport(s);
    case FieldId::kIcmpType:
    case FieldId::kIcmpCode:
    case FieldId::kIcmpId:
      return s.icmp_version != 0;
    case FieldId::kIpMetricFragments:
    case FieldId::kIpMetricFragmentErrors:
      return s.has_ip_metric;
    case FieldId::kScaledMetricAbPackets:
    case FieldId::kScaledMetricAbBytes:
    case FieldId::kScaledMetricBaPackets:
    case FieldId::kScaledMetricBaBytes:
    case FieldId::kScaledMetricSamplingRate:
      return s.has_scaled_metric;
    case FieldId::kTlsSni:
      return !TlsSni(s.app.value()).empty();
    case FieldId::kTlsAlpn:
      return HasTls(s.app.value()) && s.app.value().tls.alpn_len != 0;
    case FieldId::kTlsVersion:
      return HasTls(s.app.value());
    case FieldId::kTlsJa3:
    case FieldId::kTlsJa4:
      return !Ja4Of(s.app.value()).empty();
    case FieldId::kHttpMethod:
      return HasHttp(s.app.value());
    case FieldId::kHttpHost:
      return !HttpHostOf(s.app.value()).empty();
    case FieldId::kDnsQueryName:
    case FieldId::kDnsQueryType:
      return HasDnsSummary(s) && s.app.value().dns.len >= 12 &&
             s.app.value().dns.msg[4] + s.app.value().dns.msg[5] != 0;
    case FieldId::kDnsQueryResponseCode:
      return HasDnsSummary(s) && (s.app.value().dns.flags & kDnsHasRcode) != 0;
    default:
      break;
  }
  if (n >= static_cast<int>(FieldId::kLastUpdateMetricFirst) &&
      n < static_cast<int>(FieldId::kTcpMetricFirst)) {
    return s.has_last_update_metric;
  }
  if (n >= static_cast<int>(FieldId::kTcpMetricFirst) &&
      n < static_cast<int>(FieldId::kIpMetricFragments)) {
    int64_t v = 0;
    return s.has_tcp_metric &&
           TcpMetricValue(s.tcp_metric, n - static_cast<int>(FieldId::kTcpMetricFirst), &v);
  }
  return true;
}

bool GetIntField(FieldId id, const FlowView& flow, int64_t* out) noexcept {
  if (!HasField(id, flow)) return false;
  const FlowSnapshot& s = *flow.snap;
  const int n = static_cast<int>(id);
  switch (id) {
    case FieldId::kStart:
      *out = s.start;
      return true;
    case FieldId::kLast:
      *out = s.last;
      return true;
    case FieldId::kRawPacketsCaptured:
      *out = s.raw_packets_captured;
      return true;
    case FieldId::kLinkId:
      *out = s.link_id;
      return true;
    case FieldId::kNetworkId:
      *out = s.network_id;
      return true;
    case FieldId::kTransportA:
      *out = s.transport_a;
      return true;
    case FieldId::kTransportB:
      *out = s.transport_b;
      return true;
    case FieldId::kTransportId:
      *out = 0;
      return true;
    case FieldId::kIcmpCode:
      *out = s.icmp_code;
      return true;
    case FieldId::kIcmpId:
      *out = s.icmp_id;
      return true;
    case FieldId::kIpMetricFragments:
      *out = s.ip_metric.fragments;
      return true;
    case FieldId::kIpMetricFragmentErrors:
      *out = s.ip_metric.fragment_errors;
      return true;
    case FieldId::kScaledMetricAbPackets:
      *out = s.scaled_metric.ab_packets;
      return true;
    case FieldId::kScaledMetricAbBytes:
      *out = s.scaled_metric.ab_bytes;
      return true;
    case FieldId::kScaledMetricBaPackets:
      *out = s.scaled_metric.ba_packets;
      return true;
    case FieldId::kScaledMetricBaBytes:
      *out = s.scaled_metric.ba_bytes;
      return true;
    case FieldId::kScaledMetricSamplingRate:
      *out = s.scaled_metric.sampling_rate;
      return true;
    default:
      break;
  }
  const int metric = static_cast<int>(FieldId::kMetricFirst);
  const int update = static_cast<int>(FieldId::kLastUpdateMetricFirst);
  const int tcp = static_cast<int>(FieldId::kTcpMetricFirst);
  if (n >= metric && n < update) {
    *out = MetricValue(s.metric, n - metric);
    return true;
  }
  if (n >= update && n < tcp) {
    *out = MetricValue(s.last_update_metric, n - update);
    return true;
  }
  if (n >= tcp && n < tcp + kTcpMetricFields) return TcpMetricValue(s.tcp_metric, n - tcp, out);
  return false;  // a string field
}

bool GetStringField(FieldId id, const FlowView& flow, std::string* scratch,
                    absl::string_view* out) {
  if (!HasField(id, flow)) return false;
  const FlowSnapshot& s = *flow.snap;
  scratch->clear();
  switch (id) {
    case FieldId::kUuid:
      AppendHex(s.uuid, scratch);
      break;
    case FieldId::kLayersPath:
      AppendLayersPath(s, scratch);
      break;
    case FieldId::kApplication:
      *out = Sv(ApplicationName(s));
      return true;
    case FieldId::kTrackingId:
      AppendHex(s.tracking_id, scratch);
      break;
    case FieldId::kL3TrackingId:
      AppendHex(s.l3_tracking_id, scratch);
      break;
    case FieldId::kParentUuid:
      AppendHex(s.parent_uuid, scratch);
      break;
    case FieldId::kNodeTid:
      *out = flow.node_tid;
      return true;
    case FieldId::kCaptureId:
      *out = flow.capture_id;
      return true;
    case FieldId::kCommunityId:
      *out = Sv(CommunityId(s));
      return true;
    case FieldId::kEvent:
      *out = Sv(FlowEventName(s.event));
      return true;
    case FieldId::kExpireReason:
      *out = Sv(ExpireReasonName(s.expire_reason));
      return true;
    case FieldId::kFinishType:
      *out = Sv(FinishTypeName(s.finish_type));
      return true;
    case FieldId::kLinkProtocol:
      *out = "ETHERNET";
      return true;
    case FieldId::kLinkA:
      AppendMac(s.link_a, scratch);
      break;
    case FieldId::kLinkB:
      AppendMac(s.link_b, scratch);
      break;
    case FieldId::kNetworkProtocol:
      *out = s.ip_version == 4 ? "IPV4" : "IPV6";
      return true;
    case FieldId::kNetworkA:
      AppendIp(s.ip_version, s.network_a, scratch);
      break;
    case FieldId::kNetworkB:
      AppendIp(s.ip_version, s.network_b, scratch);
      break;
    case FieldId::kTransportProtocol:
      *out = Sv(FlowProtocolName(s.transport));
      return true;
    case FieldId::kIcmpType:
      *out = Sv(IcmpTypeName(s.icmp_type));
      return true;
    case FieldId::kTlsSni:
      *out = Sv(TlsSni(s.app.value()));
      return true;
    case FieldId::kTlsAlpn:
      AppendTlsAlpnJoined(s.app.value(), scratch);
      break;
    case FieldId::kTlsVersion:
      AppendTlsVersion(s.app.value().tls.version, scratch);
      break;
    case FieldId::kTlsJa3:
      AppendJa3(s.app.value(), scratch);
      break;
    case FieldId::kTlsJa4:
      *out = Sv(Ja4Of(s.app.value()));
      return true;
    case FieldId::kHttpMethod:
      *out = Sv(HttpMethodOf(s.app.value()));
      return true;
    case FieldId::kHttpHost:
      *out = Sv(HttpHostOf(s.app.value()));
      return true;
    case FieldId::kDnsQueryName:
    case FieldId::kDnsQueryType: {
      uint16_t type = 0;
      if (!ReadDnsQuestion(s.app.value().dns.msg, s.app.value().dns.len, scratch, &type))
        return false;
      if (id == FieldId::kDnsQueryType) {
        *scratch = DnsTypeMnemonic(type);
      } else if (scratch->empty()) {
        *scratch = "<Root>";
      }
      break;
    }
    case FieldId::kDnsQueryResponseCode:
      *scratch = DnsRcodeMnemonic(s.app.value().dns.rcode);
      break;
    default:
      return false;  // an integer field
  }
  *out = *scratch;
  return true;
}

}  // namespace skyprobe::query
