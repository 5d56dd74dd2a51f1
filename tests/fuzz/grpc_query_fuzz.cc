// libFuzzer target: the gRPC request handling of Query, QueryStream and
// ExportPcap: a FlowQuery's bytes decoded by the server's decoder
// (request_traits.h), then the query runner against a small table. Any broken
// invariant (query_invariants.h) traps; ASan and UBSan catch the rest.
#include <grpc/grpc.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "google/protobuf/stubs/logging.h"
#include "query_invariants.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  grpc_init();                               // slices and byte buffers need gRPC's core
  google::protobuf::SetLogHandler(nullptr);  // no line per string that is not UTF-8
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string why;
  if (!skyprobe::testing::QueryRequestFuzzInput(data, size, &why)) {
    std::fprintf(stderr, "query request invariant broken: %s\n", why.c_str());
    __builtin_trap();
  }
  return 0;
}
