// Tunnel headers: GRE (with ERSPAN II and bridged Ethernet), MPLS label
// stacks, VXLAN, Geneve and GTPv1-U. Each decoder that finds an inner packet
// sets Cursor::split_here and returns the decoder of the inner packet's first
// layer; ParseFrame then starts a new sub-packet there (parser.h lists the
// rules and where they differ from Skydive).
//
// A header cut short by the capture adds no layer when gopacket would fail
// on it (DecodeFailure) and sets an anomaly bit: kAnomalyTruncatedL4 for GRE
// and MPLS (IP-protocol / EtherType payloads), kAnomalyBadAppLayer for the
// UDP-port-selected ones, as for the other port-selected layers.
#include "parse/internal/decode.h"

namespace skyprobe::parse_internal {
namespace {

constexpr uint16_t kEtherTypeMplsUnicast = 0x8847;
constexpr uint16_t kEtherTypeMplsMulticast = 0x8848;
constexpr uint16_t kEtherTypeBridgedEthernet = 0x6558;  // NVGRE, Geneve, GRE TEB
constexpr uint16_t kEtherTypeErspanII = 0x88BE;
constexpr uint32_t kErspanIIHeader = 8;

Step Truncated(Cursor& c) {
  c.anomalies |= kAnomalyTruncatedL4;
  return Step::kStop;
}

// The protocol type of GRE and Geneve is an EtherType; bridged Ethernet
// (0x6558) is an inner Ethernet frame, as gopacket decodes it.
Step StepForTunnelProtocol(uint16_t proto) {
  return proto == kEtherTypeBridgedEthernet ? Step::kEthernet : StepForEtherType(proto);
}

}  // namespace

Step DecodeGre(Cursor& c) noexcept {
  if (c.avail() < 4) return Truncated(c);
  const uint8_t* p = c.data + c.pos;
  const uint32_t n = c.avail();
  const bool checksum = (p[0] & 0x80) != 0;
  const bool routing = (p[0] & 0x40) != 0;
  const bool key = (p[0] & 0x20) != 0;
  const bool seq = (p[0] & 0x10) != 0;
  const bool ack = (p[1] & 0x80) != 0;
  const uint16_t proto = Be16(p + 2);
  uint32_t off = 4;
  uint32_t key_value = 0;
  if (checksum || routing) off += 4;
  if (key) {
    if (off + 4 > n) return Truncated(c);
    key_value = Be32(p + off);
    off += 4;
  }
  if (seq) off += 4;
  if (routing) {
    // Source route entries, ended by address family 0 and length 0.
    for (;;) {
      if (off + 4 > n) return Truncated(c);
      const uint16_t family = Be16(p + off);
      const uint8_t sre_len = p[off + 3];
      off += 4 + sre_len;
      if (off > n) return Truncated(c);
      if (family == 0 && sre_len == 0) break;
    }
  }
  if (ack) off += 4;
  if (off > n) return Truncated(c);
  AddLayer(c, Layer::kGre);
  c.network_id = key_value;
  c.vni_seen = false;
  c.pos += off;

  // Skydive cuts after GRE, except before MPLS: the cut then comes after the
  // label stack, so the outer path ends in "GRE/MPLS".
  if (proto == kEtherTypeMplsUnicast || proto == kEtherTypeMplsMulticast) return Step::kMpls;
  c.split_here = true;
  if (proto == kEtherTypeErspanII) {
    // Skydive skips the 8-byte ERSPAN II header without naming a layer: the
    // inner sub-packet starts at the mirrored Ethernet frame.
    if (c.avail() < kErspanIIHeader) return Truncated(c);
    c.pos += kErspanIIHeader;
    return Step::kEthernet;
  }
  return StepForTunnelProtocol(proto);
}

Step DecodeMpls(Cursor& c) noexcept {
  // The whole label stack is one "MPLS" layer and one cut, after the label
  // with the bottom-of-stack bit (gopacket names every label, and Skydive
  // would then cut between labels: see parser.h).
  if (c.avail() < 4) return Truncated(c);
  AddLayer(c, Layer::kMpls);
  // Its entries, for exporters (IPFIX mplsTopLabelStackSection...): where
  // a 16-bit offset reaches them.
  const bool keep = c.pos <= 0xFFFFu - 4 * 255;
  c.mpls_off = keep ? static_cast<uint16_t>(c.pos) : 0;
  for (;;) {
    const bool bottom = (c.data[c.pos + 2] & 0x01) != 0;
    c.pos += 4;
    if (keep && c.mpls_entries < 255) ++c.mpls_entries;
    if (bottom) break;
    if (c.avail() < 4) return Truncated(c);  // stack cut short: nothing inside
  }
  c.split_here = true;
  if (c.avail() == 0) return Step::kStop;
  // Skydive's MPLS payload decoder: IPv4 or IPv6 by the first nibble,
  // Ethernet otherwise (Contrail and pseudowires carry Ethernet).
  switch (c.data[c.pos] >> 4) {
    case 4:
      return Step::kIpv4;
    case 6:
      return Step::kIpv6;
    default:
      return Step::kEthernet;
  }
}

Step DecodeVxlan(Cursor& c) noexcept {
  if (c.avail() < 8) return AppFail(c);
  const uint8_t* p = c.data + c.pos;
  AddLayer(c, Layer::kVxlan);
  c.vni = (static_cast<uint32_t>(p[4]) << 16) | (static_cast<uint32_t>(p[5]) << 8) | p[6];
  c.vni_seen = true;
  c.network_id = c.vni;
  c.pos += 8;
  c.split_here = true;
  return Step::kEthernet;
}

Step DecodeGeneve(Cursor& c) noexcept {
  const uint8_t* p = c.data + c.pos;
  const uint32_t n = c.avail();
  if (n < 8) return AppFail(c);
  const uint32_t opt_len = (p[0] & 0x3F) * 4u;
  if (n - 8 < opt_len) return AppFail(c);
  for (uint32_t off = 8; off < 8 + opt_len;) {
    if (8 + opt_len - off < 4) return AppFail(c);
    off += 4u + (p[off + 3] & 0x1F) * 4u;
    if (off > 8 + opt_len) return AppFail(c);
  }
  AddLayer(c, Layer::kGeneve);
  c.vni = (static_cast<uint32_t>(p[4]) << 16) | (static_cast<uint32_t>(p[5]) << 8) | p[6];
  c.vni_seen = true;
  c.network_id = c.vni;
  c.pos += 8 + opt_len;
  c.split_here = true;
  return StepForTunnelProtocol(Be16(p + 2));
}

Step DecodeGtpv1u(Cursor& c) noexcept {
  const uint8_t* p = c.data + c.pos;
  const uint32_t n = c.avail();
  // gopacket wants the whole message (8 + message length) captured.
  if (n < 8 || 8u + Be16(p + 2) > n) return AppFail(c);
  const uint32_t message_end = 8u + Be16(p + 2);
  uint32_t header = 8;
  if ((p[0] & 0x07) != 0) {  // sequence, N-PDU or extension flag: 4 more bytes
    header = 12;
    if (n < header) return AppFail(c);
    if ((p[0] & 0x04) != 0) {
      // Extension headers: length byte in 4-byte units, chained by the
      // next-type byte that ends each one (gopacket walks at least one).
      uint32_t idx = 12;  // the current extension's length byte
      for (;;) {
        if (idx >= n || p[idx] == 0) return AppFail(c);
        idx += p[idx] * 4u;
        if (idx > n) return AppFail(c);
        if (p[idx - 1] == 0) break;
      }
      header = idx;
    }
  }
  AddLayer(c, Layer::kGtpv1u);
  // Beyond Skydive (which keeps one flow): the TEID is the Network.ID and a
  // G-PDU's inner IP packet is a sub-packet of its own.
  c.network_id = Be32(p + 4);
  const uint8_t message_type = p[1];
  if (header > message_end) return Step::kStop;  // extensions past the message
  c.end = c.pos + message_end;
  c.pos += header;
  if (message_type != 0xFF || c.avail() == 0) return Step::kStop;
  switch (c.data[c.pos] >> 4) {
    case 4:
      c.split_here = true;
      return Step::kIpv4;
    case 6:
      c.split_here = true;
      return Step::kIpv6;
    default:
      return Step::kStop;  // gopacket: PPP, not decoded here
  }
}

}  // namespace skyprobe::parse_internal
