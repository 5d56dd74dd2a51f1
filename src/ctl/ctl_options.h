// ctl_options.h: skyprobectl's command line.
//
// Owner: skyprobectl's main thread.
//
//   SKYPROBE_ASSIGN_OR_RETURN(CtlOptions o, ParseCtlArgs(argc, argv));
//
//   skyprobectl COMMAND [--probe HOST[:PORT]]... [options]
//   COMMAND: flows | top | watch | pcap | stats | flush | help
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "skyprobe/v1/probe_service.pb.h"

namespace skyprobe::ctl {

struct CtlOptions {
  std::string command;
  std::vector<std::string> probes;  // default: 127.0.0.1:50051
  bool json = false;                // --json, or --format json
  // flows: "table" (default), "json" or "csv" (--format); --json is "json".
  std::string format = "table";
  std::string columns;  // --columns A,B,...: empty: the format's default columns
  // Table width to fit (--width; 0: no limit). Unset (-1): the terminal's
  // width when stdout is one, else no limit.
  int64_t width = -1;
  std::string filter;
  std::string sort_by;
  // Unspecified: ascending for flows; for groups, descending by a counter.
  skyprobe::v1::SortOrder sort_order = skyprobe::v1::SORT_ORDER_UNSPECIFIED;
  std::string dedup_by;
  // flows --group-by KEY[,KEY...]: counted by group in the probes (Aggregate).
  std::vector<std::string> group_by;
  // --capture ID (repeatable): folded into `filter` as "CaptureID in (...)".
  std::vector<std::string> captures;
  uint64_t limit = 0;       // 0: every flow
  std::string output;       // pcap -o
  std::string uuid;         // pcap --uuid
  uint64_t count = 0;       // watch: stop after this many records (0: never)
  double interval_sec = 1;  // stats: seconds between the two readings (0: one, no rates)
  bool all = false;         // stats: every counter, "scope name value" lines
  // Transport security.
  std::string token_file;
  std::string tls_ca;    // CA of the probe's certificate: enables TLS
  std::string tls_cert;  // client certificate (mutual TLS)
  std::string tls_key;
  std::string tls_server_name;  // name to check in the probe's certificate
  int timeout_sec = 30;         // per unary RPC
};

// INVALID_ARGUMENT with a message naming the flag ("--limit: 'x' is not a
// number"). --filter and --sort keys are checked here, before any RPC.
absl::StatusOr<CtlOptions> ParseCtlArgs(int argc, const char* const* argv);

std::string CtlUsage();

// The port of a --probe given without one (the probe's --grpc-listen default).
inline constexpr int kDefaultProbePort = 50051;

// A --probe argument as a gRPC target: HOST -> HOST:50051, a bare IPv6
// address -> [IPV6]:50051; HOST:PORT and gRPC's own forms (unix:PATH,
// dns:///...) as given. INVALID_ARGUMENT for an empty host or a bad port.
absl::StatusOr<std::string> ProbeAddress(const std::string& arg);

}  // namespace skyprobe::ctl
