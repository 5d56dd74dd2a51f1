#include "table/flow_key.h"

#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace skyprobe {
namespace {

// gopacket endpoint type numbers written after each "flow" fragment.
constexpr uint64_t kEndpointIpv4 = 1;
constexpr uint64_t kEndpointIpv6 = 2;
constexpr uint64_t kEndpointMac = 3;
constexpr uint64_t kEndpointTcpPort = 4;
constexpr uint64_t kEndpointUdpPort = 5;
constexpr uint64_t kEndpointSctpPort = 6;

inline void PutBe64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

inline void PutBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

inline void PutBe32(uint8_t* p, uint32_t v) {
  PutBe16(p, static_cast<uint16_t>(v >> 16));
  PutBe16(p + 2, static_cast<uint16_t>(v));
}

uint64_t TransportEndpointType(FlowProtocol p) {
  switch (p) {
    case FlowProtocol::kTcp: return kEndpointTcpPort;
    case FlowProtocol::kUdp: return kEndpointUdpPort;
    default: return kEndpointSctpPort;
  }
}

}  // namespace

void BuildKeyBytes(const uint8_t* frame, const SubPacket& sub, KeyMode mode, uint64_t parent_uuid,
                   bool has_parent, KeyBytes* kb) noexcept {
  uint8_t* p = kb->data;
  const int ip_len = sub.ip_version == 4 ? 4 : 16;
  const uint8_t* ip_src = frame + sub.ip_src_off;
  const uint8_t* ip_dst = frame + sub.ip_dst_off;
  const bool has_ip = sub.ip_version != 0;
  const bool use_macs = sub.has_link && (mode == KeyMode::kL2 || !has_ip);

  // 1. Direction: canonical order so that both directions hash alike.
  bool swap = false;
  DirectionRule rule = DirectionRule::kEndpoints;
  bool decided = false;
  if (use_macs) {
    const int c = std::memcmp(frame + sub.mac_src_off, frame + sub.mac_dst_off, 6);
    if (c != 0 || !has_ip) {
      swap = c > 0;
      decided = true;
    }
  }
  if (!decided && has_ip) {
    const int c = std::memcmp(ip_src, ip_dst, ip_len);
    if (c != 0) {
      swap = c > 0;
    } else {
      // Equal IPs (loopback): ports decide the key order, and Skydive's
      // inverted tie-break decides the metric direction.
      swap = sub.src_port > sub.dst_port;
      rule = sub.icmp_version != 0 && sub.transport == FlowProtocol::kEthernet
                 ? DirectionRule::kIcmpTie
                 : DirectionRule::kPortTie;
    }
  }

  // 2. Network.
  if (has_ip) {
    std::memcpy(p, swap ? ip_dst : ip_src, ip_len);
    std::memcpy(p + ip_len, swap ? ip_src : ip_dst, ip_len);
    p += 2 * ip_len;
    PutBe64(p, sub.ip_version == 4 ? kEndpointIpv4 : kEndpointIpv6);
    p += 8;
  }

  // 3. Transport.
  if (sub.transport_key == TransportKeyKind::kPorts) {
    PutBe16(p, swap ? sub.dst_port : sub.src_port);
    PutBe16(p + 2, swap ? sub.src_port : sub.dst_port);
    PutBe64(p + 4, TransportEndpointType(sub.transport));
    p += 12;
  } else if (sub.transport_key == TransportKeyKind::kVniPort) {
    // VXLAN/Geneve: the outer source port is entropy; VNI + destination port.
    PutBe32(p, sub.vni);
    PutBe16(p + 4, sub.dst_port);
    PutBe64(p + 6, 0);
    p += 14;
  }

  // 4. ICMP "application flow": a 4-byte word, an empty endpoint, type 0.
  if (sub.icmp_version != 0) {
    const uint32_t type = static_cast<uint32_t>(sub.icmp_type) << 24;
    uint32_t word;
    if (sub.icmp_version == 4) {
      word = type | (static_cast<uint32_t>(sub.icmp_code) << 16) | sub.icmp_id;
    } else if (sub.icmp_type == IcmpType::kEcho) {
      word = type | sub.icmp_id;
    } else {
      word = type | (static_cast<uint32_t>(sub.icmp_code) << 16);
    }
    PutBe32(p, word);
    PutBe64(p + 4, 0);
    p += 12;
  }
  kb->l3_len = static_cast<uint8_t>(p - kb->data);

  // 5. Link, in L2 mode (or when there is no IP layer).
  if (use_macs) {
    std::memcpy(p, frame + (swap ? sub.mac_dst_off : sub.mac_src_off), 6);
    std::memcpy(p + 6, frame + (swap ? sub.mac_src_off : sub.mac_dst_off), 6);
    PutBe64(p + 12, kEndpointMac);
    p += 20;
  }
  kb->l2_len = static_cast<uint8_t>(p - kb->data);

  // 6. Parent UUID, as the hex string Skydive hashes.
  if (has_parent) p += FormatHex64(parent_uuid, reinterpret_cast<char*>(p));
  kb->len = static_cast<uint8_t>(p - kb->data);
  kb->swap = swap;
  kb->rule = rule;
}

uint64_t TableKey(const KeyBytes& kb) noexcept { return XXH64(kb.data, kb.len, 0); }

uint64_t LookupKey(const KeyBytes& kb) noexcept { return XXH3_64bits(kb.data, kb.len); }

FlowIds TrackingIds(const KeyBytes& kb) noexcept {
  FlowIds ids;
  ids.l3_tracking_id = XXH64(kb.data, kb.l3_len, 0);
  ids.tracking_id = kb.l2_len == kb.l3_len ? ids.l3_tracking_id : XXH64(kb.data, kb.l2_len, 0);
  return ids;
}

uint64_t FlowUuid(uint64_t table_key, int64_t start_ms, const char* node_tid,
                  uint32_t node_tid_len) noexcept {
  uint8_t buf[8 + 256];
  PutBe64(buf, static_cast<uint64_t>(start_ms));
  if (node_tid_len <= 256) {
    std::memcpy(buf + 8, node_tid, node_tid_len);
    return XXH64(buf, 8 + node_tid_len, table_key);
  }
  XXH64_state_t state;
  XXH64_reset(&state, table_key);
  XXH64_update(&state, buf, 8);
  XXH64_update(&state, node_tid, node_tid_len);
  return XXH64_digest(&state);
}

int FormatHex64(uint64_t v, char* out) noexcept {
  static constexpr char kDigits[] = "0123456789abcdef";
  char tmp[16];
  int n = 0;
  do {
    tmp[n++] = kDigits[v & 0xf];
    v >>= 4;
  } while (v != 0);
  for (int i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
  out[n] = '\0';
  return n;
}

}  // namespace skyprobe
