// link_types.h: the one list of pcap link types (DLT) skyprobe decodes.
//
// Owner: constant data, read from any thread. Everything that names or checks
// a link type is made from SKYPROBE_LINK_TYPES: the parser's LinkType enum and
// IsSupportedLinkType (below), the names --link-type accepts, its error
// messages and --help (src/config), and the pcap reader's check
// (src/capture/capture_file.cc). The parser's LinkEntry (parser.cc) switches
// on LinkType without a default, so a new row without a decoder is named by
// -Wswitch; tests/unit/config/link_types_test.cc decodes a frame of each row.
//
//   for (const LinkTypeInfo& t : kLinkTypeTable) Use(t.name, t.dlt);
//   if (!IsSupportedLinkType(dlt)) CountDrop(ParseError::kUnsupportedLinkType);
#pragma once

#include <cstddef>
#include <cstdint>

// X(enumerator, dlt, name, alias): libpcap's number and name (without DLT_),
// and another name --link-type takes ("" for none). Rows in the order error
// messages list them.
#define SKYPROBE_LINK_TYPES(X)                                           \
  /* BSD loopback: 4-byte host-order address family, then IP */          \
  X(kNull, 0, "NULL", "")                                                \
  X(kEthernet, 1, "EN10MB", "ETHERNET")                                  \
  /* raw IP, version from the first nibble (Skydive's RawIP) */          \
  X(kRaw, 12, "RAW", "")                                                 \
  /* LINKTYPE_RAW as written in files (libpcap maps it to 12 on read) */ \
  X(kRawOpenBsd, 101, "RAW", "")                                         \
  /* Linux cooked capture v1 (its header is not in LayersPath) */        \
  X(kLinuxSll, 113, "LINUX_SLL", "")                                     \
  X(kIpv4, 228, "IPV4", "")                                              \
  X(kIpv6, 229, "IPV6", "")

namespace skyprobe {

// pcap/DLT link types the parser decodes. Numbers are libpcap's.
enum class LinkType : uint16_t {
#define SKYPROBE_LINK_TYPE_ENUM_(e, dlt, name, alias) e = dlt,
  SKYPROBE_LINK_TYPES(SKYPROBE_LINK_TYPE_ENUM_)
#undef SKYPROBE_LINK_TYPE_ENUM_
};

struct LinkTypeInfo {
  LinkType type;
  uint32_t dlt;
  const char* name;   // libpcap's, without DLT_
  const char* alias;  // "" for none
};

inline constexpr LinkTypeInfo kLinkTypeTable[] = {
#define SKYPROBE_LINK_TYPE_ROW_(e, dlt, name, alias) {LinkType::e, dlt, name, alias},
    SKYPROBE_LINK_TYPES(SKYPROBE_LINK_TYPE_ROW_)
#undef SKYPROBE_LINK_TYPE_ROW_
};

// True for the link types ParseFrame understands (the rows above).
constexpr bool IsSupportedLinkType(uint32_t dlt) {
  switch (dlt) {
#define SKYPROBE_LINK_TYPE_CASE_(e, number, name, alias) case number:
    SKYPROBE_LINK_TYPES(SKYPROBE_LINK_TYPE_CASE_)
#undef SKYPROBE_LINK_TYPE_CASE_
    return true;
    default:
      return false;
  }
}

}  // namespace skyprobe
