// libFuzzer target: the sFlow v5 decoder on arbitrary datagrams, every raw
// packet header it accepts through ParseFrame (sflow_invariants.h). Any
// broken invariant traps; ASan/UBSan catch the rest.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "sflow_invariants.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string why;
  if (!skyprobe::testing::SflowFuzzInput(data, size, &why)) {
    std::fprintf(stderr, "sflow invariant broken: %s\n", why.c_str());
    __builtin_trap();
  }
  return 0;
}
