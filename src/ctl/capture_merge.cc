// capture_merge.cc: a strict reader of the two layouts PcapWriter emits, and
// the merge.

#include "ctl/capture_merge.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "export/pcap_writer.h"

namespace skyprobe::ctl {
namespace {

bool Get32(absl::string_view b, size_t at, uint32_t* v) {
  if (at + 4 > b.size()) return false;
  std::memcpy(v, b.data() + at, 4);  // little endian, as written
  return true;
}

absl::Status Bad(absl::string_view what, size_t at) {
  return absl::DataLossError(absl::StrCat("capture from the probe: ", what, " at byte ", at));
}

absl::Status ReadPcap(absl::string_view b, std::vector<RawPacketCopy>* out) {
  uint32_t link_type = 0;
  if (b.size() < 24 || !Get32(b, 20, &link_type)) return Bad("short pcap header", 0);
  int64_t index = 0;
  for (size_t at = 24; at < b.size();) {
    uint32_t sec, nsec, caplen, wire;
    if (!Get32(b, at, &sec) || !Get32(b, at + 4, &nsec) || !Get32(b, at + 8, &caplen) ||
        !Get32(b, at + 12, &wire) || at + 16 + caplen > b.size() || nsec >= 1000000000u) {
      return Bad("truncated or bad pcap record", at);
    }
    RawPacketCopy p;
    p.timestamp_ns = int64_t{sec} * 1000000000 + nsec;
    p.wire_length = wire;
    p.link_type = link_type;
    p.index = ++index;
    p.data.assign(b.data() + at + 16, caplen);
    out->push_back(std::move(p));
    at += 16 + caplen;
  }
  return absl::OkStatus();
}

absl::Status ReadPcapng(absl::string_view b, std::vector<RawPacketCopy>* out) {
  std::vector<uint32_t> interfaces;
  int64_t index = 0;
  for (size_t at = 0; at < b.size();) {
    uint32_t type, len;
    if (!Get32(b, at, &type) || !Get32(b, at + 4, &len) || len < 12 || len % 4 != 0 ||
        at + len > b.size()) {
      return Bad("truncated or bad pcapng block", at);
    }
    if (type == kPcapngIdbType) {
      if (len < 20) return Bad("short interface block", at);
      uint16_t link_type;
      std::memcpy(&link_type, b.data() + at + 8, 2);
      interfaces.push_back(link_type);
    } else if (type == kPcapngEpbType) {
      uint32_t iface, hi, lo, caplen, wire;
      if (len < 32 || !Get32(b, at + 8, &iface) || !Get32(b, at + 12, &hi) ||
          !Get32(b, at + 16, &lo) || !Get32(b, at + 20, &caplen) || !Get32(b, at + 24, &wire) ||
          28 + size_t{caplen} + 4 > len || iface >= interfaces.size()) {
        return Bad("bad packet block", at);
      }
      RawPacketCopy p;
      p.timestamp_ns = static_cast<int64_t>((uint64_t{hi} << 32) | lo);
      p.wire_length = wire;
      p.link_type = interfaces[iface];
      p.index = ++index;
      p.data.assign(b.data() + at + 28, caplen);
      out->push_back(std::move(p));
    } else if (type != kPcapngShbType) {
      return Bad(absl::StrCat("unexpected block type ", type), at);
    }
    at += len;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ReadProbeCapture(absl::string_view file, std::vector<RawPacketCopy>* out) {
  uint32_t magic = 0;
  if (!Get32(file, 0, &magic)) return Bad("empty capture", 0);
  if (magic == kPcapMagicNanos) return ReadPcap(file, out);
  if (magic == kPcapngShbType) return ReadPcapng(file, out);
  return Bad("neither a nanosecond pcap nor a pcapng", 0);
}

std::string MergedCapture(std::vector<RawPacketCopy> packets) {
  std::stable_sort(packets.begin(), packets.end(),
                   [](const RawPacketCopy& a, const RawPacketCopy& b) {
                     return a.timestamp_ns < b.timestamp_ns;
                   });
  std::vector<uint32_t> link_types;
  uint32_t snaplen = 262144;
  for (const RawPacketCopy& p : packets) {
    link_types.push_back(p.link_type);
    snaplen = std::max(snaplen, static_cast<uint32_t>(p.data.size()));
  }
  const PcapWriter writer(link_types, snaplen);
  std::string file;
  writer.AppendHeader(&file);
  for (const RawPacketCopy& p : packets) writer.AppendPacket(p, &file);
  return file;
}

}  // namespace skyprobe::ctl
