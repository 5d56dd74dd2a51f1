// libFuzzer target: the filter language (ParseFilterExpression, and
// CompiledFilter from the text and from the Filter it parses to) on
// arbitrary text. Any broken invariant (filter_invariants.h) traps; ASan and
// UBSan catch the rest.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "filter_invariants.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string why;
  if (!skyprobe::testing::FilterTextFuzzInput(data, size, &why)) {
    std::fprintf(stderr, "filter text invariant broken: %s\n", why.c_str());
    __builtin_trap();
  }
  return 0;
}
