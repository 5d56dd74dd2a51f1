// libFuzzer target: ParseFrame on arbitrary bytes, every supported link type.
// The first input byte picks the link type; the rest is the frame, copied to
// an exactly-sized buffer so ASan sees any read past caplen.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "parse/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using skyprobe::LinkType;
  static constexpr LinkType kLinks[] = {LinkType::kEthernet, LinkType::kRaw,  LinkType::kRawOpenBsd,
                                        LinkType::kLinuxSll, LinkType::kNull, LinkType::kIpv4,
                                        LinkType::kIpv6};
  if (size < 1) return 0;
  skyprobe::ParserConfig cfg;
  cfg.link_type = kLinks[data[0] % (sizeof(kLinks) / sizeof(kLinks[0]))];
  const size_t n = size - 1;
  auto frame = std::make_unique<uint8_t[]>(n == 0 ? 1 : n);
  if (n > 0) std::memcpy(frame.get(), data + 1, n);
  skyprobe::ParsedPacket pkt;
  const uint8_t subs =
      skyprobe::ParseFrame(frame.get(), static_cast<uint32_t>(n),
                           (data[0] & 0x80) ? 0 : static_cast<uint32_t>(n), cfg, &pkt);
  if (subs > skyprobe::kMaxSubPackets) __builtin_trap();
  return 0;
}
