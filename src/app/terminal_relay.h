// terminal_relay.h: one status line (the --pcap progress) kept at the bottom of
// a terminal, below everything else the process writes on stderr and stdout.
//
// Owner: main() starts it before any other thread exists and ends it last;
// Show() and Clear() are called by the control lcore only.
//
//   std::unique_ptr<TerminalRelay> relay = TerminalRelay::Start(/*relay_stdout=*/true);
//   relay->Show("skyprobe: 42% of 10 MB ...");  relay->Clear();  relay.reset();
//
// Why a relay process. Lines reach stderr from many threads (EAL, gRPC, Kafka,
// outputs, the control lcore) and from code that knows nothing of a status
// line; written straight to the terminal, any of them would land in the middle
// of it. So fd 2 (and fd 1 when it is the terminal too) becomes a pipe read by
// a small process: it writes whole lines to the terminal, erasing the status
// line before and drawing it again after.
//
// Why the relay is the parent. Start() forks before EAL; the process the shell
// started stays behind as the relay (renamed `skyprobe-tty`) and the child
// goes on as the probe. The shell waits for the relay, which leaves only once
// the probe's pipes have ended and the probe has exited, with the probe's exit
// status (or its signal, raised again). So whatever happens to the probe (a
// crash, a sanitizer report, kill -9), every byte it wrote reaches the terminal
// and the status line is erased before the shell's next prompt: a relay that
// was the child would race the shell, and could erase the prompt instead.
// SIGINT, SIGTERM and SIGHUP sent to the relay go on to the probe; the probe
// gets SIGTERM if the relay dies.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace skyprobe {

class TerminalRelay {
 public:
  // Forks; returns in the child (the probe) with fd 2 (and fd 1 with
  // `relay_stdout`) pointed at the relay; the parent never returns: it relays,
  // then exits as the probe did. nullptr if it could not (the caller then just
  // runs without a status line). Call it with one thread only.
  static std::unique_ptr<TerminalRelay> Start(bool relay_stdout);
  // Flushes stdio and gives fd 1 and 2 back to the terminal: the relay then
  // writes what it holds and waits for this process to exit.
  ~TerminalRelay();
  TerminalRelay(const TerminalRelay&) = delete;
  TerminalRelay& operator=(const TerminalRelay&) = delete;

  // Replaces the status line. Never blocks: dropped if the relay is behind.
  void Show(const std::string& line);
  // Erases the status line for good (lines written after it are plain lines).
  void Clear();

 private:
  TerminalRelay() = default;
  void Send(const std::string& message);

  int status_fd_ = -1;  // write end of the status pipe (non-blocking)
  int saved_stdout_ = -1;
  int saved_stderr_ = -1;
};

// The relay's work, for its child process and for tests: copies each
// stream's bytes (first: read end, second: where to) line by line to its
// output, and the status messages read from `status_fd` ("S<line>\n" shows a
// line, "C\n" clears it) to `tty_fd`, until every stream has ended. Before a
// stream's lines reach `tty_fd` the status line is erased; it is drawn again
// after, cut to `columns - 1` characters so that it never wraps (0: ask the
// terminal, 80 if it will not say). A line without its end waits for it.
void RunRelay(int status_fd, const std::vector<std::pair<int, int>>& streams, int tty_fd,
              int columns);

}  // namespace skyprobe
