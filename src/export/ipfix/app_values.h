// app_values.h: a record's application metadata (record/app_meta.h) as the
// IPFIX encoder sends it: the strings and numbers of its elements, read once
// per record (record_encoder.h says which elements and when).
//
// Owner: the encoder's thread (the control lcore); plain values, views into
// the record or into the AppValues' own strings, valid until the next read.
//
//   AppValues v;
//   ReadAppValues(snapshot, /*with_pen=*/true, &v);
//   if (!v.sni.empty()) Send(v.sni);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "record/app_format.h"
#include "record/flow_snapshot.h"

namespace skyprobe::ipfix {

struct AppValues {
  std::string_view http_method, http_host;
  bool tls = false;
  uint16_t tls_version = 0;
  std::string_view sni, alpn, ja3, ja4;  // alpn (names joined by ',') and ja3 in `text`
  bool dns_question = false, dns_rcode = false;
  uint16_t dns_type = 0;
  uint8_t rcode = 0;
  std::string_view dns_name;  // in `dns.name`
  std::string text;
  DnsSummary dns;
};

// Fills `v` from the record (everything empty or false without metadata):
// HTTP's method and Host always, the TLS and DNS values only `with_pen`
// (they go out as enterprise elements).
void ReadAppValues(const FlowSnapshot& s, bool with_pen, AppValues* v);

}  // namespace skyprobe::ipfix
