#include "record/flow_format.h"

#include <array>
#include <charconv>
#include <cstring>

#include "parse/parsed_packet.h"

namespace skyprobe {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// "0".."255" as up to three digits and their count: a byte of an IPv4
// address is one 4-byte copy, not a division loop.
struct DecimalByte {
  char digits[3];
  uint8_t size;
};
constexpr auto kDecimalBytes = [] {
  std::array<DecimalByte, 256> t{};
  for (unsigned v = 0; v < 256; ++v) {
    DecimalByte& d = t[v];
    if (v >= 100) {
      d = {{static_cast<char>('0' + v / 100), static_cast<char>('0' + v / 10 % 10),
            static_cast<char>('0' + v % 10)},
           3};
    } else if (v >= 10) {
      d = {{static_cast<char>('0' + v / 10), static_cast<char>('0' + v % 10), 0}, 2};
    } else {
      d = {{static_cast<char>('0' + v), 0, 0}, 1};
    }
  }
  return t;
}();

char* WriteIpv4(const uint8_t* a, char* p) {
  for (int i = 0; i < 4; ++i) {
    const DecimalByte& d = kDecimalBytes[a[i]];
    std::memcpy(p, d.digits, 3);
    p += d.size;
    *p++ = '.';
  }
  return p - 1;  // no dot after the last byte
}

char* WriteGroup(uint16_t g, char* p) {
  const auto res = std::to_chars(p, p + 4, g, 16);  // lowercase, no leading zeros
  return res.ptr;
}

char* WriteIpv6(const uint8_t* a, char* p) {
  uint16_t groups[8];
  for (size_t i = 0; i < 8; ++i) groups[i] = static_cast<uint16_t>(a[2 * i] << 8 | a[2 * i + 1]);

  // RFC 5952 section 5: ::ffff:0:0/96 keeps its embedded IPv4 in dotted form.
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a, kMappedPrefix, sizeof(kMappedPrefix)) == 0) {
    constexpr std::string_view kMappedText = "::ffff:";
    std::memcpy(p, kMappedText.data(), kMappedText.size());
    return WriteIpv4(a + 12, p + kMappedText.size());
  }

  // Longest run of zero groups; a single zero group is never shortened
  // (section 4.2.2), and the first of equal runs wins (4.2.3).
  int best_start = -1;
  int best_len = 1;
  for (int i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > best_len) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }

  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      *p++ = ':';
      *p++ = ':';
      i += best_len - 1;
      continue;
    }
    if (i != 0 && i != best_start + best_len) *p++ = ':';
    p = WriteGroup(groups[i], p);
  }
  return p;
}

}  // namespace

char* WriteHex(uint64_t value, char* p) {
  // Digits without leading zeros: one for 0, else a nibble count from the
  // highest set bit; then filled from the last digit back.
  const int digits = value == 0 ? 1 : (64 - __builtin_clzll(value) + 3) / 4;
  for (int i = digits - 1; i >= 0; --i) {
    p[i] = kHexDigits[value & 0x0f];
    value >>= 4;
  }
  return p + digits;
}

char* WriteMac(const uint8_t mac[6], char* p) {
  for (size_t i = 0; i < 6; ++i) {
    p[3 * i] = kHexDigits[mac[i] >> 4];
    p[3 * i + 1] = kHexDigits[mac[i] & 0x0f];
    if (i != 5) p[3 * i + 2] = ':';
  }
  return p + kMacTextSize;
}

char* WriteIp(uint8_t version, const uint8_t* addr, char* p) {
  if (version == 4) return WriteIpv4(addr, p);
  if (version == 6) return WriteIpv6(addr, p);
  return p;
}

void AppendHex(uint64_t value, std::string* out) {
  char buf[kMaxHexText];
  out->append(buf, WriteHex(value, buf));
}

void AppendInt(int64_t value, std::string* out) {
  char buf[20];
  const auto res = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, res.ptr);
}

void AppendMac(const uint8_t mac[6], std::string* out) {
  char buf[kMacTextSize];
  out->append(buf, WriteMac(mac, buf));
}

void AppendIp(uint8_t version, const uint8_t* addr, std::string* out) {
  char buf[kMaxIpText];
  out->append(buf, WriteIp(version, addr, buf));
}

void AppendLayersPath(const FlowSnapshot& s, std::string* out) {
  const int n = s.num_layers < kMaxLayers ? s.num_layers : kMaxLayers;
  for (int i = 0; i < n; ++i) {
    if (i != 0) out->push_back('/');
    out->append(LayerName(s.layers[i]));
  }
}

std::string_view ApplicationName(const FlowSnapshot& s) {
  if (s.num_layers == 0) return {};
  const int last = (s.num_layers < kMaxLayers ? s.num_layers : kMaxLayers) - 1;
  return LayerName(s.layers[last]);
}

std::string_view CommunityId(const FlowSnapshot& s) {
  // strnlen: the array is filled by enhancers; never trust a terminator.
  return std::string_view(s.community_id, strnlen(s.community_id, sizeof(s.community_id)));
}

std::string_view FlowProtocolName(FlowProtocol p) {
  switch (p) {
    case FlowProtocol::kEthernet:
      return "ETHERNET";
    case FlowProtocol::kIpv4:
      return "IPV4";
    case FlowProtocol::kTcp:
      return "TCP";
    case FlowProtocol::kUdp:
      return "UDP";
    case FlowProtocol::kSctp:
      return "SCTP";
    case FlowProtocol::kIpv6:
      return "IPV6";
    case FlowProtocol::kIcmpv4:
      return "ICMPV4";
    case FlowProtocol::kIcmpv6:
      return "ICMPV6";
  }
  return "ETHERNET";
}

