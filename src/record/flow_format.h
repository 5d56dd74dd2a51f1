// flow_format.h: text forms of FlowSnapshot fields shared by the JSON lines
// writer and the protobuf converter, so both always print the same strings.
//
// Owner: control lcore (exporters); pure functions, no state, no allocation
// beyond appending to the caller's string (or writing to the caller's buffer).
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

// The same texts written at `p`, returning their end, for writers that fill
// a buffer of their own (the JSON lines writer); `p` has room for the size
// named (IPv4 needs 3 more bytes of scratch room, which kMaxIpText covers).
inline constexpr size_t kMaxHexText = 16;
inline constexpr size_t kMacTextSize = 17;
inline constexpr size_t kMaxIpText = 40;  // 8 groups of 4 digits and 7 colons
char* WriteHex(uint64_t value, char* p);
char* WriteMac(const uint8_t mac[6], char* p);
char* WriteIp(uint8_t version, const uint8_t* addr, char* p);

// "Ethernet/IPv4/TCP": LayerName() of each layer joined with '/'.
void AppendLayersPath(const FlowSnapshot& s, std::string* out);

// Name of the last layer (Skydive's Application), "" without layers.
std::string_view ApplicationName(const FlowSnapshot& s);

// The CommunityID field as a view ("" when not computed).
std::string_view CommunityId(const FlowSnapshot& s);

// Enum value names, identical to the value names in flow.proto (a unit test
// checks them against the proto descriptors).
// flow.proto's TCPMetric field names in field-number order: the 8 flag times
// and TTLs, the 14 stream counters (--tcp-stream-metrics), the 12 health
// counters and 2 handshake latencies (--tcp-health). JSON output and the
// query keys both use this list.
inline constexpr int kTcpMetricFields = 36;
inline constexpr std::string_view kTcpMetricNames[kTcpMetricFields] = {"ABSynStart",
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
                                                                       "BASawEnd",
                                                                       "ABRetransmissions",
                                                                       "ABFastRetransmissions",
                                                                       "ABOutOfOrder",
                                                                       "ABLostSegments",
                                                                       "ABDupAcks",
                                                                       "ABZeroWindows",
                                                                       "BARetransmissions",
                                                                       "BAFastRetransmissions",
                                                                       "BAOutOfOrder",
                                                                       "BALostSegments",
                                                                       "BADupAcks",
                                                                       "BAZeroWindows",
                                                                       "ServerHandshakeLatency",
                                                                       "ClientHandshakeLatency"};
inline constexpr int kTcpMetricFlagFields = 8;     // names [0, 8): always present
inline constexpr int kTcpMetricStreamFirst = 8;    // [8, 22): TcpMetric::has_stream
inline constexpr int kTcpMetricHealthFirst = 22;   // [22, 34): TcpMetric::has_health
inline constexpr int kTcpMetricLatencyFirst = 34;  // [34, 36): when measured (>= 0)

// The value of TCPMetric field kTcpMetricNames[i] of `m`, or false when the
// record does not carry it (its option is off, or a latency not measured).
bool TcpMetricValue(const TcpMetric& m, int i, int64_t* out);
// The reverse, for records read back from protobuf: sets field i (>= 8) and
// marks its group present.
void SetTcpMetricValue(TcpMetric* m, int i, int64_t v);

std::string_view FlowProtocolName(FlowProtocol p);
std::string_view IcmpTypeName(IcmpType t);
std::string_view FinishTypeName(FinishType t);
std::string_view FlowEventName(FlowEvent e);
std::string_view ExpireReasonName(ExpireReason r);

}  // namespace skyprobe
