// ToProto's application metadata and extra layers, field for field what
// export/json_app.cc writes.
#include <string>
#include <vector>

#include "export/internal/flow_proto_app.h"
#include "record/app_format.h"
#include "record/dns_message.h"

namespace skyprobe::export_internal {
namespace {

namespace pb = ::skyprobe::v1;

void FillRecord(const DnsRecordView& rr, pb::DNSResourceRecord* out) {
  out->set_name(rr.name);
  out->set_type(GopacketDnsTypeName(rr.type));
  out->set_class_(GopacketDnsClassName(rr.cls));
  out->set_ttl(rr.ttl);
  out->set_datalength(rr.data_length);
  out->set_ip(rr.ip);
  switch (rr.type) {
    case 2:
      out->set_ns(rr.target);
      break;
    case 5:
      out->set_cname(rr.target);
      break;
    case 12:
      out->set_ptr(rr.target);
      break;
    case 6: {
      pb::DNSSOA* soa = out->mutable_soa();
      soa->set_mname(rr.mname);
      soa->set_rname(rr.rname);
      soa->set_serial(rr.serial);
      soa->set_refresh(rr.refresh);
      soa->set_retry(rr.retry);
      soa->set_expire(rr.expire);
      soa->set_minimum(rr.minimum);
      break;
    }
    case 33: {
      pb::DNSSRV* srv = out->mutable_srv();
      srv->set_priority(rr.priority);
      srv->set_weight(rr.weight);
      srv->set_port(rr.port);
      srv->set_name(rr.host);
      break;
    }
    case 15: {
      pb::DNSMX* mx = out->mutable_mx();
      mx->set_preference(rr.preference);
      mx->set_name(rr.host);
      break;
    }
    default:
      break;
  }
  for (const std::string& t : rr.txts) out->add_txts(t);
  for (const auto& [code, data] : rr.opts) {
    pb::DNSOPT* o = out->add_opt();
    o->set_code(GopacketDnsOptionCodeName(code));
    o->set_data(data);
  }
}

void FillDnsLayer(const AppMeta& app, pb::DNS* out) {
  thread_local DnsMessage m;
  if (!DecodeDnsMessage(app.dns.msg, app.dns.len, &m)) return;
  out->set_id(m.id);
  out->set_qr(m.qr);
  out->set_opcode(GopacketDnsOpCodeName(m.opcode));
  out->set_aa(m.aa);
  out->set_tc(m.tc);
  out->set_rd(m.rd);
  out->set_ra(m.ra);
  out->set_z(m.z);
  out->set_responsecode(GopacketDnsResponseCodeName(m.rcode));
  out->set_qdcount(m.qdcount);
  out->set_ancount(m.ancount);
  out->set_nscount(m.nscount);
  out->set_arcount(m.arcount);
  for (const DnsQuestionView& q : m.questions) {
    pb::DNSQuestion* pq = out->add_questions();
    pq->set_name(q.name);
    pq->set_type(GopacketDnsTypeName(q.type));
    pq->set_class_(GopacketDnsClassName(q.cls));
  }
  for (const DnsRecordView& rr : m.answers) FillRecord(rr, out->add_answers());
  for (const DnsRecordView& rr : m.authorities) FillRecord(rr, out->add_authorities());
  for (const DnsRecordView& rr : m.additionals) FillRecord(rr, out->add_additionals());
  out->set_timestamp(app.dns.time_ms);
}

}  // namespace

void FillAppProto(const AppMeta& app, pb::Flow* out) {
  switch (app.kind) {
    case AppKind::kTls: {
      pb::TLSClientHello* t = out->mutable_tls();
      t->set_sni(std::string(TlsSni(app)));
      std::vector<std::string_view> alpn;
      TlsAlpn(app, &alpn);
      for (std::string_view a : alpn) t->add_alpn(std::string(a));
      AppendTlsVersion(app.tls.version, t->mutable_version());
      AppendJa3(app, t->mutable_ja3());
      t->set_ja4(std::string(Ja4Of(app)));
      break;
    }
    case AppKind::kHttp:
      out->mutable_http()->set_method(std::string(HttpMethodOf(app)));
      out->mutable_http()->set_host(std::string(HttpHostOf(app)));
      break;
    case AppKind::kDns: {
      DnsSummary d;
      if (ReadDnsSummary(app, &d)) {
        pb::DNSQuery* q = out->mutable_dnsquery();
        if (d.has_question) {
          q->set_name(d.name);
          q->set_type(DnsTypeMnemonic(d.type));
        }
        if (d.has_rcode) q->set_responsecode(DnsRcodeMnemonic(d.rcode));
      }
      if (HasDnsLayer(app)) FillDnsLayer(app, out->mutable_dns());
      break;
    }
    case AppKind::kDhcpv4: {
      Dhcpv4View d;
      if (!ReadDhcpv4(app, &d)) break;
      pb::DHCPv4* p = out->mutable_dhcpv4();
      p->set_contents(std::string(d.contents));
      p->set_hardware_len(d.hardware_len);
      p->set_hardware_opts(d.hardware_opts);
      p->set_xid(d.xid);
      p->set_secs(d.secs);
      p->set_flags(d.flags);
      p->set_server_name(std::string(d.server_name));
      p->set_file(std::string(d.file));
      break;
    }
    case AppKind::kVrrp: {
      VrrpView v;
      if (!ReadVrrp(app, &v)) break;
      pb::VRRPv2* p = out->mutable_vrrpv2();
      p->set_contents(std::string(v.contents));
      p->set_version(v.version);
      p->set_virtual_rtrid(v.virtual_rtr_id);
      p->set_priority(v.priority);
      p->set_count_ipaddr(v.count_ipaddr);
      p->set_adver_int(v.adver_int);
      p->set_checksum(v.checksum);
      break;
    }
    case AppKind::kNone:
      break;
  }
}

}  // namespace skyprobe::export_internal
