// flow_format.h: text forms of FlowSnapshot fields shared by the JSON lines
// writer and the protobuf converter, so both always print the same strings.
//
// Owner: control lcore (exporters); pure functions, no state, no allocation
// beyond appending to the caller's string.
//
//   std::string s;
//   AppendHex(snap.uuid, &s);  AppendIp(snap.ip_version, snap.network_a, &s);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "record/flow_snapshot.h"

namespace skyprobe {

// Lowercase hex without leading zeros, as Go's strconv.FormatUint(x, 16):
// 0 -> "0", 0x0a1 -> "a1".
void AppendHex(uint64_t value, std::string* out);

// Decimal, as JSON numbers and protobuf int64 text.
void AppendInt(int64_t value, std::string* out);

// "aa:bb:cc:dd:ee:ff", lowercase.
void AppendMac(const uint8_t mac[6], std::string* out);

// IPv4 dotted quad (version 4, first 4 bytes) or IPv6 in RFC 5952 canonical
// form (version 6): lowercase, no leading zeros, the longest run of two or
// more zero groups (the first on a tie) as "::", and IPv4-mapped addresses as
// "::ffff:192.0.2.1". Go prints a mapped address as plain "192.0.2.1"; the
// RFC form keeps the address family visible. Other versions append nothing.
void AppendIp(uint8_t version, const uint8_t* addr, std::string* out);

// "Ethernet/IPv4/TCP": LayerName() of each layer joined with '/'.
void AppendLayersPath(const FlowSnapshot& s, std::string* out);

// Name of the last layer (Skydive's Application), "" without layers.
std::string_view ApplicationName(const FlowSnapshot& s);

// The CommunityID field as a view ("" when not computed).
std::string_view CommunityId(const FlowSnapshot& s);

// Enum value names, identical to the value names in flow.proto (a unit test
// checks them against the proto descriptors).
// flow.proto's TCPMetric field names in field-number order: the 8 flag times
// and TTLs a snapshot keeps, then the 14 reassembly counters (0 until TCP
// reassembly exists). JSON output and the query keys both use this list.
inline constexpr std::string_view kTcpMetricNames[22] = {"ABSynStart",
                                                         "BASynStart",
                                                         "ABSynTTL",
                                                         "BASynTTL",
                                                         "ABFinStart",
                                                         "BAFinStart",
                                                         "ABRstStart",
                                                         "BARstStart",
                                                         "ABSegmentOutOfOrder",
                                                         "ABSegmentSkipped",
                                                         "ABSegmentSkippedBytes",
                                                         "ABPackets",
                                                         "ABBytes",
                                                         "ABSawStart",
                                                         "ABSawEnd",
                                                         "BASegmentOutOfOrder",
                                                         "BASegmentSkipped",
                                                         "BASegmentSkippedBytes",
                                                         "BAPackets",
                                                         "BABytes",
                                                         "BASawStart",
                                                         "BASawEnd"};
inline constexpr int kTcpMetricKeptFields = 8;  // the snapshot's TcpMetric

std::string_view FlowProtocolName(FlowProtocol p);
std::string_view IcmpTypeName(IcmpType t);
std::string_view FinishTypeName(FinishType t);
std::string_view FlowEventName(FlowEvent e);
std::string_view ExpireReasonName(ExpireReason r);

}  // namespace skyprobe
