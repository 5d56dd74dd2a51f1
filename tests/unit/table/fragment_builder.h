// fragment_builder.h: real frames of fragmented IPv4/IPv6 datagrams, byte by
// byte, for the defragmentation tests (parsed by the real parser).
//
// Owner: test code only.
//
//   Bytes dgram = IcmpEcho(8, 7, 3000);                 // the datagram's payload
//   auto frames = Fragment4(kA, kB, 1, 42, dgram, {1480, 1480, 40});
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

namespace skyprobe::testing {

using Bytes = std::vector<uint8_t>;
using Ip4Addr = std::array<uint8_t, 4>;
using Ip6Addr = std::array<uint8_t, 16>;

inline void Put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void Put32(Bytes& b, uint32_t v) {
  Put16(b, static_cast<uint16_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}
inline Bytes Cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
inline Bytes Filler(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 7 + 1);
  return b;
}

// Ethernet header, source MAC ...:0a, destination ...:0b (swapped when `reverse`).
inline Bytes Ether(uint16_t type, bool reverse = false) {
  Bytes b = {0x02, 0, 0, 0, 0, static_cast<uint8_t>(reverse ? 0x0a : 0x0b),
             0x02, 0, 0, 0, 0, static_cast<uint8_t>(reverse ? 0x0b : 0x0a)};
  Put16(b, type);
  return b;
}

inline Bytes Ip4Header(const Ip4Addr& src, const Ip4Addr& dst, uint8_t proto, uint16_t id,
                       uint32_t offset, bool more, size_t payload_len) {
  Bytes b = {0x45, 0};
  Put16(b, static_cast<uint16_t>(20 + payload_len));
  Put16(b, id);
  Put16(b, static_cast<uint16_t>((more ? 0x2000 : 0) | (offset / 8)));
  b.push_back(64);
  b.push_back(proto);
  Put16(b, 0);
  b.insert(b.end(), src.begin(), src.end());
  b.insert(b.end(), dst.begin(), dst.end());
  return b;
}

// L4 payloads (checksums are not checked by the parser).
inline Bytes IcmpEcho(uint8_t type, uint16_t id, size_t data_len) {
  Bytes b = {type, 0, 0, 0};
  Put16(b, id);
  Put16(b, 1);
  return Cat(b, Filler(data_len));
}
inline Bytes UdpDatagram(uint16_t sport, uint16_t dport, size_t data_len) {
  Bytes b;
  Put16(b, sport);
  Put16(b, dport);
  Put16(b, static_cast<uint16_t>(8 + data_len));
  Put16(b, 0);
  return Cat(b, Filler(data_len));
}
inline Bytes TcpSegment(uint16_t sport, uint16_t dport, uint8_t flags, size_t data_len) {
  Bytes b;
  Put16(b, sport);
  Put16(b, dport);
  Put32(b, 1000);
  Put32(b, 0);
  b.push_back(0x50);
  b.push_back(flags);
  Put16(b, 65535);
  Put32(b, 0);
  return Cat(b, Filler(data_len));
}

// Ethernet + IPv4 frames carrying `payload` cut into pieces of `sizes` bytes
// (all but the last a multiple of 8), in datagram order.
inline std::vector<Bytes> Fragment4(const Ip4Addr& src, const Ip4Addr& dst, uint8_t proto,
                                    uint16_t id, const Bytes& payload,
                                    const std::vector<size_t>& sizes, bool reverse = false) {
  std::vector<Bytes> out;
  size_t off = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const bool more = i + 1 < sizes.size();
    const Bytes piece(payload.begin() + off, payload.begin() + off + sizes[i]);
    out.push_back(
        Cat(Cat(Ether(0x0800, reverse), Ip4Header(src, dst, proto, id, off, more, piece.size())),
            piece));
    off += sizes[i];
  }
  return out;
}

// An unfragmented IPv4 frame.
inline Bytes Whole4(const Ip4Addr& src, const Ip4Addr& dst, uint8_t proto, const Bytes& payload,
                    bool reverse = false) {
  return Cat(Cat(Ether(0x0800, reverse), Ip4Header(src, dst, proto, 99, 0, false, payload.size())),
             payload);
}

// Ethernet + IPv6 + Fragment header frames, as Fragment4.
inline std::vector<Bytes> Fragment6(const Ip6Addr& src, const Ip6Addr& dst, uint8_t next,
                                    uint32_t id, const Bytes& payload,
                                    const std::vector<size_t>& sizes) {
  std::vector<Bytes> out;
  size_t off = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const bool more = i + 1 < sizes.size();
    Bytes b = Ether(0x86DD);
    b.insert(b.end(), {0x60, 0, 0, 0});
    Put16(b, static_cast<uint16_t>(8 + sizes[i]));
    b.push_back(44);  // Fragment header
    b.push_back(64);
    b.insert(b.end(), src.begin(), src.end());
    b.insert(b.end(), dst.begin(), dst.end());
    b.push_back(next);
    b.push_back(0);
    Put16(b, static_cast<uint16_t>((off / 8) << 3 | (more ? 1 : 0)));
    Put32(b, id);
    b.insert(b.end(), payload.begin() + off, payload.begin() + off + sizes[i]);
    out.push_back(b);
    off += sizes[i];
  }
  return out;
}

}  // namespace skyprobe::testing
