// json_lines.cc: AppendFlowJson, a FlowSnapshot as one JSON line, through
// the buffered Writer (internal/json_writer.h); field order and omission
// rules in json_lines.h.
#include "export/json_lines.h"

#include <cstdint>
#include <cstring>

#include "export/internal/json_writer.h"
#include "record/flow_format.h"

namespace skyprobe {
namespace {

using export_internal::QuotedName;
using export_internal::QuotedNameOf;
using export_internal::Writer;

std::string_view LayerNameView(Layer l) { return LayerName(l); }
std::string_view NetworkProtocolName(uint8_t ip_version) {
  return ip_version == 4 ? "IPV4" : "IPV6";
}

const QuotedName& LayerToken(Layer l) { return QuotedNameOf<Layer, LayerNameView>(l); }

// "Ethernet/IPv4/TCP" in quotes; layer names are ASCII, nothing to escape.
void WriteLayersPath(const FlowSnapshot& s, Writer* w) {
  const int n = s.num_layers < kMaxLayers ? s.num_layers : kMaxLayers;
  char* p = w->Room(2 + kMaxLayers * QuotedName::kCopySize);
  *p++ = '"';
  for (int i = 0; i < n; ++i) {
    if (i != 0) *p++ = '/';
    const QuotedName& name = LayerToken(s.layers[i]);
    std::memcpy(p, name.bytes + 1, QuotedName::kCopySize - 1);  // the name without its quotes
    p += name.size - 2;
  }
  *p++ = '"';
  w->Advance(p);
}

template <size_t N>
void WriteMetric(const char (&key)[N], const FlowMetric& m, Writer* w) {
  w->ObjectKey(key);
  w->Int("ABPackets", m.ab_packets);
  w->Int("ABBytes", m.ab_bytes);
  w->Int("BAPackets", m.ba_packets);
  w->Int("BABytes", m.ba_bytes);
  w->Int("Start", m.start);
  w->Int("Last", m.last);
  w->IntIfNonZero("RTT", m.rtt);
  w->Close();
}

void WriteTcpMetric(const TcpMetric& m, Writer* w) {
  w->ObjectKey("TCPMetric");
  // The 8 flag fields of kTcpMetricNames, keys as literals.
  w->Int("ABSynStart", m.ab_syn_start);
  w->Int("BASynStart", m.ba_syn_start);
  w->IntIfNonZero("ABSynTTL", m.ab_syn_ttl);
  w->IntIfNonZero("BASynTTL", m.ba_syn_ttl);
  w->Int("ABFinStart", m.ab_fin_start);
  w->Int("BAFinStart", m.ba_fin_start);
  w->Int("ABRstStart", m.ab_rst_start);
  w->Int("BARstStart", m.ba_rst_start);
  // Stream and health counters: all of a group (even 0, Skydive's rule for
  // int64 fields) when its option is on, none when it is off; a handshake
  // latency once measured. Without either option TcpMetricValue has nothing
  // past the flags: skip its calls.
  if (m.has_stream || m.has_health) {
    int64_t v = 0;
    const int first = m.has_stream ? kTcpMetricStreamFirst : kTcpMetricHealthFirst;
    for (int i = first; i < kTcpMetricFields; ++i) {
      if (TcpMetricValue(m, i, &v)) w->Int(kTcpMetricNames[i], v);
    }
  }
  w->Close();
}

}  // namespace

void AppendFlowJson(const FlowSnapshot& s, const JsonContext& ctx, std::string* out) {
  Writer w(out);
  w.Open();
  w.Enum("Event", QuotedNameOf<FlowEvent, FlowEventName>(s.event));
  w.Enum("ExpireReason", QuotedNameOf<ExpireReason, ExpireReasonName>(s.expire_reason));
  w.Hex("UUID", s.uuid);
  if (s.num_layers != 0) {
    w.Key("LayersPath");
    WriteLayersPath(s, &w);
    const int last = (s.num_layers < kMaxLayers ? s.num_layers : kMaxLayers) - 1;
    w.Enum("Application", LayerToken(s.layers[last]));  // ApplicationName(s), ASCII
  }
  if (s.has_parent) {
    w.Hex("ParentUUID", s.parent_uuid);
  } else {
    w.Enum("ParentUUID", "");  // always present (Skydive's rule)
  }
  w.Int("Start", s.start);
  w.Int("Last", s.last);

  if (s.has_link) {
    w.ObjectKey("Link");
    w.Enum("Protocol", "ETHERNET");
    w.Mac("A", s.link_a);
    w.Mac("B", s.link_b);
    w.Int("ID", s.link_id);
    w.Close();
  }
  if (s.ip_version == 4 || s.ip_version == 6) {
    w.ObjectKey("Network");
    w.Enum("Protocol", NetworkProtocolName(s.ip_version));
    w.Ip("A", s.ip_version, s.network_a);
    w.Ip("B", s.ip_version, s.network_b);
    w.Int("ID", s.network_id);
    w.Close();
  }
  if (s.transport != FlowProtocol::kEthernet) {
    w.ObjectKey("Transport");
    w.Enum("Protocol", QuotedNameOf<FlowProtocol, FlowProtocolName>(s.transport));
    w.Int("A", s.transport_a);
    w.Int("B", s.transport_b);
    w.Int("ID", 0);
    w.Close();
  }
  if (s.icmp_version != 0) {
    w.ObjectKey("ICMP");
    w.Enum("Type", QuotedNameOf<IcmpType, IcmpTypeName>(s.icmp_type));
    w.IntIfNonZero("Code", s.icmp_code);
    w.IntIfNonZero("ID", s.icmp_id);
    w.Close();
  }
  if (s.has_last_update_metric) WriteMetric("LastUpdateMetric", s.last_update_metric, &w);
  WriteMetric("Metric", s.metric, &w);
  w.StringIfNonEmpty("NodeTID", RecordNodeTid(s, ctx.node_tid, ctx.points.get()));
  w.StringIfNonEmpty("CaptureID", RecordCaptureId(s, ctx.capture_id, ctx.points.get()));
  w.Int("RawPacketsCaptured", s.raw_packets_captured);
  if (s.has_tcp_metric) WriteTcpMetric(s.tcp_metric, &w);
  if (s.has_ip_metric) {
    w.ObjectKey("IPMetric");
    w.Int("Fragments", s.ip_metric.fragments);
    w.Int("FragmentErrors", s.ip_metric.fragment_errors);
    w.Close();
  }
  if (s.has_scaled_metric) {
    w.ObjectKey("ScaledMetric");
    w.Int("ABPackets", s.scaled_metric.ab_packets);
    w.Int("ABBytes", s.scaled_metric.ab_bytes);
    w.Int("BAPackets", s.scaled_metric.ba_packets);
    w.Int("BABytes", s.scaled_metric.ba_bytes);
    w.Int("SamplingRate", s.scaled_metric.sampling_rate);
    w.Close();
  }
  w.Hex("TrackingID", s.tracking_id);
  w.Hex("L3TrackingID", s.l3_tracking_id);
  if (s.finish_type != FinishType::kNotFinished) {
    w.Enum("FinishType", QuotedNameOf<FinishType, FinishTypeName>(s.finish_type));
  }
  w.StringIfNonEmpty("CommunityID", CommunityId(s));
  export_internal::WriteAppJson(s.app.value(), &w);
  w.Close();
  w.Newline();
  w.Finish();
}

}  // namespace skyprobe
