// app_format.h: the fields of a record's application metadata and extra
// layers (record/app_meta.h) as the JSON writer, the protobuf converter and
// the query getters all print them, and their inverses for skyprobectl.
//
// Owner: none (pure functions over a snapshot's AppMeta; they append to the
// caller's strings). Used where records are written, never per packet.
//
//   std::string v; AppendTlsVersion(s.app.value().tls.version, &v);   // "TLS 1.3"
//   DnsSummary d; if (ReadDnsSummary(s.app.value(), &d)) Use(d.name, DnsTypeMnemonic(d.type));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "record/app_meta.h"

namespace skyprobe {

// TLS. "TLS 1.3", "TLS 1.2", "TLS 1.1", "TLS 1.0", "SSL 3.0", else "0x" and
// four hex digits ("0x7f1c", a draft).
void AppendTlsVersion(uint16_t version, std::string* out);
bool TlsVersionFromName(std::string_view name, uint16_t* version);
bool HasTls(const AppMeta& m);
// The SNI ("" without one), the fingerprints ("" when not taken).
std::string_view TlsSni(const AppMeta& m);
void AppendJa3(const AppMeta& m, std::string* out);  // 32 lowercase hex digits
std::string_view Ja4Of(const AppMeta& m);
// The ALPN protocol names in order (views into `m`); a malformed list stops
// at its first bad entry.
void TlsAlpn(const AppMeta& m, std::vector<std::string_view>* out);
// Them joined by ',' (the query language's TLS.ALPN).
void AppendTlsAlpnJoined(const AppMeta& m, std::string* out);

// HTTP.
bool HasHttp(const AppMeta& m);
std::string_view HttpMethodOf(const AppMeta& m);  // "GET"
std::string_view HttpHostOf(const AppMeta& m);    // "" without a Host field

// DNS summary (the DNSQuery record field): the first question of the flow's
// latest DNS message, and the RCODE of its latest response.
struct DnsSummary {
  bool has_question = false;
  std::string name;  // "<Root>" for the root, as Wireshark prints it
  uint16_t type = 0;
  bool has_rcode = false;
  uint8_t rcode = 0;
};
bool ReadDnsSummary(const AppMeta& m, DnsSummary* out);  // false: no summary to report
// Skydive's DNS layer is reported: --extra-layers DNS and the whole message kept.
bool HasDnsLayer(const AppMeta& m);

// DHCPv4 (Skydive's fields and the message bytes).
struct Dhcpv4View {
  uint32_t hardware_len = 0;
  uint32_t hardware_opts = 0;  // hops
  uint32_t xid = 0;
  uint32_t secs = 0;
  uint32_t flags = 0;
  std::string_view server_name;  // up to its first NUL byte
  std::string_view file;         // likewise
  std::string_view contents;     // the whole message, empty when longer than kept
};
bool ReadDhcpv4(const AppMeta& m, Dhcpv4View* out);

struct VrrpView {
  uint32_t version = 0;
  uint32_t virtual_rtr_id = 0;
  uint32_t priority = 0;
  uint32_t count_ipaddr = 0;
  uint32_t adver_int = 0;
  uint32_t checksum = 0;
  std::string_view contents;  // the whole message, empty when longer than kept
};
bool ReadVrrp(const AppMeta& m, VrrpView* out);

// Standard base64 with padding (protobuf's JSON form of bytes).
void AppendBase64(std::string_view bytes, std::string* out);

}  // namespace skyprobe
