// table_hash.cc: the process-wide secret of the table hash.
#include "table/table_hash.h"

#include <sys/random.h>

#include <cerrno>
#include <chrono>
#include <random>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace skyprobe {
namespace table_hash_internal {

Secret g_secret;

namespace {

// Random bytes: getrandom, which only fails before the kernel's pool is
// ready (early boot); then std::random_device mixed with the clock.
void RandomBytes(uint8_t* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = getrandom(out + got, n - got, GRND_NONBLOCK);
    if (r > 0) {
      got += static_cast<size_t>(r);
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  if (got == n) return;
  std::random_device rd;
  const uint64_t t =
      static_cast<uint64_t>(std::chrono::high_resolution_clock::now().time_since_epoch().count());
  for (size_t i = got; i < n; ++i) out[i] = static_cast<uint8_t>(rd() ^ (t >> (8 * (i % 8))));
}

// The process starts with a random secret.
struct RandomAtStart {
  RandomAtStart() { SetTableHashRandom(); }
} g_random_at_start;

}  // namespace
}  // namespace table_hash_internal

void SetTableHashSeed(uint64_t seed) {
  using table_hash_internal::g_secret;
  static_assert(sizeof(g_secret.bytes) == XXH3_SECRET_DEFAULT_SIZE, "XXH3 secret size");
  XXH3_generateSecret_fromSeed(g_secret.bytes, seed);
}

void SetTableHashRandom() {
  using table_hash_internal::g_secret;
  uint8_t seed[32];
  table_hash_internal::RandomBytes(seed, sizeof(seed));
  XXH3_generateSecret(g_secret.bytes, sizeof(g_secret.bytes), seed, sizeof(seed));
}

}  // namespace skyprobe
