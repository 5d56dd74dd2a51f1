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
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace skyprobe::sflow {

class SflowSockets {
 public:
  static constexpr uint32_t kBatch = 32;                // datagrams per recvmmsg
  static constexpr size_t kDatagramBuffer = 64 * 1024;  // larger than any UDP datagram
  static constexpr size_t kMaxSockets = 16;             // --sflow-listen addresses

  // Binds one UDP socket per "ADDR:PORT". Errors name the address:
  // "--sflow-listen 0.0.0.0:6343: Address already in use".
  static absl::StatusOr<std::unique_ptr<SflowSockets>> Open(
      const std::vector<std::string>& listen, const std::string& label = "--sflow-listen");
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
  };
  Datagram datagram(uint32_t i) const;

  // The port each socket is bound to (the chosen one for port 0), in order.
  const std::vector<uint16_t>& ports() const { return ports_; }
  uint64_t receive_errors() const { return receive_errors_; }

 private:
  SflowSockets() = default;

  std::vector<int> fds_;
  std::vector<uint16_t> ports_;
  std::unique_ptr<uint8_t[]> buffers_;  // kBatch * kDatagramBuffer per socket round
  std::vector<size_t> lens_;
  std::vector<bool> truncated_;
  std::vector<uint32_t> slot_;   // datagram i -> buffer slot
  uint64_t receive_errors_ = 0;  // recvmmsg failures other than "nothing to read"
};

}  // namespace skyprobe::sflow
