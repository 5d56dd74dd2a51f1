// sflow_socket.cc: bind, poll and recvmmsg for the sFlow collector.

#include "sflow/sflow_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "config/config.h"

namespace skyprobe::sflow {
namespace {

// A big kernel buffer absorbs bursts of datagrams while the loop is busy;
// best effort (the kernel caps it at net.core.rmem_max).
constexpr int kReceiveBuffer = 8 << 20;

}  // namespace

absl::StatusOr<std::unique_ptr<SflowSockets>> SflowSockets::Open(
    const std::vector<std::string>& listen, const std::string& label) {
  if (listen.empty() || listen.size() > kMaxSockets) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": give 1..", kMaxSockets, " addresses, got ", listen.size()));
  }
  std::unique_ptr<SflowSockets> s(new SflowSockets());
  for (const std::string& text : listen) {
    const std::string where = absl::StrCat(label, " ", text);
    absl::StatusOr<ListenAddress> addr = ParseListenAddress(text);
    if (!addr.ok())
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", addr.status().message()));
    sockaddr_storage ss{};
    socklen_t sslen;
    if (addr->ipv6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(addr->port);
      inet_pton(AF_INET6, addr->host.c_str(), &a->sin6_addr);
      sslen = sizeof(*a);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_port = htons(addr->port);
      inet_pton(AF_INET, addr->host.c_str(), &a->sin_addr);
      sslen = sizeof(*a);
    }
    const int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return absl::InternalError(absl::StrCat(where, ": socket: ", std::strerror(errno)));
    s->fds_.push_back(fd);  // closed by the destructor whatever happens next
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kReceiveBuffer, sizeof(kReceiveBuffer));
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), sslen) != 0) {
      const int err = errno;
      const std::string msg = absl::StrCat(where, ": ", std::strerror(err));
      if (err == EADDRINUSE) return absl::AlreadyExistsError(msg);
      if (err == EACCES) return absl::PermissionDeniedError(msg);
      return absl::InvalidArgumentError(msg);
    }
    sockaddr_storage bound{};
    socklen_t blen = sizeof(bound);
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
    s->ports_.push_back(ntohs(bound.ss_family == AF_INET6
                                  ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                  : reinterpret_cast<sockaddr_in*>(&bound)->sin_port));
  }
  const size_t slots = size_t{kBatch} * s->fds_.size();
  s->buffers_.reset(new uint8_t[slots * kDatagramBuffer]);
  s->lens_.assign(slots, 0);
  s->truncated_.assign(slots, false);
  s->slot_.assign(slots, 0);
  return s;
}

SflowSockets::~SflowSockets() {
  for (int fd : fds_) close(fd);
}

uint32_t SflowSockets::Receive(int timeout_ms) noexcept {
  pollfd pfds[kMaxSockets];
  const size_t nfds = fds_.size();
  for (size_t i = 0; i < nfds; ++i) pfds[i] = pollfd{fds_[i], POLLIN, 0};
  if (poll(pfds, nfds, timeout_ms) <= 0) return 0;
  uint32_t got = 0;
  mmsghdr msgs[kBatch];
  iovec iovs[kBatch];
  for (size_t f = 0; f < fds_.size(); ++f) {
    if ((pfds[f].revents & POLLIN) == 0) continue;
    const size_t base = f * kBatch;
    for (uint32_t i = 0; i < kBatch; ++i) {
      iovs[i] = iovec{buffers_.get() + (base + i) * kDatagramBuffer, kDatagramBuffer};
      msgs[i] = mmsghdr{};
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = recvmmsg(fds_[f], msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++receive_errors_;
      continue;
    }
    for (int i = 0; i < n; ++i) {
      lens_[base + i] = msgs[i].msg_len;
      truncated_[base + i] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
      slot_[got++] = static_cast<uint32_t>(base + i);
    }
  }
  return got;
}

SflowSockets::Datagram SflowSockets::datagram(uint32_t i) const {
  const uint32_t slot = slot_[i];
  return Datagram{buffers_.get() + size_t{slot} * kDatagramBuffer, lens_[slot], truncated_[slot]};
}

}  // namespace skyprobe::sflow
