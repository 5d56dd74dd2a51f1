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

// Room for one SO_RXQ_OVFL message (a uint32_t) per datagram.
constexpr size_t kControlBytes = CMSG_SPACE(sizeof(uint32_t));

PeerAddress ToPeer(const sockaddr_storage& ss) {
  PeerAddress p;
  if (ss.ss_family == AF_INET) {
    p.ip_version = 4;
    std::memcpy(p.addr, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, 4);
  } else if (ss.ss_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
      p.ip_version = 4;
      std::memcpy(p.addr, a.s6_addr + 12, 4);
    } else {
      p.ip_version = 6;
      std::memcpy(p.addr, a.s6_addr, 16);
    }
  }
  return p;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SflowSockets>> SflowSockets::Open(
    const std::vector<std::string>& listen, const std::string& label, int receive_buffer) {
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
    // Best effort: the kernel caps the buffer at net.core.rmem_max; what it
    // granted is reported at start-up when it is less than asked.
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
    int granted = 0;
    socklen_t glen = sizeof(granted);
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &glen);
    s->buffers_asked_.push_back(BufferReport{where, receive_buffer, granted});
    const int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) != 0) {
      return absl::InternalError(
          absl::StrCat(where, ": setsockopt SO_RXQ_OVFL: ", std::strerror(errno)));
    }
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
  s->from_.assign(slots, sockaddr_storage{});
  s->control_.assign(slots * kControlBytes, 0);
  s->last_drop_count_.assign(s->fds_.size(), 0);
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
      msgs[i].msg_hdr.msg_name = &from_[base + i];
      msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      msgs[i].msg_hdr.msg_control = control_.data() + (base + i) * kControlBytes;
      msgs[i].msg_hdr.msg_controllen = kControlBytes;
    }
    const int n = recvmmsg(fds_[f], msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++receive_errors_;
      continue;
    }
    for (int i = 0; i < n; ++i) {
      lens_[base + i] = msgs[i].msg_len;
      truncated_[base + i] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
      if (msgs[i].msg_hdr.msg_namelen == 0) from_[base + i].ss_family = AF_UNSPEC;
      slot_[got++] = static_cast<uint32_t>(base + i);
      NoteDrops(f, msgs[i].msg_hdr);
    }
  }
  return got;
}

// SO_RXQ_OVFL: the socket's drop count (cumulative, 32-bit, wrapping) as it
// was when the datagram was queued; the kernel attaches it once non-zero.
void SflowSockets::NoteDrops(size_t socket, msghdr& m) noexcept {
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL) continue;
    uint32_t count = 0;
    std::memcpy(&count, CMSG_DATA(c), sizeof(count));
    // Datagrams queued before a drop carry the older count: only forward moves count.
    const uint32_t delta = count - last_drop_count_[socket];
    if (delta != 0 && delta < (1u << 31)) {
      kernel_drops_ += delta;
      last_drop_count_[socket] = count;
    }
  }
}

SflowSockets::Datagram SflowSockets::datagram(uint32_t i) const {
  const uint32_t slot = slot_[i];
  return Datagram{buffers_.get() + size_t{slot} * kDatagramBuffer, lens_[slot], truncated_[slot],
                  ToPeer(from_[slot]), static_cast<uint32_t>(slot / kBatch)};
}

}  // namespace skyprobe::sflow
