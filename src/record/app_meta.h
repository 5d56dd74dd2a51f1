// app_meta.h: a flow's application metadata and Skydive's extra layers, as
// its records carry them (FlowSnapshot::app, out of line: app_meta_box.h).
//
// Owner: written by the RX lcore that owns the flow (table/app_meta_store.h)
// into the flow's snapshot; read by whoever reads the snapshot. Plain data of
// fixed size, no pointers. A flow has at most one kind: the metadata of its
// TLS ClientHello, its HTTP/1.x request or its DNS messages, or the extra
// layer of its first DHCPv4 or VRRP message. DNS, DHCPv4 and VRRP keep the
// message bytes; their fields are decoded where the record is written
// (record/app_format.h), off the packet path.
//
//   const AppMeta& m = s.app.value();  // kind kNone when the record has none
//   if (m.kind == AppKind::kTls) Use(std::string_view(m.tls.sni, m.tls.sni_len));
#pragma once

#include <cstdint>

#include "parse/http_request.h"

namespace skyprobe {

enum class AppKind : uint8_t {
  kNone = 0,
  kTls,     // AppMeta::tls: the flow's first ClientHello
  kHttp,    // AppMeta::http: the flow's first HTTP/1.x request head
  kDns,     // AppMeta::dns: the flow's latest DNS message
  kDhcpv4,  // AppMeta::raw: the flow's first DHCPv4 message (extra layer)
  kVrrp,    // AppMeta::raw: the flow's first VRRP message (extra layer)
};

// Skydive's ExtraLayers bits (its flow.ExtraLayers).
enum ExtraLayerBits : uint8_t {
  kExtraLayerVrrp = 1,
  kExtraLayerDns = 2,
  kExtraLayerDhcpv4 = 4,
};

// Bytes of a DNS, DHCPv4 or VRRP message a record keeps: RFC 1035's limit
// for DNS over UDP. A longer DNS message still gives its summary (its header
// and question come first) but no DNS layer; longer DHCPv4/VRRP messages give
// their fixed fields but no `contents`.
inline constexpr int kAppMessageMax = 512;

enum AppTlsFlags : uint8_t {
  kTlsHasSni = 1u << 0,
  kTlsSniTruncated = 1u << 1,
  kTlsHasAlpn = 1u << 2,
  kTlsAlpnTruncated = 1u << 3,
  kTlsFingerprints = 1u << 4,  // ja3 and ja4 hold the fingerprints
};

struct AppTls {
  uint16_t legacy_version;
  uint16_t version;  // offered: highest supported_versions entry, else legacy_version
  uint8_t flags;     // AppTlsFlags
  uint8_t sni_len;
  uint8_t alpn_len;
  char sni[255];
  uint8_t alpn[128];  // protocol_name_list as on the wire (1-byte lengths)
  uint8_t ja3[16];    // MD5 of the JA3 string
  char ja4[36];       // "t13d1516h2_8daaf6152771_e5627efa2ab1", not NUL-terminated
};

enum AppHttpFlags : uint8_t {
  kHttpHasHost = 1u << 0,
  kHttpHostTruncated = 1u << 1,
};

struct AppHttp {
  HttpMethod method;
  uint8_t flags;  // AppHttpFlags
  uint8_t host_len;
  char host[255];
};

enum AppDnsFlags : uint8_t {
  kDnsSummary = 1u << 0,   // application metadata on: the DNSQuery summary
  kDnsLayer = 1u << 1,     // --extra-layers DNS: the DNS layer (when the message is whole)
  kDnsHasRcode = 1u << 2,  // a response was seen: rcode is its RCODE
};

struct AppDns {
  uint16_t len;       // bytes kept in msg
  uint16_t full_len;  // the message's length
  uint8_t flags;      // AppDnsFlags
  uint8_t rcode;      // RCODE (4 bits of the header) of the flow's latest response
  int64_t time_ms;    // capture time of the message, Unix ms
  uint8_t msg[kAppMessageMax];
};

struct AppRaw {
  uint16_t len;       // bytes kept in data
  uint16_t full_len;  // the message's length
  uint8_t data[kAppMessageMax];
};

struct AppMeta {
  AppKind kind = AppKind::kNone;
  union {
    AppTls tls;
    AppHttp http;
    AppDns dns;
    AppRaw raw;  // kDhcpv4, kVrrp
  };
  AppMeta() : dns() {}  // the largest member: every byte zero
};

}  // namespace skyprobe
