// transport_util.h: what the three transports share: address resolution,
// errno statuses, and their constructors (Exporter::Create picks one).
//
// Owner: the control lcore at start-up (Resolve, the constructors); the
// exporter thread afterwards.
//
//   SKYPROBE_ASSIGN_OR_RETURN(ResolvedAddress a, Resolve("collector", 4739, SOCK_DGRAM, name));
//   connect(fd, reinterpret_cast<const sockaddr*>(&a.storage), a.length);
#pragma once

#include <sys/socket.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "export/ipfix/exporter.h"
#include "skyprobe/status.h"

namespace skyprobe::ipfix {

struct ResolvedAddress {
  int family = 0;
  sockaddr_storage storage{};
  socklen_t length = 0;
};

// The first address getaddrinfo(3) gives for `host` (a name or a numeric
// address) and `port`; errors name the destination ("--ipfix udp://x:1: ...").
absl::StatusOr<ResolvedAddress> Resolve(const std::string& host, uint16_t port, int socktype,
                                        const std::string& name);

// "--ipfix NAME: CALL: strerror(errno)".
absl::Status ErrnoStatus(const std::string& name, const char* call);

absl::StatusOr<std::unique_ptr<Exporter>> NewUdpExporter(const ExporterOptions& o,
                                                         BatchQueue* queue,
                                                         ExporterCounters* counters);
absl::StatusOr<std::unique_ptr<Exporter>> NewTcpExporter(const ExporterOptions& o,
                                                         BatchQueue* queue,
                                                         ExporterCounters* counters);
absl::StatusOr<std::unique_ptr<Exporter>> NewFileExporter(const ExporterOptions& o,
                                                          BatchQueue* queue,
                                                          ExporterCounters* counters);

}  // namespace skyprobe::ipfix
