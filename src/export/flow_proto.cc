#include "export/flow_proto.h"

#include <string>

#include "export/internal/flow_proto_app.h"
#include "record/flow_format.h"

namespace skyprobe {
namespace {

namespace pb = ::skyprobe::v1;

// The snapshot enums carry the proto numbers, so conversion is a cast.
static_assert(static_cast<int>(FlowProtocol::kIcmpv6) == pb::ICMPV6);
static_assert(static_cast<int>(FlowProtocol::kIpv6) == pb::IPV6);
static_assert(static_cast<int>(FlowProtocol::kSctp) == pb::SCTP);
static_assert(static_cast<int>(IcmpType::kPacketTooBig) == pb::PACKET_TOO_BIG);
static_assert(static_cast<int>(IcmpType::kTimestamp) == pb::TIMESTAMP);
static_assert(static_cast<int>(FinishType::kTcpRst) == pb::TCP_RST);
static_assert(static_cast<int>(FinishType::kTimeout) == pb::TIMEOUT);
static_assert(static_cast<int>(FlowEvent::kExpire) == pb::Flow::EXPIRE);
static_assert(static_cast<int>(ExpireReason::kFlush) == pb::Flow::FLUSH);
static_assert(static_cast<int>(ExpireReason::kTcpClosed) == pb::Flow::TCP_CLOSED);

std::string Hex(uint64_t v) {
  std::string s;
  AppendHex(v, &s);
  return s;
}

void FillMetric(const FlowMetric& m, pb::FlowMetric* out) {
  out->set_abpackets(m.ab_packets);
  out->set_abbytes(m.ab_bytes);
  out->set_bapackets(m.ba_packets);
  out->set_babytes(m.ba_bytes);
  out->set_start(m.start);
  out->set_last(m.last);
  out->set_rtt(m.rtt);
}

}  // namespace

void ToProto(const FlowSnapshot& s, const JsonContext& ctx, pb::Flow* out) {
  out->Clear();
  out->set_event(static_cast<pb::Flow::FlowEvent>(s.event));
  out->set_expirereason(static_cast<pb::Flow::FlowExpireReason>(s.expire_reason));
  out->set_uuid(Hex(s.uuid));
  if (s.num_layers != 0) {
    AppendLayersPath(s, out->mutable_layerspath());
    out->set_application(std::string(ApplicationName(s)));
  }
  if (s.has_parent) out->set_parentuuid(Hex(s.parent_uuid));
  out->set_start(s.start);
  out->set_last(s.last);

  if (s.has_link) {
    pb::FlowLayer* link = out->mutable_link();
    link->set_protocol(pb::ETHERNET);
    AppendMac(s.link_a, link->mutable_a());
    AppendMac(s.link_b, link->mutable_b());
    link->set_id(s.link_id);
  }
  if (s.ip_version == 4 || s.ip_version == 6) {
    pb::FlowLayer* net = out->mutable_network();
    net->set_protocol(s.ip_version == 4 ? pb::IPV4 : pb::IPV6);
    AppendIp(s.ip_version, s.network_a, net->mutable_a());
    AppendIp(s.ip_version, s.network_b, net->mutable_b());
    net->set_id(s.network_id);
  }
  if (s.transport != FlowProtocol::kEthernet) {
    pb::TransportLayer* tr = out->mutable_transport();
    tr->set_protocol(static_cast<pb::FlowProtocol>(s.transport));
    tr->set_a(s.transport_a);
    tr->set_b(s.transport_b);
  }
  if (s.icmp_version != 0) {
    pb::ICMPLayer* icmp = out->mutable_icmp();
    icmp->set_type(static_cast<pb::ICMPType>(s.icmp_type));
    icmp->set_code(s.icmp_code);
    icmp->set_id(s.icmp_id);
  }
  if (s.has_last_update_metric) FillMetric(s.last_update_metric, out->mutable_lastupdatemetric());
  FillMetric(s.metric, out->mutable_metric());
  out->set_nodetid(std::string(RecordNodeTid(s, ctx.node_tid, ctx.points.get())));
  out->set_captureid(std::string(RecordCaptureId(s, ctx.capture_id, ctx.points.get())));
  out->set_rawpacketscaptured(s.raw_packets_captured);
  if (s.has_tcp_metric) {
    const TcpMetric& m = s.tcp_metric;
    pb::TCPMetric* tcp = out->mutable_tcpmetric();
    tcp->set_absynstart(m.ab_syn_start);
    tcp->set_basynstart(m.ba_syn_start);
    tcp->set_absynttl(m.ab_syn_ttl);
    tcp->set_basynttl(m.ba_syn_ttl);
    tcp->set_abfinstart(m.ab_fin_start);
    tcp->set_bafinstart(m.ba_fin_start);
    tcp->set_abrststart(m.ab_rst_start);
    tcp->set_barststart(m.ba_rst_start);
    // Fields 9-36 are optional int64 in kTcpMetricNames order (flow_proto_test
    // checks the names against the descriptor): set those the record carries.
    const google::protobuf::Reflection* r = tcp->GetReflection();
    const google::protobuf::Descriptor* d = tcp->GetDescriptor();
    int64_t v = 0;
    for (int i = kTcpMetricFlagFields; i < kTcpMetricFields; ++i) {
      if (TcpMetricValue(m, i, &v)) r->SetInt64(tcp, d->FindFieldByNumber(i + 1), v);
    }
  }
  if (s.has_ip_metric) {
    out->mutable_ipmetric()->set_fragments(s.ip_metric.fragments);
    out->mutable_ipmetric()->set_fragmenterrors(s.ip_metric.fragment_errors);
  }
  if (s.has_scaled_metric) {
    pb::ScaledMetric* m = out->mutable_scaledmetric();
    m->set_abpackets(s.scaled_metric.ab_packets);
    m->set_abbytes(s.scaled_metric.ab_bytes);
    m->set_bapackets(s.scaled_metric.ba_packets);
    m->set_babytes(s.scaled_metric.ba_bytes);
    m->set_samplingrate(s.scaled_metric.sampling_rate);
  }
  out->set_trackingid(Hex(s.tracking_id));
  out->set_l3trackingid(Hex(s.l3_tracking_id));
  out->set_finishtype(static_cast<pb::FlowFinishType>(s.finish_type));
  out->set_communityid(std::string(CommunityId(s)));
  export_internal::FillAppProto(s.app.value(), out);
}

}  // namespace skyprobe
