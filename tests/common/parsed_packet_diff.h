// parsed_packet_diff.h: the first field where two ParsedPackets differ.
//
// Owner: tests only (parse_unit FastPathTest, the parser fuzz target), to
// hold the parser's fast path to the full decoder field by field: every
// ParsedPacket field, and every SubPacket field of the sub-packets it has
// (the whole layers array, the path's unused entries included).
//
//   std::string why = DiffParsed(full, fast);
//   EXPECT_EQ(why, "");
#pragma once

#include <string>

#include "parse/parsed_packet.h"

namespace skyprobe::testing {

inline std::string DiffSub(const SubPacket& a, const SubPacket& b, int index) {
  const std::string at = "sub[" + std::to_string(index) + "].";
#define SKYPROBE_DIFF(field)                                                      \
  if (!(a.field == b.field)) {                                                    \
    return at + #field + ": " + std::to_string(static_cast<long long>(a.field)) + \
           " != " + std::to_string(static_cast<long long>(b.field));              \
  }
  SKYPROBE_DIFF(offset)
  SKYPROBE_DIFF(num_layers)
  for (int i = 0; i < kMaxLayers; ++i) SKYPROBE_DIFF(layers[i])
  SKYPROBE_DIFF(has_link)
  SKYPROBE_DIFF(mac_dst_off)
  SKYPROBE_DIFF(mac_src_off)
  SKYPROBE_DIFF(vlan_count)
  SKYPROBE_DIFF(link_id)
  SKYPROBE_DIFF(ip_version)
  SKYPROBE_DIFF(ip_src_off)
  SKYPROBE_DIFF(ip_dst_off)
  SKYPROBE_DIFF(ttl)
  SKYPROBE_DIFF(ip_length)
  SKYPROBE_DIFF(ip_fragment)
  SKYPROBE_DIFF(network_id)
  SKYPROBE_DIFF(mpls_off)
  SKYPROBE_DIFF(mpls_entries)
  SKYPROBE_DIFF(transport)
  SKYPROBE_DIFF(transport_key)
  SKYPROBE_DIFF(src_port)
  SKYPROBE_DIFF(dst_port)
  SKYPROBE_DIFF(tcp_flags)
  SKYPROBE_DIFF(vni)
  SKYPROBE_DIFF(tcp_off)
  SKYPROBE_DIFF(tcp_seg_len)
  SKYPROBE_DIFF(app_hint)
  SKYPROBE_DIFF(app_off)
  SKYPROBE_DIFF(app_len)
  SKYPROBE_DIFF(tcp_seq)
  SKYPROBE_DIFF(icmp_version)
  SKYPROBE_DIFF(icmp_type)
  SKYPROBE_DIFF(icmp_raw_type)
  SKYPROBE_DIFF(icmp_code)
  SKYPROBE_DIFF(icmp_id)
  SKYPROBE_DIFF(length)
  SKYPROBE_DIFF(frag_id)
  SKYPROBE_DIFF(frag_offset)
  SKYPROBE_DIFF(frag_data_len)
  SKYPROBE_DIFF(frag_proto)
  SKYPROBE_DIFF(frag_more)
  return "";
}

// "" when equal, else the first differing field, `a`'s value first.
inline std::string DiffParsed(const ParsedPacket& a, const ParsedPacket& b) {
  const std::string at;
  SKYPROBE_DIFF(num_sub)
  SKYPROBE_DIFF(error)
  SKYPROBE_DIFF(anomalies)
  SKYPROBE_DIFF(frag_sub)
  SKYPROBE_DIFF(link_type)
  SKYPROBE_DIFF(input)
#undef SKYPROBE_DIFF
  // A dropped frame's first sub-packet is cleared too: compare it as well.
  const int subs = a.num_sub == 0 ? 1 : a.num_sub;
  for (int i = 0; i < subs && i < kMaxSubPackets; ++i) {
    std::string why = DiffSub(a.sub[i], b.sub[i], i);
    if (!why.empty()) return why;
  }
  return "";
}

}  // namespace skyprobe::testing
