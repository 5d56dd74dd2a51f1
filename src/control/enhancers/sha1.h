// sha1.h: SHA-1 (FIPS 180-4), for the Community ID enhancer.
//
// Owner: any thread; an Sha1 object is single-use state on the caller's stack.
// Small and dependency-free on purpose: the project declares no crypto
// library, and Community ID needs only a few dozen bytes hashed per record.
// Not for security uses (SHA-1 is broken for collision resistance).
//
//   Sha1 h;  h.Update(bytes, n);
//   std::array<uint8_t, 20> digest = h.Final();
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace skyprobe {

class Sha1 {
 public:
  static constexpr size_t kDigestSize = 20;

  Sha1();

  void Update(const void* data, size_t len);
  void Update(std::string_view s) { Update(s.data(), s.size()); }

  // Pads, returns the digest. The object must not be used afterwards.
  std::array<uint8_t, kDigestSize> Final();

 private:
  void Block(const uint8_t* p);

  uint32_t h_[5];
  uint64_t total_bytes_ = 0;
  uint8_t buf_[64];
  size_t buf_len_ = 0;
};

// One-shot helper.
std::array<uint8_t, Sha1::kDigestSize> Sha1Digest(std::string_view data);

}  // namespace skyprobe
