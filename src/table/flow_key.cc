#include "table/flow_key.h"

#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "table/table_hash.h"

namespace skyprobe {
namespace {

// gopacket endpoint type numbers written after each "flow" fragment.
constexpr uint64_t kEndpointIpv4 = 1;
constexpr uint64_t kEndpointIpv6 = 2;
constexpr uint64_t kEndpointMac = 3;
constexpr uint64_t kEndpointTcpPort = 4;
constexpr uint64_t kEndpointUdpPort = 5;
constexpr uint64_t kEndpointSctpPort = 6;

// Fixed-size big-endian loads and stores: one move (and a bswap) each, where
// memcmp/memcpy with a run-time length were library calls per packet.
inline void PutBe64(uint8_t* p, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}

inline void PutBe16(uint8_t* p, uint16_t v) {
  v = __builtin_bswap16(v);
  std::memcpy(p, &v, 2);
}

inline void PutBe32(uint8_t* p, uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}

inline uint16_t LoadBe16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return __builtin_bswap16(v);
}

inline uint32_t LoadBe32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}

inline uint64_t LoadBe64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

// A MAC as a 48-bit number: integer order is memcmp order.
inline uint64_t LoadMac(const uint8_t* p) {
  return static_cast<uint64_t>(LoadBe32(p)) << 16 | LoadBe16(p + 4);
}

template <typename T>
inline int Order(T a, T b) {
  return (a > b) - (a < b);
}

// memcmp's sign for two IPv4 (4 bytes) or IPv6 (16 bytes) addresses.
inline int CompareIp(const uint8_t* a, const uint8_t* b, bool v4) {
  if (v4) return Order(LoadBe32(a), LoadBe32(b));
  const int hi = Order(LoadBe64(a), LoadBe64(b));
  return hi != 0 ? hi : Order(LoadBe64(a + 8), LoadBe64(b + 8));
}

// Copies both addresses (source first) with constant-size moves.
inline int CopyIps(uint8_t* p, const uint8_t* first, const uint8_t* second, bool v4) {
  if (v4) {
    std::memcpy(p, first, 4);
    std::memcpy(p + 4, second, 4);
    return 8;
  }
  std::memcpy(p, first, 16);
  std::memcpy(p + 16, second, 16);
  return 32;
}

uint64_t TransportEndpointType(FlowProtocol p) {
  switch (p) {
    case FlowProtocol::kTcp:
      return kEndpointTcpPort;
    case FlowProtocol::kUdp:
      return kEndpointUdpPort;
    default:
      return kEndpointSctpPort;
  }
}

// Skydive's direction decision (DirectionRule, flow_key.h): canonical order so that both
// directions of a flow give the same key.
struct Orientation {
  bool swap;
  DirectionRule rule;
  bool use_macs;
};

SKYPROBE_ALWAYS_INLINE Orientation Orient(const uint8_t* frame, const SubPacket& sub,
                                          KeyMode mode) noexcept {
  const bool has_ip = sub.ip_version != 0;
  Orientation o{false, DirectionRule::kEndpoints,
                sub.has_link && (mode == KeyMode::kL2 || !has_ip)};
  if (o.use_macs) {
    const int c = Order(LoadMac(frame + sub.mac_src_off), LoadMac(frame + sub.mac_dst_off));
    if (c != 0 || !has_ip) {
      o.swap = c > 0;
      return o;
    }
  }
  if (has_ip) {
    const int c = CompareIp(frame + sub.ip_src_off, frame + sub.ip_dst_off, sub.ip_version == 4);
    if (c != 0) {
      o.swap = c > 0;
    } else {
      // Equal IPs (loopback): ports decide the key order, and Skydive's
      // inverted tie-break decides the metric direction.
      o.swap = sub.src_port > sub.dst_port;
      o.rule = sub.icmp_version != 0 && sub.transport == FlowProtocol::kEthernet
                   ? DirectionRule::kIcmpTie
                   : DirectionRule::kPortTie;
    }
  }
  return o;
}

// The ICMP "application flow" word of the key.
inline uint32_t IcmpWord(const SubPacket& sub) {
  const uint32_t type = static_cast<uint32_t>(sub.icmp_type) << 24;
  if (sub.icmp_version == 4) {
    return type | (static_cast<uint32_t>(sub.icmp_code) << 16) | sub.icmp_id;
  }
  if (sub.icmp_type == IcmpType::kEcho) return type | sub.icmp_id;
  return type | (static_cast<uint32_t>(sub.icmp_code) << 16);
}

inline uint64_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// A MAC's 6 bytes in the low 48 bits (byte order irrelevant: hashed only).
inline uint64_t Mac48(const uint8_t* p) {
  uint16_t hi;
  std::memcpy(&hi, p + 4, 2);
  return Load32(p) | static_cast<uint64_t>(hi) << 32;
}

}  // namespace

