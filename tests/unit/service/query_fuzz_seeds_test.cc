// The seeds of grpc_query_fuzz through its invariants
// (tests/fuzz/query_invariants.h), so that every build runs the same checks:
// the FlowQuerys of tests/fuzz/seeds/queries.textproto, one query per filter
// expression seed, and bytes that are no FlowQuery at all.

#include <grpc/grpc.h>

#include <fstream>
#include <sstream>
#include <string>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/common/test_paths.h"
#include "tests/fuzz/query_invariants.h"

namespace skyprobe::testing {
namespace {

std::string ReadSeedFile(const std::string& name) {
  std::ifstream in(SourceRoot() + "/tests/fuzz/seeds/" + name);
  EXPECT_TRUE(in) << "seed file " << name << " not found under " << SourceRoot();
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool Check(const skyprobe::v1::FlowQuery& q, std::string* why) {
  const std::string bytes = q.SerializeAsString();
  return QueryRequestFuzzInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), why);
}

TEST(QueryFuzzSeedsTest, SeedsKeepTheInvariants) {
  grpc_init();
  std::stringstream blocks(ReadSeedFile("queries.textproto"));
  std::string line, block;
  int seeds = 0;
  auto flush = [&] {
    if (block.empty()) return;
    skyprobe::v1::FlowQuery q;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(block, &q)) << block;
    std::string why;
    EXPECT_TRUE(Check(q, &why)) << block << ": " << why;
    ++seeds;
    block.clear();
  };
  while (std::getline(blocks, line)) {
    if (line.rfind("#", 0) == 0) continue;
    if (line == "---") {
      flush();
    } else {
      block += line + "\n";
    }
  }
  flush();
  std::stringstream expressions(ReadSeedFile("filter_expressions.txt"));
  while (std::getline(expressions, line)) {
    if (line.empty() || line[0] == '#') continue;
    skyprobe::v1::FlowQuery q;
    q.set_expression(line);
    std::string why;
    EXPECT_TRUE(Check(q, &why)) << line << ": " << why;
    ++seeds;
  }
  EXPECT_GT(seeds, 50);
  // Not protobuf, and protobuf nested deeper than the decoder goes.
  std::string why;
  const std::string junk = "\x12\xff\xff\xff\xff\x0f";
  EXPECT_TRUE(
      QueryRequestFuzzInput(reinterpret_cast<const uint8_t*>(junk.data()), junk.size(), &why))
      << why;
  skyprobe::v1::FlowQuery deep;
  skyprobe::v1::Filter* f = deep.mutable_filter();
  for (int i = 0; i < 300; ++i) {
    f->mutable_boolfilter()->set_op(skyprobe::v1::BoolFilter::NOT);
    f = f->mutable_boolfilter()->add_filters();
  }
  EXPECT_TRUE(Check(deep, &why)) << why;
  grpc_shutdown();
}

}  // namespace
}  // namespace skyprobe::testing
