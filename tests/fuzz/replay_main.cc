// replay_main.cc: a libFuzzer target's LLVMFuzzerTestOneInput run over files,
// without libFuzzer, so that every build (gcc, release, ASan/UBSan) replays the
// fuzzers' seed corpora through the same checks.
//
// Owner: test code only; one process, one thread. A broken invariant traps
// inside the target, a sanitizer report ends the process: either fails the test.
//
//   parser_fuzz_replay CORPUS_DIR [FILE...]   # tests/fuzz/replay_seeds.py writes the seeds
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool ReplayFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return false;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  // An exactly-sized heap copy: ASan sees any read past the input.
  std::vector<uint8_t> input(bytes.begin(), bytes.end());
  input.shrink_to_fit();
  static const uint8_t kEmpty[1] = {0};  // libFuzzer never passes a null pointer
  LLVMFuzzerTestOneInput(input.empty() ? kEmpty : input.data(), input.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  long replayed = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(arg)) {
      for (const auto& e : std::filesystem::directory_iterator(arg)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else {
      files.push_back(arg);
    }
    for (const auto& f : files) {
      if (!ReplayFile(f)) return 1;
      ++replayed;
    }
  }
  std::printf("replay: %ld inputs, every invariant held\n", replayed);
  // Nothing replayed is a test that did not run, never a pass.
  return replayed > 0 ? 0 : 1;
}
