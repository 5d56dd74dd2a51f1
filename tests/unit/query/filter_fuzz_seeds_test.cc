// The seeds of the filter fuzz targets through their invariants
// (tests/fuzz/filter_invariants.h), so that every build, not only a clang
// fuzz build, runs the same checks on them.

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/common/test_paths.h"
#include "tests/fuzz/filter_invariants.h"

namespace skyprobe::testing {
namespace {

std::string ReadSeedFile(const std::string& name) {
  std::ifstream in(SourceRoot() + "/tests/fuzz/seeds/" + name);
  EXPECT_TRUE(in) << "seed file " << name << " not found under " << SourceRoot();
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Blocks of a .textproto seed file (comment lines dropped, "---" between).
std::vector<std::string> Blocks(const std::string& name) {
  std::stringstream in(ReadSeedFile(name));
  std::vector<std::string> out(1);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("#", 0) == 0) continue;
    if (line == "---") {
      out.emplace_back();
    } else {
      out.back() += line + "\n";
    }
  }
  return out;
}

TEST(FilterFuzzSeedsTest, TextSeedsKeepTheInvariants) {
  std::stringstream in(ReadSeedFile("filter_expressions.txt"));
  std::string line;
  int seeds = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::string why;
    EXPECT_TRUE(
        FilterTextFuzzInput(reinterpret_cast<const uint8_t*>(line.data()), line.size(), &why))
        << line << ": " << why;
    ++seeds;
  }
  EXPECT_GT(seeds, 40);
}

TEST(FilterFuzzSeedsTest, StructuredSeedsKeepTheInvariants) {
  int seeds = 0;
  for (const std::string& block : Blocks("filters.textproto")) {
    skyprobe::v1::Filter f;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(block, &f)) << block;
    const std::string bytes = f.SerializeAsString();
    std::string why;
    EXPECT_TRUE(
        FilterStructFuzzInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &why))
        << block << ": " << why;
    ++seeds;
  }
  EXPECT_GT(seeds, 10);
}

}  // namespace
}  // namespace skyprobe::testing
