// decode.h: internal state and per-layer decoders shared by the parser's .cc files.
//
// Owner: RX lcore only (stack state of one ParseFrame call). Not a public API.
// Each DecodeX() reads the layer at c.pos (bytes up to c.end), appends its
// name, moves c.pos/c.end to its payload and returns the decoder to run next:
//
//   Step s = Step::kEthernet;
//   while (s != Step::kStop && c.pos < c.end) s = Dispatch(s, c);
#pragma once

#include <emmintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "parse/parsed_packet.h"
#include "parse/parser.h"
#include "skyprobe/compiler.h"

namespace skyprobe::parse_internal {

// The decoder to run on the current payload. kUnsupported is a layer gopacket
// knows (SIP, BFD, Modbus, IGMP, ...) but this parser does not name: the path
// stops there, and it still wins over the source-port lookup.
enum class Step : uint8_t {
  kStop,
  kUnsupported,
  kEthernet,
  kDot1Q,
  kLlc,
  kSnap,
  kStp,
  kCdp,
  kLldp,
  kEapol,
  kPppoe,
  kArp,
  kMpls,
  kIpv4,
  kIpv6,
  kHopByHop,
  kRouting,
  kIpv6Fragment,
  kDestination,
  kFragment,
  kTcp,
  kUdp,
  kSctp,
  kIcmpv4,
  kIcmpv6,
  kGre,
  kDns,
  kNtp,
  kDhcpv4,
  kDhcpv6,
  kTls,
  kVxlan,
  kGeneve,
  kGtpv1u,
  kVrrp,
};

struct IpSeen {
  bool present;
  uint16_t src_off;
  uint16_t dst_off;
  uint8_t ttl;
  uint16_t length;  // IPv4 total length / IPv6 payload length
  bool fragment;
  // Fragment header facts (SubPacket::frag_*), set with `fragment`.
  bool frag_more;
  uint8_t frag_proto;
  uint16_t frag_offset;
  uint16_t frag_data_len;
  uint32_t frag_id;
};

struct PortsSeen {
  bool present;
  uint16_t src;
  uint16_t dst;
  uint8_t flags;
};

struct IcmpSeen {
  bool present;
  uint8_t type;
  uint8_t code;
  uint16_t id;
  bool has_id;
};

// Decode state of one sub-packet. Facts are collected as layers go by and
// turned into SubPacket fields once decoding stops (first IPv4 beats IPv6,
// first UDP beats TCP beats SCTP, as Skydive picks them).
// No default member initializers (nor in IpSeen, PortsSeen, IcmpSeen: a `T{}`
// zeroes them): ResetCursor sets every field, with 16-byte stores, where the
// compiler's clear of the initializers was a `rep stos` whose start-up cost
// was a sixth of ParseFrame's time. A Cursor is always made through it.
struct Cursor {
  const uint8_t* data;
  // ParserConfig::ip_defrag: an offset-0 fragment is decoded on into its
  // payload (the datagram's L4 header) after its "Fragment"/"IPv6Fragment" layer.
  bool defrag;
  // ParserConfig::app_payload: SubPacket::app_* are looked for.
  bool app;
  uint32_t pos;  // first byte of the layer about to be decoded
  uint32_t end;  // one past its last readable byte (never beyond caplen)
  // One past the last byte the layer had on the wire: the frame's wire length
  // (UINT32_MAX when the capture lost it; ResetCursor's value), narrowed to each enclosing IP
  // header's length. A length field reaching past `end` but not past this was
  // cut by the capture (snaplen, an AF_PACKET frame, a GRO super-frame, an
  // sFlow header sample): no anomaly; past it, the header lies.
  uint32_t wire_end;
  SubPacket* sub;
  uint16_t anomalies;

  bool has_link;
  uint8_t vlan_count;
  uint64_t link_id;
  IpSeen v4;
  IpSeen v6;
  uint8_t last_ip_version;  // the IP header an IPv6Fragment belongs to
  bool first_ip_set;        // the frame's first IP header, for wire_len recovery
  uint32_t first_ip_off;
  uint32_t first_ip_span;  // IPv4 total length, IPv6 40 + payload length
  PortsSeen udp;
  PortsSeen tcp;
  // End of the frame as it was on the wire (wire_len, at least caplen;
  // UINT32_MAX when unknown), and of the payload of the latest IP header by
  // its length field (0: none): they give a TCP segment's length
  // (SubPacket::tcp_seg_len).
  uint32_t reported_end;
  uint32_t ip_payload_end;
  uint16_t tcp_off;  // SubPacket::tcp_off / tcp_seg_len, once DecodeTcp saw them
  uint16_t tcp_seg_len;
  PortsSeen sctp;
  IcmpSeen icmp4;
  IcmpSeen icmp6;
  bool vni_seen;  // last layer is VXLAN/Geneve: VNI + port key
  uint32_t vni;
  int64_t network_id;
  uint16_t mpls_off;     // the MPLS label stack of this sub-packet: first entry
  uint8_t mpls_entries;  // whole entries read (0: none)
  // Set by a tunnel header after which a new sub-packet starts (VXLAN, Geneve,
  // GRE unless MPLS follows, the bottom of an MPLS stack, GTP-U, IP-in-IP).
  // The step the decoder returns then reads the first layer of the inner
  // sub-packet, at c.pos.
  bool split_here;
  // The sub-packet's application payload (SubPacket::app_*), from its first
  // transport layer.
  AppHint app_hint;
  uint16_t app_off;
  uint16_t app_len;
  uint32_t tcp_seq;

