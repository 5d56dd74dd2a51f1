#include "app/terminal_relay.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>

namespace skyprobe {
namespace {

// Carriage return, then erase to the end of the line (ECMA-48 EL).
constexpr char kErase[] = "\r\x1b[K";

void WriteAll(int fd, const char* data, size_t len) {
  while (len > 0) {
    const ssize_t w = write(fd, data, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;  // the terminal went away: keep draining, drop the bytes
    }
    data += w;
    len -= static_cast<size_t>(w);
  }
}

int TerminalColumns(int fd) {
  winsize ws{};
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

struct Stream {
  int in = -1;
  int out = -1;
  std::string pending;  // bytes after the last newline, not written yet
  std::chrono::steady_clock::time_point pending_since;
  bool open = true;
};

// A line without its end is written anyway after this long (a prompt, a
// message cut short): the status line then waits for the next newline.
constexpr auto kPartialWait = std::chrono::milliseconds(200);
constexpr size_t kPartialMax = 4096;

class Relay {
 public:
  Relay(int tty_fd, int columns) : tty_(tty_fd), columns_(columns) {}

  void Status(std::string_view message) {
    if (!message.empty() && message[0] == 'S') {
      status_.assign(message.substr(1));
    } else {
      status_.clear();
      Erase();
    }
  }

  // Writes `data` (a stream's bytes) to `out` below... above the status line:
  // erased first, drawn again by Draw() once the round is done.
  void Lines(int out, const char* data, size_t len) {
    if (len == 0) return;
    Erase();
    WriteAll(out, data, len);
    mid_line_ = data[len - 1] != '\n';
  }

  void Draw() {
    if (status_.empty() || mid_line_) return;
    const int cols = columns_ > 0 ? columns_ : TerminalColumns(tty_);
    std::string s = "\r";
    // One column short of the width: a line that fills it would wrap on some
    // terminals, and "\r" then erases only its second half.
    s.append(status_, 0, cols > 1 ? static_cast<size_t>(cols - 1) : 0);
    s += "\x1b[K";
    if (drawn_ && s == last_drawn_) return;
    WriteAll(tty_, s.data(), s.size());
    last_drawn_ = std::move(s);
    drawn_ = true;
  }

  void Erase() {
    if (!drawn_) return;
    WriteAll(tty_, kErase, sizeof(kErase) - 1);
    drawn_ = false;
  }

 private:
  int tty_;
  int columns_;
  std::string status_;
  std::string last_drawn_;
  bool drawn_ = false;
  bool mid_line_ = false;
};

}  // namespace

void RunRelay(int status_fd, const std::vector<std::pair<int, int>>& streams, int tty_fd,
              int columns) {
  Relay relay(tty_fd, columns);
  std::vector<Stream> ss;
  ss.reserve(streams.size());
  for (const auto& [in, out] : streams) ss.push_back(Stream{in, out, {}, {}, true});
  std::string status_buf;
  bool status_open = status_fd >= 0;
  char buf[65536];

  // Reads what the status pipe holds now (it never blocks: non-blocking fd).
  auto read_status = [&] {
    while (status_open) {
      const ssize_t n = read(status_fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return;  // EAGAIN: nothing more now
      if (n == 0) {
        status_open = false;
        relay.Status("C");
        return;
      }
      status_buf.append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = status_buf.find('\n', start)) != std::string::npos; start = nl + 1) {
        relay.Status(std::string_view(status_buf).substr(start, nl - start));
      }
      status_buf.erase(0, start);
    }
  };
  if (status_open) fcntl(status_fd, F_SETFL, fcntl(status_fd, F_GETFL) | O_NONBLOCK);

