// record_encoder.h: FlowSnapshots as RFC 5103 biflow IPFIX data records, with
// the templates they need. Pure: no sockets, no clock, no threads.
//
// Owner: one thread (the control lcore in the probe; tests and benchmarks
// call it directly).
//
// A record has one template per *shape*: which optional parts it has (IPv4
// or IPv6 addresses, MACs, ports, TCP flags, ICMP, VLANs, a tunnel id, MPLS
// label stack entries, the input, the enterprise elements, TCP health).
// Each shape gets a template id (257 up) the first time it is seen, and its
// template record goes out as an entry just before the first data record
// that uses it. A part a record lacks is left out of its template rather
// than sent as a placeholder. Field values:
//   - A = forward direction: source* = A, destination* = B; octets/packets
//     (and their RFC 5103 reverse elements) are the deltas since the flow's
//     previous record (LastUpdateMetric), so a flow's records sum to Metric;
//   - flowStart/EndMilliseconds: the flow's Start and Last (first and latest
//     packet of the whole flow so far);
//   - flowEndReason: update -> active timeout; expire -> idle timeout, end of
//     flow (TCP FIN/RST), forced end (flush, exit), lack of resources (evicted).
//   - TCP health (--tcp-health, with a PEN only: IANA has no such elements):
//     ABRetransmissions ... BAZeroWindows, totals since the flow's first
//     packet as in the JSON record, and the handshake latencies (us) once
//     measured.
//   - application metadata (--app-metadata): an HTTP request's method and
//     Host as IANA's httpRequestMethod and httpRequestHost, with or without a
//     PEN; with one, the TLS ClientHello's SNI, ALPN names (joined by ','),
//     offered version and JA3/JA4 fingerprints, and the DNS summary's question
//     name, type and response code, each only when the JSON record has it.
//     They come last in a record.
// A record never exceeds kMaxRecordBytes: each string is cut to what the
// record has left once the fields after it have their least (the CaptureID
// first, the application metadata last), and a record with a string cut so
// is counted (strings_cut). Only strings near their 255-byte limit together
// (a NodeTID, a CaptureID, a LayersPath of 16 long layer names) come to it.
// With EncoderOptions::uniflow a record is one or two uniflow data records
// instead (ReverseOf: the B to A one); both carry the flow's flowId.
//
//   RecordEncoder enc({.pen = 0});  ByteBuffer out;
//   enc.AppendPreamble(&out);  enc.Append(snapshot, &out);   // entries (entry.h)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "export/ipfix/app_values.h"
#include "export/ipfix/entry.h"
#include "export/ipfix/ie.h"
#include "record/capture_points.h"
#include "record/flow_snapshot.h"

