#include "export/ipfix/record_encoder.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include "record/flow_format.h"

namespace skyprobe::ipfix {
namespace {

const Ie& IanaIeOf(FieldKind k) {
  switch (k) {
    case FieldKind::kFlowId:
      return ie::kFlowId;
    case FieldKind::kFlowStart:
      return ie::kFlowStartMilliseconds;
    case FieldKind::kFlowEnd:
      return ie::kFlowEndMilliseconds;
    case FieldKind::kOctets:
      return ie::kOctetDeltaCount;
    case FieldKind::kPackets:
      return ie::kPacketDeltaCount;
    case FieldKind::kReverseOctets:
      return ie::kReverseOctetDeltaCount;
    case FieldKind::kReversePackets:
      return ie::kReversePacketDeltaCount;
    case FieldKind::kFlowEndReason:
      return ie::kFlowEndReason;
    case FieldKind::kIngressInterface:
      return ie::kIngressInterface;
    case FieldKind::kInterfaceName:
      return ie::kInterfaceName;
    case FieldKind::kIpVersion:
      return ie::kIpVersion;
    case FieldKind::kProtocol:
      return ie::kProtocolIdentifier;
    case FieldKind::kSourceIpv4:
      return ie::kSourceIPv4Address;
    case FieldKind::kDestinationIpv4:
      return ie::kDestinationIPv4Address;
    case FieldKind::kSourceIpv6:
      return ie::kSourceIPv6Address;
    case FieldKind::kDestinationIpv6:
      return ie::kDestinationIPv6Address;
    case FieldKind::kSourcePort:
      return ie::kSourceTransportPort;
    case FieldKind::kDestinationPort:
      return ie::kDestinationTransportPort;
    case FieldKind::kTcpFlags:
      return ie::kTcpControlBits;
    case FieldKind::kReverseTcpFlags:
      return ie::kReverseTcpControlBits;
    case FieldKind::kIcmpTypeCodeIpv4:
      return ie::kIcmpTypeCodeIPv4;
    case FieldKind::kIcmpTypeCodeIpv6:
      return ie::kIcmpTypeCodeIPv6;
    case FieldKind::kSourceMac:
      return ie::kSourceMacAddress;
    case FieldKind::kDestinationMac:
      return ie::kDestinationMacAddress;
    case FieldKind::kVlanId:
      return ie::kVlanId;
    case FieldKind::kCustomerVlanId:
      return ie::kDot1qCustomerVlanId;
    case FieldKind::kLayer2SegmentId:
      return ie::kLayer2SegmentId;
    case FieldKind::kMplsLabel1:
      return ie::kMplsTopLabelStackSection;
    case FieldKind::kMplsLabel2:
      return ie::kMplsLabelStackSection2;
    case FieldKind::kMplsLabel3:
      return ie::kMplsLabelStackSection3;
    case FieldKind::kHttpRequestMethod:
      return ie::kHttpRequestMethod;
    case FieldKind::kHttpRequestHost:
      return ie::kHttpRequestHost;
    default:
      return ie::kGreKey;
  }
}

static_assert(kMaxMplsEntries == 3, "a FieldKind and a shape bit per label stack entry");

bool IsEnterprise(FieldKind k) { return k >= FieldKind::kTrackingId; }
const EnterpriseIe& EnterpriseIeOf(FieldKind k) {
  return kEnterpriseElements[static_cast<int>(k) - static_cast<int>(FieldKind::kTrackingId)];
}

// The bytes a field takes in a record at least: its length, a string its
// one length octet.
size_t FieldBytes(FieldKind k) {
  const uint16_t len = IsEnterprise(k) ? EnterpriseIeOf(k).length : IanaIeOf(k).length;
  return len == kVariableLength ? 1 : len;
}

// The tunnel header that gave the flow its Network.ID (the last one in its
// path: a sub-packet ends at its tunnel header).
Layer TunnelOf(const FlowSnapshot& s) {
  for (int i = s.num_layers - 1; i >= 0; --i) {
    const Layer l = s.layers[i];
    if (l == Layer::kVxlan || l == Layer::kGeneve || l == Layer::kGre) return l;
  }
  return Layer::kCount;
}

int VlanTags(const FlowSnapshot& s) {
  int n = 0;
  for (int i = 0; i < s.num_layers; ++i) n += s.layers[i] == Layer::kDot1Q;
  return n;
}

// Variable-length field (RFC 7011 §7): one length octet below 255, else
// 255 and two length octets.
uint8_t* PutString(uint8_t* p, std::string_view v) {
  const size_t n = std::min(v.size(), kMaxStringBytes);
  if (n < 255) {
    *p++ = static_cast<uint8_t>(n);
  } else {
    *p++ = 255;
    p = Put16(p, static_cast<uint16_t>(n));
  }
  return PutBytes(p, v.data(), n);
}

// A string in at most `room` bytes, its length octets included (room >= 1);
// `*cut` set when it had to be shortened.
uint8_t* PutStringWithin(uint8_t* p, std::string_view v, size_t room, bool* cut) {
  size_t n = std::min(v.size(), kMaxStringBytes);
  if (n + (n < 255 ? 1 : 3) > room) {
    n = room >= 258 ? room - 3 : std::min<size_t>(room - 1, 254);
    *cut = true;
  }
  return PutString(p, v.substr(0, n));
}

// Shape bits of a record's application metadata.
Shape AppShapeOf(const AppValues& v) {
  Shape sh = 0;
  if (!v.http_method.empty()) sh |= shape::kHttpMethod;
  if (!v.http_host.empty()) sh |= shape::kHttpHost;
  if (v.tls) sh |= shape::kTlsVersion;
  if (!v.sni.empty()) sh |= shape::kTlsSni;
  if (!v.alpn.empty()) sh |= shape::kTlsAlpn;
  if (!v.ja4.empty()) sh |= shape::kTlsFingerprints;
  if (v.dns_question) sh |= shape::kDnsQuestion;
  if (v.dns_rcode) sh |= shape::kDnsRcode;
  return sh;
}

// IPFIX counters are unsigned; the table's never go negative, but a
// corrupted delta must not become 2^64 - 1.
uint64_t Counter(int64_t v) { return v > 0 ? static_cast<uint64_t>(v) : 0; }

// The TCP health counter a field names (kAbRetransmissions ... kBaZeroWindows:
// AB then BA for each counter, in TcpHealthCounter's order).
int64_t HealthCounter(const TcpMetric& t, FieldKind k) {
  const int i = static_cast<int>(k) - static_cast<int>(FieldKind::kAbRetransmissions);
  return TcpHealthCounter(i % 2 == 0 ? t.ab_health : t.ba_health, i / 2);
}

}  // namespace

FlowEndReason EndReasonOf(const FlowSnapshot& s) {
  if (s.event == FlowEvent::kUpdate) return FlowEndReason::kActiveTimeout;
  switch (s.expire_reason) {
    case ExpireReason::kIdle:
      return FlowEndReason::kIdleTimeout;
    case ExpireReason::kTcpClosed:
      return FlowEndReason::kEndOfFlow;
    case ExpireReason::kEvicted:
      return FlowEndReason::kLackOfResources;
    default:
      return FlowEndReason::kForcedEnd;
  }
}

uint8_t ProtocolOf(const FlowSnapshot& s) {
  switch (s.transport) {
    case FlowProtocol::kTcp:
      return 6;
    case FlowProtocol::kUdp:
      return 17;
    case FlowProtocol::kSctp:
      return 132;
    default:
      break;
  }
  if (s.icmp_version == 4) return 1;
  if (s.icmp_version == 6) return 58;
  // GRE right after the IP header (IPv6 extension headers in between).
  bool after_ip = false;
  for (int i = 0; i < s.num_layers; ++i) {
    const Layer l = s.layers[i];
    if (l == Layer::kIpv4 || l == Layer::kIpv6) {
      after_ip = true;
    } else if (after_ip && l == Layer::kGre) {
      return 47;
    } else if (after_ip && l != Layer::kIpv6HopByHop && l != Layer::kIpv6Routing &&
               l != Layer::kIpv6Destination) {
      break;
    }
  }
  return 0;
}

Shape BaseShapeOf(const FlowSnapshot& s, const EncoderOptions& o) {
  Shape sh = 0;
  if (s.ip_version == 4) sh |= shape::kIpv4;
  if (s.ip_version == 6) sh |= shape::kIpv6;
  if (s.ip_version != 0 && ProtocolOf(s) != 0) sh |= shape::kProtocol;
  if (s.has_link) sh |= shape::kLink;
  if (s.transport == FlowProtocol::kTcp || s.transport == FlowProtocol::kUdp ||
      s.transport == FlowProtocol::kSctp) {
    sh |= shape::kPorts;
  }
  if (s.transport == FlowProtocol::kTcp) sh |= shape::kTcp;
  if (s.has_icmp_raw_type && s.icmp_version == 4) sh |= shape::kIcmpv4;
  if (s.has_icmp_raw_type && s.icmp_version == 6) sh |= shape::kIcmpv6;
  const int tags = VlanTags(s);
  if (tags >= 1) sh |= shape::kVlan;
  if (tags >= 2) sh |= shape::kQinQ;
  const Layer tunnel = TunnelOf(s);
  if (tunnel == Layer::kVxlan || tunnel == Layer::kGeneve) sh |= shape::kSegment;
  // A GRE header without the key bit leaves Network.ID at 0: no key to send.
  if (tunnel == Layer::kGre && s.network_id != 0) sh |= shape::kGre;
  if (s.mpls_count >= 1) sh |= shape::kMpls1;
  if (s.mpls_count >= 2) sh |= shape::kMpls2;
  if (s.mpls_count >= 3) sh |= shape::kMpls3;
  if (s.input != 0) sh |= shape::kInput;
  if (!RecordCaptureId(s, "", o.points.get()).empty()) sh |= shape::kCaptureId;
  if (o.uniflow) sh |= shape::kUniflow;
  if (o.pen != 0) {
    sh |= shape::kEnterprise;
    if (s.has_parent) sh |= shape::kParent;
    if (s.metric.rtt != 0) sh |= shape::kRtt;
    if (!RecordNodeTid(s, o.node_tid, o.points.get()).empty()) sh |= shape::kNodeTid;
    if (s.community_id[0] != '\0') sh |= shape::kCommunityId;
    if (s.has_tcp_metric && s.tcp_metric.has_health) {
      sh |= shape::kTcpHealth;
      if (s.tcp_metric.server_handshake_us >= 0) sh |= shape::kServerHandshake;
      if (s.tcp_metric.client_handshake_us >= 0) sh |= shape::kClientHandshake;
    }
  }
  return sh;
}

std::vector<FieldKind> FieldsOf(Shape sh) {
  using K = FieldKind;
  const bool uni = (sh & shape::kUniflow) != 0;
  std::vector<FieldKind> f = {K::kFlowId, K::kFlowStart, K::kFlowEnd, K::kOctets, K::kPackets};
  if (!uni) {
    f.push_back(K::kReverseOctets);
    f.push_back(K::kReversePackets);
  }
  f.push_back(K::kFlowEndReason);
  auto add = [&](Shape bit, std::initializer_list<FieldKind> kinds) {
    if ((sh & bit) == 0) return;
    for (const FieldKind k : kinds) f.push_back(k);
  };
  add(shape::kInput, {K::kIngressInterface});
  add(shape::kCaptureId, {K::kInterfaceName});
  add(shape::kIpv4 | shape::kIpv6, {K::kIpVersion});
  add(shape::kProtocol, {K::kProtocol});
  add(shape::kIpv4, {K::kSourceIpv4, K::kDestinationIpv4});
  add(shape::kIpv6, {K::kSourceIpv6, K::kDestinationIpv6});
  add(shape::kPorts, {K::kSourcePort, K::kDestinationPort});
  add(shape::kTcp, {K::kTcpFlags});
  if (!uni) add(shape::kTcp, {K::kReverseTcpFlags});
  add(shape::kIcmpv4, {K::kIcmpTypeCodeIpv4});
  add(shape::kIcmpv6, {K::kIcmpTypeCodeIpv6});
  add(shape::kLink, {K::kSourceMac, K::kDestinationMac});
  add(shape::kVlan, {K::kVlanId});
  add(shape::kQinQ, {K::kCustomerVlanId});
  add(shape::kSegment, {K::kLayer2SegmentId});
  add(shape::kGre, {K::kGreKey});
  add(shape::kMpls1, {K::kMplsLabel1});
  add(shape::kMpls2, {K::kMplsLabel2});
  add(shape::kMpls3, {K::kMplsLabel3});
  add(shape::kEnterprise, {K::kTrackingId, K::kL3TrackingId});
  add(shape::kParent, {K::kParentUuid});
  add(shape::kRtt, {K::kRtt});
  add(shape::kEnterprise, {K::kLayersPath, K::kApplication});
  add(shape::kNodeTid, {K::kNodeTid});
  add(shape::kCommunityId, {K::kCommunityId});
  add(shape::kTcpHealth,
      {K::kAbRetransmissions, K::kBaRetransmissions, K::kAbFastRetransmissions,
       K::kBaFastRetransmissions, K::kAbOutOfOrder, K::kBaOutOfOrder, K::kAbLostSegments,
       K::kBaLostSegments, K::kAbDupAcks, K::kBaDupAcks, K::kAbZeroWindows, K::kBaZeroWindows});
  add(shape::kServerHandshake, {K::kServerHandshakeLatency});
  add(shape::kClientHandshake, {K::kClientHandshakeLatency});
  // The application metadata last, fixed sizes before strings (the strings
  // share what room the record has left: AppendRecord).
  add(shape::kHttpMethod, {K::kHttpRequestMethod});
  add(shape::kHttpHost, {K::kHttpRequestHost});
  add(shape::kTlsVersion, {K::kTlsVersion});
  add(shape::kTlsSni, {K::kTlsSni});
  add(shape::kTlsAlpn, {K::kTlsAlpn});
  add(shape::kTlsFingerprints, {K::kTlsJa3, K::kTlsJa4});
  add(shape::kDnsQuestion, {K::kDnsQueryType});
  add(shape::kDnsRcode, {K::kDnsResponseCode});
  add(shape::kDnsQuestion, {K::kDnsQueryName});
  return f;
}

void ReverseOf(const FlowSnapshot& s, FlowSnapshot* r) {
  *r = s;
  std::memcpy(r->network_a, s.network_b, sizeof(r->network_a));
  std::memcpy(r->network_b, s.network_a, sizeof(r->network_b));
  std::memcpy(r->link_a, s.link_b, sizeof(r->link_a));
  std::memcpy(r->link_b, s.link_a, sizeof(r->link_b));
  r->transport_a = s.transport_b;
  r->transport_b = s.transport_a;
  r->tcp_flags_ab = s.tcp_flags_ba;
  r->tcp_flags_ba = s.tcp_flags_ab;
  std::swap(r->tcp_metric.ab_health, r->tcp_metric.ba_health);
  std::swap(r->tcp_metric.ab_stream, r->tcp_metric.ba_stream);
  for (FlowMetric* m : {&r->metric, &r->last_update_metric}) {
    std::swap(m->ab_packets, m->ba_packets);
    std::swap(m->ab_bytes, m->ba_bytes);
  }
  // The other half of the first packet's request/reply pair (ICMPv4 echo,
  // timestamp, information, address mask; ICMPv6 echo): its type, code 0.
  int other = -1;
  if (s.has_icmp_raw_type && s.icmp_version == 4) {
    switch (s.icmp_raw_type) {
      case 8:
        other = 0;
        break;
      case 0:
        other = 8;
        break;
      case 13:
      case 15:
      case 17:
        other = s.icmp_raw_type + 1;
        break;
      case 14:
      case 16:
      case 18:
        other = s.icmp_raw_type - 1;
        break;
      default:
        break;
    }
  } else if (s.has_icmp_raw_type && s.icmp_version == 6) {
    if (s.icmp_raw_type == 128) other = 129;
    if (s.icmp_raw_type == 129) other = 128;
  }
  r->has_icmp_raw_type = other >= 0;
  r->icmp_raw_type = other >= 0 ? static_cast<uint8_t>(other) : 0;
  r->icmp_code = 0;
}

RecordEncoder::RecordEncoder(EncoderOptions o) : opts_(std::move(o)) { scratch_.reserve(512); }

void RecordEncoder::AppendPreamble(ByteBuffer* out) const {
  if (opts_.pen == 0) return;
  // RFC 5610 §3.9: an options template scoped on (PEN, element id), then one
  // record per element naming its type, semantics, units and name. The
  // range (0, 0: none) is there because libfixbuf's readers
  // (ipfixDump --rfc5610) recognise type records only with it.
  uint8_t* p = BeginEntry(out, kOptionsTemplateSetId, 64, true);
  const Ie* scope[] = {&ie::kPrivateEnterpriseNumber, &ie::kInformationElementId};
  const Ie* fields[] = {&ie::kInformationElementDataType,   &ie::kInformationElementSemantics,
                        &ie::kInformationElementUnits,      &ie::kInformationElementRangeBegin,
                        &ie::kInformationElementRangeEnd,   &ie::kInformationElementName,
                        &ie::kInformationElementDescription};
  p = Put16(p, kTypeInfoTemplateId);
  p = Put16(p, 9);
  p = Put16(p, 2);
  for (const Ie* e : scope) p = Put16(Put16(p, e->id), e->length);
  for (const Ie* e : fields) p = Put16(Put16(p, e->id), e->length);
  EndEntry(out, p);
  for (const EnterpriseIe& e : kEnterpriseElements) {
    p = BeginEntry(out, kTypeInfoTemplateId, 32 + 3 + e.name.size() + 3 + e.description.size(),
                   true);
    p = Put32(p, opts_.pen);
    p = Put16(p, e.id);
    p = Put8(p, static_cast<uint8_t>(e.type));
    p = Put8(p, static_cast<uint8_t>(e.semantics));
    p = Put16(p, static_cast<uint16_t>(e.units));
    p = Put64(p, 0);
    p = Put64(p, 0);
    p = PutString(p, e.name);
    p = PutString(p, e.description);
    EndEntry(out, p);
  }
}

void RecordEncoder::AppendTemplate(const Template& t, ByteBuffer* out) const {
  uint8_t* p = BeginEntry(out, kTemplateSetId, 4 + 8 * t.fields.size(), true);
  p = Put16(p, t.id);
  p = Put16(p, static_cast<uint16_t>(t.fields.size()));
  for (const FieldKind k : t.fields) {
    if (IsEnterprise(k)) {
      const EnterpriseIe& e = EnterpriseIeOf(k);
      p = Put16(p, static_cast<uint16_t>(0x8000 | e.id));
      p = Put16(p, e.length);
      p = Put32(p, opts_.pen);
      continue;
    }
    const Ie& e = IanaIeOf(k);
    p = Put16(p, static_cast<uint16_t>(e.pen != 0 ? 0x8000 | e.id : e.id));
    p = Put16(p, e.length);
    if (e.pen != 0) p = Put32(p, e.pen);
  }
  EndEntry(out, p);
}

const RecordEncoder::Template& RecordEncoder::TemplateFor(Shape shape, ByteBuffer* out) {
  if (shape == last_shape_) return templates_[last_index_];
  auto it = index_.find(shape);
  uint32_t index;
  if (it == index_.end()) {
    index = static_cast<uint32_t>(templates_.size());
    Template t{shape, static_cast<uint16_t>(kFirstDataTemplateId + index), FieldsOf(shape), {}};
    t.min_after.assign(t.fields.size(), 0);
    for (size_t i = t.fields.size(); i-- > 1;) {
      t.min_after[i - 1] = static_cast<uint16_t>(t.min_after[i] + FieldBytes(t.fields[i]));
    }
    templates_.push_back(std::move(t));
    index_.emplace(shape, index);
    AppendTemplate(templates_.back(), out);
  } else {
    index = it->second;
  }
  last_shape_ = shape;
  last_index_ = index;
  return templates_[index];
}

void RecordEncoder::Append(const FlowSnapshot& s, ByteBuffer* out) {
  const FlowMetric& d = s.has_last_update_metric ? s.last_update_metric : s.metric;
  if (!opts_.uniflow || d.ba_packets <= 0) {
    AppendRecord(s, out, false);
    return;
  }
  // Uniflow with B to A packets: that direction too, as the companion of the
  // first (entry.h), right after it: its template (a new shape when the
  // reverse has no ICMP type) goes first.
  // The reverse has the same metadata (ReverseOf copies it).
  ReverseOf(s, &reverse_);
  TemplateFor(BaseShapeOf(reverse_, opts_) | ReadApp(s), out);
  AppendRecord(s, out, false);
  AppendRecord(reverse_, out, true);
}

Shape RecordEncoder::ReadApp(const FlowSnapshot& s) {
  // Off, app_ is left as it is: no field of a template reads it then.
  if (!opts_.app_metadata) return 0;
  ReadAppValues(s, opts_.pen != 0, &app_);
  return AppShapeOf(app_);
}

void RecordEncoder::AppendRecord(const FlowSnapshot& s, ByteBuffer* out, bool companion) {
  const Template& t = TemplateFor(BaseShapeOf(s, opts_) | ReadApp(s), out);
  const FlowMetric& d = s.has_last_update_metric ? s.last_update_metric : s.metric;
  uint8_t* const begin = BeginEntry(out, t.id, kMaxRecordBytes, false, companion);
  uint8_t* p = begin;
  bool cut = false;
  // A string's room: what the record has left less the least the fields
  // after it take (FieldBytes: a string at least its length octet).
  auto room = [&](size_t i) {
    return kMaxRecordBytes - static_cast<size_t>(p - begin) - t.min_after[i];
  };
  for (size_t i = 0; i < t.fields.size(); ++i) {
    const FieldKind k = t.fields[i];
    switch (k) {
      case FieldKind::kFlowId:
        p = Put64(p, s.uuid);
        break;
      case FieldKind::kFlowStart:
        p = Put64(p, Counter(s.start));
        break;
      case FieldKind::kFlowEnd:
        p = Put64(p, Counter(s.last));
        break;
      case FieldKind::kOctets:
        p = Put64(p, Counter(d.ab_bytes));
        break;
      case FieldKind::kPackets:
        p = Put64(p, Counter(d.ab_packets));
        break;
      case FieldKind::kReverseOctets:
        p = Put64(p, Counter(d.ba_bytes));
        break;
      case FieldKind::kReversePackets:
        p = Put64(p, Counter(d.ba_packets));
        break;
      case FieldKind::kFlowEndReason:
        p = Put8(p, static_cast<uint8_t>(EndReasonOf(s)));
        break;
      case FieldKind::kIngressInterface:
        p = Put32(p, s.input);
        break;
      case FieldKind::kInterfaceName:
        p = PutStringWithin(p, RecordCaptureId(s, "", opts_.points.get()), room(i), &cut);
        break;
      case FieldKind::kIpVersion:
        p = Put8(p, s.ip_version);
        break;
      case FieldKind::kProtocol:
        p = Put8(p, ProtocolOf(s));
        break;
      case FieldKind::kSourceIpv4:
        p = PutBytes(p, s.network_a, 4);
        break;
      case FieldKind::kDestinationIpv4:
        p = PutBytes(p, s.network_b, 4);
        break;
      case FieldKind::kSourceIpv6:
        p = PutBytes(p, s.network_a, 16);
        break;
      case FieldKind::kDestinationIpv6:
        p = PutBytes(p, s.network_b, 16);
        break;
      case FieldKind::kSourcePort:
        p = Put16(p, s.transport_a);
        break;
      case FieldKind::kDestinationPort:
        p = Put16(p, s.transport_b);
        break;
      case FieldKind::kTcpFlags:
        p = Put16(p, s.tcp_flags_ab);
        break;
      case FieldKind::kReverseTcpFlags:
        p = Put16(p, s.tcp_flags_ba);
        break;
      case FieldKind::kIcmpTypeCodeIpv4:
      case FieldKind::kIcmpTypeCodeIpv6:
        p = Put16(p, static_cast<uint16_t>(s.icmp_raw_type << 8 | s.icmp_code));
        break;
      case FieldKind::kSourceMac:
        p = PutBytes(p, s.link_a, 6);
        break;
      case FieldKind::kDestinationMac:
        p = PutBytes(p, s.link_b, 6);
        break;
      case FieldKind::kVlanId:  // Link.ID: 12 bits per tag, the outer tag lowest
        p = Put16(p, static_cast<uint16_t>(s.link_id & 0xFFF));
        break;
      case FieldKind::kCustomerVlanId:
        p = Put16(p, static_cast<uint16_t>((s.link_id >> 12) & 0xFFF));
        break;
      case FieldKind::kLayer2SegmentId: {
        // The top octet names the overlay (IANA: 0x01 VXLAN); Geneve has no
        // code there, so its VNI goes out with 0.
        const uint64_t type = TunnelOf(s) == Layer::kVxlan ? 0x01 : 0x00;
        p = Put64(p, type << 56 | (static_cast<uint64_t>(s.network_id) & 0xFFFFFF));
        break;
      }
      case FieldKind::kGreKey:
        p = Put32(p, static_cast<uint32_t>(s.network_id));
        break;
      case FieldKind::kMplsLabel1:
      case FieldKind::kMplsLabel2:
      case FieldKind::kMplsLabel3:
        p = PutBytes(p, s.mpls[static_cast<int>(k) - static_cast<int>(FieldKind::kMplsLabel1)], 3);
        break;
      case FieldKind::kTrackingId:
        p = Put64(p, s.tracking_id);
        break;
      case FieldKind::kL3TrackingId:
        p = Put64(p, s.l3_tracking_id);
        break;
      case FieldKind::kParentUuid:
        p = Put64(p, s.parent_uuid);
        break;
      case FieldKind::kRtt:
        p = Put64(p, Counter(s.metric.rtt));
        break;
      case FieldKind::kLayersPath:
        scratch_.clear();
        AppendLayersPath(s, &scratch_);
        p = PutStringWithin(p, scratch_, room(i), &cut);
        break;
      case FieldKind::kApplication:
        p = PutStringWithin(p, ApplicationName(s), room(i), &cut);
        break;
      case FieldKind::kNodeTid:
        p = PutStringWithin(p, RecordNodeTid(s, opts_.node_tid, opts_.points.get()), room(i), &cut);
        break;
      case FieldKind::kCommunityId:
        p = PutStringWithin(p, CommunityId(s), room(i), &cut);
        break;
      case FieldKind::kAbRetransmissions:
      case FieldKind::kBaRetransmissions:
      case FieldKind::kAbFastRetransmissions:
      case FieldKind::kBaFastRetransmissions:
      case FieldKind::kAbOutOfOrder:
      case FieldKind::kBaOutOfOrder:
      case FieldKind::kAbLostSegments:
      case FieldKind::kBaLostSegments:
      case FieldKind::kAbDupAcks:
      case FieldKind::kBaDupAcks:
      case FieldKind::kAbZeroWindows:
      case FieldKind::kBaZeroWindows:
        p = Put64(p, Counter(HealthCounter(s.tcp_metric, k)));
        break;
      case FieldKind::kServerHandshakeLatency:
        p = Put64(p, Counter(s.tcp_metric.server_handshake_us));
        break;
      case FieldKind::kClientHandshakeLatency:
        p = Put64(p, Counter(s.tcp_metric.client_handshake_us));
        break;
      case FieldKind::kHttpRequestMethod:
        p = PutStringWithin(p, app_.http_method, room(i), &cut);
        break;
      case FieldKind::kHttpRequestHost:
        p = PutStringWithin(p, app_.http_host, room(i), &cut);
        break;
      case FieldKind::kTlsSni:
        p = PutStringWithin(p, app_.sni, room(i), &cut);
        break;
      case FieldKind::kTlsAlpn:
        p = PutStringWithin(p, app_.alpn, room(i), &cut);
        break;
      case FieldKind::kTlsVersion:
        p = Put16(p, app_.tls_version);
        break;
      case FieldKind::kTlsJa3:
        p = PutStringWithin(p, app_.ja3, room(i), &cut);
        break;
      case FieldKind::kTlsJa4:
        p = PutStringWithin(p, app_.ja4, room(i), &cut);
        break;
      case FieldKind::kDnsQueryName:
        p = PutStringWithin(p, app_.dns_name, room(i), &cut);
        break;
      case FieldKind::kDnsQueryType:
        p = Put16(p, app_.dns_type);
        break;
      case FieldKind::kDnsResponseCode:
        p = Put8(p, app_.rcode);
        break;
    }
  }
  if (cut && !companion) ++strings_cut_;
  EndEntry(out, p);
}

}  // namespace skyprobe::ipfix
