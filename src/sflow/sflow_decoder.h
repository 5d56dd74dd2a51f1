// sflow_decoder.h: sFlow version 5 datagram decoder (sflow.org, sflow_version_5.txt).
//
// Owner: none (pure functions over a byte span: no allocation, no EAL, no
// exceptions). The sFlow source (sflow_source.h) calls it on its own thread
// for each received datagram; tests and the fuzzer call it directly.
//
//   auto dg = std::make_unique<sflow::Datagram>();
//   if (sflow::DecodeDatagram(buf, len, dg.get()) == sflow::DecodeError::kNone)
//     for (uint32_t i = 0; i < dg->num_headers; ++i) Use(dg->headers[i]);
//
// What is decoded (everything is XDR: big-endian 32-bit words, variable
// opaques carry a length and are padded to 4 bytes):
//   datagram: version (5), agent address (type 1 IPv4 / 2 IPv6), sub-agent
//     id, sequence number, uptime (ms), then `count` samples, each a
//     data_format word (enterprise << 12 | format) and an opaque.
//   flow_sample (enterprise 0, format 1) and expanded_flow_sample (format 3):
//     their sampling rate, then `count` flow records, each a data_format and
//     an opaque.
//   raw packet header record (enterprise 0, format 1): header_protocol,
//     frame_length, stripped, then the header bytes as an opaque.
// Every other sample (counter samples, enterprise formats) and record type
// is skipped by its length and counted. Unknown trailing bytes inside a
// sample or record are ignored (the spec lets structures grow at the end).
//
// A datagram is accepted or refused whole: every length and count is checked
// against its container before anything is handed out, so a refused datagram
// yields no header at all and an accepted one only pointers that lie inside
// the given span.
#pragma once

#include <cstddef>
#include <cstdint>

namespace skyprobe::sflow {

// Why a datagram was refused.
enum class DecodeError : uint8_t {
  kNone = 0,
  kTruncated,        // the datagram ends inside its header or a sample
  kBadVersion,       // not sFlow version 5
  kBadAgentAddress,  // agent address type other than IPv4 (1) or IPv6 (2)
  kBadLength,        // a record or header does not fit in its container, or
                     // stripped > frame_length, or the datagram exceeds 64 KiB
  kBadCount,         // a sample or record count no datagram can hold
  kCount,
};

// "truncated", "bad_version", ... (counter and log names).
const char* DecodeErrorName(DecodeError e) noexcept;

// The largest datagram a UDP socket can deliver; longer input is refused.
inline constexpr size_t kMaxDatagramBytes = 65535;

// One raw packet header record. `data` points into the decoded datagram.
struct RawHeader {
  const uint8_t* data = nullptr;
  uint32_t caplen = 0;         // header bytes kept by the agent
  uint32_t wire_length = 0;    // frame_length - stripped
  uint32_t protocol = 0;       // header_protocol: 1 Ethernet, 11 IPv4, 12 IPv6, ...
  uint32_t sampling_rate = 0;  // of the enclosing flow sample, as sent (may be 0)
};

// sFlow header_protocol values the probe can parse.
inline constexpr uint32_t kHeaderEthernet = 1;
inline constexpr uint32_t kHeaderIpv4 = 11;
inline constexpr uint32_t kHeaderIpv6 = 12;

// A raw packet header record takes at least 24 bytes (format, length,
// protocol, frame length, stripped, header length), so a 64 KiB datagram
// holds fewer than this many.
inline constexpr uint32_t kMaxHeaders = kMaxDatagramBytes / 24 + 1;

struct Datagram {
  uint32_t version = 0;
  uint8_t agent_ip_version = 0;  // 4 or 6
  uint8_t agent[16] = {};        // IPv4 in the first 4 bytes
  uint32_t sub_agent_id = 0;
  uint32_t sequence = 0;
  uint32_t uptime_ms = 0;
  // What the datagram held (set when it is accepted).
  uint32_t samples = 0;          // every sample, whatever its type
  uint32_t flow_samples = 0;     // flow_sample and expanded_flow_sample
  uint32_t samples_skipped = 0;  // any other sample type (counter samples, ...)
  uint32_t records = 0;          // flow records inside the flow samples
  uint32_t records_skipped = 0;  // flow records other than raw packet headers
  uint32_t num_headers = 0;
  RawHeader headers[kMaxHeaders];
};

// Decodes `len` bytes at `data` into `out` (fully overwritten). Reads nothing
// outside [data, data + len). Returns kNone when the datagram is accepted.
DecodeError DecodeDatagram(const uint8_t* data, size_t len, Datagram* out) noexcept;

// The agent address in text form ("192.0.2.1", "2001:db8::1"): the NodeTID
// of the agent's flows. `buf` needs kAgentTextMax bytes; returns its length.
inline constexpr size_t kAgentTextMax = 48;
size_t AgentText(const Datagram& d, char* buf) noexcept;

}  // namespace skyprobe::sflow
