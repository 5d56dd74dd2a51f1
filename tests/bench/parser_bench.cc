// Google Benchmark of ParseFrame: a burst of 64-byte TCP frames, a mix of
// VLAN, IPv6, DNS, VXLAN and ARP frames, and 300-byte DNS frames, honest and
// built to make the name walk expensive (a name that loops on itself, pointers
// to a 254-octet name).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "parse/parser.h"

namespace skyprobe {
namespace {

using Frame = std::vector<uint8_t>;

Frame Ipv4Tcp(uint16_t sport) {
  Frame f = {0x02,
             0,
             0,
             0,
             0,
             2,
             0x02,
             0,
             0,
             0,
             0,
             1,
             0x08,
             0x00,  // Ethernet
             0x45,
             0,
             0,
             46,
             0,
             1,
             0x40,
             0,
             64,
             6,
             0,
             0,
             10,
             0,
             0,
             1,
             10,
             0,
             0,
             2,
             static_cast<uint8_t>(sport >> 8),
             static_cast<uint8_t>(sport),
             0x0d,
             0x05,
             0,
             0,
             0,
             1,
             0,
             0,
             0,
             0,
             0x50,
             0x18,
             0xff,
             0xff,
             0,
             0,
             0,
             0};
  f.resize(64, 0);
  return f;
}

std::vector<Frame> Mixed() {
  std::vector<Frame> out;
  out.push_back(Ipv4Tcp(1000));
  Frame vlan = Ipv4Tcp(1001);
  vlan.insert(vlan.begin() + 12, {0x81, 0x00, 0x00, 0x0a});
  out.push_back(vlan);
  Frame v6 = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x86, 0xdd, 0x60, 0, 0, 0, 0, 16, 58, 64};
  v6.resize(14 + 40, 0x20);
  v6.insert(v6.end(), {128, 0, 0, 0, 0, 7, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0});
  out.push_back(v6);
  Frame dns = {0x02, 0,   0,  0,   0,    2,    0x02, 0,  0,  0,  0,   1,   0x08, 0x00, 0x45,
               0,    0,   57, 0,   1,    0,    0,    64, 17, 0,  0,   10,  0,    0,    1,
               8,    8,   8,  8,   0x9c, 0x40, 0,    53, 0,  37, 0,   0,   0x12, 0x34, 1,
               0,    0,   1,  0,   0,    0,    0,    0,  0,  7,  'e', 'x', 'a',  'm',  'p',
               'l',  'e', 3,  'c', 'o',  'm',  0,    0,  1,  0,  1};
  out.push_back(dns);
  Frame vxlan = {0x02, 0,    0,    0,    0, 2,  0x02, 0, 0,    0,  0, 1, 0x08, 0x00, 0x45, 0, 0,
                 64,   0,    1,    0,    0, 64, 17,   0, 0,    10, 0, 0, 1,    10,   0,    0, 2,
                 0xd7, 0x33, 0x12, 0xb5, 0, 44, 0,    0, 0x08, 0,  0, 0, 0,    0,    10,   0};
  vxlan.resize(78, 0);
  out.push_back(vxlan);
  Frame arp = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0,
               1,    0x08, 0x06, 0,    1,    8,    0,    6, 4, 0, 1};
  arp.resize(60, 0);
  out.push_back(arp);
  return out;
}

// Ethernet/IPv4/UDP to port 53 around `dns`.
Frame OverDns(const Frame& dns) {
  const uint16_t udp_len = static_cast<uint16_t>(8 + dns.size());
  const uint16_t ip_len = static_cast<uint16_t>(20 + udp_len);
  Frame f = {0x02,
             0,
             0,
             0,
             0,
             2,
             0x02,
             0,
             0,
             0,
             0,
             1,
             0x08,
             0x00,
             0x45,
             0,
             static_cast<uint8_t>(ip_len >> 8),
             static_cast<uint8_t>(ip_len),
             0,
             1,
             0,
             0,
             64,
             17,
             0,
             0,
             10,
             0,
             0,
             1,
             8,
             8,
             8,
             8,
             0x9c,
             0x40,
             0,
             53,
             static_cast<uint8_t>(udp_len >> 8),
             static_cast<uint8_t>(udp_len),
             0,
             0};
  f.insert(f.end(), dns.begin(), dns.end());
  return f;
}

