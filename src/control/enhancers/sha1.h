// sha1.h: SHA-1 through libcrypto (OpenSSL), for the Community ID enhancer.
//
// Owner: any thread; a call keeps its context on the stack and allocates
// nothing. libcrypto's block function uses the CPU's SHA extensions where
// present (SHA-NI), several times faster than portable C on the one or two
// blocks an ID hashes.
// Not for security uses (SHA-1 is broken for collision resistance).
//
//   std::array<uint8_t, kSha1DigestSize> digest;
//   if (!Sha1Digest(bytes, n, &digest)) { /* libcrypto failed */ }
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace skyprobe {

inline constexpr size_t kSha1DigestSize = 20;

// Hashes `len` bytes at `data`. False if libcrypto reports a failure; `out`
// is then unspecified.
bool Sha1Digest(const void* data, size_t len, std::array<uint8_t, kSha1DigestSize>* out);

}  // namespace skyprobe
