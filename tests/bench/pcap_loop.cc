// pcap_loop.cc: the baseline for the pcap path: a bare libpcap read loop that
// touches every packet, as fast as it can. scripts/bench_pcap.sh runs it and
// skyprobe on the same file and compares their packet rates.
//
//   build/tests/bench/pcap_loop big.pcap
#include <pcap/pcap.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: pcap_loop FILE\n");
    return 2;
  }
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(argv[1], err);
  if (p == nullptr) {
    std::fprintf(stderr, "pcap_loop: %s\n", err);
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  pcap_pkthdr* hdr;
  const u_char* data;
  uint64_t packets = 0, bytes = 0, sum = 0;
  while (pcap_next_ex(p, &hdr, &data) == 1) {
    ++packets;
    bytes += hdr->len;
    sum += data[hdr->caplen > 12 ? 12 : 0];  // read the frame, as a probe must
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("packets %llu bytes %llu seconds %.3f mpps %.3f (check %llu)\n",
              static_cast<unsigned long long>(packets), static_cast<unsigned long long>(bytes), s,
              packets / s / 1e6, static_cast<unsigned long long>(sum));
  pcap_close(p);
  return 0;
}
