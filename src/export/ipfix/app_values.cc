#include "export/ipfix/app_values.h"

namespace skyprobe::ipfix {

void ReadAppValues(const FlowSnapshot& s, bool with_pen, AppValues* v) {
  v->http_method = v->http_host = v->sni = v->alpn = v->ja3 = v->ja4 = v->dns_name = {};
  v->tls = v->dns_question = v->dns_rcode = false;
  const AppMeta* m = s.app.get();
  if (m == nullptr) return;
  if (HasHttp(*m)) {
    v->http_method = HttpMethodOf(*m);
    v->http_host = HttpHostOf(*m);
  }
  if (!with_pen) return;
  if (HasTls(*m)) {
    v->tls = true;
    v->tls_version = m->tls.version;
    v->sni = TlsSni(*m);
    v->ja4 = Ja4Of(*m);
    v->text.clear();
    AppendTlsAlpnJoined(*m, &v->text);
    const size_t alpn_len = v->text.size();
    AppendJa3(*m, &v->text);  // empty when the fingerprints were not taken
    v->alpn = std::string_view(v->text).substr(0, alpn_len);
    v->ja3 = std::string_view(v->text).substr(alpn_len);
    if (v->ja3.empty()) v->ja4 = {};  // both or neither (the encoder's kTlsFingerprints)
  }
  if (ReadDnsSummary(*m, &v->dns)) {
    v->dns_question = v->dns.has_question;
    v->dns_type = v->dns.type;
    v->dns_name = v->dns.name;
    v->dns_rcode = v->dns.has_rcode;
    v->rcode = v->dns.rcode;
  }
}

}  // namespace skyprobe::ipfix
