// pcap_writer.cc: the two formats, little-endian, written by hand (libpcap's
// dumper wants a FILE* and cannot write pcapng).

#include "export/pcap_writer.h"

#include <algorithm>

namespace skyprobe {
namespace {

void Put16(uint16_t v, std::string* out) {
  out->push_back(static_cast<char>(v & 0xff));
  out->push_back(static_cast<char>(v >> 8));
}

void Put32(uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void Pad4(std::string* out, size_t from) {
  while ((out->size() - from) % 4 != 0) out->push_back('\0');
}

constexpr uint32_t kByteOrderMagic = 0x1a2b3c4d;

// Writes a block's trailing length and patches the leading one.
void CloseBlock(size_t start, std::string* out) {
  const uint32_t len = static_cast<uint32_t>(out->size() - start + 4);
  Put32(len, out);
  for (int i = 0; i < 4; ++i) (*out)[start + 4 + i] = static_cast<char>((len >> (8 * i)) & 0xff);
}

}  // namespace

PcapWriter::PcapWriter(const std::vector<uint32_t>& link_types, uint32_t snaplen)
    : snaplen_(snaplen) {
  for (uint32_t t : link_types) {
    if (std::find(interfaces_.begin(), interfaces_.end(), t) == interfaces_.end()) {
      interfaces_.push_back(t);
    }
  }
  if (interfaces_.empty()) interfaces_.push_back(1);
  pcapng_ = interfaces_.size() > 1;
}

void PcapWriter::AppendHeader(std::string* out) const {
  if (!pcapng_) {
    Put32(kPcapMagicNanos, out);
    Put16(2, out);  // version 2.4
    Put16(4, out);
    Put32(0, out);  // thiszone
    Put32(0, out);  // sigfigs
    Put32(snaplen_, out);
    Put32(interfaces_[0], out);
    return;
  }
  size_t start = out->size();
  Put32(kPcapngShbType, out);
  Put32(0, out);  // length, patched
  Put32(kByteOrderMagic, out);
  Put16(1, out);  // version 1.0
  Put16(0, out);
  Put32(0xffffffff, out);  // section length unknown (-1)
  Put32(0xffffffff, out);
  CloseBlock(start, out);
  for (uint32_t link_type : interfaces_) {
    start = out->size();
    Put32(kPcapngIdbType, out);
    Put32(0, out);
    Put16(static_cast<uint16_t>(link_type), out);
    Put16(0, out);
    Put32(snaplen_, out);
    Put16(9, out);  // if_tsresol: 10^-9, nanoseconds
    Put16(1, out);
    out->push_back(9);
    Pad4(out, start);
    Put32(0, out);  // opt_endofopt
    CloseBlock(start, out);
  }
}

void PcapWriter::AppendPacket(const RawPacketCopy& p, std::string* out) const {
  const uint64_t ts = p.timestamp_ns < 0 ? 0 : static_cast<uint64_t>(p.timestamp_ns);
  const uint32_t caplen = static_cast<uint32_t>(p.data.size());
  const uint32_t wire = std::max(p.wire_length, caplen);
  if (!pcapng_) {
    Put32(static_cast<uint32_t>(ts / 1000000000u), out);
    Put32(static_cast<uint32_t>(ts % 1000000000u), out);
    Put32(caplen, out);
    Put32(wire, out);
    out->append(p.data);
    return;
  }
  uint32_t interface_id = 0;
  for (size_t i = 0; i < interfaces_.size(); ++i) {
    if (interfaces_[i] == p.link_type) interface_id = static_cast<uint32_t>(i);
  }
  const size_t start = out->size();
  Put32(kPcapngEpbType, out);
  Put32(0, out);
  Put32(interface_id, out);
  Put32(static_cast<uint32_t>(ts >> 32), out);
  Put32(static_cast<uint32_t>(ts & 0xffffffffu), out);
  Put32(caplen, out);
  Put32(wire, out);
  out->append(p.data);
  Pad4(out, start);
  CloseBlock(start, out);
}

}  // namespace skyprobe
