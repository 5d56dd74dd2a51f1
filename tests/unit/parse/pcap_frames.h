// pcap_frames.h: reads every record of a capture file with libpcap.
//
// Owner: test code only.
//
//   std::vector<Frame> frames;
//   int dlt = -1;
//   if (ReadPcap(path, &dlt, &frames)) Use(frames[0].bytes, frames[0].wire_len);
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <string>
#include <vector>

namespace skyprobe::testing {

struct Frame {
  std::vector<uint8_t> bytes;  // the captured bytes (caplen)
  uint32_t wire_len = 0;
};

// False when libpcap cannot open the file. Each frame is copied, so callers
// can hand it to the parser in an exactly-sized buffer (sanitizers then see
// any read past caplen).
inline bool ReadPcap(const std::string& path, int* dlt, std::vector<Frame>* frames) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  if (p == nullptr) return false;
  *dlt = pcap_datalink(p);
  pcap_pkthdr* hdr;
  const u_char* data;
  while (pcap_next_ex(p, &hdr, &data) == 1) {
    frames->push_back({std::vector<uint8_t>(data, data + hdr->caplen), hdr->len});
  }
  pcap_close(p);
  return true;
}

}  // namespace skyprobe::testing
