#include "export/ipfix/transport_util.h"

#include <netdb.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace skyprobe::ipfix {

absl::StatusOr<ResolvedAddress> Resolve(const std::string& host, uint16_t port, int socktype,
                                        const std::string& name) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ipfix ", name, ": cannot resolve ", host, ": ", gai_strerror(rc)));
  }
  ResolvedAddress a;
  a.family = res->ai_family;
  a.length = static_cast<socklen_t>(res->ai_addrlen);
  std::memcpy(&a.storage, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return a;
}

absl::Status ErrnoStatus(const std::string& name, const char* call) {
  const int err = errno;
  return Annotate(ErrnoToStatus(err, call), absl::StrCat("--ipfix ", name));
}

absl::StatusOr<std::unique_ptr<Exporter>> Exporter::Create(const ExporterOptions& o,
                                                           BatchQueue* queue,
                                                           ExporterCounters* counters) {
  switch (o.kind) {
    case TransportKind::kUdp:
      return NewUdpExporter(o, queue, counters);
    case TransportKind::kTcp:
      return NewTcpExporter(o, queue, counters);
    case TransportKind::kFile:
      return NewFileExporter(o, queue, counters);
  }
  return absl::InvalidArgumentError("unknown IPFIX transport");
}

}  // namespace skyprobe::ipfix
