// Network-layer decoders: IPv4, IPv6 and its extension headers, IPv4
// fragments. GRE is in parse_tunnel.cc.
//
// gopacket's decodeIPv4/decodeIPv6 add the layer *before* looking at the
// decode error, so a header that is present but invalid (IHL < 5, bad total
// length, bad options) stays in LayersPath and is the network layer; only the
// layers after it are lost. A header shorter than its fixed part is not added
// here (gopacket adds an empty one, with no addresses to key a flow on).
#include <algorithm>

#include "parse/internal/decode.h"

namespace skyprobe::parse_internal {
namespace {

// IPv4 options between byte 20 and IHL*4, checked the way gopacket walks them.
bool Ipv4OptionsValid(const uint8_t* p, uint32_t len) {
  uint32_t off = 0;
  while (off < len) {
    const uint8_t type = p[off];
    if (type == 0) return true;  // end of list: the rest is padding
    if (type == 1) {
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

// Type-length-value options of a HopByHop or Destination header (`p` at the
// first option, `len` bytes of options). Reports a jumbo payload length.
bool Ipv6TlvOptionsValid(const uint8_t* p, uint32_t len, bool* jumbo, uint32_t* jumbo_len) {
  uint32_t off = 0;
  while (off < len) {
    if (p[off] == 0) {  // Pad1
      ++off;
      continue;
    }
    if (len - off < 2) return false;
    const uint32_t opt_len = p[off + 1];
    if (len - off - 2 < opt_len) return false;
    if (p[off] == 0xC2 && !*jumbo) {  // first jumbo payload option
      if (opt_len != 4) return false;
      *jumbo = true;
      *jumbo_len = Be32(p + off + 2);
    }
    off += 2 + opt_len;
  }
  return true;
}

// Common part of the extension headers: next header and (len + 1) * 8 bytes.
bool ExtensionBase(const Cursor& c, uint32_t* ext_len) {
  if (c.avail() < 2) return false;
  *ext_len = (static_cast<uint32_t>(c.data[c.pos + 1]) + 1) * 8;
  return *ext_len <= c.avail();
}

Step ExtFail(Cursor& c) {
  c.anomalies |= kAnomalyIpv6ExtChain;
  return Step::kStop;
}

// HopByHop or Destination header standing as its own layer.
Step DecodeTlvExtension(Cursor& c, Layer layer) {
  uint32_t ext_len = 0;
  if (!ExtensionBase(c, &ext_len)) return ExtFail(c);
  const uint8_t* p = c.data + c.pos;
  bool jumbo = false;
  uint32_t jumbo_len = 0;
  if (!Ipv6TlvOptionsValid(p + 2, ext_len - 2, &jumbo, &jumbo_len)) return ExtFail(c);
  AddLayer(c, layer);
  c.pos += ext_len;
  return IpPayloadStep(c, p[0]);
}

}  // namespace

Step StepForIpProtocol(uint8_t proto) noexcept {
  switch (proto) {
    case 0:
      return Step::kHopByHop;
    case 1:
      return Step::kIcmpv4;
    case 4:
      return Step::kIpv4;
    case 6:
      return Step::kTcp;
    case 17:
      return Step::kUdp;
    case 41:
      return Step::kIpv6;
    case 43:
      return Step::kRouting;
    case 44:
      return Step::kIpv6Fragment;
    case 47:
      return Step::kGre;
    case 58:
      return Step::kIcmpv6;
    case 60:
      return Step::kDestination;
    case 132:
      return Step::kSctp;
    case 112:
      return Step::kVrrp;
    case 2:    // IGMP
    case 50:   // IPSecESP
    case 51:   // IPSecAH
    case 89:   // OSPF
    case 136:  // UDPLite
      return Step::kUnsupported;
    default:
      return Step::kStop;
  }
}

Step IpPayloadStep(Cursor& c, uint8_t proto) noexcept {
  if (proto == 4 || proto == 41) c.split_here = true;
  return StepForIpProtocol(proto);
}

Step DecodeIpv4(Cursor& c) noexcept {
  if (c.avail() < 20) {
    c.anomalies |= kAnomalyTruncatedIp;
    return Step::kStop;
  }
  const uint8_t* p = c.data + c.pos;
  const uint32_t ihl_bytes = (p[0] & 0x0F) * 4u;
  uint16_t total = Be16(p + 2);
  // TSO: a zero total length means "whatever was captured" (gopacket).
  if (total == 0) total = static_cast<uint16_t>(c.avail());
  const uint16_t flags_frag = Be16(p + 6);
  const bool fragment = (flags_frag & 0x2000) != 0 || (flags_frag & 0x1FFF) != 0;

  const bool first_v4 = !c.v4.present;
  if (first_v4) {
    c.v4 = IpSeen{};
    c.v4.present = true;
    c.v4.src_off = static_cast<uint16_t>(c.pos + 12);
    c.v4.dst_off = static_cast<uint16_t>(c.pos + 16);
    c.v4.ttl = p[8];
    c.v4.length = total;
    c.v4.fragment = fragment;
  }
  if (!c.first_ip_set) {
    c.first_ip_set = true;
    c.first_ip_off = c.pos;
    c.first_ip_span = total;
  }
  c.last_ip_version = 4;
  // A TSO frame's zero total length stands for the frame as sent.
  c.ip_payload_end = Be16(p + 2) == 0 ? c.reported_end : c.pos + total;
  AddLayer(c, Layer::kIpv4);

  if (total < 20 || ihl_bytes < 20 || ihl_bytes > total) {
    c.anomalies |= kAnomalyBadIpHeader;
    return Step::kStop;
  }
  if (c.avail() > total) {
    c.end = c.pos + total;  // drop Ethernet padding
  } else if (c.avail() < total) {
    // Beyond the captured bytes: cut by the capture unless beyond the wire too.
    if (c.pos + total > c.wire_end) c.anomalies |= kAnomalyIpTotalLength;
    if (ihl_bytes > c.avail()) {
      c.anomalies |= kAnomalyBadIpHeader;
      return Step::kStop;
    }
  }
  if (!Ipv4OptionsValid(p + 20, ihl_bytes - 20)) {
    c.anomalies |= kAnomalyBadIpHeader;
    return Step::kStop;
  }
  c.wire_end = std::min(c.wire_end, c.pos + total);  // what is inside ends with it
  c.pos += ihl_bytes;
  if (!fragment) return IpPayloadStep(c, p[9]);
  const uint16_t offset = static_cast<uint16_t>((flags_frag & 0x1FFF) * 8u);
  if (first_v4) {
    c.v4.frag_id = Be16(p + 4);
    c.v4.frag_offset = offset;
    c.v4.frag_more = (flags_frag & 0x2000) != 0;
    c.v4.frag_proto = p[9];
    c.v4.frag_data_len = static_cast<uint16_t>(total - ihl_bytes);
  }
  if (!c.defrag || offset != 0) return Step::kFragment;
  // Defragmentation: the first fragment holds the datagram's L4 header, and
  // the datagram's path is the fragment's layers then the payload's
  // ("IPv4/Fragment/ICMPv4", as gopacket names a reassembled packet).
  AddLayer(c, Layer::kFragment);
  return IpPayloadStep(c, p[9]);
}

Step DecodeIpv6(Cursor& c) noexcept {
  if (c.avail() < 40) {
    c.anomalies |= kAnomalyTruncatedIp;
    return Step::kStop;
  }
  const uint8_t* p = c.data + c.pos;
  const uint16_t payload_len = Be16(p + 4);
  uint8_t next = p[6];
  const bool first_v6 = !c.v6.present;
  if (first_v6) {
    c.v6 = IpSeen{};
    c.v6.present = true;
    c.v6.src_off = static_cast<uint16_t>(c.pos + 8);
    c.v6.dst_off = static_cast<uint16_t>(c.pos + 24);
    c.v6.ttl = p[7];
    c.v6.length = payload_len;
  }
  if (!c.first_ip_set) {
    c.first_ip_set = true;
    c.first_ip_off = c.pos;
    c.first_ip_span = 40u + payload_len;
  }
  c.last_ip_version = first_v6 ? 6 : 0;  // a fragment header marks the first IPv6 only
  AddLayer(c, Layer::kIpv6);
  c.pos += 40;
  if (payload_len > c.avail() && c.pos + payload_len > c.wire_end) {
    c.anomalies |= kAnomalyIpTotalLength;
  }
  if (payload_len != 0) c.wire_end = std::min(c.wire_end, c.pos + payload_len);
  // A jumbogram (length 0) runs to the end of the frame.
  c.ip_payload_end = payload_len == 0 ? c.reported_end : c.pos + payload_len;

  if (next == 0) {
    // gopacket decodes HopByHop inside IPv6 (it may carry the jumbo length).
    uint32_t ext_len = 0;
    bool jumbo = false;
    uint32_t jumbo_len = 0;
    if (!ExtensionBase(c, &ext_len) ||
        !Ipv6TlvOptionsValid(c.data + c.pos + 2, ext_len - 2, &jumbo, &jumbo_len) ||
        (jumbo && jumbo_len <= 65535) || (jumbo != (payload_len == 0))) {
      return ExtFail(c);
    }
    AddLayer(c, Layer::kIpv6HopByHop);
    next = c.data[c.pos];
    if (jumbo) {
      // The payload runs to the end of the capture; record what is there.
      if (first_v6) c.v6.length = static_cast<uint16_t>(c.avail());
      c.pos += ext_len;
      return IpPayloadStep(c, next);
    }
    c.pos += ext_len;
  } else if (payload_len == 0) {
    c.anomalies |= kAnomalyBadIpHeader;  // zero length without a jumbo option
    return Step::kStop;
  }
  // gopacket applies the payload length after the HopByHop header, not from
  // the end of the fixed header: mirror it.
  if (payload_len < c.avail()) c.end = c.pos + payload_len;
  return IpPayloadStep(c, next);
}

Step DecodeHopByHop(Cursor& c) noexcept { return DecodeTlvExtension(c, Layer::kIpv6HopByHop); }

Step DecodeDestination(Cursor& c) noexcept {
  return DecodeTlvExtension(c, Layer::kIpv6Destination);
}

Step DecodeRouting(Cursor& c) noexcept {
  uint32_t ext_len = 0;
  if (!ExtensionBase(c, &ext_len)) return ExtFail(c);
  const uint8_t* p = c.data + c.pos;
  // gopacket only knows routing type 0 and rejects every other type.
  if (p[2] != 0 || (ext_len - 8) % 16 != 0) return ExtFail(c);
  AddLayer(c, Layer::kIpv6Routing);
  c.pos += ext_len;
  return IpPayloadStep(c, p[0]);
}

Step DecodeIpv6Fragment(Cursor& c) noexcept {
  if (c.avail() < 8) return ExtFail(c);
  const uint8_t* p = c.data + c.pos;
  const uint16_t offset = static_cast<uint16_t>((Be16(p + 2) >> 3) * 8u);
  const bool more = (p[3] & 0x1) != 0;
  const bool ours = c.last_ip_version == 6;  // the fragment header of the first IPv6
  AddLayer(c, Layer::kIpv6Fragment);
  c.pos += 8;
  if ((offset != 0 || more) && ours) {
    c.v6.fragment = true;
    c.v6.frag_id = Be32(p + 4);
    c.v6.frag_offset = offset;
    c.v6.frag_more = more;
    c.v6.frag_proto = p[0];
    // Payload length counts from the end of the fixed header (src_off - 8 + 40).
    const uint32_t before = c.pos - (c.v6.src_off + 32u);
    c.v6.frag_data_len =
        c.v6.length > before ? static_cast<uint16_t>(c.v6.length - before) : uint16_t{0};
  }
  // Defragmentation: an offset-0 fragment (or an atomic one, RFC 6946) goes on
  // into its payload ("IPv6/IPv6Fragment/UDP"). Otherwise gopacket hands every
  // IPv6Fragment payload to its Fragment decoder.
  if (c.defrag && offset == 0 && ours) {
    return IpPayloadStep(c, p[0]);
  }
  return Step::kFragment;
}

Step DecodeFragment(Cursor& c) noexcept {
  AddLayer(c, Layer::kFragment);
  return Step::kStop;
}

}  // namespace skyprobe::parse_internal
