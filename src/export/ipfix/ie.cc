#include "export/ipfix/ie.h"

namespace skyprobe::ipfix {

std::string_view IeTypeName(IeType t) {
  switch (t) {
    case IeType::kOctetArray:
      return "octetArray";
    case IeType::kUnsigned8:
      return "unsigned8";
    case IeType::kUnsigned16:
      return "unsigned16";
    case IeType::kUnsigned32:
      return "unsigned32";
    case IeType::kUnsigned64:
      return "unsigned64";
    case IeType::kMacAddress:
      return "macAddress";
    case IeType::kString:
      return "string";
    case IeType::kDateTimeMilliseconds:
      return "dateTimeMilliseconds";
    case IeType::kIpv4Address:
      return "ipv4Address";
    case IeType::kIpv6Address:
      return "ipv6Address";
  }
  return "?";
}

namespace {

constexpr Ie kIana[] = {
    ie::kFlowId,
    ie::kFlowStartMilliseconds,
    ie::kFlowEndMilliseconds,
    ie::kOctetDeltaCount,
    ie::kPacketDeltaCount,
    ie::kReverseOctetDeltaCount,
    ie::kReversePacketDeltaCount,
    ie::kFlowEndReason,
    ie::kIngressInterface,
    ie::kInterfaceName,
    ie::kIpVersion,
    ie::kProtocolIdentifier,
    ie::kSourceIPv4Address,
    ie::kDestinationIPv4Address,
    ie::kSourceIPv6Address,
    ie::kDestinationIPv6Address,
    ie::kSourceTransportPort,
    ie::kDestinationTransportPort,
    ie::kTcpControlBits,
    ie::kReverseTcpControlBits,
    ie::kIcmpTypeCodeIPv4,
    ie::kIcmpTypeCodeIPv6,
    ie::kSourceMacAddress,
    ie::kDestinationMacAddress,
    ie::kVlanId,
    ie::kDot1qCustomerVlanId,
    ie::kLayer2SegmentId,
    ie::kGreKey,
    ie::kMplsTopLabelStackSection,
    ie::kMplsLabelStackSection2,
    ie::kMplsLabelStackSection3,
    ie::kHttpRequestMethod,
    ie::kHttpRequestHost,
    ie::kPrivateEnterpriseNumber,
    ie::kInformationElementId,
    ie::kInformationElementDataType,
    ie::kInformationElementSemantics,
    ie::kInformationElementUnits,
    ie::kInformationElementRangeBegin,
    ie::kInformationElementRangeEnd,
    ie::kInformationElementName,
    ie::kInformationElementDescription,
};

}  // namespace

std::span<const Ie> IanaElements() { return kIana; }

}  // namespace skyprobe::ipfix
