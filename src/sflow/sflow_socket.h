// sflow_socket.h: the UDP sockets of the sFlow collector (--sflow-listen).
//
// Owner: opened on the main thread at start-up (so a bind error stops the
// probe with a clear message before anything runs), then used only by the
// sFlow source's thread. Receives in batches with recvmmsg: one poll and one
// recvmmsg per batch of up to kBatch datagrams per socket, never a syscall
// per packet of the datagrams.
//
//   SKYPROBE_ASSIGN_OR_RETURN(auto socks, SflowSockets::Open(cfg.sflow_listen));
//   uint32_t n = socks->Receive(/*timeout_ms=*/5);   // then socks->datagram(i)
//
// Losses the collector cannot see are still counted: every socket asks for
// SO_RXQ_OVFL, so each datagram carries the kernel's count of datagrams the
// socket dropped (receive buffer full) and kernel_drops() sums them. The
// receive buffer the kernel actually granted is kept per socket
// (buffer_reports()) so that start-up can say when it is smaller than asked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <sys/socket.h>

#include "absl/status/statusor.h"

namespace skyprobe::sflow {

// The address a datagram came from (IPv4-mapped IPv6 senders are given as IPv4).
struct PeerAddress {
  uint8_t ip_version = 0;  // 4 or 6; 0: unknown
  uint8_t addr[16] = {};
};

class SflowSockets {
 public:
  static constexpr uint32_t kBatch = 32;                // datagrams per recvmmsg
  static constexpr size_t kDatagramBuffer = 64 * 1024;  // larger than any UDP datagram
  static constexpr size_t kMaxSockets = 16;             // --sflow-listen addresses
  // SO_RCVBUF asked for: a big kernel buffer absorbs bursts of datagrams
  // while the loop is busy (the kernel caps it at net.core.rmem_max).
  static constexpr int kReceiveBuffer = 8 << 20;

  // Binds one UDP socket per "ADDR:PORT". Errors name the address:
  // "--sflow-listen 0.0.0.0:6343: Address already in use".
  static absl::StatusOr<std::unique_ptr<SflowSockets>> Open(
      const std::vector<std::string>& listen, const std::string& label = "--sflow-listen",
      int receive_buffer = kReceiveBuffer);

  // What the kernel granted for one socket's receive buffer. Linux doubles
  // the SO_RCVBUF value it accepts (room for its bookkeeping) and reports the
  // doubled value, so a socket got what it asked when granted >= 2 * asked.
  struct BufferReport {
    std::string where;  // "--sflow-listen 0.0.0.0:6343"
    int asked = 0;      // SO_RCVBUF given to setsockopt
    int granted = 0;    // SO_RCVBUF read back with getsockopt
    bool short_of_ask() const { return int64_t{granted} < 2 * int64_t{asked}; }
  };
  const std::vector<BufferReport>& buffer_reports() const { return buffers_asked_; }
  ~SflowSockets();
  SflowSockets(const SflowSockets&) = delete;
  SflowSockets& operator=(const SflowSockets&) = delete;

  // Waits up to `timeout_ms` (0: not at all) for datagrams, then takes up to
  // kBatch from each ready socket. Returns how many datagram(i) now holds.
  uint32_t Receive(int timeout_ms) noexcept;
  struct Datagram {
    const uint8_t* data;
    size_t len;
    bool truncated;  // longer than the buffer (cannot happen for UDP; counted if it does)
    PeerAddress from;
    uint32_t socket;  // which listener received it (Open's order)
  };
  Datagram datagram(uint32_t i) const;

  // The port each socket is bound to (the chosen one for port 0), in order.
  const std::vector<uint16_t>& ports() const { return ports_; }
  uint64_t receive_errors() const { return receive_errors_; }
  // Datagrams the kernel dropped before the collector read them (receive
  // buffer full), from SO_RXQ_OVFL, over every socket since it was opened.
  uint64_t kernel_drops() const { return kernel_drops_; }

 private:
  SflowSockets() = default;
  void NoteDrops(size_t socket, msghdr& m) noexcept;

  std::vector<int> fds_;
  std::vector<uint16_t> ports_;
  std::unique_ptr<uint8_t[]> buffers_;  // kBatch * kDatagramBuffer per socket round
  std::vector<size_t> lens_;
  std::vector<bool> truncated_;
  std::vector<uint32_t> slot_;             // datagram i -> buffer slot
  std::vector<sockaddr_storage> from_;     // sender per buffer slot
  std::vector<uint8_t> control_;           // ancillary data per buffer slot (kControlBytes each)
  std::vector<uint32_t> last_drop_count_;  // per socket: the kernel's count last seen
  std::vector<BufferReport> buffers_asked_;
  uint64_t receive_errors_ = 0;  // recvmmsg failures other than "nothing to read"
  uint64_t kernel_drops_ = 0;
};

}  // namespace skyprobe::sflow
