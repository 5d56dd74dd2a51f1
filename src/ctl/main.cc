// main.cc: skyprobectl, the command-line client of skyprobe's gRPC service.
// The only place that turns a Status into an exit code and a one-line message.

#include <grpc/support/log.h>

#include <cstdio>
#include <string>

#include "ctl/commands.h"
#include "ctl/ctl_options.h"

namespace {

// gRPC's own log lines ("E1201 ... Handshake failed ...") are not
// skyprobectl's message: a failed call is said once, in its one line
// (commands.cc says what is likely missing).
void NoGrpcLog(gpr_log_func_args*) {}

}  // namespace

int main(int argc, char** argv) {
  gpr_set_log_function(&NoGrpcLog);
  absl::StatusOr<skyprobe::ctl::CtlOptions> o = skyprobe::ctl::ParseCtlArgs(argc, argv);
  if (!o.ok()) {
    std::fprintf(stderr, "skyprobectl: %s\n", std::string(o.status().message()).c_str());
    return 2;
  }
  if (o->command == "help") {
    std::fputs(skyprobe::ctl::CtlUsage().c_str(), stdout);
    return 0;
  }
  const absl::Status s = skyprobe::ctl::RunCommand(*o, stdout);
  if (!s.ok()) {
    std::fprintf(stderr, "skyprobectl: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}
