// JA3 and JA4. The strings are built in stack buffers sized for the longest
// lists a TlsHello keeps, then hashed with OpenSSL's low-level MD5 and
// SHA-256: unlike the EVP interface they neither allocate nor fetch
// algorithms (locks), and they use the CPU's SHA extensions where present.
#define OPENSSL_SUPPRESS_DEPRECATED  // MD5_Init/SHA256_Init: deprecated, still the cheapest
#include "table/tls_fingerprint.h"

#include <openssl/md5.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace skyprobe {
namespace {

constexpr char kHex[] = "0123456789abcdef";

char* Decimal(char* p, uint32_t v) { return std::to_chars(p, p + 10, v).ptr; }

char* Hex4(char* p, uint16_t v) {
  p[0] = kHex[v >> 12];
  p[1] = kHex[(v >> 8) & 15];
  p[2] = kHex[(v >> 4) & 15];
  p[3] = kHex[v & 15];
  return p + 4;
}

template <typename T>
char* DecimalList(char* p, const T* v, int n) {
  for (int i = 0; i < n; ++i) {
    if (i != 0) *p++ = '-';
    p = Decimal(p, v[i]);
  }
  return p;
}

// "0a0b,..." of `v` (4 hex digits, comma separated).
char* HexList(char* p, const uint16_t* v, int n) {
  for (int i = 0; i < n; ++i) {
    if (i != 0) *p++ = ',';
    p = Hex4(p, v[i]);
  }
  return p;
}

// First 12 hex digits of the SHA-256 of [s, s + n).
void Sha12(const char* s, size_t n, char* out) {
  uint8_t md[SHA256_DIGEST_LENGTH];
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, s, n);
  SHA256_Final(md, &ctx);
  for (size_t i = 0; i < 6; ++i) {
    out[2 * i] = kHex[md[i] >> 4];
    out[2 * i + 1] = kHex[md[i] & 15];
  }
}

void TwoDigits(char* p, int n) {
  n = std::min(n, 99);
  p[0] = static_cast<char>('0' + n / 10);
  p[1] = static_cast<char>('0' + n % 10);
}

const char* Ja4Version(uint16_t v) {
  switch (v) {
    case 0x0304:
      return "13";
    case 0x0303:
      return "12";
    case 0x0302:
      return "11";
    case 0x0301:
      return "10";
    case 0x0300:
      return "s3";
    case 0x0002:
      return "s2";
    case 0xfeff:
      return "d1";
    case 0xfefd:
      return "d2";
    case 0xfefc:
      return "d3";
    default:
      return "00";
  }
}

bool IsAlnum(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// The first and last characters of the first ALPN value; the first and last
// hex digits of its bytes when either end is not alphanumeric; "00" without one.
void Ja4Alpn(const TlsHello& h, char* out) {
  out[0] = out[1] = '0';
  if (!h.has_alpn || h.alpn_len == 0) return;
  const uint32_t n = h.alpn[0];
  if (n == 0 || 1u + n > h.alpn_len) return;
  const uint8_t first = h.alpn[1];
  const uint8_t last = h.alpn[n];
  if (IsAlnum(first) && IsAlnum(last)) {
    out[0] = static_cast<char>(first);
    out[1] = static_cast<char>(last);
  } else {
    out[0] = kHex[first >> 4];
    out[1] = kHex[last & 15];
  }
}

}  // namespace

size_t Ja3String(const TlsHello& h, char* out) noexcept {
  char* p = Decimal(out, h.legacy_version);
  *p++ = ',';
  p = DecimalList(p, h.ciphers, h.n_ciphers);
  *p++ = ',';
  p = DecimalList(p, h.extensions, h.n_extensions);
  *p++ = ',';
  p = DecimalList(p, h.groups, h.n_groups);
  *p++ = ',';
  p = DecimalList(p, h.point_formats, h.n_point_formats);
  return static_cast<size_t>(p - out);
}

void Ja3Digest(const TlsHello& h, uint8_t md5[16]) noexcept {
  char s[kJa3StringMax];
  const size_t n = Ja3String(h, s);
  MD5_CTX ctx;
  MD5_Init(&ctx);
  MD5_Update(&ctx, s, n);
  MD5_Final(md5, &ctx);
}

void Ja4(const TlsHello& h, char out[kJa4Length]) noexcept {
  // Part a: t, version, d/i, counts, ALPN.
  out[0] = 't';
  std::memcpy(out + 1, Ja4Version(h.OfferedVersion()), 2);
  out[3] = h.has_sni ? 'd' : 'i';
  TwoDigits(out + 4, h.n_ciphers);
  TwoDigits(out + 6, h.n_extensions);
  Ja4Alpn(h, out + 8);
  out[10] = '_';
  out[23] = '_';

  // Part b: the cipher suites, sorted.
  uint16_t sorted[std::max(kTlsMaxCiphers, kTlsMaxExtensions)];
  char buf[5 * (kTlsMaxExtensions + kTlsMaxSigAlgs) + 5 * kTlsMaxCiphers];
  if (h.n_ciphers == 0) {
    std::memset(out + 11, '0', 12);
  } else {
    std::copy(h.ciphers, h.ciphers + h.n_ciphers, sorted);
    std::sort(sorted, sorted + h.n_ciphers);
    const char* end = HexList(buf, sorted, h.n_ciphers);
    Sha12(buf, static_cast<size_t>(end - buf), out + 11);
  }

  // Part c: the extensions but SNI and ALPN, sorted, then "_" and the
  // signature algorithms in their order (no "_" without any).
  int n = 0;
  for (int i = 0; i < h.n_extensions; ++i) {
    if (h.extensions[i] != 0x0000 && h.extensions[i] != 0x0010) sorted[n++] = h.extensions[i];
  }
  if (n == 0) {
    std::memset(out + 24, '0', 12);
    return;
  }
  std::sort(sorted, sorted + n);
  char* p = HexList(buf, sorted, n);
  if (h.n_sig_algs != 0) {
    *p++ = '_';
    p = HexList(p, h.sig_algs, h.n_sig_algs);
  }
  Sha12(buf, static_cast<size_t>(p - buf), out + 24);
}

}  // namespace skyprobe
