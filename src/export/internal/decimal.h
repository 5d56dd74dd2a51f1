// decimal.h: int64 values as decimal text at a pointer, for the JSON lines
// writer (private to src/export).
//
// Owner: any thread; pure inline functions.
//
//   char buf[kMaxDecimal];
//   char* end = WriteDecimal(-42, buf);   // "-42"
//
// Why not std::to_chars: it was 37 % of a JSON line's time after the buffer
// change (its length loop divides by 10^4 in 64 bits, then the digits come
// two at a time in 64-bit arithmetic). Most of our numbers are 13-digit
// millisecond times: here a value is cut into 8-digit blocks and each block
// is written two digits at a time in 32-bit arithmetic from a 200-byte table.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

namespace skyprobe::export_internal {

inline constexpr size_t kMaxDecimal = 20;  // "-9223372036854775808"

// "00" .. "99".
inline constexpr auto kDigitPairs = [] {
  std::array<char, 200> t{};
  for (int i = 0; i < 100; ++i) {
    t[2 * i] = static_cast<char>('0' + i / 10);
    t[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return t;
}();

// Writes `v` (< 10^8) as exactly 8 digits, leading zeros included.
inline void WriteEightDigits(uint32_t v, char* p) {
  for (int i = 6; i >= 0; i -= 2) {
    std::memcpy(p + i, &kDigitPairs[2 * (v % 100)], 2);
    v /= 100;
  }
}

// Writes `v` (< 10^8) without leading zeros; returns the end.
inline char* WriteSmall(uint32_t v, char* p) {
  int n = 1;
  for (uint32_t x = v; x >= 10; x /= 10) ++n;
  char* end = p + n;
  char* q = end;
  while (v >= 100) {
    q -= 2;
    std::memcpy(q, &kDigitPairs[2 * (v % 100)], 2);
    v /= 100;
  }
  if (v >= 10) {
    std::memcpy(q - 2, &kDigitPairs[2 * v], 2);
  } else {
    q[-1] = static_cast<char>('0' + v);
  }
  return end;
}

// Writes `v` in decimal at `p` (room: kMaxDecimal); returns the end.
inline char* WriteDecimal(int64_t v, char* p) {
  uint64_t u = static_cast<uint64_t>(v);
  if (v < 0) {
    *p++ = '-';
    u = 0 - u;  // also right for INT64_MIN
  }
  constexpr uint64_t kBlock = 100000000;  // 10^8
  if (u < kBlock) return WriteSmall(static_cast<uint32_t>(u), p);
  const uint64_t high = u / kBlock;
  const auto low = static_cast<uint32_t>(u % kBlock);
  if (high < kBlock) {
    p = WriteSmall(static_cast<uint32_t>(high), p);
  } else {  // 17 digits or more: at most 4 before the two full blocks
    p = WriteSmall(static_cast<uint32_t>(high / kBlock), p);
    WriteEightDigits(static_cast<uint32_t>(high % kBlock), p);
    p += 8;
  }
  WriteEightDigits(low, p);
  return p + 8;
}

}  // namespace skyprobe::export_internal
