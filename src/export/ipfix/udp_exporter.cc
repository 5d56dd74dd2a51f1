// udp_exporter.cc: IPFIX over UDP (RFC 7011 §10.3): one message per
// datagram, never longer than --ipfix-mtu and never fragmented (the don't-
// fragment bit is set: a path with a smaller MTU makes send fail, counted);
// templates at start and every refresh period; optional pacing in records
// per second. A datagram that cannot be sent is lost and counted.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "export/ipfix/transport_util.h"

namespace skyprobe::ipfix {
namespace {

class UdpExporter final : public Exporter {
 public:
  UdpExporter(const ExporterOptions& o, BatchQueue* q, ExporterCounters* c, int fd)
      : Exporter(o, q, c), fd_(fd) {
    msg_.Reserve(o.mtu + 64);
  }

 protected:
  int64_t Pump(int64_t now_ms, int* fd, short* events) override;
  absl::Status Close() override {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    return absl::OkStatus();
  }

 private:
  static int64_t NowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  int fd_;
  bool started_ = false;
  int64_t next_refresh_ms_ = 0;
  int64_t pace_next_ns_ = 0;  // earliest time of the next datagram (pacing)
  ByteBuffer msg_;
};

int64_t UdpExporter::Pump(int64_t now_ms, int* fd, short* events) {
  *fd = -1;
  *events = 0;
  const int64_t refresh_ms = static_cast<int64_t>(opts_.template_refresh_s) * 1000;
  if (!started_) {
    started_ = true;
    NewSession();
    next_refresh_ms_ = now_ms + refresh_ms;
  }
  if (now_ms >= next_refresh_ms_) {
    RefreshAnnouncements();
    next_refresh_ms_ = now_ms + refresh_ms;
  }
  int64_t wake = next_refresh_ms_;
  // Bounded work per call: the queue is drained between rounds.
  for (int round = 0; round < 256; ++round) {
    if (opts_.rate != 0) {
      const int64_t now_ns = NowNs();
      if (now_ns < pace_next_ns_) {
        wake = std::min(wake, now_ms + (pace_next_ns_ - now_ns) / 1'000'000);
        break;
      }
      // An idle period does not bank credit beyond one datagram.
      pace_next_ns_ = std::max(pace_next_ns_, now_ns);
    }
    msg_.clear();
    uint32_t flows = 0;
    uint32_t templates = 0;
    uint32_t orphans = 0;
    const size_t len = PackNext(&msg_, &flows, &templates, &orphans);
    if (len == 0) break;
    ReleaseSpool(spool_sent_);  // sent or lost: never sent again
    if (opts_.rate != 0) {
      pace_next_ns_ +=
          static_cast<int64_t>(flows) * 1'000'000'000 / static_cast<int64_t>(opts_.rate);
    }
    // A blocking send: it waits only for room in the socket buffer, and the
    // control lcore never waits for this thread.
    const ssize_t n = send(fd_, msg_.data(), len, 0);
    if (n == static_cast<ssize_t>(len)) {
      counters_->messages.fetch_add(1, std::memory_order_relaxed);
      counters_->bytes.fetch_add(len, std::memory_order_relaxed);
      counters_->delivered.fetch_add(flows, std::memory_order_relaxed);
      counters_->templates.fetch_add(templates, std::memory_order_relaxed);
    } else {
      // ECONNREFUSED (an ICMP error for an earlier datagram), EMSGSIZE (a
      // path MTU below --ipfix-mtu), ENOBUFS...: this datagram is lost.
      counters_->errors.fetch_add(1, std::memory_order_relaxed);
      // A uniflow record split over two datagrams is then counted both
      // delivered (its first half) and lost.
      counters_->spool_lost.fetch_add(flows + orphans, std::memory_order_relaxed);
    }
  }
  if (spool_sent_ < spool_end_ && opts_.rate == 0) wake = now_ms;
  return wake;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Exporter>> NewUdpExporter(const ExporterOptions& o,
                                                         BatchQueue* queue,
                                                         ExporterCounters* counters) {
  SKYPROBE_ASSIGN_OR_RETURN(const ResolvedAddress addr,
                            Resolve(o.host, o.port, SOCK_DGRAM, o.name));
  const int fd = socket(addr.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus(o.name, "socket");
  // Never fragment: IP_PMTUDISC_DO sets DF; a datagram above the path MTU
  // fails to send (EMSGSIZE) instead of leaving in fragments.
  if (addr.family == AF_INET6) {
    const int pmtu = IPV6_PMTUDISC_DO;
    setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof(pmtu));
  } else {
    const int pmtu = IP_PMTUDISC_DO;
    setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
  }
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr.storage), addr.length) != 0) {
    const absl::Status st = ErrnoStatus(o.name, "connect");
    close(fd);
    return st;
  }
  return std::unique_ptr<Exporter>(new UdpExporter(o, queue, counters, fd));
}

}  // namespace skyprobe::ipfix
