// capture_file_bench.cc: the mapped pcap reader (capture_file.h) alone, frame
// after frame over a file in the page cache: what the guard against a file
// cut short while it is read (mapping_guard.h: a size check every 64 KiB, a
// look at the fault note and at an empty record after each record) costs.
//
//   build/tests/bench/capture_file_bench [--benchmark_filter=...]
//
// BM_ReadMapped/<guarded>: a 100 MB pcap of 76-byte records (the 1M-flow
// capture's size) written to $TMPDIR, read through CaptureFile::Open (1:
// guarded, as the probe reads) or through FromBuffer over a mapping of the
// same file made the same way (0: the reader's checks without the guard's).
// Frames per second.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "capture/capture_file.h"

namespace skyprobe {
namespace {

constexpr size_t kFrames = 1'300'000;
constexpr uint32_t kCaplen = 60;

// The file, written once per process.
const std::string& BenchFile() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    std::string p =
        std::string(dir != nullptr ? dir : "/tmp") + "/skyprobe-capture-file-bench.pcap";
    std::FILE* f = std::fopen(p.c_str(), "wb");
    const uint32_t header[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
    std::fwrite(header, sizeof(header), 1, f);
    std::vector<uint8_t> frame(kCaplen, 0x5a);
    for (size_t i = 0; i < kFrames; ++i) {
      const uint32_t rec[4] = {static_cast<uint32_t>(1700000000 + i / 1000),
                               static_cast<uint32_t>(i % 1000 * 1000), kCaplen, kCaplen};
      std::fwrite(rec, sizeof(rec), 1, f);
      std::fwrite(frame.data(), frame.size(), 1, f);
    }
    std::fclose(f);
    return p;
  }();
  return path;
}

void BM_ReadMapped(benchmark::State& state) {
  const bool guarded = state.range(0) != 0;
  const std::string& path = BenchFile();
  uint64_t frames = 0;
  for (auto _ : state) {
    // Both ways a fresh mapping of the file each round (the faults that map
    // it are part of reading it): Open's own, or one made here for
    // FromBuffer.
    const int fd = guarded ? -1 : open(path.c_str(), O_RDONLY);
    const auto size = static_cast<size_t>(guarded ? 0 : lseek(fd, 0, SEEK_END));
    void* map = guarded ? nullptr : mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (!guarded) madvise(map, size, MADV_SEQUENTIAL);  // as Open does
    {
      auto f = guarded ? CaptureFile::Open(path)
                       : CaptureFile::FromBuffer(static_cast<const uint8_t*>(map), size, path);
      if (!f.ok()) {
        state.SkipWithError(std::string(f.status().message()).c_str());
        break;
      }
      CaptureFrame fr;
      uint64_t sum = 0;
      while ((*f)->Next(&fr)) sum += fr.caplen;
      benchmark::DoNotOptimize(sum);
      frames += (*f)->frames();
    }
    if (!guarded) {
      munmap(map, size);
      close(fd);
    }
  }
  state.counters["Mframes/s"] =
      benchmark::Counter(static_cast<double>(frames) / 1e6, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ReadMapped)->Arg(0)->Arg(1)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace skyprobe

BENCHMARK_MAIN();
