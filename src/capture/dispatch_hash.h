// dispatch_hash.h: the symmetric frame hash that picks a frame's RX worker.
//
// Owner: stateless, called by the dispatcher lcore per frame.
// Both directions of a flow must reach one worker, and so must every frame
// of a tunnel's outer flow (VXLAN/Geneve outer flows ignore the UDP source
// port, which varies per inner flow). So the hash covers the outermost IP
// address pair only (the MAC pair for frames without IP), combined with XOR
// so that swapping source and destination gives the same value. Frames of
// one flow always share that pair, whatever the key mode.
//
//   uint32_t h = SymmetricFrameHash(data, len, LinkType::kEthernet);
//   uint32_t worker = (uint64_t{h} * n_workers) >> 32;
#pragma once

#include <cstdint>
#include <cstring>

#include "parse/parsed_packet.h"

namespace skyprobe {

namespace dispatch_internal {

inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline uint32_t Mix(uint32_t h) {
  // murmur3 finalizer: spreads the XOR of the addresses over all bits.
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

// XOR-fold of an address pair; symmetric by construction.
inline uint32_t FoldPair(const uint8_t* a, const uint8_t* b, uint32_t len) {
  uint32_t h = 0;
  for (uint32_t i = 0; i + 4 <= len; i += 4) h ^= Load32(a + i) ^ Load32(b + i);
  return h;
}

inline uint32_t HashIp(const uint8_t* ip, uint32_t avail) {
  if (avail >= 20 && (ip[0] >> 4) == 4) return Mix(FoldPair(ip + 12, ip + 16, 4) ^ 4);
  if (avail >= 40 && (ip[0] >> 4) == 6) return Mix(FoldPair(ip + 8, ip + 24, 16) ^ 6);
  return 0xffffffffu;  // not IP
}

}  // namespace dispatch_internal

inline uint32_t SymmetricFrameHash(const uint8_t* data, uint32_t len, LinkType link) noexcept {
  using namespace dispatch_internal;  // NOLINT: local helpers
  uint32_t off = 0;
  switch (link) {
    case LinkType::kEthernet: {
      if (len < 14) return 0;
      uint16_t type = static_cast<uint16_t>(data[12] << 8 | data[13]);
      off = 14;
      // 802.1Q / 802.1ad stacks.
      while ((type == 0x8100 || type == 0x88a8) && off + 4 <= len) {
        type = static_cast<uint16_t>(data[off + 2] << 8 | data[off + 3]);
        off += 4;
      }
      if (type == 0x0800 || type == 0x86dd) {
        const uint32_t h = HashIp(data + off, len - off);
        if (h != 0xffffffffu) return h;
      }
      // No IP header: the flow is keyed by its MAC pair.
      uint8_t a[8] = {}, b[8] = {};
      std::memcpy(a, data + 6, 6);
      std::memcpy(b, data, 6);
      return Mix(FoldPair(a, b, 8));
    }
    case LinkType::kLinuxSll:
      off = 16;
      break;
    case LinkType::kNull:
      off = 4;
      break;
    default:
      off = 0;  // raw IP
  }
  if (off >= len) return 0;
  const uint32_t h = HashIp(data + off, len - off);
  return h == 0xffffffffu ? 0 : h;
}

}  // namespace skyprobe
