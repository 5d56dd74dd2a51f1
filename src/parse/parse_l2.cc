// Link-layer decoders: Ethernet, 802.1Q, 802.2 LLC/SNAP, ARP and the L2
// control protocols gopacket names (STP, CDP, LLDP, EAPOL, PPPoE). MPLS is in
// parse_tunnel.cc.
#include "parse/internal/decode.h"

namespace skyprobe::parse_internal {

Step StepForEtherType(uint16_t ether_type) noexcept {
  switch (ether_type) {
    case 0x0800:
      return Step::kIpv4;
    case 0x86DD:
      return Step::kIpv6;
    case 0x0806:
      return Step::kArp;
    case 0x8100:  // 802.1Q
    case 0x88A8:  // 802.1ad: gopacket decodes it as Dot1Q too
      return Step::kDot1Q;
    case 0x8847:
    case 0x8848:
      return Step::kMpls;
    case 0x88CC:
      return Step::kLldp;
    case 0x888E:
      return Step::kEapol;
    case 0x8863:
    case 0x8864:
      return Step::kPppoe;
    case 0x2000:
      return Step::kCdp;
    default:
      // 0x6558 (bridged Ethernet) and 0x88BE (ERSPAN II) are decoded after
      // GRE only (parse_tunnel.cc): directly after Ethernet or a VLAN tag they
      // end the path, where gopacket would nest a second Ethernet in the same
      // sub-packet.
      return Step::kStop;
  }
}

Step DecodeEthernet(Cursor& c) noexcept {
  if (c.avail() < 14) return Step::kStop;
  const uint8_t* p = c.data + c.pos;
  c.has_link = true;
  c.sub->has_link = true;
  c.sub->mac_dst_off = static_cast<uint16_t>(c.pos);
  c.sub->mac_src_off = static_cast<uint16_t>(c.pos + 6);
  AddLayer(c, Layer::kEthernet);
  const uint16_t type = Be16(p + 12);
  c.pos += 14;
  if (type < 0x0600) {
    // 802.3 length: gopacket trims trailing bytes beyond it (a short frame
    // is only flagged truncated) and decodes LLC.
    if (type < c.avail()) c.end = c.pos + type;
    return Step::kLlc;
  }
  return StepForEtherType(type);
}

Step DecodeDot1Q(Cursor& c) noexcept {
  if (c.avail() < 4) {
    c.anomalies |= kAnomalyTruncatedVlan;
    return Step::kStop;
  }
  const uint8_t* p = c.data + c.pos;
  const uint64_t vid = Be16(p) & 0x0FFF;
  // Skydive walks tags innermost first with id = (id << 12) | vid, so the
  // outermost tag lands in the low bits; bits shifted past 64 are lost.
  const uint32_t shift = 12u * c.vlan_count;
  if (shift < 64) c.link_id |= vid << shift;
  if (c.vlan_count < 255) ++c.vlan_count;
  AddLayer(c, Layer::kDot1Q);
  c.pos += 4;
  // Inside a tag gopacket does not turn a small type into an 802.3 length.
  return StepForEtherType(Be16(p + 2));
}

Step DecodeLlc(Cursor& c) noexcept {
  if (c.avail() < 3) return Step::kStop;
  const uint8_t* p = c.data + c.pos;
  const uint8_t dsap = p[0] & 0xFE;
  const uint8_t ssap = p[1] & 0xFE;
  const uint8_t control = p[2];
  uint32_t len = 3;
  if ((control & 0x1) == 0 || (control & 0x3) == 0x1) {  // I or S format: 2-byte control
    if (c.avail() < 4) return Step::kStop;
    len = 4;
  }
  AddLayer(c, Layer::kLlc);
  c.pos += len;
  if (dsap == 0xAA && ssap == 0xAA) return Step::kSnap;
  if (dsap == 0x42 && ssap == 0x42) return Step::kStp;
  return Step::kStop;
}

Step DecodeSnap(Cursor& c) noexcept {
  if (c.avail() < 5) return Step::kStop;
  const uint16_t type = Be16(c.data + c.pos + 3);
  AddLayer(c, Layer::kSnap);
  c.pos += 5;
  return StepForEtherType(type);
}

Step DecodeStp(Cursor& c) noexcept {
  // gopacket's STP layer takes whatever follows the LLC header.
  AddLayer(c, Layer::kStp);
  return Step::kStop;
}

Step DecodeCdp(Cursor& c) noexcept {
  if (c.avail() < 4) return Step::kStop;
  const uint8_t version = c.data[c.pos];
  if (version != 1 && version != 2) return Step::kStop;
  AddLayer(c, Layer::kCdp);
  return Step::kStop;  // gopacket adds "CiscoDiscoveryInfo": not in Layer
}

Step DecodeLldp(Cursor& c) noexcept {
  // gopacket needs a well-formed TLV chain with chassis id, port id, TTL and end.
  const uint8_t* p = c.data + c.pos;
  const uint32_t n = c.avail();
  uint32_t off = 0;
  int values = 0;
  bool chassis = false, port = false, end_seen = false;
  while (off < n) {
    if (n - off < 2) return Step::kStop;
    const uint8_t type = p[off] >> 1;
    const uint32_t len = (static_cast<uint32_t>(p[off] & 1) << 8) | p[off + 1];
    if (n - off - 2 < len) return Step::kStop;
    ++values;
    if (type == 0) {
      end_seen = true;
      break;
    }
    if ((type == 1 || type == 2 || type == 3) && len < 2) return Step::kStop;
    if (type == 1) chassis = p[off + 2] != 0;
    if (type == 2) port = p[off + 2] != 0;
    off += 2 + len;
  }
  if (values < 4 || !chassis || !port || !end_seen) return Step::kStop;
  AddLayer(c, Layer::kLldp);
  return Step::kStop;  // gopacket adds "LinkLayerDiscoveryInfo": not in Layer
}

Step DecodeEapol(Cursor& c) noexcept {
  if (c.avail() < 4) return Step::kStop;
  AddLayer(c, Layer::kEapol);
  return Step::kStop;
}

Step DecodePppoe(Cursor& c) noexcept {
  if (c.avail() < 6) return Step::kStop;
  AddLayer(c, Layer::kPppoe);
  return Step::kStop;  // gopacket goes on with PPP: not in Layer
}

Step DecodeArp(Cursor& c) noexcept {
  if (c.avail() < 8) {
    c.anomalies |= kAnomalyTruncatedArp;
    return Step::kStop;
  }
  const uint8_t* p = c.data + c.pos;
  // gopacket computes the length in uint8 arithmetic, so it wraps: mimic it.
  const uint8_t arp_len = static_cast<uint8_t>(8 + 2 * p[4] + 2 * p[5]);
  if (c.avail() < arp_len) {
    c.anomalies |= kAnomalyTruncatedArp;
    return Step::kStop;
  }
  AddLayer(c, Layer::kArp);
  return Step::kStop;  // what follows is gopacket Payload
}

}  // namespace skyprobe::parse_internal
