// parse_fast.cc: ParseFrame, with a straight-line path for the common frame.
//
// Owner: RX lcore only (pure function over the frame bytes, like the rest of
// the parser). Most frames a probe sees are Ethernet, maybe one or two VLAN
// tags, IPv4 without options or IPv6 without extension headers, then TCP or
// UDP on ports no gopacket decoder claims. For them the layer-by-layer loop
// (parser.cc: a Cursor of ~200 bytes to clear, an indirect jump per layer,
// the SubPacket filled from collected facts) costs most of a worker's time
// per packet at a thousand flows. ParseFast reads such a frame in one pass
// and writes the ParsedPacket ParseFrameFull would; anything else (a header
// it would have to judge: options, a length that does not fit, a fragment, a
// tunnel or application port with a payload behind it, app metadata wanted
// for a TCP payload) makes it give up before writing, and the full decoder
// runs. Tested against ParseFrameFull frame by frame (parse_unit
// FastPathTest, the parser fuzz target).
//
//   ParsedPacket pkt;
//   ParseFrame(data, caplen, wire_len, cfg, &pkt);  // fast path, else ParseFrameFull
#include "parse/internal/decode.h"
#include "parse/parser.h"
#include "skyprobe/compiler.h"

namespace skyprobe {
namespace {

using parse_internal::Be16;
using parse_internal::Step;

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86DD;
constexpr uint16_t kEtherDot1Q = 0x8100;
constexpr uint16_t kEtherDot1ad = 0x88A8;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint32_t kFastMaxVlans = 2;

// True when a payload behind these UDP ports would go to a decoder that adds
// layers or starts a tunnel (DecodeUdp's choice, taken conservatively: any
// port gopacket names, either side).
SKYPROBE_ALWAYS_INLINE bool UdpPortsPlain(uint16_t src, uint16_t dst) {
  return parse_internal::UdpPortStep(dst) == Step::kStop &&
         parse_internal::UdpPortStep(src) == Step::kStop && !parse_internal::IsMplsUdpPort(dst);
}

SKYPROBE_ALWAYS_INLINE bool TcpPortsPlain(uint16_t src, uint16_t dst) {
  return parse_internal::TcpPortStep(dst) == Step::kStop &&
         parse_internal::TcpPortStep(src) == Step::kStop;
}

// The common frame, or false with `out` untouched. Each check mirrors the
// decoder that would otherwise set an anomaly, cut the path or go on to
// another layer (parse_l2.cc, parse_l3.cc, parse_l4.cc).
SKYPROBE_ALWAYS_INLINE bool FastPath(const uint8_t* data, uint32_t caplen, uint32_t wire_len,
                                     const ParserConfig& cfg, ParsedPacket* out) {
  if (cfg.link_type != LinkType::kEthernet || data == nullptr || caplen < 14 + 20 + 8) return false;
  uint16_t type = Be16(data + 12);
  uint32_t pos = 14;
  uint32_t vlans = 0;
  uint64_t link_id = 0;
  while (type == kEtherDot1Q || type == kEtherDot1ad) {
    // A third tag, or a tag cut short (kAnomalyTruncatedVlan): the full decoder.
    if (vlans == kFastMaxVlans || caplen - pos < 4) return false;
    link_id |= static_cast<uint64_t>(Be16(data + pos) & 0x0FFF) << (12 * vlans);
    type = Be16(data + pos + 2);
    pos += 4;
    ++vlans;
  }
  const uint8_t* ip = data + pos;
  const uint32_t ip_pos = pos;
  uint32_t ip_end;  // end of the IP payload by its length field, within the capture
  uint8_t proto;
  uint16_t ip_length;
  uint32_t ip_span;
  if (type == kEtherIpv4) {
    // Version 4, IHL 5 (no options); a total length that covers the header
    // and fits in the capture (not 0, TSO's "whatever was captured"); no MF
    // and offset 0 (the reserved and DF bits do not matter).
    if (caplen - pos < 20 || ip[0] != 0x45) return false;
    const uint32_t total = Be16(ip + 2);
    if (total < 20 || total > caplen - pos || (Be16(ip + 6) & 0x3FFF) != 0) return false;
    proto = ip[9];
    ip_end = pos + total;
    ip_length = static_cast<uint16_t>(total);
    ip_span = total;
    pos += 20;
  } else if (type == kEtherIpv6) {
    // No extension header (TCP or UDP next), a payload length neither 0
    // (jumbogram, or an anomaly) nor beyond the capture.
    if (caplen - pos < 40 || (ip[0] >> 4) != 6) return false;
    const uint32_t payload = Be16(ip + 4);
    if (payload == 0 || payload > caplen - pos - 40) return false;
    proto = ip[6];
    ip_end = pos + 40 + payload;
    ip_length = static_cast<uint16_t>(payload);
    ip_span = 40 + payload;
    pos += 40;
  } else {
    return false;
  }
  const uint8_t* l4 = data + pos;
  const uint32_t l4_avail = ip_end - pos;
  uint8_t tcp_flags = 0;
  uint16_t tcp_off = 0;
  uint16_t tcp_seg_len = 0;
  // The transport's fixed header lies inside the IP payload (so inside the
  // capture) before any of it is read, the ports included: a frame may end
  // right after its IP header.
  if ((proto != kProtoUdp && proto != kProtoTcp) || l4_avail < (proto == kProtoUdp ? 8u : 20u)) {
    return false;
  }
  const uint16_t src = Be16(l4);
  const uint16_t dst = Be16(l4 + 2);
  if (proto == kProtoUdp) {
    const uint32_t len = Be16(l4 + 4);
    if (len < 8) return false;  // 0 (jumbogram) or too short (kAnomalyTruncatedL4)
    // DecodeUdp cuts the payload at its length; a decoder runs on a non-empty one.
    const uint32_t end = len < l4_avail ? pos + len : ip_end;
    if (end > pos + 8 && !UdpPortsPlain(src, dst)) return false;
  } else {
    const uint32_t header = (l4[12] >> 4) * 4u;
    if (header < 20 || header > l4_avail) return false;  // kAnomalyBadTcpOffset
    if (header > 20 && !parse_internal::TcpOptionsValid(l4 + 20, header - 20)) return false;
    // A payload is sniffed for app metadata or goes to a port's decoder.
    if (ip_end > pos + header && (cfg.app_payload || !TcpPortsPlain(src, dst))) return false;
    tcp_flags = l4[13];
    // The segment fits the capture: DecodeTcp's length, from the IP length.
    tcp_off = static_cast<uint16_t>(pos);
    tcp_seg_len = static_cast<uint16_t>(ip_end - pos - header);
  }

  SubPacket& s = *parse_internal::BeginPacket(cfg, 1, out);
  uint8_t n = 0;
  s.layers[n++] = Layer::kEthernet;
  if (vlans > 0) s.layers[n++] = Layer::kDot1Q;
  if (vlans > 1) s.layers[n++] = Layer::kDot1Q;
  s.layers[n++] = type == kEtherIpv4 ? Layer::kIpv4 : Layer::kIpv6;
  s.layers[n++] = proto == kProtoUdp ? Layer::kUdp : Layer::kTcp;
  s.num_layers = n;
  s.has_link = true;
  s.mac_src_off = 6;
  s.vlan_count = static_cast<uint8_t>(vlans);
  s.link_id = link_id;
  if (type == kEtherIpv4) {
    s.ip_version = 4;
    s.ip_src_off = static_cast<uint16_t>(ip_pos + 12);
    s.ip_dst_off = static_cast<uint16_t>(ip_pos + 16);
    s.ttl = ip[8];
  } else {
    s.ip_version = 6;
    s.ip_src_off = static_cast<uint16_t>(ip_pos + 8);
    s.ip_dst_off = static_cast<uint16_t>(ip_pos + 24);
    s.ttl = ip[7];
  }
  s.ip_length = ip_length;
  s.transport = proto == kProtoUdp ? FlowProtocol::kUdp : FlowProtocol::kTcp;
  s.transport_key = TransportKeyKind::kPorts;
  s.src_port = src;
  s.dst_port = dst;
  s.tcp_flags = tcp_flags;
  s.tcp_off = tcp_off;
  s.tcp_seg_len = tcp_seg_len;
  // Skydive's length with Ethernet: the wire length, or when the capture
  // lost it, the bytes up to the IP header plus its length (SetLengths).
  s.length = wire_len != 0 ? wire_len : ip_pos + ip_span;
  return true;
}

}  // namespace

namespace parse_internal {

bool ParseFast(const uint8_t* data, uint32_t caplen, uint32_t wire_len, const ParserConfig& cfg,
               ParsedPacket* out) noexcept {
  return FastPath(data, caplen, wire_len, cfg, out);
}

}  // namespace parse_internal

uint8_t ParseFrame(const uint8_t* data, uint32_t caplen, uint32_t wire_len, const ParserConfig& cfg,
                   ParsedPacket* out) noexcept {
  if (SKYPROBE_LIKELY(FastPath(data, caplen, wire_len, cfg, out))) return 1;
  return ParseFrameFull(data, caplen, wire_len, cfg, out);
}

}  // namespace skyprobe
