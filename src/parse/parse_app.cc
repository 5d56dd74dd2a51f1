// Application decoders chosen by port (DNS, NTP, DHCPv4/v6, TLS). Each one
// only checks what gopacket's decoder would reject: a layer that fails is not
// named and sets kAnomalyBadAppLayer; the path then ends at UDP/TCP. The UDP
// tunnel headers (VXLAN, Geneve, GTPv1U, MPLS) live in parse_tunnel.cc.
#include "parse/internal/decode.h"

namespace skyprobe::parse_internal {
namespace {

// One walk over a DNS message: every name of the message draws on one budget
// of steps (a label or a pointer followed), so validation is linear in the
// frame however the names are built.
struct DnsWalk {
  const uint8_t* msg;
  uint32_t len;
  uint32_t budget;
};

// Walks one (possibly compressed) name starting at `off`; on success `*next`
// is the offset just past it in the original stream. gopacket's decodeName
// follows any pointer inside the message up to 255 hops and limits each run
// of labels to 255 bytes, so a name that loops costs 255 hops of up to 127
// labels each. Here, as RFC 1035 §4.1.4 intends ("a prior occurrence"), a
// pointer must point strictly before the start of the run of labels that
// holds it: the runs of one name start at decreasing offsets, so no name can
// loop and each pointer is followed at most once per name. The whole name
// (labels and their length octets, RFC 1035 §3.1) is at most 255 octets.
// 0x40/0x80 label types and anything past the message are errors too.
bool SkipDnsName(DnsWalk& w, uint32_t off, uint32_t* next) {
  bool jumped = false;
  uint32_t after = 0;
  uint32_t segment_start = off;
  uint32_t name_octets = 0;
  for (;;) {
    if (off >= w.len || w.budget == 0) return false;
    --w.budget;
    const uint8_t b = w.msg[off];
    if (b == 0) {
      *next = jumped ? after : off + 1;
      return true;
    }
    switch (b & 0xC0) {
      case 0x00: {
        name_octets += 1u + b;
        if (name_octets > kDnsMaxNameOctets || off + 1 + b > w.len) return false;
        off += 1u + b;
        break;
      }
      case 0xC0: {
        if (off + 2 > w.len) return false;
        const uint32_t target = Be16(w.msg + off) & 0x3FFF;
        if (target >= segment_start) return false;
        if (!jumped) {
          jumped = true;
          after = off + 2;
        }
        off = target;
        segment_start = target;
        break;
      }
      default:
        return false;
    }
  }
}

bool DnsRdataValid(DnsWalk& w, uint16_t type, uint32_t rdata, uint32_t rdlen) {
  const uint8_t* msg = w.msg;
  const uint32_t len = w.len;
  uint32_t next = 0;
  switch (type) {
    case 2:   // NS
    case 5:   // CNAME
    case 12:  // PTR
      return SkipDnsName(w, rdata, &next);
    case 6:  // SOA: two names then five 32-bit fields (read from the message)
      return SkipDnsName(w, rdata, &next) && SkipDnsName(w, next, &next) && next + 20 <= len;
    case 15:  // MX
      return rdata + 2 <= len && SkipDnsName(w, rdata + 2, &next);
    case 33:  // SRV
      return rdata + 6 <= len && SkipDnsName(w, rdata + 6, &next);
    case 13:  // HINFO
    case 16:  // TXT: character strings must fill the rdata exactly
      for (uint32_t i = 0; i < rdlen;) {
        i += 1 + msg[rdata + i];
        if (i > rdlen) return false;
      }
      return true;
    case 41:  // OPT: code, length, data
      for (uint32_t i = 0; i < rdlen;) {
        if (rdlen - i < 4) return false;
        const uint32_t opt_len = Be16(msg + rdata + i + 2);
        if (rdlen - i - 4 < opt_len) return false;
        i += 4 + opt_len;
      }
      return true;
    default:
      return true;
  }
}

Step NameApp(Cursor& c, Layer layer) {
  AddLayer(c, layer);
  return Step::kStop;
}

}  // namespace

Step AppFail(Cursor& c) noexcept {
  c.anomalies |= kAnomalyBadAppLayer;
  return Step::kStop;
}

DnsCheck CheckDns(const uint8_t* msg, uint32_t len) noexcept {
  DnsWalk w{msg, len, len * kDnsStepsPerByte + kDnsStepsExtra};
  const uint32_t budget = w.budget;
  const auto done = [&](bool valid) { return DnsCheck{valid, budget - w.budget}; };
  if (len < 12) return done(false);
  uint32_t off = 12;
  const uint32_t questions = Be16(msg + 4);
  for (uint32_t i = 0; i < questions; ++i) {
    if (!SkipDnsName(w, off, &off) || off + 4 > len) return done(false);
    off += 4;
  }
  const uint32_t records = static_cast<uint32_t>(Be16(msg + 6)) + Be16(msg + 8) + Be16(msg + 10);
  for (uint32_t i = 0; i < records; ++i) {
    if (!SkipDnsName(w, off, &off) || off + 10 > len) return done(false);
    const uint16_t type = Be16(msg + off);
    const uint32_t rdlen = Be16(msg + off + 8);
    const uint32_t rdata = off + 10;
    if (rdata + rdlen > len || !DnsRdataValid(w, type, rdata, rdlen)) return done(false);
    off = rdata + rdlen;
  }
  return done(true);
}

bool IsValidDns(const uint8_t* msg, uint32_t len) noexcept { return CheckDns(msg, len).valid; }

void SetAppPayload(Cursor& c, AppHint hint) noexcept {
  // Sub-packets start below 64 KiB (parser.cc) and frames are shorter than
  // that in practice; a payload the 16-bit fields cannot describe is left out.
  SetAppPayload(c, hint, c.avail());
}

void SetAppPayload(Cursor& c, AppHint hint, uint32_t len) noexcept {
  if (!c.app || c.pos > 0xFFFF || len > 0xFFFF) return;
  c.app_hint = hint;
  c.app_off = static_cast<uint16_t>(c.pos);
  c.app_len = static_cast<uint16_t>(len);
}

Step DecodeDns(Cursor& c) noexcept {
  // DNS over TCP keeps its 2-byte length prefix: gopacket does not strip it
  // (DecodeTcp sniffs DNS over TCP for the flow's metadata on its own).
  if (!IsValidDns(c.data + c.pos, c.avail())) return AppFail(c);
  if (c.udp.present) SetAppPayload(c, AppHint::kDns);
  return NameApp(c, Layer::kDns);
}

Step DecodeNtp(Cursor& c) noexcept {
  if (c.avail() < 48) return AppFail(c);
  return NameApp(c, Layer::kNtp);
}

Step DecodeDhcpv4(Cursor& c) noexcept {
  const uint8_t* p = c.data + c.pos;
  const uint32_t n = c.avail();
  if (n < 240 || Be32(p + 236) != 0x63825363) return AppFail(c);
  for (uint32_t off = 240; off < n;) {
    const uint8_t type = p[off];
    if (type == 255) break;  // end
    if (type == 0) {         // pad
      ++off;
      continue;
    }
    if (n - off < 2 || p[off + 1] > n - off - 2) return AppFail(c);
    off += 2u + p[off + 1];
  }
  SetAppPayload(c, AppHint::kDhcpv4);
  return NameApp(c, Layer::kDhcpv4);
}

Step DecodeDhcpv6(Cursor& c) noexcept {
  const uint8_t* p = c.data + c.pos;
  const uint32_t n = c.avail();
  if (n < 4) return AppFail(c);
  const bool relay = p[0] == 12 || p[0] == 13;
  uint32_t off = relay ? 34 : 4;
  if (n < off) return AppFail(c);
  while (off < n) {
    if (n - off < 4 || Be16(p + off + 2) > n - off - 4) return AppFail(c);
    off += 4u + Be16(p + off + 2);
  }
  return NameApp(c, Layer::kDhcpv6);
}

Step DecodeVrrp(Cursor& c) noexcept {
  // gopacket's decodeVRRP: 8 bytes, type 1 (advertisement), at least one
  // address and all of them present (it slices them out, and a short one
  // panics into a decode failure). The version nibble is not checked.
  const uint8_t* p = c.data + c.pos;
  const uint32_t n = c.avail();
  if (n < 8 || (p[0] & 0x0F) != 1 || p[3] == 0 || 8u + 4u * p[3] > n) return AppFail(c);
  SetAppPayload(c, AppHint::kVrrp);
  return NameApp(c, Layer::kVrrp);
}

Step DecodeTls(Cursor& c) noexcept {
  // gopacket decodes every record of the segment and fails on any partial
  // one, so a record split across segments leaves the path at TCP.
  const uint8_t* p = c.data + c.pos;
  const uint32_t n = c.avail();
  uint32_t off = 0;
  while (off < n) {
    if (n - off < 5) return AppFail(c);
    const uint8_t type = p[off];
    const uint32_t len = Be16(p + off + 3);
    if (type < 20 || type > 23 || n - off - 5 < len) return AppFail(c);
    if (type == 20 && (len != 1 || p[off + 5] != 1)) return AppFail(c);  // ChangeCipherSpec
    off += 5 + len;
  }
  return NameApp(c, Layer::kTls);
}

}  // namespace skyprobe::parse_internal