  uint32_t avail() const { return end - pos; }
};

// Zeroes the trivially copyable `*obj` with 16-byte stores (and an 8-byte
// one at the end): GCC's generic tuning writes a clear of this size as a
// `rep stos`, or turns a loop of stores back into one, which costs more than
// a short decode.
template <typename T, size_t... kOff>
SKYPROBE_ALWAYS_INLINE void StoreZeros(char* p, std::index_sequence<kOff...> /*unused*/) {
  const __m128i zero = _mm_setzero_si128();
  (_mm_storeu_si128(reinterpret_cast<__m128i*>(p + kOff * 16), zero), ...);
  if constexpr (sizeof(T) % 16 != 0) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p + sizeof(T) / 16 * 16), zero);
  }
}
template <typename T>
SKYPROBE_ALWAYS_INLINE void ClearZero(T* obj) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) % 8 == 0);
  StoreZeros<T>(reinterpret_cast<char*>(obj), std::make_index_sequence<sizeof(T) / 16>{});
}

// The start of any parse of one frame under `cfg` (the fast path and the
// full decoder alike): the packet's own fields, `num_sub` sub-packets, and
// the first SubPacket as SubPacket{} (all its defaults are 0).
SKYPROBE_ALWAYS_INLINE SubPacket* BeginPacket(const ParserConfig& cfg, uint8_t num_sub,
                                              ParsedPacket* out) {
  out->num_sub = num_sub;
  out->error = ParseError::kNone;
  out->anomalies = kAnomalyNone;
  out->frag_sub = kNoFragSub;
  out->link_type = cfg.link_type;
  out->input = cfg.input;
  ClearZero(&out->sub[0]);
  return &out->sub[0];
}

// A fresh Cursor: every field zero (nullptr, false) but wire_end, UINT32_MAX.
SKYPROBE_ALWAYS_INLINE void ResetCursor(Cursor* c) {
  ClearZero(c);
  c->wire_end = UINT32_MAX;
}

inline uint16_t Be16(const uint8_t* p) {
  return static_cast<uint16_t>((static_cast<uint16_t>(p[0]) << 8) | p[1]);
}
inline uint32_t Be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}

inline void AddLayer(Cursor& c, Layer layer) {
  // Deeper paths are cut (kMaxLayers); decoding goes on so the fields stay right.
  if (c.sub->num_layers < kMaxLayers) c.sub->layers[c.sub->num_layers++] = layer;
}

// Next decoder for an EtherType (Ethernet, Dot1Q, SNAP, SLL payloads).
Step StepForEtherType(uint16_t ether_type) noexcept;
// Next decoder for an IP protocol number (IPv4, IPv6 and its extension headers).
Step StepForIpProtocol(uint8_t proto) noexcept;
// StepForIpProtocol for the payload of an IP header: IPv4 (4) or IPv6 (41)
// inside IP also starts a new sub-packet (beyond Skydive, which keeps one flow).
Step IpPayloadStep(Cursor& c, uint8_t proto) noexcept;

// L2 (parse_l2.cc).
Step DecodeEthernet(Cursor& c) noexcept;
Step DecodeDot1Q(Cursor& c) noexcept;
Step DecodeLlc(Cursor& c) noexcept;
Step DecodeSnap(Cursor& c) noexcept;
Step DecodeStp(Cursor& c) noexcept;
Step DecodeCdp(Cursor& c) noexcept;
Step DecodeLldp(Cursor& c) noexcept;
Step DecodeEapol(Cursor& c) noexcept;
Step DecodePppoe(Cursor& c) noexcept;
Step DecodeArp(Cursor& c) noexcept;

// L3 (parse_l3.cc).
Step DecodeIpv4(Cursor& c) noexcept;
Step DecodeIpv6(Cursor& c) noexcept;
Step DecodeHopByHop(Cursor& c) noexcept;
Step DecodeRouting(Cursor& c) noexcept;
Step DecodeIpv6Fragment(Cursor& c) noexcept;
Step DecodeDestination(Cursor& c) noexcept;
Step DecodeFragment(Cursor& c) noexcept;

