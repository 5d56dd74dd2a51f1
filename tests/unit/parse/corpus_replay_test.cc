// Deterministic replay of the fuzzers' seed corpus in every build: each frame
// of the shared traces (skydive/ and tcpdump/) goes through the libFuzzer
// target's own checks (tests/fuzz/parse_invariants.h) with its link type in
// both key modes, with and without the wire length, and once as every other
// link type, as a fuzzer mutating the selector byte would try.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "parse_invariants.h"
#include "pcap_frames.h"
#include "test_paths.h"

namespace skyprobe::testing {
namespace {

TEST(SeedCorpusReplay, EveryFrameKeepsTheParserInvariants) {
  const std::string dir = SharedPcapDir();
  if (dir.empty()) {
    if (SharedPcapsRequired()) FAIL() << "shared traces not found";
    GTEST_SKIP() << "shared traces absent: seed corpus replay did not run";
  }
  long inputs = 0, frames_seen = 0;
  int files = 0;
  for (const char* sub : {"skydive", "tcpdump"}) {
    for (const auto& entry : std::filesystem::directory_iterator(dir + "/" + sub)) {
      const std::string ext = entry.path().extension().string();
      if (ext != ".pcap" && ext != ".pcapng") continue;
      std::vector<Frame> frames;
      int dlt = -1;
      if (!ReadPcap(entry.path().string(), &dlt, &frames)) continue;
      if (!IsSupportedLinkType(static_cast<uint32_t>(dlt))) continue;
      ++files;
      const LinkType own = static_cast<LinkType>(dlt);
      for (const Frame& f : frames) {
        ++frames_seen;
        std::vector<uint8_t> input(1 + f.bytes.size());
        std::copy(f.bytes.begin(), f.bytes.end(), input.begin() + 1);
        std::vector<uint8_t> selectors;
        for (bool l3 : {false, true}) {
          for (bool unknown : {false, true}) selectors.push_back(FuzzSelector(own, l3, unknown));
        }
        for (LinkType other : kFuzzLinks) {
          if (other != own) selectors.push_back(FuzzSelector(other));
        }
        for (uint8_t selector : selectors) {
          input[0] = selector;
          std::string why;
          ++inputs;
          ASSERT_TRUE(ParseFuzzInput(input.data(), input.size(), &why))
              << entry.path() << " frame " << frames_seen << " selector " << int{selector} << ": "
              << why;
        }
      }
    }
  }
  std::printf("seed corpus replay: %d files, %ld frames, %ld inputs\n", files, frames_seen, inputs);
  EXPECT_GT(files, 500);
  EXPECT_GT(frames_seen, 8000);
}

}  // namespace
}  // namespace skyprobe::testing
