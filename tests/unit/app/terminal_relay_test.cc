// RunRelay (terminal_relay.h) read back through a small terminal model written
// here (carriage return, newline, ECMA-48 "erase to end of line", printable
// bytes): every line that scrolls up is one line a stream wrote, never mixed
// with the status line; the status line is drawn below them, cut to the
// width, and gone at the end.
#include "app/terminal_relay.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace skyprobe {
namespace {

// A terminal as the relay's bytes leave it: `lines` scrolled up (finished by
// a newline), `row` the line the cursor is on.
struct Screen {
  std::vector<std::string> lines;
  std::string row;
  size_t col = 0;
  std::vector<std::string> rows_seen;  // `row` each time a status was drawn

  void Feed(const std::string& bytes) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      const char c = bytes[i];
      if (c == '\r') {
        col = 0;
      } else if (c == '\n') {
        lines.push_back(row);
        row.clear();
        col = 0;
      } else if (c == '\x1b') {
        ASSERT_EQ(bytes.compare(i, 3, "\x1b[K"), 0) << "only EL is expected";
        row.resize(std::min(row.size(), col));
        rows_seen.push_back(row);
        i += 2;
      } else {
        if (row.size() <= col) row.resize(col + 1, ' ');
        row[col++] = c;
      }
    }
  }
};

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(n));
  return out;
}

void Write(int fd, const std::string& s) {
  ASSERT_EQ(write(fd, s.data(), s.size()), ssize_t(s.size()));
}

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int p[2];
    EXPECT_EQ(pipe(p), 0);
    r = p[0];
    w = p[1];
  }
  void CloseWrite() {
    if (w >= 0) close(w);
    w = -1;
  }
  ~Pipe() {
    CloseWrite();
    close(r);
  }
};

// The relay's output, written to a temporary file (it stands for the tty).
struct TtyFile {
  int fd;
  TtyFile() {
    char name[] = "/tmp/relay_test_XXXXXX";
    fd = mkstemp(name);
    unlink(name);
  }
  ~TtyFile() { close(fd); }
  std::string Contents() const {
    lseek(fd, 0, SEEK_SET);
    return ReadAll(fd);
  }
};

TEST(TerminalRelayTest, LinesScrollAboveTheStatusLineWhichIsErasedAtTheEnd) {
  Pipe status, err;
  TtyFile tty;
  Write(status.w, "Sskyprobe: 10.0% of 1.00 MB\n");
  Write(err.w, "skyprobe: capture point a.pcap\n");
  Write(err.w, "skyprobe: summary\n  packets_in 3\n");
  status.CloseWrite();
  err.CloseWrite();
  RunRelay(status.r, {{err.r, tty.fd}}, tty.fd, 80);
  Screen s;
  s.Feed(tty.Contents());
  EXPECT_EQ(s.lines, (std::vector<std::string>{"skyprobe: capture point a.pcap",
                                               "skyprobe: summary", "  packets_in 3"}));
  EXPECT_EQ(s.row, "");  // the status line is gone
}

TEST(TerminalRelayTest, StatusIsDrawnCutToTheWidth) {
  Pipe status, err;
  TtyFile tty;
  std::thread writer([&] {
    Write(status.w, "S" + std::string(100, 'p') + "\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    err.CloseWrite();
  });
  RunRelay(status.r, {{err.r, tty.fd}}, tty.fd, 40);
  writer.join();
  Screen s;
  s.Feed(tty.Contents());
  ASSERT_FALSE(s.rows_seen.empty());
  EXPECT_EQ(s.rows_seen.front(), std::string(39, 'p'));  // one column short: never wraps
  EXPECT_EQ(s.row, "");
  EXPECT_TRUE(s.lines.empty());
}

TEST(TerminalRelayTest, ClearErasesAndLaterLinesArePlain) {
  Pipe status, err;
  TtyFile tty;
  std::thread writer([&] {
    Write(status.w, "Sworking\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    Write(status.w, "C\n");
    Write(err.w, "after\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    err.CloseWrite();
  });
  RunRelay(status.r, {{err.r, tty.fd}}, tty.fd, 80);
  writer.join();
  Screen s;
  s.Feed(tty.Contents());
  EXPECT_EQ(s.lines, std::vector<std::string>{"after"});
  EXPECT_EQ(s.row, "");
  // Nothing was drawn again after the clear: the last status drawn was "working".
  for (size_t i = 0; i + 1 < s.rows_seen.size(); ++i) EXPECT_NE(s.rows_seen[i + 1], "working");
}

TEST(TerminalRelayTest, LineWithoutItsEndIsWrittenAtTheEndAndNotOverdrawn) {
  Pipe status, err;
  TtyFile tty;
  Write(status.w, "Sstatus\n");
  Write(err.w, "no newline");
  err.CloseWrite();
  RunRelay(status.r, {{err.r, tty.fd}}, tty.fd, 80);
  Screen s;
  s.Feed(tty.Contents());
  EXPECT_TRUE(s.lines.empty());
  EXPECT_EQ(s.row, "no newline");
}

// Two streams (stderr and stdout) written by two threads in pieces that cut
// lines anywhere, status updates from a third: each line on the screen is one
// of the lines written, whole.
TEST(TerminalRelayTest, ConcurrentWritersNeverMixWithTheStatusLine) {
  Pipe status, err, out;
  TtyFile tty;
  std::set<std::string> written;
  for (int i = 0; i < 300; ++i) {
    written.insert("stderr line " + std::to_string(i) + std::string(i % 50, 'e'));
    written.insert("{\"stdout\":" + std::to_string(i) + "}" + std::string(i % 70, 'o'));
  }
  auto writer = [&](int fd, const char* prefix_kind) {
    for (int i = 0; i < 300; ++i) {
      const std::string line =
          prefix_kind[0] == 'e'
              ? "stderr line " + std::to_string(i) + std::string(i % 50, 'e')
              : "{\"stdout\":" + std::to_string(i) + "}" + std::string(i % 70, 'o');
      const std::string l = line + "\n";
      const size_t cut = (i * 7) % l.size();  // a line reaches the pipe in two writes
      Write(fd, l.substr(0, cut));
      if (i % 16 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      Write(fd, l.substr(cut));
    }
  };
  std::thread e([&] {
    writer(err.w, "e");
    err.CloseWrite();
  });
  std::thread o([&] {
    writer(out.w, "o");
    out.CloseWrite();
  });
  std::thread st([&] {
    for (int i = 0; i < 100; ++i) {
      Write(status.w, "Sskyprobe: progress " + std::to_string(i) + "\n");
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  RunRelay(status.r, {{err.r, tty.fd}, {out.r, tty.fd}}, tty.fd, 200);
  e.join();
  o.join();
  st.join();
  Screen s;
  s.Feed(tty.Contents());
  ASSERT_EQ(s.lines.size(), 600u);
  for (const std::string& l : s.lines) EXPECT_EQ(written.count(l), 1u) << l;
  EXPECT_EQ(std::set<std::string>(s.lines.begin(), s.lines.end()).size(), 600u);
  EXPECT_EQ(s.row, "");
}

}  // namespace
}  // namespace skyprobe
