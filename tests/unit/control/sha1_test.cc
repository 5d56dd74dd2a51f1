#include "control/enhancers/sha1.h"

#include <string>

#include "gtest/gtest.h"

namespace skyprobe {
namespace {

std::string Hex(const std::array<uint8_t, Sha1::kDigestSize>& d) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

// FIPS 180 / RFC 3174 test vectors.
TEST(Sha1Test, KnownVectors) {
  EXPECT_EQ(Hex(Sha1Digest("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(Hex(Sha1Digest("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(Hex(Sha1Digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

TEST(Sha1Test, MillionAInUnevenChunks) {
  const std::string chunk(997, 'a');  // not a multiple of the 64-byte block
  Sha1 h;
  size_t fed = 0;
  while (fed + chunk.size() <= 1000000) {
    h.Update(chunk);
    fed += chunk.size();
  }
  h.Update(std::string(1000000 - fed, 'a'));
  EXPECT_EQ(Hex(h.Final()), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST(Sha1Test, PaddingBoundaries) {
  // Lengths around the 55/56/64-byte padding edges must agree whether fed at
  // once or byte by byte.
  for (size_t len : {55u, 56u, 63u, 64u, 65u, 119u, 120u, 128u}) {
    const std::string msg(len, 'x');
    Sha1 bytewise;
    for (char c : msg) bytewise.Update(&c, 1);
    EXPECT_EQ(bytewise.Final(), Sha1Digest(msg)) << len;
  }
}

}  // namespace
}  // namespace skyprobe
