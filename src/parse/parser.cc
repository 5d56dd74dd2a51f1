// ParseFrameFull: link-type entry, the decode loop and the SubPacket fields
// (ParseFrame, in parse_fast.cc, comes here for all but the common frames).
//
// Decoding is a loop over a cursor: each step decodes one layer and names
// the next, until a decoder says stop or the payload is empty (gopacket never
// calls the next decoder on an empty payload). A tunnel header sets
// Cursor::split_here: the sub-packet ends there and the next one starts with
// a fresh cursor at the inner packet.
#include "parse/parser.h"

#include <algorithm>

#include "parse/internal/decode.h"
#include "skyprobe/compiler.h"

namespace skyprobe {

using parse_internal::Be16;
using parse_internal::Cursor;
using parse_internal::Step;

namespace {

// Each step consumes at least one byte or stops, so this only bounds odd
// chains (IPv6 extension headers, tunnels in tunnels) to something cheap.
constexpr int kMaxSteps = 64;
// SubPacket offsets are 16-bit: no sub-packet starts beyond this.
constexpr uint32_t kMaxSubPacketOffset = 0xFFFF - 64;

Step Dispatch(Step step, Cursor& c) {
  using namespace parse_internal;  // NOLINT: the per-layer decoders
  switch (step) {
    case Step::kEthernet:
      return DecodeEthernet(c);
    case Step::kDot1Q:
      return DecodeDot1Q(c);
    case Step::kLlc:
      return DecodeLlc(c);
    case Step::kSnap:
      return DecodeSnap(c);
    case Step::kStp:
      return DecodeStp(c);
    case Step::kCdp:
      return DecodeCdp(c);
    case Step::kLldp:
      return DecodeLldp(c);
    case Step::kEapol:
      return DecodeEapol(c);
    case Step::kPppoe:
      return DecodePppoe(c);
    case Step::kArp:
      return DecodeArp(c);
    case Step::kMpls:
      return DecodeMpls(c);
    case Step::kIpv4:
      return DecodeIpv4(c);
    case Step::kIpv6:
      return DecodeIpv6(c);
    case Step::kHopByHop:
      return DecodeHopByHop(c);
    case Step::kRouting:
      return DecodeRouting(c);
    case Step::kIpv6Fragment:
      return DecodeIpv6Fragment(c);
    case Step::kDestination:
      return DecodeDestination(c);
    case Step::kFragment:
      return DecodeFragment(c);
    case Step::kTcp:
      return DecodeTcp(c);
    case Step::kUdp:
      return DecodeUdp(c);
    case Step::kSctp:
      return DecodeSctp(c);
    case Step::kIcmpv4:
      return DecodeIcmpv4(c);
    case Step::kIcmpv6:
      return DecodeIcmpv6(c);
    case Step::kGre:
      return DecodeGre(c);
    case Step::kDns:
      return DecodeDns(c);
    case Step::kNtp:
      return DecodeNtp(c);
    case Step::kDhcpv4:
      return DecodeDhcpv4(c);
    case Step::kDhcpv6:
      return DecodeDhcpv6(c);
    case Step::kTls:
      return DecodeTls(c);
    case Step::kVxlan:
      return DecodeVxlan(c);
    case Step::kGeneve:
      return DecodeGeneve(c);
    case Step::kGtpv1u:
      return DecodeGtpv1u(c);
    case Step::kVrrp:
      return DecodeVrrp(c);
    case Step::kStop:
    case Step::kUnsupported:
      break;
  }
  return Step::kStop;
}

// Link header: where the first decoded layer starts and which decoder reads it.
// Returns false when the frame is shorter than the link header.
bool LinkEntry(const uint8_t* data, uint32_t caplen, LinkType link, uint32_t* pos, Step* first) {
  switch (link) {
    case LinkType::kEthernet:
      *pos = 0;
      *first = Step::kEthernet;
      return caplen >= 14;
    case LinkType::kRaw:
    case LinkType::kRawOpenBsd:
      // Skydive's RawIP: the version nibble picks IPv4/IPv6, anything else is ARP.
      if (caplen < 1) return false;
      *pos = 0;
      *first = (data[0] >> 4) == 4 ? Step::kIpv4 : (data[0] >> 4) == 6 ? Step::kIpv6 : Step::kArp;
      return true;
    case LinkType::kIpv4:
      *pos = 0;
      *first = Step::kIpv4;
      return caplen >= 1;
    case LinkType::kIpv6:
      *pos = 0;
      *first = Step::kIpv6;
      return caplen >= 1;
    case LinkType::kLinuxSll:
      if (caplen < 16) return false;
      *pos = 16;
      *first = parse_internal::StepForEtherType(Be16(data + 14));
      return true;
    case LinkType::kNull: {
      if (caplen < 4) return false;
      // gopacket's Loopback guesses the byte order: the family is below 256.
      const uint32_t family = (data[0] == 0 && data[1] == 0)
                                  ? parse_internal::Be32(data)
                                  : (static_cast<uint32_t>(data[3]) << 24) |
                                        (static_cast<uint32_t>(data[2]) << 16) |
                                        (static_cast<uint32_t>(data[1]) << 8) | data[0];
      *pos = 4;
      switch (family) {
        case 2:
          *first = Step::kIpv4;
          break;
        case 10:  // Linux AF_INET6
        case 24:  // NetBSD, OpenBSD
        case 28:  // FreeBSD
        case 30:  // Darwin
          *first = Step::kIpv6;
          break;
        default:
          *first = Step::kStop;
      }
      return true;
    }
  }
  return false;
}

// Turns the collected facts into the SubPacket fields Skydive would report
// (all but the length, which needs the outer length: SetLengths).
void FillSubPacket(const Cursor& c, SubPacket* sub) {
  sub->vlan_count = c.vlan_count;
  sub->link_id = c.link_id;

  const parse_internal::IpSeen* ip = c.v4.present ? &c.v4 : c.v6.present ? &c.v6 : nullptr;
  if (ip != nullptr) {
    sub->ip_version = c.v4.present ? 4 : 6;
    sub->ip_src_off = ip->src_off;
    sub->ip_dst_off = ip->dst_off;
    sub->ttl = ip->ttl;
    sub->ip_length = ip->length;
    sub->ip_fragment = ip->fragment;
    if (ip->fragment) {
      sub->frag_id = ip->frag_id;
      sub->frag_offset = ip->frag_offset;
      sub->frag_data_len = ip->frag_data_len;
      sub->frag_proto = ip->frag_proto;
      sub->frag_more = ip->frag_more;
    }
  }
  sub->network_id = c.network_id;
  sub->mpls_off = c.mpls_off;
  sub->mpls_entries = c.mpls_entries;

  const parse_internal::PortsSeen* ports = nullptr;
  if (c.udp.present) {
    ports = &c.udp;
    sub->transport = FlowProtocol::kUdp;
  } else if (c.tcp.present) {
    ports = &c.tcp;
    sub->transport = FlowProtocol::kTcp;
  } else if (c.sctp.present) {
    ports = &c.sctp;
    sub->transport = FlowProtocol::kSctp;
  }
  if (ports != nullptr) {
    sub->src_port = ports->src;
    sub->dst_port = ports->dst;
    sub->transport_key = TransportKeyKind::kPorts;
  }
  if (c.tcp.present) {
    sub->tcp_flags = c.tcp.flags;
    // A fragment's IP length is not the datagram's: no segment length.
    if (sub->transport == FlowProtocol::kTcp && !sub->ip_fragment) {
      sub->tcp_off = c.tcp_off;
      sub->tcp_seg_len = c.tcp_seg_len;
    }
  }
  if (c.app_hint != AppHint::kNone) {
    sub->app_hint = c.app_hint;
    sub->app_off = c.app_off;
    sub->app_len = c.app_len;
    sub->tcp_seq = c.tcp_seq;
  }
  if (c.vni_seen) {
    sub->transport_key = TransportKeyKind::kVniPort;
    sub->vni = c.vni;
  }

  // Skydive pairs ICMPv4 with an IPv4 network layer and ICMPv6 with IPv6.
  const bool v6_net = sub->ip_version == 6;
  const parse_internal::IcmpSeen* icmp = v6_net ? &c.icmp6 : &c.icmp4;
  if (!icmp->present) icmp = v6_net ? &c.icmp4 : &c.icmp6;
  if (icmp->present) {
    const bool is_v6 = icmp == &c.icmp6;
    sub->icmp_version = is_v6 ? 6 : 4;
    sub->icmp_raw_type = icmp->type;
    sub->icmp_code = icmp->code;
    sub->icmp_type = is_v6 ? MapIcmpv6Type(icmp->type) : MapIcmpv4Type(icmp->type);
    sub->icmp_id = icmp->has_id ? icmp->id : 0;
  }
}

// A sub-packet makes a flow only with a link or a network layer to key on.
bool Keyable(const Cursor& c) { return c.has_link || c.v4.present || c.v6.present; }

// The cursor for the sub-packet inside a tunnel: same position, bounds and
// frame-wide facts, no per-sub-packet facts.
Cursor InnerCursor(const Cursor& c, SubPacket* sub) {
  Cursor inner;
  parse_internal::ResetCursor(&inner);
  inner.data = c.data;
  inner.defrag = c.defrag;
  inner.app = c.app;
  inner.pos = c.pos;
  inner.end = c.end;
  inner.wire_end = c.wire_end;
  inner.anomalies = c.anomalies;
  inner.first_ip_set = c.first_ip_set;
  inner.first_ip_off = c.first_ip_off;
  inner.first_ip_span = c.first_ip_span;
  inner.reported_end = c.reported_end;
  parse_internal::ClearZero(sub);  // SubPacket{} (all its defaults are 0)
  sub->offset = static_cast<uint16_t>(c.pos);
  inner.sub = sub;
  return inner;
}

// Bytes each sub-packet counts (Skydive's PacketSeqFromGoPacket and its Packet.Length).
// Outer: with Ethernet the wire length, or when the capture lost it, the
// bytes up to the first IP header plus that header's own length; without
// Ethernet (raw IP, SLL, Null) the network layer's length field (IPv6:
// payload only, Skydive's quirk). Inner: Skydive's running "remaining length"
// (outer length minus every header before the sub-packet), except that in L2
// key mode an Ethernet-less inner sub-packet counts its IP length field.
void SetLengths(const Cursor& c, const ParserConfig& cfg, uint32_t first_layer, uint32_t caplen,
                uint32_t wire_len, ParsedPacket* out) {
  const SubPacket& first = out->sub[0];
  uint32_t outer;
  if (first.offset == first_layer && !first.has_link) {
    outer = first.ip_length;
  } else {
    // Ethernet first, or an outer part with nothing to key on was skipped:
    // the frame's bytes after the link header.
    const uint32_t frame = wire_len != 0    ? wire_len
                           : c.first_ip_set ? c.first_ip_off + c.first_ip_span
                                            : caplen;
    outer = frame > first_layer ? frame - first_layer : 0;
  }
  for (uint8_t i = 0; i < out->num_sub; ++i) {
    SubPacket& sub = out->sub[i];
    if (sub.offset == first_layer) {
      sub.length = outer;
      continue;
    }
    const uint32_t before = sub.offset - first_layer;
    const uint32_t remaining = outer > before ? outer - before : 0;
    sub.length =
        (!cfg.l3_key_mode && !sub.has_link && sub.ip_version != 0) ? sub.ip_length : remaining;
  }
}

}  // namespace

uint8_t ParseFrameFull(const uint8_t* data, uint32_t caplen, uint32_t wire_len,
                       const ParserConfig& cfg, ParsedPacket* out) noexcept {
  SubPacket* sub = parse_internal::BeginPacket(cfg, 0, out);

  if (SKYPROBE_UNLIKELY(!IsSupportedLinkType(static_cast<uint32_t>(cfg.link_type)))) {
    out->error = ParseError::kUnsupportedLinkType;
    return 0;
  }
  Cursor c;
  parse_internal::ResetCursor(&c);
  Step step = Step::kStop;
  if (SKYPROBE_UNLIKELY(data == nullptr ||
                        !LinkEntry(data, caplen, cfg.link_type, &c.pos, &step))) {
    out->error = ParseError::kTooShort;
    return 0;
  }
  c.data = data;
  c.defrag = cfg.ip_defrag;
  c.app = cfg.app_payload;
  c.end = caplen;
  // A wire length no longer than the bytes captured is a whole frame; an
  // unknown one (0) may be anything.
  c.wire_end = wire_len == 0 ? UINT32_MAX : std::max(wire_len, caplen);
  // A frame cut by the snaplen (wire_len 0: unknown) ended past its
  // captured bytes: the IP length fields alone then say where a segment ends.
  c.reported_end = wire_len != 0 ? std::max(wire_len, caplen) : UINT32_MAX;
  c.sub = sub;
  sub->offset = static_cast<uint16_t>(c.pos);
  const uint32_t first_layer = c.pos;

  // gopacket never calls a decoder on an empty payload; link entry already
  // guarantees a non-empty first layer for Ethernet and raw IP.
  uint8_t n = 0;        // finished sub-packets
  bool pending = true;  // the cursor's sub-packet is still open
  for (int i = 0; i < kMaxSteps && step != Step::kStop && c.pos < c.end; ++i) {
    step = Dispatch(step, c);
    if (!c.split_here) continue;
    // A tunnel header ends this sub-packet; the inner one starts at c.pos.
    // A part with nothing to key on (MPLS right after a Linux cooked header,
    // a Geneve-carried label stack) makes no flow: the next level takes its
    // place in the chain.
    c.split_here = false;
    pending = false;
    if (Keyable(c)) FillSubPacket(c, &out->sub[n++]);
    if (step == Step::kStop || c.pos >= c.end) break;
    if (n == kMaxSubPackets || c.pos > kMaxSubPacketOffset) {
      c.anomalies |= kAnomalyTunnelDepth;
      break;
    }
    sub = &out->sub[n];
    c = InnerCursor(c, sub);
    pending = true;
  }
  out->anomalies = c.anomalies;
  if (pending && Keyable(c)) FillSubPacket(c, &out->sub[n++]);
  if (n == 0) {
    out->error = ParseError::kNoLayer;
    return 0;
  }
  out->num_sub = n;
  SetLengths(c, cfg, first_layer, caplen, wire_len, out);
  if (cfg.ip_defrag) {
    for (uint8_t i = 0; i < n; ++i) {
      if (out->sub[i].ip_fragment) {
        out->frag_sub = i;
        break;
      }
    }
  }
  return n;
}

IcmpType MapIcmpv4Type(uint8_t type) noexcept {
  switch (type) {
    case 0:
    case 8:
      return IcmpType::kEcho;
    case 3:
      return IcmpType::kDestinationUnreachable;
    case 4:
      return IcmpType::kSourceQuench;
    case 5:
      return IcmpType::kRedirect;
    case 9:
    case 10:
      return IcmpType::kRouter;
    case 11:
      return IcmpType::kTimeExceeded;
    case 12:
      return IcmpType::kParameterProblem;
    case 13:
    case 14:
      return IcmpType::kTimestamp;
    case 15:
    case 16:
      return IcmpType::kInfo;
    case 17:
    case 18:
      return IcmpType::kAddressMask;
    default:
      return IcmpType::kUnknown;
  }
}

IcmpType MapIcmpv6Type(uint8_t type) noexcept {
  switch (type) {
    case 128:
    case 129:
      return IcmpType::kEcho;
    case 135:
    case 136:
      return IcmpType::kNeighbor;
    case 1:
      return IcmpType::kDestinationUnreachable;
    case 2:
      return IcmpType::kPacketTooBig;
    case 4:
      return IcmpType::kParameterProblem;
    case 137:
      return IcmpType::kRedirect;
    case 133:
    case 134:
      return IcmpType::kRouter;
    case 3:
      return IcmpType::kTimeExceeded;
    default:
      return IcmpType::kUnknown;
  }
}

}  // namespace skyprobe
