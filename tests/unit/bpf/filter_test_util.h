// filter_test_util.h: EAL for the filter tests (rte_bpf_convert allocates with rte_malloc;
// the mbuf tests need a mempool), pcap loading, mbuf chains built from bytes, and
// libpcap's own verdict as the oracle.
//
// Owner: test code only.
//
//   std::vector<Frame> frames = ReadPcap(path, &dlt, &snaplen);
//   rte_mbuf* m = MakeChain(Pool(), frame.bytes, /*seg_bytes=*/64);
#pragma once

#include <pcap/pcap.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/common/test_paths.h"

namespace skyprobe::testing {

class FilterEalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    static std::vector<std::string> args = {
        "filter_test", "--no-huge", "--no-pci", "--no-shconf", "--no-telemetry",
        "-m",          "256",       "-l",       "0",           "--log-level=*:error"};
    static std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    ASSERT_GE(rte_eal_init(static_cast<int>(argv.size()), argv.data()), 0) << "rte_eal_init";
  }
  void TearDown() override { rte_eal_cleanup(); }
};

// 2 KiB data rooms: frames longer than that become chains, as a NIC would give them.
inline rte_mempool* Pool() {
  static rte_mempool* pool =
      rte_pktmbuf_pool_create("filter_test", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  return pool;
}

struct Frame {
  pcap_pkthdr hdr;
  std::vector<uint8_t> bytes;  // hdr.caplen bytes
};

// Every record of a pcap or pcapng file; empty with `error` set if it cannot be opened.
inline std::vector<Frame> ReadPcap(const std::string& path, int* dlt, int* snaplen,
                                   std::string* error = nullptr) {
  std::vector<Frame> out;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
  if (p == nullptr) {
    if (error != nullptr) *error = errbuf;
    return out;
  }
  *dlt = pcap_datalink(p);
  *snaplen = pcap_snapshot(p);
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(p, &hdr, &data) == 1) {
    out.push_back(Frame{*hdr, std::vector<uint8_t>(data, data + hdr->caplen)});
  }
  pcap_close(p);
  return out;
}

// An mbuf chain holding `bytes`: segments of at most `seg_bytes` over the first 512 bytes
// (where headers are), then full data rooms. 0: as few segments as fit.
inline rte_mbuf* MakeChain(const std::vector<uint8_t>& bytes, uint32_t seg_bytes = 0) {
  rte_mbuf* head = nullptr;
  size_t off = 0;
  do {
    rte_mbuf* m = rte_pktmbuf_alloc(Pool());
    if (m == nullptr) {
      rte_pktmbuf_free(head);
      return nullptr;
    }
    size_t take = std::min<size_t>(bytes.size() - off, rte_pktmbuf_tailroom(m));
    if (seg_bytes != 0 && off < 512) take = std::min<size_t>(take, seg_bytes);
    char* dst = rte_pktmbuf_append(m, static_cast<uint16_t>(take));
    if (take != 0) memcpy(dst, bytes.data() + off, take);
    off += take;
    if (head == nullptr) {
      head = m;
    } else if (rte_pktmbuf_chain(head, m) != 0) {
      rte_pktmbuf_free(m);
      rte_pktmbuf_free(head);
      return nullptr;
    }
  } while (off < bytes.size());
  return head;
}

// libpcap's verdict for `expr` compiled on the file's own handle semantics (dead handle of
// the same link type and snaplen); `ok` false when libpcap refuses the expression.
class PcapOracle {
 public:
  PcapOracle(const std::string& expr, int dlt, int snaplen) {
    handle_ = pcap_open_dead(dlt, snaplen);
    ok_ = pcap_compile(handle_, &prog_, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0;
    if (!ok_) error_ = pcap_geterr(handle_);
  }
  ~PcapOracle() {
    if (ok_) pcap_freecode(&prog_);
    pcap_close(handle_);
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  // pcap_offline_filter: "len" is the wire length.
  bool Offline(const Frame& f) const {
    return pcap_offline_filter(&prog_, &f.hdr, f.bytes.data()) != 0;
  }
  // The mbuf view: one length, the captured one.
  bool Captured(const Frame& f) const {
    return bpf_filter(prog_.bf_insns, f.bytes.data(), f.hdr.caplen, f.hdr.caplen) != 0;
  }

 private:
  pcap_t* handle_ = nullptr;
  bpf_program prog_ = {};
  bool ok_ = false;
  std::string error_;
};

// The shared traces folder, or "" after GTEST_SKIP / FAIL (SKYPROBE_REQUIRE_SHARED=1).
#define SKYPROBE_SHARED_PCAPS_OR_RETURN(dir)                                             \
  const std::string dir = ::skyprobe::testing::SharedPcapDir();                          \
  if (dir.empty()) {                                                                     \
    if (::skyprobe::testing::SharedPcapsRequired()) {                                    \
      FAIL() << "shared pcaps not found (set SKYPROBE_PCAPS)";                           \
    }                                                                                    \
    GTEST_SKIP() << "shared pcaps not found (set SKYPROBE_PCAPS); skipping trace tests"; \
  }

}  // namespace skyprobe::testing
