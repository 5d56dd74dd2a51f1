// parsed_packet.h: what the parser extracts from one captured frame.
//
// Owner: RX lcore only. A ParsedPacket lives in the worker's per-burst
// scratch array; nothing here allocates or points outside the frame bytes.
//
// One frame gives one or more sub-packets (Skydive's "Packets" sequence): the
// outer one first, then one per tunnel level (parser.h lists the tunnels).
// Every field needed by the key, the metrics and the first-packet record is
// here, so the table never re-reads the frame.
//
//   ParsedPacket pkt;
//   ParseFrame(data, caplen, wire_len, ParserConfig{.link_type = LinkType::kEthernet}, &pkt);
//   for (uint8_t i = 0; i < pkt.num_sub; ++i) Use(pkt.sub[i]);
#pragma once

#include <cstdint>

#include "skyprobe/link_types.h"

namespace skyprobe {

// Layer names are gopacket's (they make LayersPath): keep the enum and the
// name table in parsed_packet.cc in the same order.
enum class Layer : uint8_t {
  kEthernet,
  kDot1Q,
  kArp,
  kIpv4,
  kIpv6,
  kFragment,  // IPv4 datagram with MF set or a non-zero offset
  kIpv6HopByHop,
  kIpv6Routing,
  kIpv6Fragment,
  kIpv6Destination,
  kTcp,
  kUdp,
  kSctp,
  kIcmpv4,
  kIcmpv6,
  kIcmpv6Echo,
  kIcmpv6RouterSolicitation,
  kIcmpv6RouterAdvertisement,
  kIcmpv6NeighborSolicitation,
  kIcmpv6NeighborAdvertisement,
  kIcmpv6Redirect,
  kDns,
  kNtp,
  kDhcpv4,
  kDhcpv6,
  kTls,
  kGre,
  kMpls,
  kVxlan,
  kGeneve,
  kGtpv1u,
  kLlc,
  kSnap,
  kStp,
  kCdp,
  kLldp,
  kEapol,
  kPppoe,
  kVrrp,   // IP protocol 112 (gopacket's VRRPv2 decoder, whatever the version nibble)
  kCount,  // not a layer: number of names
};

// gopacket's name of `layer` ("Ethernet", "Dot1Q", "IPv4", "ICMPv6Echo", ...).
const char* LayerName(Layer layer);

// Skydive's FlowProtocol numbers (flow.proto).
enum class FlowProtocol : uint8_t {
  kEthernet = 0,
  kIpv4 = 1,
  kTcp = 2,
  kUdp = 3,
  kSctp = 4,
  kIpv6 = 5,
  kIcmpv4 = 6,
  kIcmpv6 = 7,
};

// Skydive's ICMPType (both a request and its reply map to one value).
enum class IcmpType : uint8_t {
  kUnknown = 0,
  kDestinationUnreachable = 1,
  kEcho = 2,
  kNeighbor = 3,
  kAddressMask = 4,
  kInfo = 5,
  kParameterProblem = 6,
  kRedirect = 7,
  kRouter = 8,
  kSourceQuench = 9,
  kTimeExceeded = 10,
  kTimestamp = 11,
  kPacketTooBig = 12,
};

// Why a frame produced no sub-packet at all (counted per reason, frame dropped).
enum class ParseError : uint8_t {
  kNone = 0,
  kTooShort,             // shorter than the link header: no link and no network layer
  kUnsupportedLinkType,  // refused at start-up normally; counted if it happens
  kNoLayer,              // link header present but neither link nor network layer usable
  kCount,
};

// A malformed header that only shortened LayersPath (Skydive's DecodeFailure):
// the frame still counts in a flow. One bit per kind, counted per kind.
enum ParseAnomaly : uint16_t {
  kAnomalyNone = 0,
  kAnomalyTruncatedVlan = 1u << 0,
  kAnomalyTruncatedIp = 1u << 1,   // fewer bytes than the IP header needs
  kAnomalyBadIpHeader = 1u << 2,   // IHL < 5, total length < header, bad version
  kAnomalyTruncatedL4 = 1u << 3,   // TCP/UDP/SCTP/ICMP header cut short
  kAnomalyBadTcpOffset = 1u << 4,  // TCP data offset < 5 or beyond the segment
  kAnomalyIpv6ExtChain = 1u << 5,  // extension header chain runs off the end
  kAnomalyBadAppLayer = 1u << 6,   // port-selected L7 (DNS, NTP, ...) failed to decode
  kAnomalyTruncatedArp = 1u << 7,
  kAnomalyIpTotalLength = 1u << 8,  // IPv4 total length beyond the captured bytes
  kAnomalyTunnelDepth = 1u << 9,    // more nested sub-packets than kMaxSubPackets
  kAnomalyCountBits = 10,
};

inline constexpr int kMaxLayers = 16;     // per sub-packet; deeper paths are cut
inline constexpr int kMaxSubPackets = 4;  // outer + 3 tunnel levels

// How a sub-packet's transport "flow" enters the key (flow_key.h, step 2).
enum class TransportKeyKind : uint8_t {
  kNone = 0,
  kPorts = 1,    // TCP/UDP/SCTP source and destination ports
  kVniPort = 2,  // VXLAN/Geneve outer: VNI + UDP destination port, type 0
};

// What a sub-packet's transport payload holds, for the flow's application
// metadata and extra layers (table/app_meta_store.h). The parser sets it only
// where a compare or a decoder it runs anyway tells: TCP payloads are sniffed
// from their first bytes on any port, DNS/DHCPv4/VRRP come from their
// decoders. `app_off`/`app_len` then give the bytes (for TCP, the segment's
// payload as captured; `tcp_seq` its sequence number).
enum class AppHint : uint8_t {
  kNone = 0,
  kTcpPayload,      // TCP payload not recognised: maybe the rest of a ClientHello or request
  kTlsClientHello,  // a TLS handshake record (0x16 0x03 ..) whose message is a ClientHello (1)
  kHttpRequest,     // starts with an HTTP method and a space ("GET ", "POST ", ...)
  kDns,             // UDP: a DNS message the DNS decoder accepted
  kDnsTcp,          // TCP port 53: a 2-byte length, then a whole valid DNS message (app_off at it)
  kDhcpv4,          // a DHCPv4 message the decoder accepted
  kVrrp,            // a VRRP message the decoder accepted
};

// One sub-packet: the layers from one tunnel level, Skydive's `Packet`.
struct SubPacket {
  // Offset of this sub-packet's first layer in the frame (RawPacket.Data).
  uint16_t offset = 0;
  uint8_t num_layers = 0;
  Layer layers[kMaxLayers];

