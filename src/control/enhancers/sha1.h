// sha1.h: SHA-1 through libcrypto (OpenSSL), for the Community ID enhancer.
//
// Owner: any thread; each thread keeps its own digest context (thread_local),
// created on first use, so a call allocates nothing after the first.
// libcrypto uses the CPU's SHA extensions where present (SHA-NI), several
// times faster than portable C on the one or two blocks an ID hashes.
// Not for security uses (SHA-1 is broken for collision resistance).
//
//   std::array<uint8_t, kSha1DigestSize> digest;
//   if (!Sha1Digest(bytes, n, &digest)) { /* libcrypto has no SHA-1 */ }
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace skyprobe {

inline constexpr size_t kSha1DigestSize = 20;

// Hashes `len` bytes at `data`. False when libcrypto cannot provide SHA-1
// (a provider configuration without it); `out` is then unspecified.
bool Sha1Digest(const void* data, size_t len, std::array<uint8_t, kSha1DigestSize>* out);

}  // namespace skyprobe
