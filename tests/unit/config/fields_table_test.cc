// The table of settings (SKYPROBE_CONFIG_FIELDS, config_internal.h): every
// field's flag and YAML key are unique, --help names every flag, and
// docs/configuration.md, written for people and read here as the oracle,
// has a row giving each field's YAML key with its flag.
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/config_internal.h"
#include "gtest/gtest.h"

namespace skyprobe::config_internal {
namespace {

std::vector<Field> AllFields() {
  std::vector<Field> all;
  for (size_t i = 0; i < kFieldCount; ++i) all.push_back(static_cast<Field>(i));
  return all;
}

TEST(FieldsTableTest, FlagsAndYamlKeysAreUniqueAndNamedInHelp) {
  std::set<std::string> flags, keys;
  const std::string help = UsageText();
  for (const Field f : AllFields()) {
    const std::string flag(FieldFlag(f));
    const std::string key(FieldYamlKey(f));
    EXPECT_FALSE(flag.empty());
    EXPECT_TRUE(flags.insert(flag).second) << flag << " twice";
    EXPECT_TRUE(keys.insert(key).second) << key << " twice";
    EXPECT_NE(help.find("--" + flag), std::string::npos) << "--help does not name --" << flag;
  }
  EXPECT_EQ(FieldFlag(Field::kExpire), "expire");
  EXPECT_EQ(FieldYamlKey(Field::kExpire), "flow.expire");
  EXPECT_EQ(FieldFlag(Field::kPort), "port");
  EXPECT_EQ(FieldYamlKey(Field::kPort), "input.ports");
  EXPECT_EQ(DefaultLabels()[static_cast<size_t>(Field::kPcapReader)], "--pcap-reader");
}

TEST(FieldsTableTest, TheDocumentationHasARowForEveryField) {
  std::ifstream in(std::string(SKYPROBE_TEST_SOURCE_ROOT) + "/docs/configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md not found";
  std::vector<std::string> rows;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == '|') rows.push_back(line);
  }
  for (const Field f : AllFields()) {
    const std::string key = "`" + std::string(FieldYamlKey(f)) + "`";
    const std::string flag = "`--" + std::string(FieldFlag(f));
    bool found = false;
    for (const std::string& r : rows)
      found |= r.find(key) != std::string::npos && r.find(flag) != std::string::npos;
    EXPECT_TRUE(found) << "docs/configuration.md has no row with " << key << " and " << flag;
  }
}

}  // namespace
}  // namespace skyprobe::config_internal