  // Link (Ethernet) layer: offsets of the 6-byte MACs in the frame.
  bool has_link = false;
  uint16_t mac_dst_off = 0;
  uint16_t mac_src_off = 0;
  uint8_t vlan_count = 0;
  uint64_t link_id = 0;  // VLAN stack, 12 bits per tag, outer tag lowest

  // Network layer: the first IPv4 of the sub-packet, else the first IPv6.
  uint8_t ip_version = 0;  // 0 = no network layer, 4 or 6
  uint16_t ip_src_off = 0;
  uint16_t ip_dst_off = 0;
  uint8_t ttl = 0;           // IPv4 TTL / IPv6 hop limit
  uint16_t ip_length = 0;    // IPv4 total length; IPv6 payload length
  bool ip_fragment = false;  // IPv4 MF or offset != 0, or IPv6 Fragment header (MF or offset != 0)
  int64_t network_id = 0;    // VNI / GRE key / GTP-U TEID of the tunnel header here
  // The MPLS label stack ending this sub-packet (its last layer is "MPLS"):
  // offset of the top entry in the frame and the whole 4-byte entries read
  // (up to the bottom of stack, fewer when the capture cut it); 0: none.
  uint16_t mpls_off = 0;
  uint8_t mpls_entries = 0;

  // Transport layer: the first UDP, else TCP, else SCTP.
  FlowProtocol transport = FlowProtocol::kEthernet;  // kEthernet = none
  TransportKeyKind transport_key = TransportKeyKind::kNone;
  uint16_t src_port = 0;  // host order
  uint16_t dst_port = 0;
  uint8_t tcp_flags = 0;  // FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10 ...
  uint32_t vni = 0;       // for TransportKeyKind::kVniPort
  // The TCP header, for the sequence tracker (table/tcp_tracker.h): its
  // offset in the frame, 0 unless its first 20 bytes were captured and the
  // segment length is known (not an IP fragment, header within the IP
  // length); the segment's payload bytes as the IP length fields give them
  // (Wireshark's tcp.len: IP payload end - TCP header end, whatever was
  // captured). No payload byte is read.
  uint16_t tcp_off = 0;
  uint16_t tcp_seg_len = 0;

  // Application payload (AppHint above); app_len 0 = none.
  AppHint app_hint = AppHint::kNone;
  uint16_t app_off = 0;
  uint16_t app_len = 0;
  uint32_t tcp_seq = 0;

  // ICMP ("application flow" of the key).
  uint8_t icmp_version = 0;  // 0 = none, 4 or 6
  IcmpType icmp_type = IcmpType::kUnknown;
  uint8_t icmp_raw_type = 0;  // on-wire type (echo request vs reply for RTT)
  uint8_t icmp_code = 0;
  uint16_t icmp_id = 0;  // echo identifier (ICMPv4: always the id position)

  // Bytes this sub-packet counts in its flow (Skydive's Length rule).
  uint32_t length = 0;

  // The fragment header of the network layer, when ip_fragment (else 0):
  // what the defragmenter (table/defragmenter.h) needs.
  uint32_t frag_id = 0;        // IPv4 identification / IPv6 Fragment identification
  uint16_t frag_offset = 0;    // bytes from the start of the datagram's payload
  uint16_t frag_data_len = 0;  // payload bytes this fragment carries (its IP length says)
  uint8_t frag_proto = 0;      // the datagram's payload protocol (IPv4 protocol / next header)
  bool frag_more = false;      // MF: more fragments follow
};

inline constexpr uint8_t kNoFragSub = 0xFF;

// Everything the parser learned from one frame.
struct ParsedPacket {
  uint8_t num_sub = 0;
  ParseError error = ParseError::kNone;
  uint16_t anomalies = kAnomalyNone;
  // With ParserConfig::ip_defrag: the first sub-packet whose network layer is
  // a fragment (ip_fragment), else kNoFragSub. Always kNoFragSub without it.
  uint8_t frag_sub = kNoFragSub;
  LinkType link_type = LinkType::kEthernet;  // ParserConfig::link_type it was parsed with
  uint8_t input = 0;                         // ParserConfig::input: 1-based input, 0 unknown
  SubPacket sub[kMaxSubPackets];
};

// TCP flag bits as on the wire.
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpAck = 0x10;

}  // namespace skyprobe
