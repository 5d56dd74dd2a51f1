#include "record/app_format.h"

#include <cstdio>
#include <cstring>

#include "absl/strings/numbers.h"
#include "record/dns_message.h"

namespace skyprobe {
namespace {

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t Be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}

struct NamedVersion {
  uint16_t version;
  const char* name;
};
constexpr NamedVersion kTlsVersions[] = {
    {0x0304, "TLS 1.3"}, {0x0303, "TLS 1.2"}, {0x0302, "TLS 1.1"},
    {0x0301, "TLS 1.0"}, {0x0300, "SSL 3.0"},
};

// A fixed-size field up to its first NUL.
std::string_view CString(const uint8_t* p, size_t n) {
  const void* nul = std::memchr(p, 0, n);
  return std::string_view(
      reinterpret_cast<const char*>(p),
      nul != nullptr ? static_cast<size_t>(static_cast<const uint8_t*>(nul) - p) : n);
}

}  // namespace

void AppendTlsVersion(uint16_t version, std::string* out) {
  for (const NamedVersion& v : kTlsVersions) {
    if (v.version == version) {
      out->append(v.name);
      return;
    }
  }
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%04x", version);
  out->append(buf);
}

bool TlsVersionFromName(std::string_view name, uint16_t* version) {
  for (const NamedVersion& v : kTlsVersions) {
    if (name == v.name) {
      *version = v.version;
      return true;
    }
  }
  uint32_t n = 0;
  if (name.size() != 6 || name.substr(0, 2) != "0x" ||
      !absl::SimpleHexAtoi(absl::string_view(name.data() + 2, 4), &n)) {
    return false;
  }
  *version = static_cast<uint16_t>(n);
  return true;
}

bool HasTls(const AppMeta& m) { return m.kind == AppKind::kTls; }

std::string_view TlsSni(const AppMeta& m) {
  if (!HasTls(m)) return {};
  return std::string_view(m.tls.sni, m.tls.sni_len);
}

void AppendJa3(const AppMeta& m, std::string* out) {
  if (!HasTls(m) || (m.tls.flags & kTlsFingerprints) == 0) return;
  static constexpr char kHex[] = "0123456789abcdef";
  for (uint8_t b : m.tls.ja3) {
    out->push_back(kHex[b >> 4]);
    out->push_back(kHex[b & 15]);
  }
}

std::string_view Ja4Of(const AppMeta& m) {
  if (!HasTls(m) || (m.tls.flags & kTlsFingerprints) == 0) return {};
  return std::string_view(m.tls.ja4, sizeof(m.tls.ja4));
}

void TlsAlpn(const AppMeta& m, std::vector<std::string_view>* out) {
  out->clear();
  if (!HasTls(m)) return;
  const uint8_t* p = m.tls.alpn;
  const uint32_t n = m.tls.alpn_len;
  for (uint32_t i = 0; i < n;) {
    const uint32_t len = p[i];
    if (i + 1 + len > n) return;  // malformed, or cut at kTlsMaxAlpn
    out->emplace_back(reinterpret_cast<const char*>(p + i + 1), len);
    i += 1 + len;
  }
}

void AppendTlsAlpnJoined(const AppMeta& m, std::string* out) {
  std::vector<std::string_view> values;
  TlsAlpn(m, &values);
  for (size_t i = 0; i < values.size(); ++i) {
    if (i != 0) out->push_back(',');
    out->append(values[i]);
  }
}

bool HasHttp(const AppMeta& m) { return m.kind == AppKind::kHttp; }

std::string_view HttpMethodOf(const AppMeta& m) {
  return HasHttp(m) ? std::string_view(HttpMethodName(m.http.method)) : std::string_view();
}

std::string_view HttpHostOf(const AppMeta& m) {
  if (!HasHttp(m) || (m.http.flags & kHttpHasHost) == 0) return {};
  return std::string_view(m.http.host, m.http.host_len);
}

bool ReadDnsSummary(const AppMeta& m, DnsSummary* out) {
  if (m.kind != AppKind::kDns || (m.dns.flags & kDnsSummary) == 0) return false;
  *out = DnsSummary();
  out->has_question = ReadDnsQuestion(m.dns.msg, m.dns.len, &out->name, &out->type);
  if (out->has_question && out->name.empty()) out->name = "<Root>";
  out->has_rcode = (m.dns.flags & kDnsHasRcode) != 0;
  out->rcode = m.dns.rcode;
  return out->has_question || out->has_rcode;
}

bool HasDnsLayer(const AppMeta& m) {
  return m.kind == AppKind::kDns && (m.dns.flags & kDnsLayer) != 0 && m.dns.len == m.dns.full_len;
}

bool ReadDhcpv4(const AppMeta& m, Dhcpv4View* out) {
  // The fixed BOOTP header (RFC 2131 §2) is 236 bytes; the parser accepted
  // only messages with it and the magic cookie.
  if (m.kind != AppKind::kDhcpv4 || m.raw.len < 236) return false;
  const uint8_t* p = m.raw.data;
  out->hardware_len = p[2];
  out->hardware_opts = p[3];
  out->xid = Be32(p + 4);
  out->secs = Be16(p + 8);
  out->flags = Be16(p + 10);
  out->server_name = CString(p + 44, 64);
  out->file = CString(p + 108, 128);
  out->contents = m.raw.len == m.raw.full_len
                      ? std::string_view(reinterpret_cast<const char*>(p), m.raw.len)
                      : std::string_view();
  return true;
}

bool ReadVrrp(const AppMeta& m, VrrpView* out) {
  if (m.kind != AppKind::kVrrp || m.raw.len < 8) return false;
  const uint8_t* p = m.raw.data;
  out->version = p[0] >> 4;
  out->virtual_rtr_id = p[1];
  out->priority = p[2];
  out->count_ipaddr = p[3];
  out->adver_int = p[5];
  out->checksum = Be16(p + 6);
  out->contents = m.raw.len == m.raw.full_len
                      ? std::string_view(reinterpret_cast<const char*>(p), m.raw.len)
                      : std::string_view();
  return true;
}

void AppendBase64(std::string_view bytes, std::string* out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    out->push_back(kAlphabet[v >> 18]);
    out->push_back(kAlphabet[(v >> 12) & 63]);
    out->push_back(kAlphabet[(v >> 6) & 63]);
    out->push_back(kAlphabet[v & 63]);
  }
  if (i < bytes.size()) {
    const bool two = i + 1 < bytes.size();
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (two ? static_cast<uint8_t>(bytes[i + 1]) << 8 : 0);
    out->push_back(kAlphabet[v >> 18]);
    out->push_back(kAlphabet[(v >> 12) & 63]);
    out->push_back(two ? kAlphabet[(v >> 6) & 63] : '=');
    out->push_back('=');
  }
}

}  // namespace skyprobe
