// tcp_exporter.cc: IPFIX over TCP (RFC 7011 §10.4): one connection at a
// time, templates once at its start, reconnection with backoff, and a spool
// so that a collector restart loses nothing it can hold.
//
// When is a record delivered? TCP's acknowledgement only says the collector's
// kernel holds the bytes; a collector that dies with bytes unread in its
// socket loses them (its kernel then resets the connection). So:
//   - a message leaves the spool once it was acknowledged and then at least
//     kUnreadMargin more (or 4 times the collector's largest advertised
//     window, TCP_INFO tcpi_snd_wnd, when larger; at most half the spool): a
//     collector cannot hold that much unread (Linux's default receive buffer
//     tops at 6 MiB, net.ipv4.tcp_rmem), so it read the message;
//   - a connection that ends gracefully (RFC 7011 §10.4.2: the collector
//     closes its side, then reads until the exporter closes) has delivered
//     every acknowledged message: the exporter stops writing at the
//     collector's FIN, waits for the acknowledgements, and closes;
//   - a connection that breaks (reset, error) delivered only what left the
//     spool: everything else is sent again on the next connection. Some
//     records may then arrive twice; none is lost.
// At exit the exporter closes first and waits for the collector's close
// (which comes after it read everything) to count the rest delivered.
#include <fcntl.h>
#include <linux/sockios.h>
#include <linux/tcp.h>  // struct tcp_info with tcpi_snd_wnd (glibc's lacks it)
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "export/ipfix/transport_util.h"

namespace skyprobe::ipfix {
namespace {

constexpr int64_t kConnectTimeoutMs = 5'000;
constexpr int64_t kAckPollMs = 10;            // while acknowledgements are awaited
constexpr size_t kWriteAhead = 4u << 20;      // bytes of messages built ahead of the socket
constexpr int64_t kCloseWaitMs = 5'000;       // for the collector's side of a close
constexpr uint64_t kUnreadMargin = 8u << 20;  // acknowledged bytes a collector may not have read

class TcpExporter final : public Exporter {
 public:
  TcpExporter(const ExporterOptions& o, BatchQueue* q, ExporterCounters* c, ResolvedAddress a)
      : Exporter(o, q, c), addr_(a), backoff_ms_(o.backoff_min_ms) {}
  ~TcpExporter() override {
    if (fd_ >= 0) close(fd_);
  }

 protected:
  int64_t Pump(int64_t now_ms, int* fd, short* events) override;
  bool Delivered() const override { return spool_begin_ == spool_end_ && in_flight_.empty(); }
  absl::Status Close() override;

 private:
  enum class State {
    kIdle,        // no connection; the next attempt at next_attempt_ms_
    kConnecting,  // non-blocking connect in progress
    kConnected,   // writing
    kPeerClosed,  // the collector closed its side: waiting for acknowledgements
    kClosing,     // finishing: our side closed, waiting for the collector's
  };

  void TryConnect(int64_t now_ms);
  void Connected();
  // The connection is gone; unless `delivered_all`, what did not leave the
  // spool goes again on the next connection.
  void Drop(int64_t now_ms, bool error);
  // Acknowledgements: returns the bytes the collector's TCP acknowledged.
  uint64_t Acked();
  // Messages out of the spool: those acknowledged `margin` bytes ago.
  void Release(uint64_t acked, uint64_t margin);
  bool WriteOut();  // false: the connection broke
  void Fill();

