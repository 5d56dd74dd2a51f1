// tls_fingerprint.h: the JA3 and JA4 client fingerprints of a parsed TLS
// ClientHello (parse/tls_hello.h).
//
// Owner: none (pure functions over their arguments; no allocation, no
// locks: OpenSSL's one-context MD5 and SHA-256, which keep their state on the
// stack). The flow table calls them once per ClientHello, when it is
// complete (table/app_meta_store.cc), never per packet.
//
// JA3 (Salesforce): MD5 of "SSLVersion,Ciphers,Extensions,EllipticCurves,
// EllipticCurvePointFormats", decimal values joined by '-', GREASE left out.
// JA4 (FoxIO, technical_details/JA4.md; the client fingerprint only, BSD
// licensed): "t" + version + "d"/"i" + cipher count + extension count + ALPN
// characters, "_", 12 hex digits of the SHA-256 of the sorted cipher list,
// "_", 12 hex digits of the SHA-256 of the sorted extension list (without
// SNI and ALPN) and the signature algorithms.
//
//   char ja3_str[kJa3StringMax]; size_t n = Ja3String(hello, ja3_str);
//   uint8_t md5[16]; Ja3Digest(hello, md5); char ja4[36]; Ja4(hello, ja4);
#pragma once

#include <cstddef>
#include <cstdint>

#include "parse/tls_hello.h"

namespace skyprobe {

// Longest JA3 string the kept lists can make (each value at most 5 digits
// and a separator).
inline constexpr size_t kJa3StringMax =
    6 + 6 * (kTlsMaxCiphers + kTlsMaxExtensions + kTlsMaxGroups) + 4 * kTlsMaxPointFormats + 8;
inline constexpr size_t kJa4Length = 36;

// Writes the JA3 string (not NUL-terminated) into `out`; returns its length.
size_t Ja3String(const TlsHello& h, char* out) noexcept;
// MD5 of the JA3 string.
void Ja3Digest(const TlsHello& h, uint8_t md5[16]) noexcept;
// The 36 characters of JA4 (not NUL-terminated), TLS over TCP ("t").
void Ja4(const TlsHello& h, char out[kJa4Length]) noexcept;

}  // namespace skyprobe
