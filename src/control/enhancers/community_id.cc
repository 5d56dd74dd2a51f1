#include "control/enhancers/community_id.h"

#include <array>
#include <cstring>
#include <iterator>
#include <utility>

#include "control/enhancers/sha1.h"

namespace skyprobe {
namespace {

// ICMP types and their request/reply counterparts (spec, "ICMP").
struct IcmpPair {
  uint8_t type;
  uint8_t counterpart;
};

constexpr IcmpPair kIcmpv4Pairs[] = {
    {8, 0},   {0, 8},    // echo request / reply
    {13, 14}, {14, 13},  // timestamp
    {15, 16}, {16, 15},  // information
    {10, 9},  {9, 10},   // router solicitation / advertisement
    {17, 18}, {18, 17},  // address mask
};

constexpr IcmpPair kIcmpv6Pairs[] = {
    {128, 129}, {129, 128},  // echo request / reply
    {133, 134}, {134, 133},  // router solicitation / advertisement
    {135, 136}, {136, 135},  // neighbor solicitation / advertisement
    {130, 131}, {131, 130},  // multicast listener query / report
    {139, 140}, {140, 139},  // node information query / response
    {144, 145}, {145, 144},  // home agent address discovery request / reply
};

// The on-wire type A most likely sent, from Skydive's merged ICMPType; -1 when
// it cannot be recovered (UNKNOWN covers many types).
int AssumedIcmpType(uint8_t version, IcmpType t) {
  if (version == 4) {
    switch (t) {
      case IcmpType::kEcho:
        return 8;
      case IcmpType::kDestinationUnreachable:
        return 3;
      case IcmpType::kSourceQuench:
        return 4;
      case IcmpType::kRedirect:
        return 5;
      case IcmpType::kRouter:
        return 10;
      case IcmpType::kTimeExceeded:
        return 11;
      case IcmpType::kParameterProblem:
        return 12;
      case IcmpType::kTimestamp:
        return 13;
      case IcmpType::kInfo:
        return 15;
      case IcmpType::kAddressMask:
        return 17;
      default:
        return -1;
    }
  }
  switch (t) {
    case IcmpType::kDestinationUnreachable:
      return 1;
    case IcmpType::kPacketTooBig:
      return 2;
    case IcmpType::kTimeExceeded:
      return 3;
    case IcmpType::kParameterProblem:
      return 4;
    case IcmpType::kEcho:
      return 128;
    case IcmpType::kRouter:
      return 133;
    case IcmpType::kNeighbor:
      return 135;
    case IcmpType::kRedirect:
      return 137;
    default:
      return -1;
  }
}

// Standard base64 with '=' padding; `out` gets 4 * ceil(n / 3) characters.
size_t Base64(const uint8_t* in, size_t n, char* out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = uint32_t{in[i]} << 16 | uint32_t{in[i + 1]} << 8 | in[i + 2];
    out[o++] = kAlphabet[v >> 18];
    out[o++] = kAlphabet[(v >> 12) & 63];
    out[o++] = kAlphabet[(v >> 6) & 63];
    out[o++] = kAlphabet[v & 63];
  }
  if (i < n) {
    const bool two = i + 1 < n;
    const uint32_t v = uint32_t{in[i]} << 16 | (two ? uint32_t{in[i + 1]} << 8 : 0);
    out[o++] = kAlphabet[v >> 18];
    out[o++] = kAlphabet[(v >> 12) & 63];
    out[o++] = two ? kAlphabet[(v >> 6) & 63] : '=';
    out[o++] = '=';
  }
  return o;
}

}  // namespace

void IcmpPorts(bool ipv6, uint8_t type, uint8_t code, CommunityIdTuple* t) {
  t->has_ports = true;
  t->src_port = type;
  t->dst_port = code;
  t->one_way = true;
  const IcmpPair* begin = ipv6 ? std::begin(kIcmpv6Pairs) : std::begin(kIcmpv4Pairs);
  const IcmpPair* end = ipv6 ? std::end(kIcmpv6Pairs) : std::end(kIcmpv4Pairs);
  for (const IcmpPair* p = begin; p != end; ++p) {
    if (p->type == type) {
      t->dst_port = p->counterpart;
      t->one_way = false;
      break;
    }
  }
}