  ResolvedAddress addr_;
  State state_ = State::kIdle;
  int fd_ = -1;
  int64_t next_attempt_ms_ = 0;
  int64_t since_ms_ = 0;  // start of kConnecting, kPeerClosed or kClosing
  uint32_t backoff_ms_;
  bool ever_connected_ = false;
  uint64_t written_ = 0;     // bytes written on this connection
  uint64_t packed_ = 0;      // bytes of messages built on this connection (written_ + out_)
  uint64_t max_window_ = 0;  // the collector's largest advertised window seen
  ByteBuffer out_;           // built, not yet written
  size_t out_done_ = 0;      // bytes of out_ already written
};

void TcpExporter::TryConnect(int64_t now_ms) {
  fd_ = socket(addr_.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    counters_->errors.fetch_add(1, std::memory_order_relaxed);
    next_attempt_ms_ = now_ms + backoff_ms_;
    return;
  }
  const int rc = connect(fd_, reinterpret_cast<const sockaddr*>(&addr_.storage), addr_.length);
  if (rc == 0) {
    Connected();
  } else if (errno == EINPROGRESS) {
    state_ = State::kConnecting;
    since_ms_ = now_ms;
  } else {
    Drop(now_ms, true);
  }
}

void TcpExporter::Connected() {
  state_ = State::kConnected;
  if (ever_connected_) counters_->reconnects.fetch_add(1, std::memory_order_relaxed);
  ever_connected_ = true;
  backoff_ms_ = opts_.backoff_min_ms;
  written_ = packed_ = max_window_ = 0;
  out_.clear();
  out_done_ = 0;
  // Everything still in the spool goes, after the templates.
  in_flight_.clear();
  spool_sent_ = spool_begin_;
  NewSession();
}

void TcpExporter::Drop(int64_t now_ms, bool error) {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (error) counters_->errors.fetch_add(1, std::memory_order_relaxed);
  state_ = State::kIdle;
  in_flight_.clear();
  out_.clear();
  out_done_ = 0;
  spool_sent_ = spool_begin_;
  next_attempt_ms_ = now_ms + (error ? backoff_ms_ : opts_.backoff_min_ms);
  if (error) backoff_ms_ = std::min(backoff_ms_ * 2, opts_.backoff_max_ms);
}

uint64_t TcpExporter::Acked() {
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &info, &len) == 0) {
    max_window_ = std::max<uint64_t>(max_window_, info.tcpi_snd_wnd);
  }
  int unacked = 0;  // written but not acknowledged (SIOCOUTQ)
  if (ioctl(fd_, SIOCOUTQ, &unacked) != 0) return 0;
  return written_ - std::min<uint64_t>(written_, static_cast<uint64_t>(unacked));
}

void TcpExporter::Release(uint64_t acked, uint64_t margin) {
  while (!in_flight_.empty() && in_flight_.front().stream_end + margin <= acked) {
    const InFlight& m = in_flight_.front();
    counters_->delivered.fetch_add(m.flow_records, std::memory_order_relaxed);
    ReleaseSpool(m.spool_end);
    in_flight_.pop_front();
  }
}

void TcpExporter::Fill() {
  // Whole messages, a few MiB ahead of the socket; each one remembers where
  // the spool stands after it.
  while (out_.size() - out_done_ < kWriteAhead) {
    uint32_t flows = 0;
    uint32_t templates = 0;
    const size_t len = PackNext(&out_, &flows, &templates);
    if (len == 0) break;
    packed_ += len;
    in_flight_.push_back(InFlight{packed_, spool_sent_, flows});
    counters_->messages.fetch_add(1, std::memory_order_relaxed);
    counters_->templates.fetch_add(templates, std::memory_order_relaxed);
    counters_->bytes.fetch_add(len, std::memory_order_relaxed);
  }
}

