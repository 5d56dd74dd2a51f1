// FlowFromProto's application metadata and extra layers: the inverse of
// export/flow_proto_app.cc. TLS and HTTP fields go back into the snapshot as
// they are; DNS, DHCPv4 and VRRP, which a snapshot keeps as message bytes,
// are encoded back into messages that print the same fields.
#include "ctl/flow_from_proto_app.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "record/app_format.h"
#include "record/dns_message.h"

namespace skyprobe::ctl {
namespace {

namespace v1 = ::skyprobe::v1;

absl::Status Bad(absl::string_view field, absl::string_view value) {
  return absl::InvalidArgumentError(absl::StrCat("bad ", field, " '", value, "'"));
}

absl::Status TlsFrom(const v1::TLSClientHello& t, AppMeta* m) {
  m->kind = AppKind::kTls;
  AppTls& a = m->tls;
  if (!TlsVersionFromName(t.version(), &a.version)) return Bad("TLS.Version", t.version());
  if (!t.sni().empty()) {
    a.flags |= kTlsHasSni;
    a.sni_len = static_cast<uint8_t>(std::min<size_t>(t.sni().size(), sizeof(a.sni)));
    std::memcpy(a.sni, t.sni().data(), a.sni_len);
  }
  for (const std::string& p : t.alpn()) {
    a.flags |= kTlsHasAlpn;
    if (p.size() > 255 || a.alpn_len + 1 + p.size() > sizeof(a.alpn)) return Bad("TLS.ALPN", p);
    a.alpn[a.alpn_len++] = static_cast<uint8_t>(p.size());
    std::memcpy(a.alpn + a.alpn_len, p.data(), p.size());
    a.alpn_len = static_cast<uint8_t>(a.alpn_len + p.size());
  }
  if (!t.ja3().empty() || !t.ja4().empty()) {
    if (t.ja3().size() != 32 || t.ja4().size() != sizeof(a.ja4)) return Bad("TLS.JA3/JA4", t.ja3());
    for (size_t i = 0; i < 16; ++i) {
      int v = 0;
      if (std::sscanf(t.ja3().c_str() + 2 * i, "%2x", &v) != 1) return Bad("TLS.JA3", t.ja3());
      a.ja3[i] = static_cast<uint8_t>(v);
    }
    std::memcpy(a.ja4, t.ja4().data(), sizeof(a.ja4));
    a.flags |= kTlsFingerprints;
  }
  return absl::OkStatus();
}

absl::Status HttpFrom(const v1::HTTPRequest& h, AppMeta* m) {
  m->kind = AppKind::kHttp;
  AppHttp& a = m->http;
  a.method = HttpMethodFromName(h.method().data(), static_cast<uint32_t>(h.method().size()));
  if (a.method == HttpMethod::kNone) return Bad("HTTP.Method", h.method());
  if (!h.host().empty()) {
    a.flags |= kHttpHasHost;
    a.host_len = static_cast<uint8_t>(std::min<size_t>(h.host().size(), sizeof(a.host)));
    std::memcpy(a.host, h.host().data(), a.host_len);
  }
  return absl::OkStatus();
}

void RecordFrom(const v1::DNSResourceRecord& r, DnsRecordView* rr) {
  rr->name = r.name();
  GopacketDnsTypeFromName(r.type(), &rr->type);
  GopacketDnsClassFromName(r.class_(), &rr->cls);
  rr->ttl = r.ttl();
  rr->ip = r.ip();
  rr->target = !r.ns().empty() ? r.ns() : !r.cname().empty() ? r.cname() : r.ptr();
  rr->mname = r.soa().mname();
  rr->rname = r.soa().rname();
  rr->serial = r.soa().serial();
  rr->refresh = r.soa().refresh();
  rr->retry = r.soa().retry();
  rr->expire = r.soa().expire();
  rr->minimum = r.soa().minimum();
  rr->priority = static_cast<uint16_t>(r.srv().priority());
  rr->weight = static_cast<uint16_t>(r.srv().weight());
  rr->port = static_cast<uint16_t>(r.srv().port());
  rr->preference = static_cast<uint16_t>(r.mx().preference());
  rr->host = r.has_srv() ? r.srv().name() : r.mx().name();
  rr->txts.assign(r.txts().begin(), r.txts().end());
  for (const v1::DNSOPT& o : r.opt()) {
    uint16_t code = 0;
    GopacketDnsOptionCodeFromName(o.code(), &code);
    rr->opts.emplace_back(code, o.data());
  }
}

absl::Status DnsFrom(const v1::Flow& f, AppMeta* m) {
  m->kind = AppKind::kDns;
  AppDns& d = m->dns;
  DnsMessage msg;
  if (f.has_dns()) {
    const v1::DNS& p = f.dns();
    d.flags |= kDnsLayer;
    msg.id = static_cast<uint16_t>(p.id());
    msg.qr = p.qr();
    msg.aa = p.aa();
    msg.tc = p.tc();
    msg.rd = p.rd();
    msg.ra = p.ra();
    msg.z = static_cast<uint8_t>(p.z());
    GopacketDnsOpCodeFromName(p.opcode(), &msg.opcode);
    GopacketDnsResponseCodeFromName(p.responsecode(), &msg.rcode);
    msg.rcode &= 0x0F;  // the rest comes back from the OPT record's TTL
    msg.qdcount = static_cast<uint16_t>(p.qdcount());
    msg.ancount = static_cast<uint16_t>(p.ancount());
    msg.nscount = static_cast<uint16_t>(p.nscount());
    msg.arcount = static_cast<uint16_t>(p.arcount());
    for (const v1::DNSQuestion& q : p.questions()) {
      DnsQuestionView v;
      v.name = q.name();
      GopacketDnsTypeFromName(q.type(), &v.type);
      GopacketDnsClassFromName(q.class_(), &v.cls);
      msg.questions.push_back(std::move(v));
    }
    const auto records = [](const auto& from, std::vector<DnsRecordView>* to) {
      for (const v1::DNSResourceRecord& r : from) RecordFrom(r, &to->emplace_back());
    };
    records(p.answers(), &msg.answers);
    records(p.authorities(), &msg.authorities);
    records(p.additionals(), &msg.additionals);
    d.time_ms = p.timestamp();
  }
  if (f.has_dnsquery()) {
    const v1::DNSQuery& q = f.dnsquery();
    d.flags |= kDnsSummary;
    if (!q.responsecode().empty()) {
      if (!DnsRcodeFromMnemonic(q.responsecode(), &d.rcode)) {
        return Bad("DNSQuery.ResponseCode", q.responsecode());
      }
      d.flags |= kDnsHasRcode;
    }
    if (!q.name().empty()) {
      // The summary's question is the message's first: its exact type (the
      // layer names only gopacket's types) comes from the summary.
      uint16_t type = 0;
      if (!DnsTypeFromMnemonic(q.type(), &type)) return Bad("DNSQuery.Type", q.type());
      if (msg.questions.empty()) {
        msg.questions.emplace_back();
        msg.questions[0].cls = 1;
        msg.qdcount = 1;
      }
      msg.questions[0].name = q.name() == "<Root>" ? "" : q.name();
      msg.questions[0].type = type;
    }
  }
  const size_t n = EncodeDnsMessage(msg, d.msg, sizeof(d.msg));
  if (n == 0) return Bad("DNS", "message not encodable");
  d.len = d.full_len = static_cast<uint16_t>(n);
  return absl::OkStatus();
}

// A DHCPv4 or VRRP message: `contents` when there, else a header rebuilt
// from the fields (marked as cut, so that it prints no contents either).
void RawFrom(const std::string& contents, AppRaw* r, size_t header,
             void (*fields)(const void*, uint8_t*), const void* msg) {
  if (!contents.empty()) {
    r->len = r->full_len =
        static_cast<uint16_t>(std::min<size_t>(contents.size(), sizeof(r->data)));
    std::memcpy(r->data, contents.data(), r->len);
    if (contents.size() > sizeof(r->data)) r->full_len = static_cast<uint16_t>(contents.size());
    return;
  }
  std::memset(r->data, 0, header);
  fields(msg, r->data);
  r->len = static_cast<uint16_t>(header);
  r->full_len = 0xFFFF;
}

void Put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

}  // namespace

absl::Status AppFromProto(const v1::Flow& f, AppMeta* m) {
  if (f.has_tls()) return TlsFrom(f.tls(), m);
  if (f.has_http()) return HttpFrom(f.http(), m);
  if (f.has_dns() || f.has_dnsquery()) return DnsFrom(f, m);
  if (f.has_dhcpv4()) {
    m->kind = AppKind::kDhcpv4;
    RawFrom(
        f.dhcpv4().contents(), &m->raw, 236,
        [](const void* msg, uint8_t* p) {
          const auto& d = *static_cast<const v1::DHCPv4*>(msg);
          p[2] = static_cast<uint8_t>(d.hardware_len());
          p[3] = static_cast<uint8_t>(d.hardware_opts());
          Put16(p + 4, d.xid() >> 16);
          Put16(p + 6, d.xid());
          Put16(p + 8, d.secs());
          Put16(p + 10, d.flags());
          std::memcpy(p + 44, d.server_name().data(), std::min<size_t>(d.server_name().size(), 64));
          std::memcpy(p + 108, d.file().data(), std::min<size_t>(d.file().size(), 128));
        },
        &f.dhcpv4());
    return absl::OkStatus();
  }
  if (f.has_vrrpv2()) {
    m->kind = AppKind::kVrrp;
    RawFrom(
        f.vrrpv2().contents(), &m->raw, 8,
        [](const void* msg, uint8_t* p) {
          const auto& v = *static_cast<const v1::VRRPv2*>(msg);
          p[0] = static_cast<uint8_t>(v.version() << 4 | 1);
          p[1] = static_cast<uint8_t>(v.virtual_rtrid());
          p[2] = static_cast<uint8_t>(v.priority());
          p[3] = static_cast<uint8_t>(v.count_ipaddr());
          p[5] = static_cast<uint8_t>(v.adver_int());
          Put16(p + 6, v.checksum());
        },
        &f.vrrpv2());
  }
  return absl::OkStatus();
}

}  // namespace skyprobe::ctl