Frame DnsHeader(uint8_t questions, uint8_t answers, uint8_t additional) {
  return {0x12, 0x34, 0x81, 0x80, 0, questions, 0, answers, 0, 0, 0, additional};
}

// 127 one-letter labels: a 254-octet name, the longest there is.
void LongName(Frame& b) {
  for (int i = 0; i < 127; ++i) b.insert(b.end(), {1, 'a'});
}

// A 300-byte response: www.example.com, 16 A answers pointing at it, EDNS.
Frame DnsHonest300() {
  Frame b = DnsHeader(1, 16, 1);
  b.insert(b.end(), {3,   'w', 'w', 'w', 7,   'e', 'x', 'a', 'm', 'p', 'l',
                     'e', 3,   'c', 'o', 'm', 0,   0,   1,   0,   1});
  for (uint8_t i = 0; i < 16; ++i)
    b.insert(b.end(), {0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 93, 184, 216, i});
  b.insert(b.end(), {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0});
  return b;
}

// A 300-byte query whose name is the longest name then a pointer to itself:
// gopacket's walk follows it 255 times (about 32,000 labels).
Frame DnsSelfLoop300() {
  Frame b = DnsHeader(1, 0, 0);
  LongName(b);
  b.insert(b.end(), {0xc0, 12, 0, 1, 0, 1});
  b.resize(300, 0);
  return b;
}

// Five questions: the longest name, then four pointers to it (295 bytes,
// 644 label steps when every name is walked).
Frame DnsPointersToLongName300() {
  Frame b = DnsHeader(5, 0, 0);
  LongName(b);
  b.insert(b.end(), {0, 0, 1, 0, 1});
  for (int i = 0; i < 4; ++i) b.insert(b.end(), {0xc0, 12, 0, 1, 0, 1});
  b.resize(300, 0);
  return b;
}

void RunBurst(benchmark::State& state, const std::vector<Frame>& frames) {
  ParserConfig cfg;
  std::vector<ParsedPacket> out(frames.size());
  for (auto _ : state) {
    for (size_t i = 0; i < frames.size(); ++i) {
      const Frame& f = frames[i];
      benchmark::DoNotOptimize(ParseFrame(f.data(), static_cast<uint32_t>(f.size()),
                                          static_cast<uint32_t>(f.size()), cfg, &out[i]));
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(frames.size()));
}

void BM_ParseTcp64Burst(benchmark::State& state) {
  std::vector<Frame> frames;
  for (int i = 0; i < 32; ++i) frames.push_back(Ipv4Tcp(static_cast<uint16_t>(1000 + i)));
  RunBurst(state, frames);
}
BENCHMARK(BM_ParseTcp64Burst);

void BM_ParseMixedBurst(benchmark::State& state) {
  std::vector<Frame> mix = Mixed();
  std::vector<Frame> frames;
  for (int i = 0; i < 32; ++i) frames.push_back(mix[i % mix.size()]);
  RunBurst(state, frames);
}
BENCHMARK(BM_ParseMixedBurst);

void RunDns(benchmark::State& state, const Frame& dns) {
  std::vector<Frame> frames(32, OverDns(dns));
  RunBurst(state, frames);
}

void BM_ParseDnsHonest300(benchmark::State& state) { RunDns(state, DnsHonest300()); }
BENCHMARK(BM_ParseDnsHonest300);
void BM_ParseDnsSelfLoop300(benchmark::State& state) { RunDns(state, DnsSelfLoop300()); }
BENCHMARK(BM_ParseDnsSelfLoop300);
void BM_ParseDnsPointersToLongName300(benchmark::State& state) {
  RunDns(state, DnsPointersToLongName300());
}
BENCHMARK(BM_ParseDnsPointersToLongName300);

}  // namespace
}  // namespace skyprobe

BENCHMARK_MAIN();
