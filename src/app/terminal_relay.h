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
// a small child process forked before EAL: it writes whole lines to the
// terminal, erasing the status line before and drawing it again after. A child
// rather than a thread: if the probe dies (a crash, a sanitizer report, kill
// -9) the child still gets every byte written before, then end of file, and
// leaves.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace skyprobe {

class TerminalRelay {
 public:
  // Forks the relay and points fd 2 (and fd 1 with `relay_stdout`) at it.
  // nullptr if it could not (the caller then just runs without a status line).
  static std::unique_ptr<TerminalRelay> Start(bool relay_stdout);
  // Flushes stdio, gives fd 1 and 2 back to the terminal and waits for the
  // relay to write everything it holds: nothing of it comes after the shell's
  // next prompt.
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

  pid_t child_ = -1;
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
