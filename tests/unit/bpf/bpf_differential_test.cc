// Differential test: the DPDK-converted, JIT-compiled program must agree with libpcap on
// every packet of the Skydive traces and of a spread of tcpdump's test captures, for a set
// of expressions covering hosts, nets, port ranges, TCP flags, VLAN, IPv6, lengths, byte
// offsets (indexed loads) and scratch memory. Three views are checked per packet:
//   MatchBytes           == pcap_offline_filter (wire length for "len")
//   Match(mbuf chain)    == libpcap's bpf_filter over the captured bytes (pkt_len for "len")
//   interpreter (no JIT) == the JIT

#include <pcap/pcap.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "bpf/bpf_filter.h"
#include "gtest/gtest.h"
#include "tests/unit/bpf/filter_test_util.h"

namespace skyprobe::testing {
namespace {

const char* const kExpressions[] = {
    "port 53 or port 80",
    "host 192.168.0.5",
    "src net 10.0.0.0/8 or dst net 172.16.0.0/12",
    "tcp portrange 1000-5000",
    "udp and not port 53",
    "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
    "tcp[13] == 0x12",
    "icmp[icmptype] == icmp-echo",
    "vlan",
    "icmp or (vlan and icmp)",
    "vlan 8 and vlan 10",
    "ip6",
    "icmp6",
    "ip6 and tcp port 3333",
    "len > 100",
    "greater 200 and ip",
    "less 64",
    "ether proto 0x0806 or arp",
    "ether broadcast or ether multicast",
    "ip[8] < 64 and ip[6:2] & 0x3fff != 0",
    "proto gre or mpls",
    "udp[0:2] > udp[2:2]",
    "ip[0] & 0xf > 5 or tcp[20:4] = 0x47455420",
    "ip6[6] == 17 and udp[4:2] > 100",
};

// The tcpdump corpus files used: per supported link type, evenly spread by name.
std::vector<std::string> CorpusFiles(const std::string& dir) {
  std::ifstream index(dir + "/tcpdump/index.tsv");
  std::string line;
  std::getline(index, line);  // header
  std::map<std::string, std::vector<std::string>> by_type;
  while (std::getline(index, line)) {
    std::vector<std::string> cols = absl::StrSplit(line, '\t');
    if (cols.size() < 6) continue;
    const std::string& dlt = cols[5];
    if (dlt == "1" || dlt == "0" || dlt == "101" || dlt == "113" || dlt == "228" || dlt == "229") {
      by_type[dlt].push_back(cols[0]);
    }
  }
  std::vector<std::string> out;
  for (auto& [dlt, names] : by_type) {
    std::sort(names.begin(), names.end());
    const size_t want = dlt == "1" ? 30 : 4;
    const size_t step = std::max<size_t>(1, names.size() / want);
    for (size_t i = 0; i < names.size() && i / step < want; i += step) {
      out.push_back(dir + "/tcpdump/" + names[i]);
    }
  }
  return out;
}

struct Totals {
  size_t files = 0, packets = 0, checks = 0, matches = 0, refused = 0, chains = 0;
};

void CheckFile(const std::string& path, Totals* totals) {
  int dlt = 0, snaplen = 0;
  std::string err;
  const std::vector<Frame> frames = ReadPcap(path, &dlt, &snaplen, &err);
  if (!err.empty()) {
    ADD_FAILURE() << path << ": " << err;
    return;
  }
  ++totals->files;
  totals->packets += frames.size();
  // Chains of 64-byte segments force the slow path of the JIT's loads on most offsets.
  std::vector<rte_mbuf*> mbufs;
  for (const Frame& fr : frames) {
    mbufs.push_back(MakeChain(fr.bytes, 64));
    ASSERT_NE(mbufs.back(), nullptr);
    totals->chains += mbufs.back()->nb_segs > 1;
  }
  for (const char* expr : kExpressions) {
    SCOPED_TRACE(path + " [" + expr + "]");
    PcapOracle oracle(expr, dlt, snaplen);
    absl::StatusOr<std::unique_ptr<BpfFilter>> jit = BpfFilter::Compile(expr, dlt, snaplen);
    absl::StatusOr<std::unique_ptr<BpfFilter>> interp =
        BpfFilter::Compile(expr, dlt, snaplen, /*use_jit=*/false);
    if (!oracle.ok()) {
      // Not meaningful for this link type: refused the same way.
      EXPECT_FALSE(jit.ok());
      EXPECT_EQ(jit.status().message(), oracle.error());
      ++totals->refused;
      continue;
    }
    ASSERT_TRUE(jit.ok()) << jit.status();
    ASSERT_TRUE(interp.ok()) << interp.status();
    ASSERT_TRUE((*jit)->jitted());
    for (size_t i = 0; i < frames.size(); ++i) {
      const Frame& fr = frames[i];
      const bool want = oracle.Offline(fr);
      ASSERT_EQ((*jit)->MatchBytes(fr.bytes.data(), fr.hdr.caplen, fr.hdr.len), want)
          << "packet " << i << " caplen " << fr.hdr.caplen << " len " << fr.hdr.len;
      const bool want_captured = oracle.Captured(fr);
      ASSERT_EQ((*jit)->Match(mbufs[i]), want_captured) << "mbuf, packet " << i;
      ASSERT_EQ((*interp)->Match(mbufs[i]), want_captured) << "interpreter, packet " << i;
      totals->matches += want;
      ++totals->checks;
    }
  }
  rte_pktmbuf_free_bulk(mbufs.data(), static_cast<unsigned>(mbufs.size()));
}

TEST(BpfDifferentialTest, SkydiveTraces) {
  SKYPROBE_SHARED_PCAPS_OR_RETURN(dir);
  Totals t;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/skydive")) {
    if (entry.path().extension() == ".pcap") CheckFile(entry.path().string(), &t);
  }
  EXPECT_GE(t.files, 20u);
  // Guard against a vacuous pass: real matches and real rejections happened.
  EXPECT_GT(t.matches, t.checks / 20);
  EXPECT_LT(t.matches, t.checks);
  RecordProperty("checks", static_cast<int>(t.checks));
  std::cout << "skydive: " << t.files << " files, " << t.packets << " packets, " << t.checks
            << " checks, " << t.matches << " matches, " << t.chains << " chained\n";
}

TEST(BpfDifferentialTest, TcpdumpCorpus) {
  SKYPROBE_SHARED_PCAPS_OR_RETURN(dir);
  const std::vector<std::string> files = CorpusFiles(dir);
  ASSERT_GE(files.size(), 45u);
  Totals t;
  for (const std::string& f : files) CheckFile(f, &t);
  EXPECT_EQ(t.files, files.size());
  EXPECT_GT(t.matches, 0u);
  EXPECT_LT(t.matches, t.checks);
  EXPECT_GT(t.refused, 0u);  // e.g. "vlan" on raw IP
  std::cout << "tcpdump: " << t.files << " files, " << t.packets << " packets, " << t.checks
            << " checks, " << t.matches << " matches, " << t.refused << " refused, " << t.chains
            << " chained\n";
}

}  // namespace
}  // namespace skyprobe::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new skyprobe::testing::FilterEalEnvironment);
  return RUN_ALL_TESTS();
}
