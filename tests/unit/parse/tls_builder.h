// tls_builder.h: a TLS ClientHello assembled field by field from RFC 8446
// §4.1.2 / RFC 5246 §7.4.1.2 for the parser's tests, independently of
// parse/tls_hello.cc.
//
// Owner: test code only.
//
//   HelloSpec h; h.sni = "example.com"; h.alpn = {"h2"};
//   Bytes record = ClientHelloRecord(h);  // one handshake record, header first
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "packet_builder.h"

namespace skyprobe::testing {

struct HelloSpec {
  uint16_t legacy_version = 0x0303;
  std::vector<uint16_t> ciphers = {0x1301, 0x1302, 0xc02f};
  std::string sni;                 // empty: no server_name extension
  std::vector<std::string> alpn;   // empty: no ALPN extension
  std::vector<uint16_t> versions;  // empty: no supported_versions extension
  std::vector<uint16_t> groups;    // empty: no supported_groups extension
  std::vector<uint8_t> points;     // empty: no ec_point_formats extension
  std::vector<uint16_t> sig_algs;  // empty: no signature_algorithms extension
  // Extensions placed first, in this order (type, body), e.g. GREASE ones.
  std::vector<std::pair<uint16_t, Bytes>> extra_first;
};

inline void Put24(Bytes& b, uint32_t v) {
  b.push_back(static_cast<uint8_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}

inline Bytes Extension(uint16_t type, const Bytes& body) {
  Bytes b;
  Put16(b, type);
  Put16(b, static_cast<uint16_t>(body.size()));
  return b + body;
}

inline Bytes List16(const std::vector<uint16_t>& v, int len_bytes) {
  Bytes b;
  if (len_bytes == 2) Put16(b, static_cast<uint16_t>(v.size() * 2));
  if (len_bytes == 1) b.push_back(static_cast<uint8_t>(v.size() * 2));
  for (uint16_t x : v) Put16(b, x);
  return b;
}

// The handshake message (type 1, 3-byte length, body).
inline Bytes ClientHelloMessage(const HelloSpec& h) {
  Bytes body;
  Put16(body, h.legacy_version);
  for (int i = 0; i < 32; ++i) body.push_back(static_cast<uint8_t>(i));  // random
  body.push_back(0);                                                     // session_id
  body = body + List16(h.ciphers, 2);
  body.push_back(1);  // compression_methods: null
  body.push_back(0);
  Bytes exts;
  for (const auto& [type, data] : h.extra_first) exts = exts + Extension(type, data);
  if (!h.sni.empty()) {
    Bytes name = {0};  // host_name
    Put16(name, static_cast<uint16_t>(h.sni.size()));
    name.insert(name.end(), h.sni.begin(), h.sni.end());
    Bytes list;
    Put16(list, static_cast<uint16_t>(name.size()));
    exts = exts + Extension(0x0000, list + name);
  }
  if (!h.groups.empty()) exts = exts + Extension(0x000a, List16(h.groups, 2));
  if (!h.points.empty()) {
    Bytes p = {static_cast<uint8_t>(h.points.size())};
    p.insert(p.end(), h.points.begin(), h.points.end());
    exts = exts + Extension(0x000b, p);
  }
  if (!h.sig_algs.empty()) exts = exts + Extension(0x000d, List16(h.sig_algs, 2));
  if (!h.alpn.empty()) {
    Bytes names;
    for (const std::string& n : h.alpn) {
      names.push_back(static_cast<uint8_t>(n.size()));
      names.insert(names.end(), n.begin(), n.end());
    }
    Bytes list;
    Put16(list, static_cast<uint16_t>(names.size()));
    exts = exts + Extension(0x0010, list + names);
  }
  if (!h.versions.empty()) exts = exts + Extension(0x002b, List16(h.versions, 1));
  Put16(body, static_cast<uint16_t>(exts.size()));
  body = body + exts;
  Bytes msg = {1};
  Put24(msg, static_cast<uint32_t>(body.size()));
  return msg + body;
}

// `msg` in TLS handshake records of at most `max_fragment` bytes each.
inline Bytes HandshakeRecords(const Bytes& msg, size_t max_fragment = 16384) {
  Bytes out;
  for (size_t off = 0; off < msg.size(); off += max_fragment) {
    const size_t n = std::min(max_fragment, msg.size() - off);
    Bytes rec = {0x16, 0x03, 0x01};
    Put16(rec, static_cast<uint16_t>(n));
    rec.insert(rec.end(), msg.begin() + off, msg.begin() + off + n);
    out = out + rec;
  }
  return out;
}

inline Bytes ClientHelloRecord(const HelloSpec& h) {
  return HandshakeRecords(ClientHelloMessage(h));
}

}  // namespace skyprobe::testing
