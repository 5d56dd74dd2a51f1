// libFuzzer target: structured filters (a serialized skyprobe.v1.Filter)
// through CheckFilterLimits and CompiledFilter, evaluated on sample flows.
// Any broken invariant (filter_invariants.h) traps; ASan and UBSan catch the
// rest.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "filter_invariants.h"
#include "google/protobuf/stubs/logging.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);  // no line per string that is not UTF-8
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string why;
  if (!skyprobe::testing::FilterStructFuzzInput(data, size, &why)) {
    std::fprintf(stderr, "structured filter invariant broken: %s\n", why.c_str());
    __builtin_trap();
  }
  return 0;
}
