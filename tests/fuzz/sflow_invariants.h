// sflow_invariants.h: one fuzz input through the sFlow decoder and the
// parser, and what must hold.
//
// Owner: test code only (the libFuzzer target and sflow_unit share it, so a
// normal build runs the same checks on its hand-built datagrams).
//
// Input: the datagram bytes as received.
//
//   std::string why;
//   if (!SflowFuzzInput(data, size, &why)) __builtin_trap();
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "parse/parser.h"
#include "sflow/sflow_decoder.h"

namespace skyprobe::testing {

inline bool SflowFuzzInput(const uint8_t* data, size_t size, std::string* why) {
  // An exactly-sized copy: ASan flags any read past the datagram.
  std::unique_ptr<uint8_t[]> copy(new uint8_t[size == 0 ? 1 : size]);
  for (size_t i = 0; i < size; ++i) copy[i] = data[i];
  static sflow::Datagram* dg = new sflow::Datagram();
  const sflow::DecodeError e = sflow::DecodeDatagram(copy.get(), size, dg);
  if (e != sflow::DecodeError::kNone) {
    if (dg->num_headers != 0) {
      *why = "a refused datagram handed out headers";
      return false;
    }
    return true;
  }
  if (dg->version != 5 || (dg->agent_ip_version != 4 && dg->agent_ip_version != 6)) {
    *why = "accepted a datagram with a bad version or agent";
    return false;
  }
  if (dg->samples != dg->flow_samples + dg->samples_skipped ||
      dg->num_headers > dg->records - dg->records_skipped || dg->num_headers > sflow::kMaxHeaders) {
    *why = "counts do not add up";
    return false;
  }
  const uint8_t* end = copy.get() + size;
  for (uint32_t i = 0; i < dg->num_headers; ++i) {
    const sflow::RawHeader& h = dg->headers[i];
    if (h.data < copy.get() || h.data > end || h.caplen > static_cast<size_t>(end - h.data)) {
      *why = "a header points outside the datagram";
      return false;
    }
    // The same path as the collector: every header through the parser.
    ParserConfig cfg;
    cfg.link_type = h.protocol == sflow::kHeaderIpv4   ? LinkType::kIpv4
                    : h.protocol == sflow::kHeaderIpv6 ? LinkType::kIpv6
                                                       : LinkType::kEthernet;
    ParsedPacket pkt;
    ParseFrame(h.data, h.caplen, h.wire_length, cfg, &pkt);
    for (uint8_t s = 0; s < pkt.num_sub; ++s) {
      if (pkt.sub[s].offset > h.caplen) {
        *why = "a sub-packet starts past the header";
        return false;
      }
    }
  }
  return true;
}

}  // namespace skyprobe::testing
