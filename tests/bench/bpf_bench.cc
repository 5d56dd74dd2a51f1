// bpf_bench.cc: cost per packet of BpfFilter::Select on 32-packet bursts of in-memory
// mbufs (DNS, HTTP, HTTPS, ARP, VLAN ICMP, IPv6), as the RX worker calls it.
//
//   build/tests/bench/bpf_bench --benchmark_counters_tabular=true
// ns/packet = the "ns/pkt" counter (CPU time per burst / 32). kept/burst is libpcap's
// answer too: after "vlan" the rest of an expression looks 4 bytes further (tcpdump's rule),
// so the complex filter's "ip6 and tcp port 443" term does not match the untagged IPv6 frames.

#include <pcap/pcap.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "bpf/bpf_filter.h"

namespace skyprobe {
namespace {

constexpr uint32_t kBurst = 32;

const char* const kComplex =
    "(tcp[tcpflags] & (tcp-syn|tcp-fin) != 0 and not net 10.0.0.0/8) or "
    "(udp and portrange 1000-2000) or (vlan and icmp) or (ip6 and tcp port 443) or "
    "(host 192.168.0.5 and greater 100)";

std::vector<uint8_t> Frame(uint16_t ethertype, uint8_t proto, uint16_t dport, uint8_t flags,
                           bool vlan) {
  std::vector<uint8_t> f(vlan ? 78 : 74, 0);
  size_t o = 12;
  if (vlan) {
    f[o] = 0x81;
    f[o + 3] = 8;
    o += 4;
  }
  f[o] = static_cast<uint8_t>(ethertype >> 8);
  f[o + 1] = static_cast<uint8_t>(ethertype);
  o += 2;
  if (ethertype == 0x0800) {
    const uint8_t ip[] = {0x45, 0, 0,   60,  0, 1, 0x40, 0, 64, proto,
                          0,    0, 192, 168, 0, 5, 8,    8, 8,  8};
    std::memcpy(&f[o], ip, sizeof(ip));
    o += 20;
  } else if (ethertype == 0x86dd) {
    f.resize(f.size() + 20);
    f[o] = 0x60;
    f[o + 6] = proto;
    o += 40;
  }
  f[o] = 0xc0;
  f[o + 2] = static_cast<uint8_t>(dport >> 8);
  f[o + 3] = static_cast<uint8_t>(dport);
  f[o + 13] = flags;
  return f;
}

class Burst {
 public:
  Burst() {
    pool_ = rte_pktmbuf_pool_create("bpf_bench", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    const std::vector<std::vector<uint8_t>> kinds = {
        Frame(0x0800, 17, 53, 0, false),    Frame(0x0800, 6, 80, 0x02, false),
        Frame(0x0800, 6, 443, 0x10, false), Frame(0x0806, 0, 0, 0, false),
        Frame(0x0800, 1, 0, 0, true),       Frame(0x86dd, 6, 443, 0x10, false),
        Frame(0x0800, 17, 1500, 0, false),  Frame(0x0800, 6, 80, 0x10, false),
    };
    for (uint32_t i = 0; i < kBurst; ++i) {
      const std::vector<uint8_t>& k = kinds[(i * 5) % kinds.size()];
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(k.size())), k.data(), k.size());
      mbufs_[i] = m;
    }
  }
  rte_mbuf* const* mbufs() const { return mbufs_; }

 private:
  rte_mempool* pool_;
  rte_mbuf* mbufs_[kBurst];
};

Burst& SharedBurst() {
  static Burst b;
  return b;
}

void RunSelect(benchmark::State& state, const std::string& expr, bool jit) {
  auto f = BpfFilter::Compile(expr, DLT_EN10MB, 262144, jit);
  if (!f.ok()) {
    state.SkipWithError(std::string(f.status().message()).c_str());
    return;
  }
  rte_mbuf* out[kBurst];
  uint64_t kept = 0;
  for (auto _ : state) {
    kept += (*f)->Select(SharedBurst().mbufs(), kBurst, out);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kBurst);
  state.counters["ns/pkt"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kBurst,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["kept/burst"] = static_cast<double>(kept) / state.iterations();
  state.SetLabel(jit ? "jit" : "interpreter");
}

void BM_NoFilter(benchmark::State& s) { RunSelect(s, "", true); }
void BM_Port53Or80Jit(benchmark::State& s) { RunSelect(s, "port 53 or port 80", true); }
void BM_ComplexJit(benchmark::State& s) { RunSelect(s, kComplex, true); }
void BM_Port53Or80Interpreter(benchmark::State& s) { RunSelect(s, "port 53 or port 80", false); }
void BM_ComplexInterpreter(benchmark::State& s) { RunSelect(s, kComplex, false); }

BENCHMARK(BM_NoFilter);
BENCHMARK(BM_Port53Or80Jit);
BENCHMARK(BM_ComplexJit);
BENCHMARK(BM_Port53Or80Interpreter);
BENCHMARK(BM_ComplexInterpreter);

}  // namespace
}  // namespace skyprobe

int main(int argc, char** argv) {
  static char* eal[] = {const_cast<char*>("bpf_bench"),
                        const_cast<char*>("--no-huge"),
                        const_cast<char*>("--no-pci"),
                        const_cast<char*>("--no-shconf"),
                        const_cast<char*>("--no-telemetry"),
                        const_cast<char*>("-m"),
                        const_cast<char*>("128"),
                        const_cast<char*>("-l"),
                        const_cast<char*>("0"),
                        const_cast<char*>("--log-level=*:error")};
  if (rte_eal_init(10, eal) < 0) return 1;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  rte_eal_cleanup();
  return 0;
}