std::string_view IcmpTypeName(IcmpType t) {
  switch (t) {
    case IcmpType::kUnknown:
      return "UNKNOWN";
    case IcmpType::kDestinationUnreachable:
      return "DESTINATION_UNREACHABLE";
    case IcmpType::kEcho:
      return "ECHO";
    case IcmpType::kNeighbor:
      return "NEIGHBOR";
    case IcmpType::kAddressMask:
      return "ADDRESS_MASK";
    case IcmpType::kInfo:
      return "INFO";
    case IcmpType::kParameterProblem:
      return "PARAMETER_PROBLEM";
    case IcmpType::kRedirect:
      return "REDIRECT";
    case IcmpType::kRouter:
      return "ROUTER";
    case IcmpType::kSourceQuench:
      return "SOURCE_QUENCH";
    case IcmpType::kTimeExceeded:
      return "TIME_EXCEEDED";
    case IcmpType::kTimestamp:
      return "TIMESTAMP";
    case IcmpType::kPacketTooBig:
      return "PACKET_TOO_BIG";
  }
  return "UNKNOWN";
}

std::string_view FinishTypeName(FinishType t) {
  switch (t) {
    case FinishType::kNotFinished:
      return "NOT_FINISHED";
    case FinishType::kTimeout:
      return "TIMEOUT";
    case FinishType::kTcpFin:
      return "TCP_FIN";
    case FinishType::kTcpRst:
      return "TCP_RST";
  }
  return "NOT_FINISHED";
}

std::string_view FlowEventName(FlowEvent e) {
  return e == FlowEvent::kExpire ? "EXPIRE" : "UPDATE";
}

std::string_view ExpireReasonName(ExpireReason r) {
  switch (r) {
    case ExpireReason::kNone:
      return "NONE";
    case ExpireReason::kIdle:
      return "IDLE";
    case ExpireReason::kTcpClosed:
      return "TCP_CLOSED";
    case ExpireReason::kEvicted:
      return "EVICTED";
    case ExpireReason::kFlush:
      return "FLUSH";
  }
  return "NONE";
}

namespace {

int64_t StreamValue(const TcpStreamCounters& c, int i) {
  switch (i) {
    case 0:
      return c.segment_out_of_order;
    case 1:
      return c.segment_skipped;
    case 2:
      return c.segment_skipped_bytes;
    case 3:
      return c.packets;
    case 4:
      return c.bytes;
    case 5:
      return c.saw_start;
    default:
      return c.saw_end;
  }
}

}  // namespace

bool TcpMetricValue(const TcpMetric& m, int i, int64_t* out) {
  switch (i) {
    case 0:
      *out = m.ab_syn_start;
      return true;
    case 1:
      *out = m.ba_syn_start;
      return true;
    case 2:
      *out = m.ab_syn_ttl;
      return true;
    case 3:
      *out = m.ba_syn_ttl;
      return true;
    case 4:
      *out = m.ab_fin_start;
      return true;
    case 5:
      *out = m.ba_fin_start;
      return true;
    case 6:
      *out = m.ab_rst_start;
      return true;
    case 7:
      *out = m.ba_rst_start;
      return true;
    default:
      break;
  }
  if (i >= kTcpMetricStreamFirst && i < kTcpMetricHealthFirst) {
    if (!m.has_stream) return false;
    const int k = i - kTcpMetricStreamFirst;
    *out = StreamValue(k < 7 ? m.ab_stream : m.ba_stream, k % 7);
    return true;
  }
  if (i >= kTcpMetricHealthFirst && i < kTcpMetricLatencyFirst) {
    if (!m.has_health) return false;
    const int k = i - kTcpMetricHealthFirst;
    *out = TcpHealthCounter(k < kTcpHealthCounters ? m.ab_health : m.ba_health,
                            k % kTcpHealthCounters);
    return true;
  }
  if (i == kTcpMetricLatencyFirst || i == kTcpMetricLatencyFirst + 1) {
    const int64_t v = i == kTcpMetricLatencyFirst ? m.server_handshake_us : m.client_handshake_us;
    if (!m.has_health || v < 0) return false;
    *out = v;
    return true;
  }
  return false;
}

void SetTcpMetricValue(TcpMetric* m, int i, int64_t v) {
  if (i >= kTcpMetricStreamFirst && i < kTcpMetricHealthFirst) {
    m->has_stream = true;
    const int k = i - kTcpMetricStreamFirst;
    TcpStreamCounters& c = k < 7 ? m->ab_stream : m->ba_stream;
    int64_t* slots[7] = {&c.segment_out_of_order,
                         &c.segment_skipped,
                         &c.segment_skipped_bytes,
                         &c.packets,
                         &c.bytes,
                         &c.saw_start,
                         &c.saw_end};
    *slots[k % 7] = v;
  } else if (i >= kTcpMetricHealthFirst && i < kTcpMetricLatencyFirst) {
    m->has_health = true;
    const int k = i - kTcpMetricHealthFirst;
    TcpHealthCounter(k < kTcpHealthCounters ? m->ab_health : m->ba_health, k % kTcpHealthCounters) =
        v;
  } else if (i == kTcpMetricLatencyFirst) {
    m->has_health = true;
    m->server_handshake_us = v;
  } else if (i == kTcpMetricLatencyFirst + 1) {
    m->has_health = true;
    m->client_handshake_us = v;
  }
}

}  // namespace skyprobe
