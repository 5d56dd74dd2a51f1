// ie.h: the IPFIX Information Elements skyprobe exports: IANA's (RFC 7011 /
// 7012), RFC 5103's reverse elements (PEN 29305) and skyprobe's own
// enterprise-specific elements (--ipfix-pen N, described to collectors by
// RFC 5610 type information records).
//
// Owner: constant tables, read by any thread. Numbers, types and lengths are
// those of the IANA registry as Debian's python3-ipfix ships it
// (ipfix/iana.iespec, ipfix/rfc5103.iespec); a unit test checks every element
// here against those files.
//
//   for (const Ie& e : IanaElements()) Use(e.name, e.id, e.type);
//   const EnterpriseIe& rtt = kEnterpriseElements[3];
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace skyprobe::ipfix {

// Abstract data types with their RFC 5610 informationElementDataType codes.
enum class IeType : uint8_t {
  kOctetArray = 0,
  kUnsigned8 = 1,
  kUnsigned16 = 2,
  kUnsigned32 = 3,
  kUnsigned64 = 4,
  kMacAddress = 12,
  kString = 13,
  kDateTimeMilliseconds = 15,
  kIpv4Address = 18,
  kIpv6Address = 19,
};

// The name of a type as the registry spells it ("unsigned64").
std::string_view IeTypeName(IeType t);

// Field length meaning "variable length" in a template (RFC 7011 §7).
inline constexpr uint16_t kVariableLength = 0xFFFF;
// RFC 5103: reverse elements are the forward ones under this PEN.
inline constexpr uint32_t kReversePen = 29305;

// An element as a template names it. `pen` 0: IANA.
struct Ie {
  std::string_view name;
  uint16_t id;
  uint32_t pen;
  IeType type;
  uint16_t length;  // kVariableLength for strings
};

// The IANA and RFC 5103 elements, in the order of FieldKind (record_encoder.h).
namespace ie {
inline constexpr Ie kFlowId{"flowId", 148, 0, IeType::kUnsigned64, 8};
inline constexpr Ie kFlowStartMilliseconds{"flowStartMilliseconds", 152, 0,
                                           IeType::kDateTimeMilliseconds, 8};
inline constexpr Ie kFlowEndMilliseconds{"flowEndMilliseconds", 153, 0,
                                         IeType::kDateTimeMilliseconds, 8};
inline constexpr Ie kOctetDeltaCount{"octetDeltaCount", 1, 0, IeType::kUnsigned64, 8};
inline constexpr Ie kPacketDeltaCount{"packetDeltaCount", 2, 0, IeType::kUnsigned64, 8};
inline constexpr Ie kReverseOctetDeltaCount{"reverseOctetDeltaCount", 1, kReversePen,
                                            IeType::kUnsigned64, 8};
inline constexpr Ie kReversePacketDeltaCount{"reversePacketDeltaCount", 2, kReversePen,
                                             IeType::kUnsigned64, 8};
inline constexpr Ie kFlowEndReason{"flowEndReason", 136, 0, IeType::kUnsigned8, 1};
inline constexpr Ie kIngressInterface{"ingressInterface", 10, 0, IeType::kUnsigned32, 4};
// The capture point's CaptureID (the input's name unless given): the
// interface the flow was observed on, in RFC 7012's words.
inline constexpr Ie kInterfaceName{"interfaceName", 82, 0, IeType::kString, kVariableLength};
inline constexpr Ie kIpVersion{"ipVersion", 60, 0, IeType::kUnsigned8, 1};
inline constexpr Ie kProtocolIdentifier{"protocolIdentifier", 4, 0, IeType::kUnsigned8, 1};
inline constexpr Ie kSourceIPv4Address{"sourceIPv4Address", 8, 0, IeType::kIpv4Address, 4};
inline constexpr Ie kDestinationIPv4Address{"destinationIPv4Address", 12, 0, IeType::kIpv4Address,
                                            4};
inline constexpr Ie kSourceIPv6Address{"sourceIPv6Address", 27, 0, IeType::kIpv6Address, 16};
inline constexpr Ie kDestinationIPv6Address{"destinationIPv6Address", 28, 0, IeType::kIpv6Address,
                                            16};
inline constexpr Ie kSourceTransportPort{"sourceTransportPort", 7, 0, IeType::kUnsigned16, 2};
inline constexpr Ie kDestinationTransportPort{"destinationTransportPort", 11, 0,
                                              IeType::kUnsigned16, 2};
inline constexpr Ie kTcpControlBits{"tcpControlBits", 6, 0, IeType::kUnsigned16, 2};
inline constexpr Ie kReverseTcpControlBits{"reverseTcpControlBits", 6, kReversePen,
                                           IeType::kUnsigned16, 2};
inline constexpr Ie kIcmpTypeCodeIPv4{"icmpTypeCodeIPv4", 32, 0, IeType::kUnsigned16, 2};
inline constexpr Ie kIcmpTypeCodeIPv6{"icmpTypeCodeIPv6", 139, 0, IeType::kUnsigned16, 2};
inline constexpr Ie kSourceMacAddress{"sourceMacAddress", 56, 0, IeType::kMacAddress, 6};
inline constexpr Ie kDestinationMacAddress{"destinationMacAddress", 80, 0, IeType::kMacAddress, 6};
inline constexpr Ie kVlanId{"vlanId", 58, 0, IeType::kUnsigned16, 2};
inline constexpr Ie kDot1qCustomerVlanId{"dot1qCustomerVlanId", 245, 0, IeType::kUnsigned16, 2};
inline constexpr Ie kLayer2SegmentId{"layer2SegmentId", 351, 0, IeType::kUnsigned64, 8};
inline constexpr Ie kGreKey{"greKey", 296, 0, IeType::kUnsigned32, 4};
// MPLS label stack entries (3 octets each: label, traffic class, bottom of
// stack); octetArray, sent with a fixed length of 3.
inline constexpr Ie kMplsTopLabelStackSection{"mplsTopLabelStackSection", 70, 0,
                                              IeType::kOctetArray, 3};
inline constexpr Ie kMplsLabelStackSection2{"mplsLabelStackSection2", 71, 0, IeType::kOctetArray,
                                            3};
inline constexpr Ie kMplsLabelStackSection3{"mplsLabelStackSection3", 72, 0, IeType::kOctetArray,
                                            3};
// The HTTP request of a flow (--app-metadata; RFC 7011 strings). IANA
// registered them after the registry file python3-ipfix ships: the unit test
// checks them against the IANA registry's entries written out in the test,
// the integration test against tshark's and libfixbuf's decoders.
inline constexpr Ie kHttpRequestMethod{"httpRequestMethod", 459, 0, IeType::kString,
                                       kVariableLength};
inline constexpr Ie kHttpRequestHost{"httpRequestHost", 460, 0, IeType::kString, kVariableLength};

// RFC 5610 type information records (an options template scoped on these two).
inline constexpr Ie kPrivateEnterpriseNumber{"privateEnterpriseNumber", 346, 0, IeType::kUnsigned32,
                                             4};
inline constexpr Ie kInformationElementId{"informationElementId", 303, 0, IeType::kUnsigned16, 2};
inline constexpr Ie kInformationElementDataType{"informationElementDataType", 339, 0,
                                                IeType::kUnsigned8, 1};
inline constexpr Ie kInformationElementSemantics{"informationElementSemantics", 344, 0,
                                                 IeType::kUnsigned8, 1};
inline constexpr Ie kInformationElementUnits{"informationElementUnits", 345, 0, IeType::kUnsigned16,
                                             2};
inline constexpr Ie kInformationElementRangeBegin{"informationElementRangeBegin", 342, 0,
                                                  IeType::kUnsigned64, 8};
inline constexpr Ie kInformationElementRangeEnd{"informationElementRangeEnd", 343, 0,
                                                IeType::kUnsigned64, 8};
inline constexpr Ie kInformationElementName{"informationElementName", 341, 0, IeType::kString,
                                            kVariableLength};
inline constexpr Ie kInformationElementDescription{"informationElementDescription", 340, 0,
                                                   IeType::kString, kVariableLength};
}  // namespace ie

// Every IANA / RFC 5103 element above (tests check each against the registry).
std::span<const Ie> IanaElements();

// flowEndReason values (IANA "flowEndReason" sub-registry, RFC 5102 §5.11.3).
enum class FlowEndReason : uint8_t {
  kIdleTimeout = 0x01,
  kActiveTimeout = 0x02,
  kEndOfFlow = 0x03,  // FIN or RST seen
  kForcedEnd = 0x04,  // flush, shutdown
  kLackOfResources = 0x05,
};

// RFC 5610 informationElementSemantics and informationElementUnits values.
enum class IeSemantics : uint8_t {
  kDefault = 0,
  kQuantity = 1,
  kTotalCounter = 2,
  kIdentifier = 4
};
enum class IeUnits : uint16_t { kNone = 0, kPackets = 3, kMicroseconds = 7, kNanoseconds = 8 };

// skyprobe's enterprise-specific elements, numbered under the PEN given with
// --ipfix-pen. Names are those of the JSON record's fields.
struct EnterpriseIe {
  std::string_view name;
  uint16_t id;
  IeType type;
  IeSemantics semantics;
  IeUnits units;
  uint16_t length;
  std::string_view description;
};

inline constexpr EnterpriseIe kEnterpriseElements[] = {
    {"TrackingID", 1, IeType::kUnsigned64, IeSemantics::kIdentifier, IeUnits::kNone, 8,
     "Skydive TrackingID: the same conversation seen at several capture points"},
    {"L3TrackingID", 2, IeType::kUnsigned64, IeSemantics::kIdentifier, IeUnits::kNone, 8,
     "Skydive L3TrackingID: TrackingID from layer 3 up"},
    {"ParentUUID", 3, IeType::kUnsigned64, IeSemantics::kIdentifier, IeUnits::kNone, 8,
     "flowId of the tunnel flow that carries this one"},
    {"RTT", 4, IeType::kUnsigned64, IeSemantics::kQuantity, IeUnits::kNanoseconds, 8,
     "SYN to SYN/ACK or echo request to reply, at the probe"},
    {"LayersPath", 5, IeType::kString, IeSemantics::kDefault, IeUnits::kNone, kVariableLength,
     "protocol layers of the first packet, as Ethernet/IPv4/TCP"},
    {"Application", 6, IeType::kString, IeSemantics::kDefault, IeUnits::kNone, kVariableLength,
     "last layer of LayersPath"},
    {"NodeTID", 7, IeType::kString, IeSemantics::kDefault, IeUnits::kNone, kVariableLength,
     "topology id of the capture node"},
    {"CommunityID", 8, IeType::kString, IeSemantics::kDefault, IeUnits::kNone, kVariableLength,
     "Community ID v1 flow hash"},
    // TCP health (--tcp-health; docs/tcp-metrics.md): segments Wireshark's TCP
    // analysis flags, per direction, since the flow's first packet. IANA has
    // no elements for them.
    {"ABRetransmissions", 9, IeType::kUnsigned64, IeSemantics::kTotalCounter, IeUnits::kPackets, 8,
     "A to B segments tshark flags tcp.analysis.retransmission"},
    {"BARetransmissions", 10, IeType::kUnsigned64, IeSemantics::kTotalCounter, IeUnits::kPackets, 8,
     "B to A segments tshark flags tcp.analysis.retransmission"},
    {"ABFastRetransmissions", 11, IeType::kUnsigned64, IeSemantics::kTotalCounter,
     IeUnits::kPackets, 8, "A to B segments tshark flags tcp.analysis.fast_retransmission"},
    {"BAFastRetransmissions", 12, IeType::kUnsigned64, IeSemantics::kTotalCounter,
     IeUnits::kPackets, 8, "B to A segments tshark flags tcp.analysis.fast_retransmission"},
    {"ABOutOfOrder", 13, IeType::kUnsigned64, IeSemantics::kTotalCounter, IeUnits::kPackets, 8,
     "A to B segments tshark flags tcp.analysis.out_of_order"},
    {"BAOutOfOrder", 14, IeType::kUnsigned64, IeSemantics::kTotalCounter, IeUnits::kPackets, 8,
     "B to A segments tshark flags tcp.analysis.out_of_order"},
    {"ABLostSegments", 15, IeType::kUnsigned64, IeSemantics::kTotalCounter, IeUnits::kPackets, 8,
     "A to B segments tshark flags tcp.analysis.lost_segment"},
    {"BALostSegments", 16, IeType::kUnsigned64, IeSemantics::kTotalCounter, IeUnits::kPackets, 8,
     "B to A segments tshark flags tcp.analysis.lost_segment"},
    {"ABDupAcks", 17, IeType::kUnsigned64, IeSemantics::kTotalCounter, IeUnits::kPackets, 8,
     "A to B segments tshark flags tcp.analysis.duplicate_ack"},
    {"BADupAcks", 18, IeType::kUnsigned64, IeSemantics::kTotalCounter, IeUnits::kPackets, 8,
     "B to A segments tshark flags tcp.analysis.duplicate_ack"},
    {"ABZeroWindows", 19, IeType::kUnsigned64, IeSemantics::kTotalCounter, IeUnits::kPackets, 8,
     "A to B segments tshark flags tcp.analysis.zero_window"},
    {"BAZeroWindows", 20, IeType::kUnsigned64, IeSemantics::kTotalCounter, IeUnits::kPackets, 8,
     "B to A segments tshark flags tcp.analysis.zero_window"},
    {"ServerHandshakeLatency", 21, IeType::kUnsigned64, IeSemantics::kQuantity,
     IeUnits::kMicroseconds, 8, "SYN to SYN/ACK at the probe"},
    {"ClientHandshakeLatency", 22, IeType::kUnsigned64, IeSemantics::kQuantity,
     IeUnits::kMicroseconds, 8, "SYN/ACK to the client's ACK at the probe"},
    // Application metadata (--app-metadata; docs/app-metadata.md): the JSON
    // record's TLS and DNSQuery objects. IANA has no elements for them.
    {"TLSSNI", 23, IeType::kString, IeSemantics::kDefault, IeUnits::kNone, kVariableLength,
     "server_name of the flow's first TLS ClientHello"},
    {"TLSALPN", 24, IeType::kString, IeSemantics::kDefault, IeUnits::kNone, kVariableLength,
     "ALPN protocol names of that ClientHello, joined by commas"},
    {"TLSVersion", 25, IeType::kUnsigned16, IeSemantics::kIdentifier, IeUnits::kNone, 2,
     "TLS version it offers (0x0304: TLS 1.3)"},
    {"TLSJA3", 26, IeType::kString, IeSemantics::kDefault, IeUnits::kNone, kVariableLength,
     "JA3 client fingerprint (MD5, 32 hex digits)"},
    {"TLSJA4", 27, IeType::kString, IeSemantics::kDefault, IeUnits::kNone, kVariableLength,
     "JA4 client fingerprint"},
    {"DNSQueryName", 28, IeType::kString, IeSemantics::kDefault, IeUnits::kNone, kVariableLength,
     "first question name of the flow's latest DNS message"},
    {"DNSQueryType", 29, IeType::kUnsigned16, IeSemantics::kIdentifier, IeUnits::kNone, 2,
     "its question type (1: A, 28: AAAA)"},
    {"DNSResponseCode", 30, IeType::kUnsigned8, IeSemantics::kIdentifier, IeUnits::kNone, 1,
     "RCODE of the flow's latest DNS response"},
};
inline constexpr int kEnterpriseTrackingId = 0;
inline constexpr int kEnterpriseL3TrackingId = 1;
inline constexpr int kEnterpriseParentUuid = 2;
inline constexpr int kEnterpriseRtt = 3;
inline constexpr int kEnterpriseLayersPath = 4;
inline constexpr int kEnterpriseApplication = 5;
inline constexpr int kEnterpriseNodeTid = 6;
inline constexpr int kEnterpriseCommunityId = 7;
inline constexpr int kEnterpriseAbRetransmissions = 8;  // then the 13 others, in order

}  // namespace skyprobe::ipfix
