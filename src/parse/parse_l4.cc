// Transport decoders (TCP, UDP, SCTP) and ICMPv4/ICMPv6, with gopacket's
// port-driven choice of the application layer.
//
// Like IPv4, gopacket's decodeTCP/decodeUDP/decodeSCTP add the layer before
// checking the error: a complete fixed header with a bad data offset, bad
// options or a bad UDP length stays in the path (ports included) and ends it.
#include <algorithm>

#include "parse/internal/decode.h"
#include "parse/parser.h"

namespace skyprobe::parse_internal {

bool TcpOptionsValid(const uint8_t* p, uint32_t len) noexcept {
  uint32_t off = 0;
  while (off < len) {
    const uint8_t kind = p[off];
    if (kind == 0) return true;  // end of list
    if (kind == 1) {
      ++off;
      continue;
    }
    if (len - off < 2) return false;
    const uint8_t opt_len = p[off + 1];
    if (opt_len < 2 || opt_len > len - off) return false;
    off += opt_len;
  }
  return true;
}

namespace {

void RecordPorts(PortsSeen* seen, const uint8_t* p, uint8_t flags) {
  if (seen->present) return;
  *seen = {true, Be16(p), Be16(p + 2), flags};
}

// Neighbor-discovery options: 8-byte units, a zero length is invalid.
bool Icmpv6OptionsValid(const uint8_t* p, uint32_t len) {
  uint32_t off = 0;
  while (off < len) {
    if (len - off < 2) return false;
    const uint32_t opt_len = p[off + 1] * 8u;
    if (opt_len == 0 || opt_len > len - off) return false;
    off += opt_len;
  }
  return true;
}

// What a TCP payload looks like from its first bytes (AppHint), on any port.
// A ClientHello starts a handshake record (type 22, version 3.x) whose first
// message is of type 1; an HTTP/1.x request starts with a method and a space.
// DNS over TCP (port 53) is a 2-byte length then the message: recognised when
// the whole message is in this segment and valid.
// `n` is the payload's captured length, Ethernet padding left out: a stream
// reader (table/app_meta_store.cc) takes every byte given as the stream's.
void SniffTcpPayload(Cursor& c, const uint8_t* tcp, uint32_t n) {
  const uint8_t* p = c.data + c.pos;
  SetAppPayload(c, AppHint::kTcpPayload, n);
  if (c.app_hint == AppHint::kNone) return;  // beyond what the 16-bit fields hold
  c.tcp_seq = Be32(tcp + 4);
  if (n >= 6 && p[0] == 0x16 && p[1] == 0x03 && p[5] == 0x01) {
    c.app_hint = AppHint::kTlsClientHello;
    return;
  }
  if (n >= 4) {
    const uint32_t w = Be32(p);
    switch (w) {
      case 0x47455420:  // "GET "
      case 0x504F5354:  // "POST"
      case 0x48454144:  // "HEAD"
      case 0x50555420:  // "PUT "
      case 0x44454C45:  // "DELE"
      case 0x4F505449:  // "OPTI"
      case 0x434F4E4E:  // "CONN"
      case 0x50415443:  // "PATC"
      case 0x54524143:  // "TRAC"
        c.app_hint = AppHint::kHttpRequest;
        return;
      default:
        break;
    }
  }
  if ((Be16(tcp) == 53 || Be16(tcp + 2) == 53) && n >= 2 + 12) {
    const uint32_t len = Be16(p);
    if (len + 2 <= n && IsValidDns(p + 2, len)) {
      c.app_hint = AppHint::kDnsTcp;
      c.app_off = static_cast<uint16_t>(c.app_off + 2);
      c.app_len = static_cast<uint16_t>(len);
    }
  }
}

}  // namespace

Step DecodeTcp(Cursor& c) noexcept {
  if (c.avail() < 20) {
    c.anomalies |= kAnomalyTruncatedL4;
    return Step::kStop;
  }
  const uint8_t* p = c.data + c.pos;
  const bool first_tcp = !c.tcp.present;
  RecordPorts(&c.tcp, p, p[13]);
  AddLayer(c, Layer::kTcp);
  const uint32_t header = (p[12] >> 4) * 4u;
  // Segment length as Wireshark computes it (IP payload end - header end),
  // even with a bad data offset: its sequence analysis runs before it
  // checks the offset.
  const uint32_t seg_end = std::min(c.ip_payload_end, c.reported_end);
  if (first_tcp && c.ip_payload_end != 0 && seg_end >= c.pos + header &&
      seg_end - c.pos - header <= 0xFFFF && c.pos <= 0xFFFF) {
    c.tcp_off = static_cast<uint16_t>(c.pos);
    c.tcp_seg_len = static_cast<uint16_t>(seg_end - c.pos - header);
  }
  if (header < 20 || header > c.avail()) {
    c.anomalies |= kAnomalyBadTcpOffset;
    return Step::kStop;
  }
  if (!TcpOptionsValid(p + 20, header - 20)) {
    c.anomalies |= kAnomalyTruncatedL4;
    return Step::kStop;
  }
  c.pos += header;
  if (c.app && c.pos < c.end && c.app_hint == AppHint::kNone) {
    const uint32_t end = c.ip_payload_end != 0 ? std::min(c.end, c.ip_payload_end) : c.end;
    if (end > c.pos) SniffTcpPayload(c, p, end - c.pos);
  }
  const Step app = TcpPortStep(Be16(p + 2));
  return app != Step::kStop ? app : TcpPortStep(Be16(p));
}

Step DecodeUdp(Cursor& c) noexcept {
  if (c.avail() < 8) {
    c.anomalies |= kAnomalyTruncatedL4;
    return Step::kStop;
  }
  const uint8_t* p = c.data + c.pos;
  RecordPorts(&c.udp, p, 0);
  AddLayer(c, Layer::kUdp);
  const uint16_t length = Be16(p + 4);
  if (length >= 8) {
    // A length beyond the capture (snaplen, or corrupt as in ntp-corrupted)
    // keeps whatever was captured.
    if (length < c.avail()) c.end = c.pos + length;
  } else if (length != 0) {  // 0 is a jumbogram: the rest of the data
    c.anomalies |= kAnomalyTruncatedL4;
    return Step::kStop;
  }
  c.pos += 8;
  Step app = UdpPortStep(Be16(p + 2));
  if (app == Step::kStop) app = UdpPortStep(Be16(p));
  if (app == Step::kStop && IsMplsUdpPort(Be16(p + 2))) app = Step::kMpls;
  return app;
}

Step DecodeSctp(Cursor& c) noexcept {
  if (c.avail() < 12) {
    c.anomalies |= kAnomalyTruncatedL4;
    return Step::kStop;
  }
  RecordPorts(&c.sctp, c.data + c.pos, 0);
  AddLayer(c, Layer::kSctp);
  // gopacket goes on with chunk layers (SCTPData, SCTPInit, ...): not in Layer.
  return Step::kStop;
}

Step DecodeIcmpv4(Cursor& c) noexcept {
  if (c.avail() < 8) {
    c.anomalies |= kAnomalyTruncatedL4;
    return Step::kStop;
  }
  const uint8_t* p = c.data + c.pos;
  if (!c.icmp4.present) {
    // Skydive reads the identifier position whatever the type.
    c.icmp4 = {true, p[0], p[1], Be16(p + 4), true};
  }
  AddLayer(c, Layer::kIcmpv4);
  return Step::kStop;
}

Step DecodeIcmpv6(Cursor& c) noexcept {
  if (c.avail() < 4) {
    c.anomalies |= kAnomalyTruncatedL4;
    return Step::kStop;
  }
  const uint8_t* p = c.data + c.pos;
  const uint8_t type = p[0];
  const bool first = !c.icmp6.present;
  if (first) c.icmp6 = {true, type, p[1], 0, false};
  AddLayer(c, Layer::kIcmpv6);
  // The message body is the ICMPv6 payload: gopacket decodes it only when
  // non-empty, and drops the sub-layer when it is malformed.
  const uint8_t* body = p + 4;
  const uint32_t n = c.avail() - 4;
  if (n == 0) return Step::kStop;
  Layer layer;
  uint32_t fixed;
  switch (type) {
    case 128:
    case 129:
      if (n < 4) return Step::kStop;
      if (first) {
        c.icmp6.id = Be16(body);
        c.icmp6.has_id = true;
      }
      AddLayer(c, Layer::kIcmpv6Echo);
      return Step::kStop;
    case 133:
      layer = Layer::kIcmpv6RouterSolicitation;
      fixed = 4;
      break;
    case 134:
      layer = Layer::kIcmpv6RouterAdvertisement;
      fixed = 12;
      break;
    case 135:
      layer = Layer::kIcmpv6NeighborSolicitation;
      fixed = 20;
      break;
    case 136:
      layer = Layer::kIcmpv6NeighborAdvertisement;
      fixed = 20;
      break;
    case 137:
      layer = Layer::kIcmpv6Redirect;
      fixed = 36;
      break;
    default:
      return Step::kStop;  // gopacket Payload
  }
  if (n < fixed || !Icmpv6OptionsValid(body + fixed, n - fixed)) return Step::kStop;
  AddLayer(c, layer);
  return Step::kStop;
}

}  // namespace skyprobe::parse_internal
