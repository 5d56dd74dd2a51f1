// parse_invariants.h: one fuzz input through ParseFrame, and what must hold.
//
// Owner: test code only (the libFuzzer target and parse_unit's replay of the
// seed corpus share it, so a normal build runs the same checks).
//
// Every input is parsed three times: with ParserConfig::ip_defrag off, then
// on, then with app_payload on as well (the payload readers, parse/tls_hello.h
// and parse/http_request.h, then read what the parser noted, whole and in
// two pieces, and must agree).
// Input format: byte 0 picks the parse (bits 0-5: link type index into
// kFuzzLinks, modulo its size; bit 6: L3 key mode; bit 7: wire length
// unknown), the rest is the frame.
//
//   std::string why;
//   if (!ParseFuzzInput(data, size, &why)) __builtin_trap();
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "parse/http_request.h"
#include "parse/internal/decode.h"
#include "parse/parser.h"
#include "parse/tls_hello.h"

// Relative: the fuzz targets have no include path to tests/common.
#include "../common/parsed_packet_diff.h"

namespace skyprobe::testing {

inline constexpr LinkType kFuzzLinks[] = {
    LinkType::kEthernet, LinkType::kRaw,  LinkType::kRawOpenBsd, LinkType::kLinuxSll,
    LinkType::kNull,     LinkType::kIpv4, LinkType::kIpv6};
inline constexpr size_t kNumFuzzLinks = sizeof(kFuzzLinks) / sizeof(kFuzzLinks[0]);

// The selector byte that makes ParseFuzzInput decode a frame as `link`.
inline uint8_t FuzzSelector(LinkType link, bool l3_mode = false, bool wire_unknown = false) {
  uint8_t i = 0;
  while (i < kNumFuzzLinks && kFuzzLinks[i] != link) ++i;
  return static_cast<uint8_t>(i | (l3_mode ? 0x40 : 0) | (wire_unknown ? 0x80 : 0));
}

// Checks one parse result against a frame of `n` bytes; false with a reason.
inline bool CheckParsed(const ParsedPacket& p, uint8_t got, size_t n, std::string* why) {
  auto fail = [why](const char* what) {
    *why = what;
    return false;
  };
  if (got != p.num_sub) return fail("return value differs from num_sub");
  if (got > kMaxSubPackets) return fail("more sub-packets than kMaxSubPackets");
  if ((got == 0) != (p.error != ParseError::kNone)) return fail("error set iff no sub-packet");
  for (uint8_t i = 0; i < got; ++i) {
    const SubPacket& s = p.sub[i];
    if (s.num_layers > kMaxLayers) return fail("too many layers");
    if (!s.has_link && s.ip_version == 0) return fail("sub-packet without link or network");
    if (s.offset >= n) return fail("sub-packet offset past the frame");
    if (i > 0 && s.offset <= p.sub[i - 1].offset) return fail("offsets not increasing");
    if (s.has_link && (s.mac_dst_off < s.offset || s.mac_src_off + 6u > n)) {
      return fail("MAC offsets outside the sub-packet");
    }
    if (s.ip_version != 0 && s.ip_version != 4 && s.ip_version != 6) return fail("IP version");
    const uint32_t ip_len = s.ip_version == 4 ? 4 : 16;
    if (s.ip_version != 0 && (s.ip_src_off < s.offset || s.ip_dst_off + ip_len > n)) {
      return fail("IP offsets outside the sub-packet");
    }
    if (s.transport_key == TransportKeyKind::kVniPort && s.transport != FlowProtocol::kUdp) {
      return fail("VNI key without UDP");
    }
    if (s.transport_key == TransportKeyKind::kPorts && s.transport == FlowProtocol::kEthernet) {
      return fail("port key without transport");
    }
    if (s.icmp_version != 0 && s.icmp_version != 4 && s.icmp_version != 6) {
      return fail("ICMP version");
    }
    for (int l = 0; l < s.num_layers; ++l) {
      if (s.layers[l] >= Layer::kCount) return fail("unknown layer");
    }
  }
  return true;
}

// The payload readers on a sub-packet's noted payload: whole and cut in two
// at `cut`, the same answer (they are fed a stream in pieces of any size).
inline bool CheckAppPayload(const uint8_t* frame, const SubPacket& s, size_t n, std::string* why) {
  if (s.app_hint == AppHint::kNone) return true;
  if (s.app_off + static_cast<size_t>(s.app_len) > n || s.app_len == 0) {
    *why = "application payload outside the frame";
    return false;
  }
  const uint8_t* p = frame + s.app_off;
  const uint32_t len = s.app_len;
  const uint32_t cut = len / 2;
  TlsHello a, b;
  TlsHelloParser whole, halves;
  const auto t1 = whole.Feed(p, len, &a);
  halves.Feed(p, cut, &b);
  const auto t2 = halves.Feed(p + cut, len - cut, &b);
  if (t1 != t2 ||
      (t1 == TlsHelloParser::Status::kDone &&
       (a.sni_len != b.sni_len || a.n_ciphers != b.n_ciphers || a.n_extensions != b.n_extensions ||
        a.alpn_len != b.alpn_len || std::memcmp(a.sni, b.sni, a.sni_len) != 0))) {
    *why = "ClientHello read differently in two pieces";
    return false;
  }
  HttpRequestHead ha, hb;
  HttpRequestParser hw, hh;
  const auto h1 = hw.Feed(p, len, &ha);
  hh.Feed(p, cut, &hb);
  const auto h2 = hh.Feed(p + cut, len - cut, &hb);
  if (h1 != h2 || ha.method != hb.method || ha.has_host != hb.has_host ||
      ha.host_len != hb.host_len || std::memcmp(ha.host, hb.host, ha.host_len) != 0) {
    *why = "HTTP request head read differently in two pieces";
    return false;
  }
  return true;
}

// ParseFrame (its fast path, parse_fast.cc, where it applies) must give what
// the full decoder alone gives, field by field.
inline bool SameAsFullDecoder(const uint8_t* frame, uint32_t n, uint32_t wire,
                              const ParserConfig& cfg, const ParsedPacket& pkt, uint8_t got,
                              std::string* why) {
  ParsedPacket full;
  const uint8_t full_got = ParseFrameFull(frame, n, wire, cfg, &full);
  std::string diff = full_got != got ? "sub-packet count" : DiffParsed(full, pkt);
  if (diff.empty()) return true;
  *why = "ParseFrame differs from ParseFrameFull: " + diff;
  return false;
}

// Parses a fuzz input (format above) from an exactly-sized copy, so ASan
// catches any read past the frame, and checks the result.
inline bool ParseFuzzInput(const uint8_t* data, size_t size, std::string* why) {
  if (size < 1) return true;
  ParserConfig cfg;
  cfg.link_type = kFuzzLinks[(data[0] & 0x3F) % kNumFuzzLinks];
  cfg.l3_key_mode = (data[0] & 0x40) != 0;
  const size_t n = size - 1;
  auto frame = std::make_unique<uint8_t[]>(n == 0 ? 1 : n);
  if (n > 0) std::memcpy(frame.get(), data + 1, n);
  const uint32_t wire = (data[0] & 0x80) ? 0 : static_cast<uint32_t>(n);
  ParsedPacket pkt;
  uint8_t got = ParseFrame(frame.get(), static_cast<uint32_t>(n), wire, cfg, &pkt);
  if (!CheckParsed(pkt, got, n, why)) return false;
  if (!SameAsFullDecoder(frame.get(), static_cast<uint32_t>(n), wire, cfg, pkt, got, why)) {
    return false;
  }
  // The frame read as a DNS message: the name walk stays within its budget.
  const auto dns = parse_internal::CheckDns(frame.get(), static_cast<uint32_t>(n));
  if (dns.steps > static_cast<uint32_t>(n) * parse_internal::kDnsStepsPerByte +
                      parse_internal::kDnsStepsExtra) {
    *why = "DNS name walk over its budget";
    return false;
  }
  if (pkt.frag_sub != kNoFragSub) {
    *why = "frag_sub set without ip_defrag";
    return false;
  }
  // The same frame with IP defragmentation on (first fragments decoded through).
  cfg.ip_defrag = true;
  got = ParseFrame(frame.get(), static_cast<uint32_t>(n), wire, cfg, &pkt);
  if (!CheckParsed(pkt, got, n, why)) return false;
  if (!SameAsFullDecoder(frame.get(), static_cast<uint32_t>(n), wire, cfg, pkt, got, why)) {
    return false;
  }
  if (pkt.frag_sub != kNoFragSub && (pkt.frag_sub >= got || !pkt.sub[pkt.frag_sub].ip_fragment)) {
    *why = "frag_sub does not name a fragmented sub-packet";
    return false;
  }
  for (uint8_t i = 0; i < got && i < pkt.frag_sub; ++i) {
    if (pkt.sub[i].ip_fragment) {
      *why = "frag_sub is not the first fragmented sub-packet";
      return false;
    }
  }
  for (uint8_t i = 0; i < got; ++i) {
    if (pkt.sub[i].app_hint != AppHint::kNone) {
      *why = "application payload noted with app_payload off";
      return false;
    }
  }
  // The same with the payloads noted (--app-metadata / --extra-layers).
  cfg.app_payload = true;
  got = ParseFrame(frame.get(), static_cast<uint32_t>(n), wire, cfg, &pkt);
  if (!CheckParsed(pkt, got, n, why)) return false;
  if (!SameAsFullDecoder(frame.get(), static_cast<uint32_t>(n), wire, cfg, pkt, got, why)) {
    return false;
  }
  for (uint8_t i = 0; i < got; ++i) {
    if (!CheckAppPayload(frame.get(), pkt.sub[i], n, why)) return false;
  }
  return true;
}

}  // namespace skyprobe::testing
