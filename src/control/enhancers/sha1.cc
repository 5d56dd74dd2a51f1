#include "control/enhancers/sha1.h"

#include <openssl/evp.h>

namespace skyprobe {
namespace {

// The algorithm is fetched once per thread (EVP_MD_fetch looks providers up
// by name, far too slow to repeat per record) and the context is reused.
struct Sha1Context {
  Sha1Context() : md(EVP_MD_fetch(nullptr, "SHA1", nullptr)), ctx(EVP_MD_CTX_new()) {}
  ~Sha1Context() {
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
  }
  Sha1Context(const Sha1Context&) = delete;
  Sha1Context& operator=(const Sha1Context&) = delete;

  EVP_MD* md;
  EVP_MD_CTX* ctx;
};

}  // namespace

bool Sha1Digest(const void* data, size_t len, std::array<uint8_t, kSha1DigestSize>* out) {
  thread_local Sha1Context c;
  if (c.md == nullptr || c.ctx == nullptr) return false;
  unsigned int n = 0;
  return EVP_DigestInit_ex2(c.ctx, c.md, nullptr) == 1 && EVP_DigestUpdate(c.ctx, data, len) == 1 &&
         EVP_DigestFinal_ex(c.ctx, out->data(), &n) == 1 && n == kSha1DigestSize;
}

}  // namespace skyprobe
