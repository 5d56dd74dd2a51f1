// raw_packet.h: one captured packet of a flow, as it leaves the probe
// (raw packet capture, --raw-packets).
//
// Owner: whoever holds the copy: the gRPC thread that asked a worker for a
// flow's packets (RawPackets), the pcap writer that puts it in a file, or
// skyprobectl merging the captures of several probes. A plain value type.
//
//   backend->RawPackets(uuids, [&](uint64_t uuid, RawPacketCopy&& p) { kept.push_back(p); });
//   for (const RawPacketCopy& p : kept) writer.AppendPacket(p, &file);
#pragma once

#include <cstdint>
#include <string>

namespace skyprobe {

struct RawPacketCopy {
  int64_t timestamp_ns = 0;
  uint32_t wire_length = 0;
  uint32_t link_type = 1;  // pcap DLT of `data`
  int64_t index = 0;       // 1-based capture order inside the flow
  std::string data;        // captured bytes (cut to the capture length)
};

}  // namespace skyprobe
