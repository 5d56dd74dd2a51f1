// flow_fields.h: Skydive's flow getter keys ("Network.A", "Metric.ABBytes", ...)
// over a FlowSnapshot, typed, for filters, sorting and dedup.
//
// Owner: none (immutable tables, pure functions). Safe on any thread, including
// a worker lcore between bursts: integer getters never allocate, string getters
// append to a caller-owned scratch buffer (reused, so no allocation once warm).
//
//   const FieldInfo* f = FindField("IPV4.A");            // alias of Network.A
//   absl::string_view v; std::string scratch;
//   if (GetStringField(f->id, FlowView{&snap, "probe-1"}, &scratch, &v)) Use(v);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "record/flow_snapshot.h"

namespace skyprobe::query {

enum class FieldType : uint8_t { kString, kInt };

// Every filterable key. Strings first, then integers (FieldInfo says which).
enum class FieldId : uint16_t {
  // Strings.
  kUuid,
  kLayersPath,
  kApplication,
  kTrackingId,
  kL3TrackingId,
  kParentUuid,
  kNodeTid,
  kCaptureId,
  kCommunityId,
  kEvent,
  kExpireReason,
  kFinishType,
  kLinkProtocol,
  kLinkA,
  kLinkB,
  kNetworkProtocol,
  kNetworkA,
  kNetworkB,
  kTransportProtocol,
  kIcmpType,
  kTlsSni,  // application metadata (record/app_meta.h)
  kTlsAlpn,
  kTlsVersion,
  kTlsJa3,
  kTlsJa4,
  kHttpMethod,
  kHttpHost,
  kDnsQueryName,
  kDnsQueryType,
  kDnsQueryResponseCode,
  // Integers.
  kStart,
  kLast,
  kRawPacketsCaptured,
  kLinkId,
  kNetworkId,
  kTransportA,
  kTransportB,
  kTransportId,
  kIcmpCode,
  kIcmpId,
  kMetricFirst,  // Metric.ABPackets .. Metric.RTT: 7 values
  kLastUpdateMetricFirst = kMetricFirst + 7,
  kTcpMetricFirst = kLastUpdateMetricFirst + 7,  // 36 values, flow.proto order
  kIpMetricFragments = kTcpMetricFirst + 36,
  kIpMetricFragmentErrors,
  kScaledMetricAbPackets,  // sFlow flows only
  kScaledMetricAbBytes,
  kScaledMetricBaPackets,
  kScaledMetricBaBytes,
  kScaledMetricSamplingRate,
  kCount,
};

struct FieldInfo {
  absl::string_view name;  // canonical key, "Network.A"
  FieldType type;
  FieldId id;
};

// A snapshot plus the record context it does not carry (per probe).
struct FlowView {
  const FlowSnapshot* snap = nullptr;
  absl::string_view node_tid;
  absl::string_view capture_id;
};

// The field for a key, nullptr if there is none. Accepts Skydive's aliases for
// string keys only (IPV4./IPV6. -> Network., TCP./UDP./SCTP. -> Transport.,
// ETHERNET. -> Link.), as Skydive's getters do.
const FieldInfo* FindField(absl::string_view key);

// Canonical keys of every field, in FieldId order (docs, "did you mean").
const std::vector<FieldInfo>& AllFields();

// The closest canonical key to a misspelt one, or "" if none is close. A key
// far longer than any name is no typo: answered without comparing.
std::string SuggestField(absl::string_view key);

// Text from a request, shortened for an error message: up to 64 characters,
// then "... (N characters)". Errors name what was wrong without echoing a
// megabyte back.
std::string Excerpt(absl::string_view text);

// "unknown key 'Network.X' (did you mean 'Network.A'?)", or for an alias of an
// integer key "unknown key 'TCP.A' (the TCP. alias names string keys only:
// use 'Transport.A')".
std::string UnknownKeyMessage(absl::string_view key);

// Integer value; false when the field is absent from the flow (its layer or
// metric is missing). Never allocates.
bool GetIntField(FieldId id, const FlowView& flow, int64_t* out) noexcept;

// String value (the text JSON output prints); false when absent. `*out` points
// into `scratch`, a static string or the FlowView's context strings.
bool GetStringField(FieldId id, const FlowView& flow, std::string* scratch, absl::string_view* out);

// Presence only (cheaper than a get): the Null filter.
bool HasField(FieldId id, const FlowView& flow) noexcept;

}  // namespace skyprobe::query
