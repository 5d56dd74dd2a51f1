// test_paths.h: where tests find their inputs and the binaries under test.
//
// Owner: test code only.
//
//   std::string dir = SharedPcapDir();            // "" when the folder is absent
//   if (dir.empty()) GTEST_SKIP_OR_FAIL("...");   // see SharedPcapsOrExplain()
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace skyprobe::testing {

inline std::string SourceRoot() {
  const char* s = std::getenv("SKYPROBE_SOURCE_ROOT");
  return s != nullptr ? s : ".";
}

inline std::string BuildRoot() {
  const char* s = std::getenv("SKYPROBE_BUILD_ROOT");
  return s != nullptr ? s : ".";
}

// $SKYPROBE_PCAPS, or <source>/../shared/pcaps. Empty if the folder is absent.
inline std::string SharedPcapDir() {
  const char* s = std::getenv("SKYPROBE_PCAPS");
  std::string dir = s != nullptr ? s : SourceRoot() + "/../shared/pcaps";
  return std::filesystem::is_directory(dir) ? dir : std::string();
}

// True when the absence of the shared traces must fail the test (CI).
inline bool SharedPcapsRequired() {
  const char* s = std::getenv("SKYPROBE_REQUIRE_SHARED");
  return s != nullptr && std::string(s) == "1";
}

}  // namespace skyprobe::testing
