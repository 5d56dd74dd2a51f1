// sflow_bench: samples per second through the sFlow collector's path.
//
//   BM_SflowDecode     the decoder alone on datagrams of 8 flow samples
//   BM_SflowDatagram   SflowSource::HandleDatagram: decode, ParseFrame and
//                      the agent's FlowTable (lookup, account, scaled
//                      counters), as the loop runs it per received datagram
//
// Each sample carries one raw packet header: a 60-byte Ethernet/IPv4/UDP
// frame (bench_common.h) of one of `flows` conversations, sampling rate 512.
// No socket: receive costs (one poll + one recvmmsg per 32 datagrams) are
// not part of the figure.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "bench_common.h"
#include "capture/record_channel.h"
#include "sflow/sflow_decoder.h"
#include "sflow/sflow_source.h"
#include "sflow_builder.h"

namespace skyprobe {
namespace {

constexpr uint32_t kSamplesPerDatagram = 8;

// Datagrams covering `flows` conversations, kSamplesPerDatagram each.
std::vector<std::vector<uint8_t>> Datagrams(uint32_t flows) {
  using sflow::testing::TestDatagram;
  using sflow::testing::TestHeader;
  using sflow::testing::TestSample;
  std::vector<std::vector<uint8_t>> out;
  std::vector<uint8_t> frame(bench::kFrameLen);
  for (uint32_t f = 0; f < flows;) {
    TestDatagram d;
    d.sequence = static_cast<uint32_t>(out.size());
    for (uint32_t s = 0; s < kSamplesPerDatagram; ++s, ++f) {
      bench::WriteFrame(f % flows, frame.data());
      d.samples.push_back(TestSample::Flow(512, {TestHeader::Eth(frame)}));
    }
    out.push_back(sflow::testing::BuildDatagram(d));
  }
  return out;
}

void BM_SflowDecode(benchmark::State& state) {
  const auto dgs = Datagrams(static_cast<uint32_t>(state.range(0)));
  auto dg = std::make_unique<sflow::Datagram>();
  size_t i = 0;
  uint64_t samples = 0;
  for (auto _ : state) {
    const std::vector<uint8_t>& b = dgs[i];
    if (++i == dgs.size()) i = 0;
    benchmark::DoNotOptimize(sflow::DecodeDatagram(b.data(), b.size(), dg.get()));
    samples += dg->num_headers;
  }
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SflowDecode)->Arg(1024)->Arg(65536);

void BM_SflowDatagram(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  const auto dgs = Datagrams(flows);
  sflow::SflowSetup setup;
  auto channel = RecordChannel::Create("bench_sflow", 4096, -1);
  if (!channel.ok()) {
    state.SkipWithError("record channel");
    return;
  }
  setup.channel = *std::move(channel);
  setup.table.max_flows = flows * 2;
  setup.max_agents = 1;
  auto src = std::make_unique<sflow::SflowSource>(std::move(setup));
  int64_t now = 1'700'000'000'000'000'000;
  // Warm-up: every flow exists, as on a long-running collector.
  for (const auto& b : dgs) src->HandleDatagram(b.data(), b.size(), now += 1000);
  size_t i = 0;
  for (auto _ : state) {
    const std::vector<uint8_t>& b = dgs[i];
    if (++i == dgs.size()) i = 0;
    src->HandleDatagram(b.data(), b.size(), now += 1000);
  }
  const uint64_t samples = state.iterations() * kSamplesPerDatagram;
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
  if (src->counters().frames != (state.iterations() + dgs.size()) * kSamplesPerDatagram ||
      src->agent_table(0).counters().packets_in_flows != src->counters().frames) {
    state.SkipWithError("frames were lost");
  }
}
BENCHMARK(BM_SflowDatagram)->Arg(1024)->Arg(65536);

}  // namespace
}  // namespace skyprobe

int main(int argc, char** argv) {
  if (!skyprobe::bench::InitEal("sflow_bench", 1024)) return 1;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  rte_eal_cleanup();
  return 0;
}
