// sflow_decoder.cc: bounds-checked XDR walk over one sFlow v5 datagram.

#include "sflow/sflow_decoder.h"

#include <arpa/inet.h>

#include <cstring>

namespace skyprobe::sflow {
namespace {

// Every sample and record starts with two words (format, length).
constexpr uint32_t kMaxCount = kMaxDatagramBytes / 8;

constexpr uint32_t kFlowSample = 1;
constexpr uint32_t kExpandedFlowSample = 3;
constexpr uint32_t kRawPacketHeader = 1;

inline size_t Pad4(uint32_t n) { return (size_t{n} + 3) & ~size_t{3}; }

// A cursor over [p, p + left). Every read checks `left` first.
class Reader {
 public:
  Reader(const uint8_t* p, size_t left) : p_(p), left_(left) {}
  bool U32(uint32_t* v) {
    if (left_ < 4) return false;
    *v = (uint32_t{p_[0]} << 24) | (uint32_t{p_[1]} << 16) | (uint32_t{p_[2]} << 8) | p_[3];
    p_ += 4;
    left_ -= 4;
    return true;
  }
  bool Words(uint32_t* v, int n) {
    for (int i = 0; i < n; ++i) {
      if (!U32(&v[i])) return false;
    }
    return true;
  }
  // Takes an opaque of `len` bytes (padded to 4) as a sub-reader.
  bool Opaque(uint32_t len, Reader* inner) {
    const size_t padded = Pad4(len);
    if (padded > left_) return false;
    *inner = Reader(p_, len);
    p_ += padded;
    left_ -= padded;
    return true;
  }
  bool Bytes(uint8_t* out, size_t n) {
    if (left_ < n) return false;
    std::memcpy(out, p_, n);
    p_ += n;
    left_ -= n;
    return true;
  }
  const uint8_t* pos() const { return p_; }
  size_t left() const { return left_; }

 private:
  const uint8_t* p_;
  size_t left_;
};

DecodeError RawPacketHeaderRecord(Reader rec, uint32_t rate, Datagram* out) {
  uint32_t f[4];  // header_protocol, frame_length, stripped, header length
  if (!rec.Words(f, 4)) return DecodeError::kBadLength;
  Reader header(nullptr, 0);
  if (!rec.Opaque(f[3], &header)) return DecodeError::kBadLength;
  if (f[2] > f[1]) return DecodeError::kBadLength;  // more stripped than the frame had
  if (out->num_headers >= kMaxHeaders) return DecodeError::kBadCount;  // unreachable in 64 KiB
  RawHeader& h = out->headers[out->num_headers++];
  h.data = header.pos();
  h.caplen = f[3];
  h.wire_length = f[1] - f[2];
  h.protocol = f[0];
  h.sampling_rate = rate;
  return DecodeError::kNone;
}

DecodeError FlowSample(Reader s, bool expanded, Datagram* out) {
  // flow_sample: sequence, source id, rate, pool, drops, input, output.
  // expanded: sequence, source type, source index, rate, pool, drops,
  // input format, input value, output format, output value.
  uint32_t f[10];
  const int words = expanded ? 10 : 7;
  if (!s.Words(f, words)) return DecodeError::kBadLength;
  const uint32_t rate = expanded ? f[3] : f[2];
  uint32_t count;
  if (!s.U32(&count)) return DecodeError::kBadLength;
  if (count > kMaxCount) return DecodeError::kBadCount;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t format, len;
    if (!s.U32(&format) || !s.U32(&len)) return DecodeError::kBadLength;
    Reader rec(nullptr, 0);
    if (!s.Opaque(len, &rec)) return DecodeError::kBadLength;
    ++out->records;
    if (format == kRawPacketHeader) {  // enterprise 0
      const DecodeError e = RawPacketHeaderRecord(rec, rate, out);
      if (e != DecodeError::kNone) return e;
    } else {
      ++out->records_skipped;
    }
  }
  return DecodeError::kNone;
}

DecodeError Decode(const uint8_t* data, size_t len, Datagram* out) {
  if (len > kMaxDatagramBytes) return DecodeError::kBadLength;
  Reader r(data, len);
  if (!r.U32(&out->version)) return DecodeError::kTruncated;
  if (out->version != 5) return DecodeError::kBadVersion;
  uint32_t type;
  if (!r.U32(&type)) return DecodeError::kTruncated;
  if (type == 1) {
    out->agent_ip_version = 4;
    if (!r.Bytes(out->agent, 4)) return DecodeError::kTruncated;
  } else if (type == 2) {
    out->agent_ip_version = 6;
    if (!r.Bytes(out->agent, 16)) return DecodeError::kTruncated;
  } else {
    return DecodeError::kBadAgentAddress;
  }
  uint32_t h[4];  // sub-agent id, sequence, uptime, sample count
  if (!r.Words(h, 4)) return DecodeError::kTruncated;
  out->sub_agent_id = h[0];
  out->sequence = h[1];
  out->uptime_ms = h[2];
  if (h[3] > kMaxCount) return DecodeError::kBadCount;
  for (uint32_t i = 0; i < h[3]; ++i) {
    uint32_t format, slen;
    if (!r.U32(&format) || !r.U32(&slen)) return DecodeError::kTruncated;
    Reader s(nullptr, 0);
    if (!r.Opaque(slen, &s)) return DecodeError::kTruncated;
    ++out->samples;
    if (format == kFlowSample || format == kExpandedFlowSample) {  // enterprise 0
      ++out->flow_samples;
      const DecodeError e = FlowSample(s, format == kExpandedFlowSample, out);
      if (e != DecodeError::kNone) return e;
    } else {
      ++out->samples_skipped;
    }
  }
  return DecodeError::kNone;
}

}  // namespace

const char* DecodeErrorName(DecodeError e) noexcept {
  switch (e) {
    case DecodeError::kNone:
      return "none";
    case DecodeError::kTruncated:
      return "truncated";
    case DecodeError::kBadVersion:
      return "bad_version";
    case DecodeError::kBadAgentAddress:
      return "bad_agent_address";
    case DecodeError::kBadLength:
      return "bad_length";
    case DecodeError::kBadCount:
      return "bad_count";
    default:
      return "unknown";
  }
}

DecodeError DecodeDatagram(const uint8_t* data, size_t len, Datagram* out) noexcept {
  // Reset the header fields and counters only: headers[] is overwritten as
  // far as num_headers says, never read beyond it.
  out->version = 0;
  out->agent_ip_version = 0;
  std::memset(out->agent, 0, sizeof(out->agent));
  out->sub_agent_id = out->sequence = out->uptime_ms = 0;
  out->samples = out->flow_samples = out->samples_skipped = 0;
  out->records = out->records_skipped = 0;
  out->num_headers = 0;
  const DecodeError e = Decode(data, len, out);
  if (e != DecodeError::kNone) out->num_headers = 0;  // refused whole
  return e;
}

size_t AgentText(const Datagram& d, char* buf) noexcept {
  buf[0] = '\0';
  if (d.agent_ip_version == 0) return 0;
  if (inet_ntop(d.agent_ip_version == 4 ? AF_INET : AF_INET6, d.agent, buf,
                static_cast<socklen_t>(kAgentTextMax)) == nullptr) {
    buf[0] = '\0';
    return 0;
  }
  return std::strlen(buf);
}

}  // namespace skyprobe::sflow
