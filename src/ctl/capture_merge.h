// capture_merge.h: `skyprobectl pcap` over several probes: each probe's
// ExportPcap file is read back and the packets of all of them are written as
// one capture in time order.
//
// Owner: skyprobectl's main thread. Reads only what a probe's PcapWriter
// writes (little-endian pcap with nanosecond magic; pcapng with a section
// header, interface blocks with nanosecond resolution and enhanced packet
// blocks); libpcap cannot read a pcapng whose interfaces differ in link type,
// which is exactly the file a mixed capture gives. A file that does not
// parse is an error naming its probe, never a silently shorter capture.
//
//   std::vector<RawPacketCopy> all;
//   for (...) SKYPROBE_RETURN_IF_ERROR(ReadProbeCapture(bytes, &all));
//   std::string file = MergedCapture(std::move(all));
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "record/raw_packet.h"

namespace skyprobe::ctl {

// Appends the packets of `file` (timestamp, wire length, link type, bytes;
// `index` is the packet's position in the file) to `out`.
absl::Status ReadProbeCapture(absl::string_view file, std::vector<RawPacketCopy>* out);

// One capture file of `packets` in time order (stable: equal times keep the
// given order): pcap when they share a link type, else pcapng.
std::string MergedCapture(std::vector<RawPacketCopy> packets);

}  // namespace skyprobe::ctl