bool TcpExporter::WriteOut() {
  while (out_done_ < out_.size()) {
    const ssize_t n =
        send(fd_, out_.data() + out_done_, out_.size() - out_done_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    out_done_ += static_cast<size_t>(n);
    written_ += static_cast<size_t>(n);
  }
  out_.clear();
  out_done_ = 0;
  return true;
}

int64_t TcpExporter::Pump(int64_t now_ms, int* fd, short* events) {
  *fd = -1;
  *events = 0;
  if (state_ == State::kIdle) {
    if (now_ms < next_attempt_ms_) return next_attempt_ms_;
    TryConnect(now_ms);
  }
  if (state_ == State::kConnecting) {
    pollfd p{fd_, POLLOUT, 0};
    if (poll(&p, 1, 0) == 1) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        Drop(now_ms, true);
        return next_attempt_ms_;
      }
      Connected();
    } else if (now_ms - since_ms_ > kConnectTimeoutMs) {
      Drop(now_ms, true);
      return next_attempt_ms_;
    } else {
      *fd = fd_;
      *events = POLLOUT;
      return since_ms_ + kConnectTimeoutMs;
    }
  }
  if (state_ == State::kIdle) return next_attempt_ms_;
  // The collector sends nothing; end of stream means it closed its side.
  bool peer_done = false;
  char sink[512];
  for (;;) {
    const ssize_t n = recv(fd_, sink, sizeof(sink), MSG_DONTWAIT);
    if (n > 0) continue;
    if (n == 0) peer_done = true;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      Drop(now_ms, true);  // reset: what did not leave the spool goes again
      return next_attempt_ms_;
    }
    break;
  }
  const uint64_t acked = Acked();
  if (peer_done && (state_ == State::kConnected || state_ == State::kClosing)) {
    if (state_ == State::kConnected) {
      // RFC 7011 §10.4.2: stop sending; what was written will be read. A
      // message cut short goes again whole on the next connection.
      state_ = State::kPeerClosed;
      since_ms_ = now_ms;
      shutdown(fd_, SHUT_WR);
      while (!in_flight_.empty() && in_flight_.back().stream_end > written_) {
        in_flight_.pop_back();
      }
      spool_sent_ = in_flight_.empty() ? spool_begin_ : in_flight_.back().spool_end;
      out_.clear();
      out_done_ = 0;
    } else {
      // Our close came first and the collector read up to it.
      Release(written_, 0);
      Drop(now_ms, false);
      return now_ms;
    }
  }
  if (state_ == State::kPeerClosed) {
    Release(acked, 0);  // the collector reads up to our close
    if (in_flight_.empty() || now_ms - since_ms_ > kCloseWaitMs) {
      Drop(now_ms, false);  // reconnect soon: the collector may be restarting
      return next_attempt_ms_;
    }
    *fd = fd_;
    *events = POLLIN;
    return now_ms + kAckPollMs;
  }
  if (state_ == State::kClosing) {
    if (now_ms - since_ms_ > kCloseWaitMs) {
      // The collector never closed: its TCP acknowledged what it has.
      Release(acked, 0);
      Drop(now_ms, false);
      return now_ms;
    }
    *fd = fd_;
    *events = POLLIN;
    return now_ms + kAckPollMs;
  }
  // The margin is capped to half the spool, which must hold it besides the
  // records that keep coming.
  Release(acked,
          std::min<uint64_t>(std::max(kUnreadMargin, 4 * max_window_), opts_.spool_bytes / 2));
  Fill();
  if (!WriteOut()) {
    Drop(now_ms, true);
    return next_attempt_ms_;
  }
  if (last_ && spool_sent_ == spool_end_ && out_.empty()) {
    // Finishing and everything written: close our side; the collector's
    // close then says it read it all.
    shutdown(fd_, SHUT_WR);
    state_ = State::kClosing;
    since_ms_ = now_ms;
    *fd = fd_;
    *events = POLLIN;
    return now_ms + kAckPollMs;
  }
  *fd = fd_;
  *events = static_cast<short>(POLLIN | (out_.empty() ? 0 : POLLOUT));
  if (!out_.empty()) return now_ms + 1000;
  // Waiting for acknowledgements (SIOCOUTQ has no event): look again soon.
  return in_flight_.empty() ? now_ms + 1000 : now_ms + kAckPollMs;
}

absl::Status TcpExporter::Close() {
  if (fd_ >= 0) {
    shutdown(fd_, SHUT_WR);
    close(fd_);
    fd_ = -1;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Exporter>> NewTcpExporter(const ExporterOptions& o,
                                                         BatchQueue* queue,
                                                         ExporterCounters* counters) {
  SKYPROBE_ASSIGN_OR_RETURN(const ResolvedAddress addr,
                            Resolve(o.host, o.port, SOCK_STREAM, o.name));
  return std::unique_ptr<Exporter>(new TcpExporter(o, queue, counters, addr));
}

}  // namespace skyprobe::ipfix