// L4 (parse_l4.cc).
// gopacket's TCPPort.LayerType(); kStop means "Payload" (try the other port).
// Inline: the fast path (parse_fast.cc) asks it for every segment with a payload.
SKYPROBE_ALWAYS_INLINE Step TcpPortStep(uint16_t port) noexcept {
  switch (port) {
    case 53:
      return Step::kDns;
    case 443:
    case 636:
    case 989:
    case 990:
    case 992:
    case 993:
    case 994:
    case 995:
    case 5061:
      return Step::kTls;
    case 502:  // Modbus
      return Step::kUnsupported;
    default:
      return Step::kStop;
  }
}
// gopacket's UDPPort.LayerType() plus Skydive's 8472 (Linux VXLAN port).
SKYPROBE_ALWAYS_INLINE Step UdpPortStep(uint16_t port) noexcept {
  switch (port) {
    case 53:
      return Step::kDns;
    case 123:
      return Step::kNtp;
    case 67:
    case 68:
      return Step::kDhcpv4;
    case 546:
    case 547:
      return Step::kDhcpv6;
    case 4789:
    case 8472:
      return Step::kVxlan;
    case 6081:
      return Step::kGeneve;
    case 2152:
      return Step::kGtpv1u;
    case 3784:  // BFD
    case 5060:  // SIP
    case 6343:  // SFlow
      return Step::kUnsupported;
    default:
      return Step::kStop;
  }
}
// MPLS over UDP (parser.h kMplsUdpPorts), by destination port only, and only
// when neither port names a gopacket layer: the source port of RFC 7510 is
// entropy, and 51234 is an ephemeral port that a DNS reply may be sent to.
SKYPROBE_ALWAYS_INLINE bool IsMplsUdpPort(uint16_t port) noexcept {
  for (const uint16_t mpls : kMplsUdpPorts) {
    if (port == mpls) return true;
  }
  return false;
}
// The `len` bytes of TCP options at `p` as gopacket walks them.
bool TcpOptionsValid(const uint8_t* p, uint32_t len) noexcept;
Step DecodeTcp(Cursor& c) noexcept;
Step DecodeUdp(Cursor& c) noexcept;
Step DecodeSctp(Cursor& c) noexcept;
Step DecodeIcmpv4(Cursor& c) noexcept;
Step DecodeIcmpv6(Cursor& c) noexcept;

// Application and UDP tunnels (parse_app.cc).
Step DecodeDns(Cursor& c) noexcept;
Step DecodeNtp(Cursor& c) noexcept;
Step DecodeDhcpv4(Cursor& c) noexcept;
Step DecodeDhcpv6(Cursor& c) noexcept;
Step DecodeTls(Cursor& c) noexcept;
Step DecodeVrrp(Cursor& c) noexcept;
// Records the application payload at c.pos (the whole rest) under `hint`.
// Nothing unless ParserConfig::app_payload is on.
void SetAppPayload(Cursor& c, AppHint hint) noexcept;
// The same for the `len` bytes at c.pos.
void SetAppPayload(Cursor& c, AppHint hint, uint32_t len) noexcept;
// Marks a port-selected application layer that failed to decode.
Step AppFail(Cursor& c) noexcept;

// Tunnel headers (parse_tunnel.cc): each one that carries an inner packet
// sets c.split_here and returns the decoder of the inner packet's first layer.
Step DecodeGre(Cursor& c) noexcept;
Step DecodeMpls(Cursor& c) noexcept;
Step DecodeVxlan(Cursor& c) noexcept;
Step DecodeGeneve(Cursor& c) noexcept;
Step DecodeGtpv1u(Cursor& c) noexcept;

// ParseFrame's fast path (parse_fast.cc): the common frame in one pass, as
// ParseFrameFull would decode it; false, `out` untouched, for any other.
// Exposed for tests.
bool ParseFast(const uint8_t* data, uint32_t caplen, uint32_t wire_len, const ParserConfig& cfg,
               ParsedPacket* out) noexcept;

// Structural DNS check (no allocation), exposed for tests. Names follow
// RFC 1035 (at most 255 octets, compression pointers strictly backwards) and
// the whole message may take at most kDnsStepsPerByte steps (a label or a
// pointer followed) per byte, plus kDnsStepsExtra: a message that needs more
// is not DNS (kAnomalyBadAppLayer), so the check is linear in the frame.
inline constexpr uint32_t kDnsMaxNameOctets = 255;
inline constexpr uint32_t kDnsStepsPerByte = 1;
inline constexpr uint32_t kDnsStepsExtra = 128;
struct DnsCheck {
  bool valid;
  uint32_t steps;  // labels and pointers walked, for tests and benchmarks
};
DnsCheck CheckDns(const uint8_t* msg, uint32_t len) noexcept;
bool IsValidDns(const uint8_t* msg, uint32_t len) noexcept;

}  // namespace skyprobe::parse_internal