bool WriteCommunityId(uint16_t seed, const CommunityIdTuple& t, char* out) {
  out[0] = '\0';
  if (t.ip_version != 4 && t.ip_version != 6) return false;
  const size_t addr_len = t.ip_version == 4 ? 4 : 16;

  // Order the endpoints: smaller address first, then smaller port; one-way
  // ICMP keeps the packet's order.
  const uint8_t* src = t.src;
  const uint8_t* dst = t.dst;
  uint16_t sport = t.src_port;
  uint16_t dport = t.dst_port;
  if (!t.one_way) {
    const int cmp = std::memcmp(src, dst, addr_len);
    if (cmp > 0 || (cmp == 0 && t.has_ports && sport > dport)) {
      std::swap(src, dst);
      std::swap(sport, dport);
    }
  }

  uint8_t buf[2 + 16 + 16 + 2 + 4];
  size_t n = 0;
  buf[n++] = static_cast<uint8_t>(seed >> 8);
  buf[n++] = static_cast<uint8_t>(seed);
  std::memcpy(buf + n, src, addr_len);
  n += addr_len;
  std::memcpy(buf + n, dst, addr_len);
  n += addr_len;
  buf[n++] = t.proto;
  buf[n++] = 0;  // padding
  if (t.has_ports) {
    buf[n++] = static_cast<uint8_t>(sport >> 8);
    buf[n++] = static_cast<uint8_t>(sport);
    buf[n++] = static_cast<uint8_t>(dport >> 8);
    buf[n++] = static_cast<uint8_t>(dport);
  }

  std::array<uint8_t, kSha1DigestSize> digest;
  if (!Sha1Digest(buf, n, &digest)) {
    out[0] = '\0';
    return false;
  }
  out[0] = '1';
  out[1] = ':';
  const size_t len = 2 + Base64(digest.data(), digest.size(), out + 2);
  out[len] = '\0';
  return true;
}

std::string CommunityId(uint16_t seed, const CommunityIdTuple& t) {
  char buf[kCommunityIdLength + 1];
  WriteCommunityId(seed, t, buf);
  return buf;
}

void CommunityIdEnhancer::Enhance(FlowSnapshot* s) {
  static_assert(sizeof(s->community_id) > kCommunityIdLength);
  s->community_id[0] = '\0';
  if (s->ip_version != 4 && s->ip_version != 6) return;

  CommunityIdTuple t;
  t.ip_version = s->ip_version;
  t.src = s->network_a;  // A sent the first packet: it is the source
  t.dst = s->network_b;
  switch (s->transport) {
    case FlowProtocol::kTcp:
      t.proto = kIpProtoTcp;
      break;
    case FlowProtocol::kUdp:
      t.proto = kIpProtoUdp;
      break;
    case FlowProtocol::kSctp:
      t.proto = kIpProtoSctp;
      break;
    default:
      break;
  }
  if (t.proto != 0) {
    t.has_ports = true;
    t.src_port = s->transport_a;
    t.dst_port = s->transport_b;
  } else if (s->icmp_version == s->ip_version) {
    // The type A really sent; AssumedIcmpType covers snapshots built
    // without it (tests, external records).
    const int type =
        s->has_icmp_raw_type ? s->icmp_raw_type : AssumedIcmpType(s->icmp_version, s->icmp_type);
    if (type < 0) return;
    const bool v6 = s->icmp_version == 6;
    t.proto = v6 ? kIpProtoIcmpv6 : kIpProtoIcmp;
    IcmpPorts(v6, static_cast<uint8_t>(type), s->icmp_code, &t);
  } else {
    return;  // IP protocol unknown to the snapshot (GRE, ESP, fragments, ...)
  }
  WriteCommunityId(seed_, t, s->community_id);
}

}  // namespace skyprobe
