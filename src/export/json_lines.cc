#include "export/json_lines.h"

#include <charconv>
#include <cstring>

#include <cstdint>

#include "export/internal/json_writer.h"
#include "record/flow_format.h"

namespace skyprobe {
namespace {

using export_internal::Writer;

// Length of the valid UTF-8 sequence at the start of `s`, 0 if invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view s) {
  const auto b0 = static_cast<uint8_t>(s[0]);
  size_t len;
  uint32_t min;
  uint32_t cp;
  if (b0 < 0x80) return 1;
  if ((b0 & 0xe0) == 0xc0) {
    len = 2, min = 0x80, cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3, min = 0x800, cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4, min = 0x10000, cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    const auto b = static_cast<uint8_t>(s[i]);
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

void WriteMetric(std::string_view key, const FlowMetric& m, Writer* w) {
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
  // latency once measured.
  int64_t v = 0;
  for (int i = kTcpMetricFlagFields; i < kTcpMetricFields; ++i) {
    if (TcpMetricValue(m, i, &v)) w->Int(kTcpMetricNames[i], v);
  }
  w->Close();
}

}  // namespace

void AppendJsonString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    // Copy the longest run that needs no escaping in one append.
    size_t j = i;
    while (j < text.size()) {
      const auto c = static_cast<uint8_t>(text[j]);
      if (c < 0x20 || c == '"' || c == '\\') break;
      if (c >= 0x80) {
        const size_t n = Utf8SequenceLength(text.substr(j));
        if (n == 0) break;
        j += n;
      } else {
        ++j;
      }
    }
    out->append(text.data() + i, j - i);
    if (j == text.size()) break;
    const auto c = static_cast<uint8_t>(text[j]);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0x0f]};
          out->append(esc, sizeof(esc));
        } else {
          out->append("\\ufffd");  // one invalid UTF-8 byte
        }
    }
    i = j + 1;
  }
  out->push_back('"');
}

void AppendFlowJson(const FlowSnapshot& s, const JsonContext& ctx, std::string* out) {
  Writer w(out);
  w.Open();
  w.Enum("Event", FlowEventName(s.event));
  w.Enum("ExpireReason", ExpireReasonName(s.expire_reason));
  w.Hex("UUID", s.uuid);
  if (s.num_layers != 0) {
    w.Key("LayersPath");
    out->push_back('"');
    AppendLayersPath(s, out);  // gopacket layer names: ASCII, nothing to escape
    out->push_back('"');
    w.String("Application", ApplicationName(s));
  }
  if (s.has_parent) {
    w.Hex("ParentUUID", s.parent_uuid);
  } else {
    w.String("ParentUUID", "");  // always present (Skydive's rule)
  }
  w.Int("Start", s.start);
  w.Int("Last", s.last);

  if (s.has_link) {
    w.ObjectKey("Link");
    w.Enum("Protocol", "ETHERNET");
    w.Key("A");
    out->push_back('"');
    AppendMac(s.link_a, out);
    out->push_back('"');
    w.Key("B");
    out->push_back('"');
    AppendMac(s.link_b, out);
    out->push_back('"');
    w.Int("ID", s.link_id);
    w.Close();
  }
  if (s.ip_version == 4 || s.ip_version == 6) {
    w.ObjectKey("Network");
    w.Enum("Protocol", s.ip_version == 4 ? "IPV4" : "IPV6");
    w.Key("A");
    out->push_back('"');
    AppendIp(s.ip_version, s.network_a, out);
    out->push_back('"');
    w.Key("B");
    out->push_back('"');
    AppendIp(s.ip_version, s.network_b, out);
    out->push_back('"');
    w.Int("ID", s.network_id);
    w.Close();
  }
  if (s.transport != FlowProtocol::kEthernet) {
    w.ObjectKey("Transport");
    w.Enum("Protocol", FlowProtocolName(s.transport));
    w.Int("A", s.transport_a);
    w.Int("B", s.transport_b);
    w.Int("ID", 0);
    w.Close();
  }
  if (s.icmp_version != 0) {
    w.ObjectKey("ICMP");
    w.Enum("Type", IcmpTypeName(s.icmp_type));
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
    w.Enum("FinishType", FinishTypeName(s.finish_type));
  }
  w.StringIfNonEmpty("CommunityID", CommunityId(s));
  export_internal::WriteAppJson(s.app.value(), &w);
  w.Close();
  out->push_back('\n');
}

}  // namespace skyprobe