  for (;;) {
    std::vector<pollfd> pfds;
    bool any_open = false;
    bool any_pending = false;
    for (const Stream& s : ss) {
      if (s.open) {
        pfds.push_back(pollfd{s.in, POLLIN, 0});
        any_open = true;
      }
      any_pending |= !s.pending.empty();
    }
    if (!any_open) break;
    if (status_open) pfds.push_back(pollfd{status_fd, POLLIN, 0});
    const int timeout_ms =
        any_pending ? static_cast<int>(std::chrono::milliseconds(kPartialWait).count()) : -1;
    const int rc = poll(pfds.data(), pfds.size(), timeout_ms);
    if (rc < 0 && errno != EINTR) break;
    // The status first, whatever poll said: a Clear written before a stream's
    // lines (the summary after the progress line) is then always seen first.
    read_status();
    const auto now = std::chrono::steady_clock::now();
    for (Stream& s : ss) {
      if (!s.open) continue;
      bool readable = false;
      for (const pollfd& p : pfds) readable |= p.fd == s.in && p.revents != 0;
      if (readable) {
        const ssize_t n = read(s.in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          s.open = false;
          relay.Lines(s.out, s.pending.data(), s.pending.size());
          s.pending.clear();
          continue;
        }
        if (s.pending.empty()) s.pending_since = now;
        s.pending.append(buf, static_cast<size_t>(n));
      }
      const size_t last_nl = s.pending.rfind('\n');
      size_t take = last_nl == std::string::npos ? 0 : last_nl + 1;
      if (s.pending.size() > kPartialMax ||
          (!s.pending.empty() && now - s.pending_since >= kPartialWait)) {
        take = s.pending.size();
      }
      if (take > 0) {
        relay.Lines(s.out, s.pending.data(), take);
        s.pending.erase(0, take);
        s.pending_since = now;
      }
    }
    relay.Draw();
  }
  read_status();
  relay.Erase();
}

namespace {

// The probe's pid, for the relay's signal handler.
volatile sig_atomic_t g_probe = 0;

void PassOn(int sig) {
  if (g_probe > 0) kill(static_cast<pid_t>(g_probe), sig);
}

// Signals a person or a supervisor sends to "the probe" (the pid the shell
// started): the relay passes them on. ^C and a closed terminal reach both
// processes; the probe's handlers take a repeat as the same request.
constexpr int kPassedOn[] = {SIGINT, SIGTERM, SIGHUP};

// The parent after the fork: relays until the probe's pipes end, then exits
// as the probe did, so that the shell sees the probe's status.
[[noreturn]] void RelayThenExitAsProbe(pid_t probe, int status_fd,
                                       const std::vector<std::pair<int, int>>& streams, int tty_fd,
                                       const sigset_t& old_mask) {
  prctl(PR_SET_NAME, "skyprobe-tty");
  g_probe = probe;
  struct sigaction sa {};
  sa.sa_handler = PassOn;
  sa.sa_flags = SA_RESTART;
  for (int sig : kPassedOn) sigaction(sig, &sa, nullptr);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGQUIT, &sa, nullptr);  // ^C's sibling: the probe's to take
  sigaction(SIGPIPE, &sa, nullptr);  // a closed terminal: keep draining
  sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  RunRelay(status_fd, streams, tty_fd, 0);
  int status = 0;
  while (waitpid(probe, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    // The same death for the shell ("Killed", 128 + n), without a core of
    // the relay's own.
    const int sig = WTERMSIG(status);
    const rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    sigprocmask(SIG_UNBLOCK, &one, nullptr);
    kill(getpid(), sig);
  }
  _exit(1);
}

}  // namespace

std::unique_ptr<TerminalRelay> TerminalRelay::Start(bool relay_stdout) {
  std::fflush(stdout);
  std::fflush(stderr);
  int err_pipe[2], out_pipe[2] = {-1, -1}, status_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return nullptr;
  if (pipe2(status_pipe, O_CLOEXEC) != 0 || (relay_stdout && pipe2(out_pipe, O_CLOEXEC) != 0)) {
    for (int fd : {err_pipe[0], err_pipe[1], status_pipe[0], status_pipe[1]}) close(fd);
    return nullptr;
  }
  std::unique_ptr<TerminalRelay> t(new TerminalRelay());
  t->saved_stderr_ = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  if (relay_stdout) t->saved_stdout_ = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  // A signal between the fork and the relay's handlers waits for them.
  sigset_t block, old_mask;
  sigemptyset(&block);
  for (int sig : kPassedOn) sigaddset(&block, sig);
  sigprocmask(SIG_BLOCK, &block, &old_mask);
  const pid_t relay = getpid();
  const pid_t pid = fork();
  if (pid > 0) {
    close(err_pipe[1]);
    close(status_pipe[1]);
    std::vector<std::pair<int, int>> streams = {{err_pipe[0], t->saved_stderr_}};
    if (relay_stdout) {
      close(out_pipe[1]);
      streams.emplace_back(out_pipe[0], t->saved_stdout_);
    }
    RelayThenExitAsProbe(pid, status_pipe[0], streams, t->saved_stderr_, old_mask);
  }
  if (pid == 0) {
    // The probe: stopped (SIGTERM, its outputs flushed) if the relay dies,
    // also if it died before this line.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != relay) kill(getpid(), SIGTERM);
  }
  sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  close(err_pipe[0]);
  close(status_pipe[0]);
  if (relay_stdout) close(out_pipe[0]);
  if (pid < 0) {
    for (int fd : {err_pipe[1], status_pipe[1], out_pipe[1], t->saved_stderr_, t->saved_stdout_}) {
      if (fd >= 0) close(fd);
    }
    return nullptr;
  }
  dup2(err_pipe[1], STDERR_FILENO);
  close(err_pipe[1]);
  if (relay_stdout) {
    dup2(out_pipe[1], STDOUT_FILENO);
    close(out_pipe[1]);
    // stdout was a terminal, line-buffered: it stays so.
    setvbuf(stdout, nullptr, _IOLBF, 0);
  }
  t->status_fd_ = status_pipe[1];
  fcntl(t->status_fd_, F_SETFL, fcntl(t->status_fd_, F_GETFL) | O_NONBLOCK);
  return t;
}

void TerminalRelay::Send(const std::string& message) {
  if (status_fd_ < 0) return;
  // One write below PIPE_BUF is atomic: a full pipe refuses it whole.
  if (message.size() > PIPE_BUF) return;
  const ssize_t w = write(status_fd_, message.data(), message.size());
  (void)w;
}

void TerminalRelay::Show(const std::string& line) {
  std::string m = "S";
  for (char c : line) m += (c == '\n' || c == '\r') ? ' ' : c;
  m += '\n';
  Send(m);
}

void TerminalRelay::Clear() { Send("C\n"); }

TerminalRelay::~TerminalRelay() {
  std::fflush(stdout);
  std::fflush(stderr);
  if (status_fd_ >= 0) close(status_fd_);
  if (saved_stderr_ >= 0) {
    dup2(saved_stderr_, STDERR_FILENO);
    close(saved_stderr_);
  }
  if (saved_stdout_ >= 0) {
    dup2(saved_stdout_, STDOUT_FILENO);
    close(saved_stdout_);
  }
}

}  // namespace skyprobe