namespace skyprobe::ipfix {

struct EncoderOptions {
  // Private Enterprise Number for skyprobe's own elements (--ipfix-pen); 0:
  // IANA elements only.
  uint32_t pen = 0;
  // The probe's NodeTID (--node-tid), for records without their own; a
  // record of a capture point in `points` sends that point's.
  std::string node_tid;
  std::shared_ptr<const CapturePoints> points;
  // --ipfix-uniflow: each direction of a record as a data record of its own,
  // without RFC 5103's reverse elements: A to B always, then B to A (its
  // addresses, ports, MACs and TCP flags swapped in) when it has packets.
  bool uniflow = false;
  // --app-metadata: records may carry application metadata. Off, the
  // encoder never reads a record's (its line of the record stays untouched).
  bool app_metadata = false;
};

// One field of a template, in record order.
enum class FieldKind : uint8_t {
  kFlowId,
  kFlowStart,
  kFlowEnd,
  kOctets,
  kPackets,
  kReverseOctets,
  kReversePackets,
  kFlowEndReason,
  kIngressInterface,
  kInterfaceName,  // the capture point's CaptureID
  kIpVersion,
  kProtocol,
  kSourceIpv4,
  kDestinationIpv4,
  kSourceIpv6,
  kDestinationIpv6,
  kSourcePort,
  kDestinationPort,
  kTcpFlags,
  kReverseTcpFlags,
  kIcmpTypeCodeIpv4,
  kIcmpTypeCodeIpv6,
  kSourceMac,
  kDestinationMac,
  kVlanId,
  kCustomerVlanId,
  kLayer2SegmentId,
  kGreKey,
  kMplsLabel1,  // the top label stack entry
  kMplsLabel2,
  kMplsLabel3,
  kHttpRequestMethod,
  kHttpRequestHost,
  // Enterprise elements (kEnterpriseElements order).
  kTrackingId,
  kL3TrackingId,
  kParentUuid,
  kRtt,
  kLayersPath,
  kApplication,
  kNodeTid,
  kCommunityId,
  kAbRetransmissions,  // TCP health (kTcpHealth): the AB and BA counters
  kBaRetransmissions,
  kAbFastRetransmissions,
  kBaFastRetransmissions,
  kAbOutOfOrder,
  kBaOutOfOrder,
  kAbLostSegments,
  kBaLostSegments,
  kAbDupAcks,
  kBaDupAcks,
  kAbZeroWindows,
  kBaZeroWindows,
  kServerHandshakeLatency,
  kClientHandshakeLatency,
  kTlsSni,  // application metadata (kTlsSni ... kDnsResponseCode)
  kTlsAlpn,
  kTlsVersion,
  kTlsJa3,
  kTlsJa4,
  kDnsQueryName,
  kDnsQueryType,
  kDnsResponseCode,
};

// Which optional parts a record has (bits below); a template per shape.
using Shape = uint64_t;
namespace shape {
inline constexpr Shape kIpv4 = 1u << 0;
inline constexpr Shape kIpv6 = 1u << 1;
inline constexpr Shape kProtocol = 1u << 2;  // an IP protocol number is known
inline constexpr Shape kLink = 1u << 3;      // MAC addresses
inline constexpr Shape kPorts = 1u << 4;
inline constexpr Shape kTcp = 1u << 5;
inline constexpr Shape kIcmpv4 = 1u << 6;
inline constexpr Shape kIcmpv6 = 1u << 7;
inline constexpr Shape kVlan = 1u << 8;
inline constexpr Shape kQinQ = 1u << 9;
inline constexpr Shape kSegment = 1u << 10;  // VXLAN / Geneve VNI
inline constexpr Shape kGre = 1u << 11;
inline constexpr Shape kInput = 1u << 12;
inline constexpr Shape kEnterprise = 1u << 13;  // --ipfix-pen: the always-present ones
inline constexpr Shape kParent = 1u << 14;
inline constexpr Shape kRtt = 1u << 15;
inline constexpr Shape kNodeTid = 1u << 16;
inline constexpr Shape kCommunityId = 1u << 17;
// An MPLS label stack of at least 1, 2, 3 entries (kMaxMplsEntries).
inline constexpr Shape kMpls1 = 1u << 18;
inline constexpr Shape kMpls2 = 1u << 19;
inline constexpr Shape kMpls3 = 1u << 20;
inline constexpr Shape kUniflow = 1u << 21;  // no reverse elements (EncoderOptions::uniflow)
// --ipfix-pen and --tcp-health: the health counters; each latency once measured.
inline constexpr Shape kTcpHealth = 1u << 22;
inline constexpr Shape kServerHandshake = 1u << 23;
inline constexpr Shape kClientHandshake = 1u << 24;
inline constexpr Shape kCaptureId = 1u << 25;  // the record's capture point has a CaptureID
// Application metadata: HTTP with or without a PEN, the others under one.
inline constexpr Shape kHttpMethod = 1u << 26;
inline constexpr Shape kHttpHost = 1u << 27;
inline constexpr Shape kTlsVersion = 1u << 28;  // the flow has TLS metadata
inline constexpr Shape kTlsSni = 1u << 29;
inline constexpr Shape kTlsAlpn = 1u << 30;
inline constexpr Shape kTlsFingerprints = 1u << 31;       // JA3 and JA4
inline constexpr Shape kDnsQuestion = uint64_t{1} << 32;  // name and type
inline constexpr Shape kDnsRcode = uint64_t{1} << 33;
}  // namespace shape

// Strings are cut to this many bytes (one with a 1-byte length would be 254:
// 255 takes the 3-byte form).
inline constexpr size_t kMaxStringBytes = 255;
// The largest data record this encoder writes (strings cut to fit, above),
// so that any record fits a 1200-byte message (--ipfix-mtu's least).
inline constexpr size_t kMaxRecordBytes = 1024;

// Helpers the encoder uses, exposed for tests.
FlowEndReason EndReasonOf(const FlowSnapshot& s);
// IP protocol number of the flow's transport, 0 when unknown.
uint8_t ProtocolOf(const FlowSnapshot& s);
// A record's shape but for its application metadata's bits (the encoder
// reads the metadata itself: RecordEncoder::ReadApp, app_values.h).
Shape BaseShapeOf(const FlowSnapshot& s, const EncoderOptions& o);
// Fields of a shape's template, in record order.
std::vector<FieldKind> FieldsOf(Shape shape);
// The B to A direction of a record as a record of its own (uniflow export):
// A and B swapped (addresses, ports, MACs, TCP flags, counters); an ICMP
// request's type becomes its reply's (echo 8 -> 0, ...), another ICMP type is
// left unknown (has_icmp_raw_type false: no type/code sent); a reply's
// becomes its request's.
void ReverseOf(const FlowSnapshot& s, FlowSnapshot* r);

class RecordEncoder {
 public:
  explicit RecordEncoder(EncoderOptions o);

  // With a PEN: the type information options template and one type record
  // per enterprise element (all announce entries). Nothing without a PEN.
  void AppendPreamble(ByteBuffer* out) const;
  // Appends the record's data entry, preceded by its template's entry when
  // its shape is new.
  void Append(const FlowSnapshot& s, ByteBuffer* out);

  // Data templates defined so far.
  size_t templates() const { return templates_.size(); }
  // Records with a string cut to fit kMaxRecordBytes (see above).
  uint64_t strings_cut() const { return strings_cut_; }

 private:
  struct Template {
    Shape shape;
    uint16_t id;
    std::vector<FieldKind> fields;
    // The least bytes the fields after each one take: what a string leaves
    // them of kMaxRecordBytes.
    std::vector<uint16_t> min_after;
  };
  const Template& TemplateFor(Shape shape, ByteBuffer* out);
  void AppendTemplate(const Template& t, ByteBuffer* out) const;
  void AppendRecord(const FlowSnapshot& s, ByteBuffer* out, bool companion);
  // Reads the record's application metadata into app_; its shape bits.
  Shape ReadApp(const FlowSnapshot& s);

  EncoderOptions opts_;
  std::unordered_map<Shape, uint32_t> index_;  // shape -> templates_ index
  std::vector<Template> templates_;
  Shape last_shape_ = ~Shape{0};
  uint32_t last_index_ = 0;
  std::string scratch_;  // LayersPath text
  AppValues app_;        // the record's application metadata, as sent
  uint64_t strings_cut_ = 0;
  FlowSnapshot reverse_;  // uniflow: the B to A record being encoded
};

}  // namespace skyprobe::ipfix
