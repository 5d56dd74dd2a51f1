// flow_from_proto.cc: text fields (hex ids, addresses, layer names) are parsed
// back into the snapshot's raw form.

#include "ctl/flow_from_proto.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ctl/flow_from_proto_app.h"
#include "parse/parsed_packet.h"
#include "record/flow_format.h"
#include "skyprobe/status.h"

namespace skyprobe::ctl {
namespace {

namespace v1 = ::skyprobe::v1;

absl::Status Bad(absl::string_view field, absl::string_view value) {
  return absl::InvalidArgumentError(
      absl::StrCat("flow field ", field, ": cannot parse '", value, "'"));
}

absl::Status Hex(absl::string_view field, const std::string& text, uint64_t* out) {
  if (text.empty()) {
    *out = 0;
    return absl::OkStatus();
  }
  if (!absl::SimpleHexAtoi(text, out)) return Bad(field, text);
  return absl::OkStatus();
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "aa:bb:cc:dd:ee:ff" (one or two digits a byte, as the probe never prints
// but a hand-written record might).
absl::Status Mac(absl::string_view field, const std::string& text, uint8_t out[6]) {
  size_t at = 0;
  for (int i = 0; i < 6; ++i) {
    int v = 0, digits = 0;
    while (at < text.size() && digits < 2 && HexDigit(text[at]) >= 0) {
      v = v * 16 + HexDigit(text[at++]);
      ++digits;
    }
    if (digits == 0 || (i < 5 && (at >= text.size() || text[at++] != ':'))) {
      return Bad(field, text);
    }
    out[i] = static_cast<uint8_t>(v);
  }
  if (at != text.size()) return Bad(field, text);
  return absl::OkStatus();
}

// Layer by gopacket name, built once (LayerName is a C string: no strlen per
// lookup).
int LayerByName(absl::string_view name) {
  static const auto* names = [] {
    auto* v = new std::vector<absl::string_view>();
    for (int i = 0; i < static_cast<int>(Layer::kCount); ++i) {
      v->push_back(LayerName(static_cast<Layer>(i)));
    }
    return v;
  }();
  for (size_t i = 0; i < names->size(); ++i) {
    if ((*names)[i] == name) return static_cast<int>(i);
  }
  return -1;
}

FlowMetric Metric(const v1::FlowMetric& m) {
  return FlowMetric{m.abpackets(), m.abbytes(), m.bapackets(), m.babytes(),
                    m.start(),     m.last(),    m.rtt()};
}

}  // namespace

absl::Status FlowFromProto(const v1::Flow& f, query::FlowRow* out) {
  *out = query::FlowRow{};
  FlowSnapshot& s = out->snap;
  out->node_tid = f.nodetid();
  out->capture_id = f.captureid();
  s.event = static_cast<FlowEvent>(f.event());
  s.expire_reason = static_cast<ExpireReason>(f.expirereason());
  s.finish_type = static_cast<FinishType>(f.finishtype());
  absl::Status st = Hex("UUID", f.uuid(), &s.uuid);
  if (st.ok()) st = Hex("TrackingID", f.trackingid(), &s.tracking_id);
  if (st.ok()) st = Hex("L3TrackingID", f.l3trackingid(), &s.l3_tracking_id);
  if (st.ok() && !f.parentuuid().empty()) {
    s.has_parent = true;
    st = Hex("ParentUUID", f.parentuuid(), &s.parent_uuid);
  }
  if (!st.ok()) return st;

  if (!f.layerspath().empty()) {
    for (absl::string_view name : absl::StrSplit(f.layerspath(), '/')) {
      if (s.num_layers == kMaxLayers) break;
      const int found = LayerByName(name);
      if (found < 0) return Bad("LayersPath", f.layerspath());
      s.layers[s.num_layers++] = static_cast<Layer>(found);
    }
  }
  s.start = f.start();
  s.last = f.last();

  if (f.has_link()) {
    s.has_link = true;
    if (absl::Status m = Mac("Link.A", f.link().a(), s.link_a); !m.ok()) return m;
    if (absl::Status m = Mac("Link.B", f.link().b(), s.link_b); !m.ok()) return m;
    s.link_id = f.link().id();
  }
  if (f.has_network()) {
    const bool v6 = f.network().protocol() == v1::IPV6;
    s.ip_version = v6 ? 6 : 4;
    const int family = v6 ? AF_INET6 : AF_INET;
    if (inet_pton(family, f.network().a().c_str(), s.network_a) != 1) {
      return Bad("Network.A", f.network().a());
    }
    if (inet_pton(family, f.network().b().c_str(), s.network_b) != 1) {
      return Bad("Network.B", f.network().b());
    }
    s.network_id = f.network().id();
  }
  if (f.has_transport()) {
    s.transport = static_cast<FlowProtocol>(f.transport().protocol());
    s.transport_a = static_cast<uint16_t>(f.transport().a());
    s.transport_b = static_cast<uint16_t>(f.transport().b());
  }
  if (f.has_icmp()) {
    s.icmp_version = s.ip_version == 6 ? 6 : 4;
    s.icmp_type = static_cast<IcmpType>(f.icmp().type());
    s.icmp_code = static_cast<uint8_t>(f.icmp().code());
    s.icmp_id = static_cast<uint16_t>(f.icmp().id());
  }
  s.metric = Metric(f.metric());
  if (f.has_lastupdatemetric()) {
    s.has_last_update_metric = true;
    s.last_update_metric = Metric(f.lastupdatemetric());
  }
  if (f.has_tcpmetric()) {
    const v1::TCPMetric& t = f.tcpmetric();
    s.has_tcp_metric = true;
    TcpMetric& m = s.tcp_metric;
    m.ab_syn_start = t.absynstart();
    m.ba_syn_start = t.basynstart();
    m.ab_syn_ttl = t.absynttl();
    m.ba_syn_ttl = t.basynttl();
    m.ab_fin_start = t.abfinstart();
    m.ba_fin_start = t.bafinstart();
    m.ab_rst_start = t.abrststart();
    m.ba_rst_start = t.barststart();
    // Fields 9-36: optional, in kTcpMetricNames order.
    const google::protobuf::Reflection* r = t.GetReflection();
    const google::protobuf::Descriptor* d = t.GetDescriptor();
    for (int i = kTcpMetricFlagFields; i < kTcpMetricFields; ++i) {
      if (r->HasField(t, d->FindFieldByNumber(i + 1)))
        SetTcpMetricValue(&m, i, r->GetInt64(t, d->FindFieldByNumber(i + 1)));
    }
  }
  if (f.has_ipmetric()) {
    s.has_ip_metric = true;
    s.ip_metric = IpMetric{f.ipmetric().fragments(), f.ipmetric().fragmenterrors()};
  }
  if (f.has_scaledmetric()) {
    const v1::ScaledMetric& m = f.scaledmetric();
    s.has_scaled_metric = true;
    s.scaled_metric =
        ScaledMetric{m.abpackets(), m.abbytes(), m.bapackets(), m.babytes(), m.samplingrate()};
  }
  s.raw_packets_captured = f.rawpacketscaptured();
  std::strncpy(s.community_id, f.communityid().c_str(), sizeof(s.community_id) - 1);
  AppMeta app;
  SKYPROBE_RETURN_IF_ERROR(AppFromProto(f, &app));
  if (app.kind != AppKind::kNone) *s.app.Storage() = app;
  return absl::OkStatus();
}

}  // namespace skyprobe::ctl
