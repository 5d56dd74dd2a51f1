#include "control/enhancers/sha1.h"

// SHA1_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but
// they are the same block function (SHA-NI where the CPU has it) without
// EVP's per-digest context allocation, which cost more than the hash of the
// one or two blocks an ID needs (BENCHMARKS.md, "Community ID").
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

namespace skyprobe {

bool Sha1Digest(const void* data, size_t len, std::array<uint8_t, kSha1DigestSize>* out) {
  SHA_CTX c;
  return SHA1_Init(&c) == 1 && SHA1_Update(&c, data, len) == 1 && SHA1_Final(out->data(), &c) == 1;
}

}  // namespace skyprobe
