// libFuzzer target: ParseFrame on arbitrary bytes, every supported link type,
// both key modes, with and without the wire length (parse_invariants.h gives
// the input format). Any invariant broken traps; ASan/UBSan catch the rest.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "parse_invariants.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string why;
  if (!skyprobe::testing::ParseFuzzInput(data, size, &why)) {
    std::fprintf(stderr, "parse invariant broken: %s\n", why.c_str());
    __builtin_trap();
  }
  return 0;
}
