// pcap_writer.h: raw packets of flows as one capture file, classic pcap when
// every packet has the same link type, pcapng (one interface per link type)
// when they differ. Both use nanosecond timestamps; libpcap, tshark and
// Wireshark read either.
//
// Owner: the thread that builds the file (a gRPC thread for ExportPcap); no
// shared state. Appends to caller-owned buffers so a stream can send the file
// in chunks as it grows.
//
//   PcapWriter w({1, 228});          // every link type that will be written
//   w.AppendHeader(&buf);            // pcapng here: two link types
//   for (const RawPacketCopy& p : packets) w.AppendPacket(p, &buf);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "record/raw_packet.h"

namespace skyprobe {

// The format numbers the writer uses (little-endian on disk), for readers of
// its output (skyprobectl's capture merge).
inline constexpr uint32_t kPcapMagicNanos = 0xa1b23c4d;  // classic pcap, ns timestamps
inline constexpr uint32_t kPcapngShbType = 0x0a0d0d0a;   // section header block
inline constexpr uint32_t kPcapngIdbType = 1;            // interface description block
inline constexpr uint32_t kPcapngEpbType = 6;            // enhanced packet block

class PcapWriter {
 public:
  // `link_types`: the DLT of every packet to come (duplicates are fine; an
  // empty list gives an Ethernet pcap with no packets). `snaplen` is the
  // header's snapshot length: at least the longest packet.
  explicit PcapWriter(const std::vector<uint32_t>& link_types, uint32_t snaplen = 262144);

  bool pcapng() const { return pcapng_; }

  // The file header (pcap) or section header and interface blocks (pcapng).
  void AppendHeader(std::string* out) const;

  // One packet record. Its link type must be one given to the constructor
  // (pcap: the only one); an unknown one is written on the first interface.
  void AppendPacket(const RawPacketCopy& packet, std::string* out) const;

 private:
  bool pcapng_ = false;
  uint32_t snaplen_;
  std::vector<uint32_t> interfaces_;  // pcapng interface id -> link type
};

}  // namespace skyprobe