void BuildKeyBytes(const uint8_t* frame, const SubPacket& sub, KeyMode mode, uint64_t parent_uuid,
                   bool has_parent, KeyBytes* kb) noexcept {
  uint8_t* p = kb->data;
  const bool v4 = sub.ip_version == 4;
  const uint8_t* ip_src = frame + sub.ip_src_off;
  const uint8_t* ip_dst = frame + sub.ip_dst_off;
  const Orientation o = Orient(frame, sub, mode);
  const bool swap = o.swap;

  // 2. Network.
  if (sub.ip_version != 0) {
    p += CopyIps(p, swap ? ip_dst : ip_src, swap ? ip_src : ip_dst, v4);
    PutBe64(p, v4 ? kEndpointIpv4 : kEndpointIpv6);
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
    PutBe32(p, IcmpWord(sub));
    PutBe64(p + 4, 0);
    p += 12;
  }
  kb->l3_len = static_cast<uint8_t>(p - kb->data);

  // 5. Link, in L2 mode (or when there is no IP layer).
  if (o.use_macs) {
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
  kb->rule = o.rule;
}

namespace {

// The keyed hash over the words a key uses (n: its shape says how many).
inline uint32_t KeyedSig(const uint64_t* w, int n) noexcept {
  const uint64_t h = XXH3_64bits_withSecret(w, static_cast<size_t>(n) * sizeof(uint64_t),
                                            table_hash_internal::g_secret.bytes,
                                            sizeof(table_hash_internal::g_secret.bytes));
  return static_cast<uint32_t>(h ^ (h >> 32));
}

// Where each section of a key sits (LookupKey's layout).
struct KeyLayout {
  unsigned ip_version;
  TransportKeyKind transport_key;
  uint64_t endpoint_type;
  uint64_t transport;  // ports, VNI and port, or the ICMP word (icmp_inline)
  bool icmp;
  bool icmp_inline;
  bool macs;
  bool has_parent;
  int mac_word;     // index of the first MAC word (macs)
  int icmp_word;    // index of the ICMP word's own word (icmp, !icmp_inline, !macs)
  int parent_word;  // index of the parent UUID (has_parent)
};

KeyLayout LayoutOf(const FlowTableKey& key) noexcept {
  const uint64_t w0 = key.w[0];
  KeyLayout l;
  l.ip_version = KeyIpVersion(key);
  l.transport_key = static_cast<TransportKeyKind>((w0 >> 4) & 3);
  l.endpoint_type = (w0 >> 6) & 7;
  l.icmp = KeyHasIcmp(key);
  l.macs = (w0 >> 10) & 1;
  l.has_parent = (w0 >> 11) & 1;
  l.transport = (w0 >> 16) & ((uint64_t{1} << 40) - 1);  // below the capture point's byte
  l.icmp_inline = l.icmp && l.transport_key == TransportKeyKind::kNone;
  int n = 1 + (l.ip_version == 4 ? 1 : l.ip_version == 6 ? 4 : 0);
  l.mac_word = n;
  l.icmp_word = n;
  if (l.macs) {
    n += 2;
  } else if (l.icmp && !l.icmp_inline) {
    n += 1;
  }
  l.parent_word = n;
  return l;
}

}  // namespace

// The words a key uses: its sections, then the parent UUID last.
int KeyWords(const FlowTableKey& key) noexcept {
  const KeyLayout l = LayoutOf(key);
  return l.parent_word + (l.has_parent ? 1 : 0);
}

uint32_t LookupKey(const uint8_t* frame, const SubPacket& sub, KeyMode mode, uint64_t parent_uuid,
                   bool has_parent, FlowTableKey* key, KeyOrientation* orientation,
                   uint8_t input) noexcept {
  const Orientation o = Orient(frame, sub, mode);
  orientation->swap = o.swap;
  orientation->rule = o.rule;
  // The words are built in registers and stored whole, so XXH3's 8-byte
  // loads are forwarded from the stores (laying out Skydive's byte string
  // and hashing it stalled on partial-store forwarding on every packet).
  // Word 0, the shape, says which sections follow and how each is typed,
  // exactly the information carried by the section lengths and endpoint
  // type numbers of BuildKeyBytes; then each section's values, in the same
  // canonical order. Equal words <=> equal Skydive key bytes.
  // Zeroed whole (fixed-size stores), so the words after the key are 0
  // (loops of run-time length compiled to rep movs/stos cost more than the
  // rest of the function). Written in place: a copy out of a local array
  // was 16-byte loads of words just stored 8 bytes at a time, which the
  // store buffer cannot forward (a stall of its own per packet).
  uint64_t* const w = key->w;
  std::memset(w, 0, sizeof(key->w));
  int n = 1;
  uint64_t transport = 0;
  uint64_t endpoint_type = 0;
  if (sub.transport_key == TransportKeyKind::kPorts) {
    transport = o.swap ? (uint64_t{sub.dst_port} << 16 | sub.src_port)
                       : (uint64_t{sub.src_port} << 16 | sub.dst_port);
    endpoint_type = TransportEndpointType(sub.transport);
  } else if (sub.transport_key == TransportKeyKind::kVniPort) {
    transport = uint64_t{sub.vni} << 16 | sub.dst_port;  // 40 bits (a 24-bit VNI)
  }
  // ICMP's word rides in the transport bits when there are no ports, else
  // in the spare half of the second MAC word when there are MACs (the shape
  // bits say where): the longest key is 8 words.
  const bool icmp_inline = sub.icmp_version != 0 && sub.transport_key == TransportKeyKind::kNone;
  if (icmp_inline) transport = IcmpWord(sub);
  // The capture point takes the top byte, free above the transport's 48 bits
  // (ports 32, VNI 24 + port 16, ICMP word 32): the key does not grow.
  w[0] = sub.ip_version | static_cast<uint64_t>(sub.transport_key) << 4 | endpoint_type << 6 |
         uint64_t{sub.icmp_version != 0} << 9 | uint64_t{o.use_macs} << 10 |
         uint64_t{has_parent} << 11 | transport << 16 | uint64_t{input} << 56;
  if (sub.ip_version != 0) {
    const uint8_t* first = frame + (o.swap ? sub.ip_dst_off : sub.ip_src_off);
    const uint8_t* second = frame + (o.swap ? sub.ip_src_off : sub.ip_dst_off);
    if (sub.ip_version == 4) {
      w[n++] = Load32(first) << 32 | Load32(second);
    } else {
      w[n++] = Load64(first);
      w[n++] = Load64(first + 8);
      w[n++] = Load64(second);
      w[n++] = Load64(second + 8);
    }
  }
  const uint64_t icmp_word = sub.icmp_version != 0 && !icmp_inline ? IcmpWord(sub) : 0;
  if (o.use_macs) {
    const uint64_t a = Mac48(frame + (o.swap ? sub.mac_dst_off : sub.mac_src_off));
    const uint64_t b = Mac48(frame + (o.swap ? sub.mac_src_off : sub.mac_dst_off));
    w[n++] = a | b << 48;
    w[n++] = b >> 16 | icmp_word << 32;
  } else if (sub.icmp_version != 0 && !icmp_inline) {
    w[n++] = icmp_word;
  }
  if (has_parent) w[n++] = parent_uuid;
  return KeyedSig(w, n);
}

uint32_t TableHashSig(const FlowTableKey& key) noexcept { return KeyedSig(key.w, KeyWords(key)); }

void KeyBytesOf(const FlowTableKey& key, KeyBytes* kb) noexcept {
  const KeyLayout l = LayoutOf(key);
  const uint64_t* w = key.w;
  uint8_t* p = kb->data;
  // Network: the addresses in canonical order, then their endpoint type.
  if (l.ip_version == 4) {
    std::memcpy(p, KeyIp(key, false), 4);
    std::memcpy(p + 4, KeyIp(key, true), 4);
    PutBe64(p + 8, kEndpointIpv4);
    p += 16;
  } else if (l.ip_version == 6) {
    std::memcpy(p, KeyIp(key, false), 16);
    std::memcpy(p + 16, KeyIp(key, true), 16);
    PutBe64(p + 32, kEndpointIpv6);
    p += 40;
  }
  // Transport.
  if (l.transport_key == TransportKeyKind::kPorts) {
    PutBe16(p, static_cast<uint16_t>(l.transport >> 16));
    PutBe16(p + 2, static_cast<uint16_t>(l.transport));
    PutBe64(p + 4, l.endpoint_type);
    p += 12;
  } else if (l.transport_key == TransportKeyKind::kVniPort) {
    PutBe32(p, static_cast<uint32_t>(l.transport >> 16));
    PutBe16(p + 4, static_cast<uint16_t>(l.transport));
    PutBe64(p + 6, 0);
    p += 14;
  }
  // ICMP: inline in the transport bits, in the second MAC word's top half,
  // or a word of its own.
  if (l.icmp) {
    const uint64_t word = l.icmp_inline ? l.transport
                          : l.macs      ? w[l.mac_word + 1] >> 32
                                        : w[l.icmp_word];
    PutBe32(p, static_cast<uint32_t>(word));
    PutBe64(p + 4, 0);
    p += 12;
  }
  kb->l3_len = static_cast<uint8_t>(p - kb->data);
  // Link: each MAC's 6 bytes are the low 48 bits of a little-endian number.
  if (l.macs) {
    const uint64_t a = w[l.mac_word] & ((uint64_t{1} << 48) - 1);
    const uint64_t b = w[l.mac_word] >> 48 | (w[l.mac_word + 1] & 0xffffffffu) << 16;
    std::memcpy(p, &a, 6);
    std::memcpy(p + 6, &b, 6);
    PutBe64(p + 12, kEndpointMac);
    p += 20;
  }
  kb->l2_len = static_cast<uint8_t>(p - kb->data);
  if (l.has_parent) p += FormatHex64(w[l.parent_word], reinterpret_cast<char*>(p));
  kb->len = static_cast<uint8_t>(p - kb->data);
  kb->swap = false;
  kb->rule = DirectionRule::kEndpoints;
}

bool KeyParentUuid(const FlowTableKey& key, uint64_t* parent_uuid) noexcept {
  const KeyLayout l = LayoutOf(key);
  *parent_uuid = l.has_parent ? key.w[l.parent_word] : 0;
  return l.has_parent;
}

uint64_t TableKey(const KeyBytes& kb) noexcept { return XXH64(kb.data, kb.len, 0); }

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
