// The application metadata and extra layers of a JSON line (flow.proto:
// TLS, HTTP, DNSQuery; DNS, DHCPv4, VRRPv2). The new objects omit empty
// strings; the extra layers follow the protobuf JSON mapping Skydive's
// generated code uses for them: zero numbers, false and empty values are
// omitted, bytes are base64, except that DNS.Timestamp (an int64) is always
// written, as every int64 of the record is.
#include <vector>

#include "export/internal/json_writer.h"
#include "record/app_format.h"
#include "record/dns_message.h"

namespace skyprobe::export_internal {
namespace {

void UintIfNonZero(Writer* w, std::string_view key, uint32_t v) { w->IntIfNonZero(key, v); }

void WriteTls(const AppMeta& app, Writer* w) {
  w->ObjectKey("TLS");
  w->StringIfNonEmpty("SNI", TlsSni(app));
  std::vector<std::string_view> alpn;
  TlsAlpn(app, &alpn);
  if (!alpn.empty()) {
    w->ArrayKey("ALPN");
    for (std::string_view a : alpn) w->ArrayString(a);
    w->CloseArray();
  }
  std::string version;
  AppendTlsVersion(app.tls.version, &version);
  w->String("Version", version);
  std::string ja3;
  AppendJa3(app, &ja3);
  w->StringIfNonEmpty("JA3", ja3);
  w->StringIfNonEmpty("JA4", Ja4Of(app));
  w->Close();
}

void WriteHttp(const AppMeta& app, Writer* w) {
  w->ObjectKey("HTTP");
  w->StringIfNonEmpty("Method", HttpMethodOf(app));
  w->StringIfNonEmpty("Host", HttpHostOf(app));
  w->Close();
}

void WriteDnsQuery(const DnsSummary& d, Writer* w) {
  w->ObjectKey("DNSQuery");
  if (d.has_question) {
    w->String("Name", d.name);
    w->String("Type", DnsTypeMnemonic(d.type));
  }
  if (d.has_rcode) w->String("ResponseCode", DnsRcodeMnemonic(d.rcode));
  w->Close();
}

void WriteRecords(std::string_view key, const std::vector<DnsRecordView>& records, Writer* w) {
  if (records.empty()) return;
  w->ArrayKey(key);
  for (const DnsRecordView& rr : records) {
    w->ArrayObject();
    w->StringIfNonEmpty("Name", rr.name);
    w->String("Type", GopacketDnsTypeName(rr.type));
    w->String("Class", GopacketDnsClassName(rr.cls));
    UintIfNonZero(w, "TTL", rr.ttl);
    UintIfNonZero(w, "DataLength", rr.data_length);
    w->StringIfNonEmpty("IP", rr.ip);
    switch (rr.type) {
      case 2:
        w->StringIfNonEmpty("NS", rr.target);
        break;
      case 5:
        w->StringIfNonEmpty("CName", rr.target);
        break;
      case 12:
        w->StringIfNonEmpty("PTR", rr.target);
        break;
      default:
        break;
    }
    if (!rr.txts.empty()) {
      w->ArrayKey("TXTs");
      for (const std::string& t : rr.txts) w->ArrayString(t);
      w->CloseArray();
    }
    if (rr.type == 6) {
      w->ObjectKey("SOA");
      w->StringIfNonEmpty("MName", rr.mname);
      w->StringIfNonEmpty("RName", rr.rname);
      UintIfNonZero(w, "Serial", rr.serial);
      UintIfNonZero(w, "Refresh", rr.refresh);
      UintIfNonZero(w, "Retry", rr.retry);
      UintIfNonZero(w, "Expire", rr.expire);
      UintIfNonZero(w, "Minimum", rr.minimum);
      w->Close();
    } else if (rr.type == 33) {
      w->ObjectKey("SRV");
      UintIfNonZero(w, "Priority", rr.priority);
      UintIfNonZero(w, "Weight", rr.weight);
      UintIfNonZero(w, "Port", rr.port);
      w->StringIfNonEmpty("Name", rr.host);
      w->Close();
    } else if (rr.type == 15) {
      w->ObjectKey("MX");
      UintIfNonZero(w, "Preference", rr.preference);
      w->StringIfNonEmpty("Name", rr.host);
      w->Close();
    }
    if (!rr.opts.empty()) {
      w->ArrayKey("OPT");
      for (const auto& [code, data] : rr.opts) {
        w->ArrayObject();
        w->String("Code", GopacketDnsOptionCodeName(code));
        w->BytesIfNonEmpty("Data", data);
        w->Close();
      }
      w->CloseArray();
    }
    w->Close();
  }
  w->CloseArray();
}

void WriteDnsLayer(const AppMeta& app, Writer* w) {
  // Control lcore only (and skyprobectl's main thread): the decoded message
  // is reused from record to record, its vectors keeping their capacity.
  thread_local DnsMessage m;
  if (!DecodeDnsMessage(app.dns.msg, app.dns.len, &m)) return;
  w->ObjectKey("DNS");
  UintIfNonZero(w, "ID", m.id);
  w->BoolIfTrue("QR", m.qr);
  w->String("OpCode", GopacketDnsOpCodeName(m.opcode));
  w->BoolIfTrue("AA", m.aa);
  w->BoolIfTrue("TC", m.tc);
  w->BoolIfTrue("RD", m.rd);
  w->BoolIfTrue("RA", m.ra);
  UintIfNonZero(w, "Z", m.z);
  w->String("ResponseCode", GopacketDnsResponseCodeName(m.rcode));
  UintIfNonZero(w, "QDCount", m.qdcount);
  UintIfNonZero(w, "ANCount", m.ancount);
  UintIfNonZero(w, "NSCount", m.nscount);
  UintIfNonZero(w, "ARCount", m.arcount);
  if (!m.questions.empty()) {
    w->ArrayKey("Questions");
    for (const DnsQuestionView& q : m.questions) {
      w->ArrayObject();
      w->StringIfNonEmpty("Name", q.name);
      w->String("Type", GopacketDnsTypeName(q.type));
      w->String("Class", GopacketDnsClassName(q.cls));
      w->Close();
    }
    w->CloseArray();
  }
  WriteRecords("Answers", m.answers, w);
  WriteRecords("Authorities", m.authorities, w);
  WriteRecords("Additionals", m.additionals, w);
  w->Int("Timestamp", app.dns.time_ms);
  w->Close();
}

void WriteDhcpv4(const AppMeta& app, Writer* w) {
  Dhcpv4View d;
  if (!ReadDhcpv4(app, &d)) return;
  w->ObjectKey("DHCPv4");
  w->BytesIfNonEmpty("contents", d.contents);
  UintIfNonZero(w, "hardware_len", d.hardware_len);
  UintIfNonZero(w, "hardware_opts", d.hardware_opts);
  UintIfNonZero(w, "xid", d.xid);
  UintIfNonZero(w, "secs", d.secs);
  UintIfNonZero(w, "flags", d.flags);
  w->BytesIfNonEmpty("server_name", d.server_name);
  w->BytesIfNonEmpty("file", d.file);
  w->Close();
}

void WriteVrrp(const AppMeta& app, Writer* w) {
  VrrpView v;
  if (!ReadVrrp(app, &v)) return;
  w->ObjectKey("VRRPv2");
  w->BytesIfNonEmpty("contents", v.contents);
  UintIfNonZero(w, "version", v.version);
  UintIfNonZero(w, "virtual_rtrID", v.virtual_rtr_id);
  UintIfNonZero(w, "priority", v.priority);
  UintIfNonZero(w, "count_ipaddr", v.count_ipaddr);
  UintIfNonZero(w, "adver_int", v.adver_int);
  UintIfNonZero(w, "checksum", v.checksum);
  w->Close();
}

}  // namespace

void Writer::BytesIfNonEmpty(std::string_view key, std::string_view v) {
  if (v.empty()) return;
  Key(key);
  std::string* out = FlushedOut();
  out->push_back('"');
  AppendBase64(v, out);
  out->push_back('"');
}

void WriteAppJson(const AppMeta& app, Writer* w) {
  switch (app.kind) {
    case AppKind::kTls:
      WriteTls(app, w);
      break;
    case AppKind::kHttp:
      WriteHttp(app, w);
      break;
    case AppKind::kDns: {
      DnsSummary d;
      if (ReadDnsSummary(app, &d)) WriteDnsQuery(d, w);
      if (HasDnsLayer(app)) WriteDnsLayer(app, w);
      break;
    }
    case AppKind::kDhcpv4:
      WriteDhcpv4(app, w);
      break;
    case AppKind::kVrrp:
      WriteVrrp(app, w);
      break;
    case AppKind::kNone:
      break;
  }
}

}  // namespace skyprobe::export_internal
