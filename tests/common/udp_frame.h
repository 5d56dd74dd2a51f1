// udp_frame.h: the 60-byte Ethernet/IPv4/UDP frame of a numbered test flow.
//
// Owner: test code only. Flow i is 10.<i>:1024 -> 192.168.0.1:4000 (up to
// 2^24 flows), MACs 02::1 -> 02::2, no checksums.
//
//   uint8_t frame[testing::kUdpFrameLen];
//   testing::WriteUdpFrame(7, frame);
#pragma once

#include <cstdint>
#include <cstring>

namespace skyprobe::testing {

inline constexpr uint32_t kUdpFrameLen = 60;

inline void WriteUdpFrame(uint32_t i, uint8_t* p) {
  std::memset(p, 0, kUdpFrameLen);
  p[0] = 0x02, p[5] = 1, p[6] = 0x02, p[11] = 2, p[12] = 0x08;
  uint8_t* ip = p + 14;
  ip[0] = 0x45, ip[3] = 46, ip[8] = 64, ip[9] = 17;
  ip[12] = 10, ip[13] = static_cast<uint8_t>(i >> 16), ip[14] = static_cast<uint8_t>(i >> 8);
  ip[15] = static_cast<uint8_t>(i);
  ip[16] = 192, ip[17] = 168, ip[19] = 1;
  uint8_t* udp = ip + 20;
  udp[0] = 0x04, udp[2] = 0x0f, udp[3] = 0xa0, udp[5] = 26;
}

}  // namespace skyprobe::testing
