// The --json sink when writing fails: a file cut short by its size limit
// (EFBIG, a write that stops half-way), a device that is always full
// (/dev/full: ENOSPC), a pipe whose reader left (EPIPE), and reopening a
// file after logrotate moved it. What reached the file is read back and
// compared line by line with AppendFlowJson's lines for the same records, so
// records_lost is checked against what is really there.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "export/json_lines.h"
#include "export/json_lines_handler.h"
#include "gtest/gtest.h"
#include "unit/export/test_snapshots.h"

namespace skyprobe::testing {
namespace {

FlowSnapshot Numbered(uint64_t i) {
  FlowSnapshot s = FullSnapshot();
  s.uuid = 0x1000 + i;
  return s;
}

std::string Line(uint64_t i) {
  std::string out;
  AppendFlowJson(Numbered(i), JsonContext(), &out);
  return out;  // ends with '\n'
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/skyprobe_json_" + std::to_string(getpid()) +
         "_" + name;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    out.push_back(text.substr(start, nl + 1 - start));
  }
  if (start < text.size()) out.push_back(text.substr(start));  // no newline: cut
  return out;
}

uint64_t Lost(const JsonLinesHandler& h) { return h.output_counters()->records_lost.load(); }
uint64_t Errors(const JsonLinesHandler& h) { return h.output_counters()->output_errors.load(); }

class JsonOutputErrorsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // As main() does: a closed pipe or a file limit is an error, not a signal.
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGXFSZ, SIG_IGN);
  }
};

// A write that stops half-way: the lines before the cut are whole, the cut
// line is lost, and after the limit is lifted the next lines start on a
// line of their own.
TEST_F(JsonOutputErrorsTest, FileCutShortCountsExactlyTheLinesNotWritten) {
  const std::string path = TempPath("cut.json");
  auto h = JsonLinesHandler::Open(path, JsonContext());
  ASSERT_TRUE(h.ok()) << h.status();
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  const size_t line_len = Line(0).size();
  rlimit small = old;
  small.rlim_cur = line_len * 10 + line_len / 2;  // ten lines and half of the eleventh
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  for (uint64_t i = 0; i < 40; ++i) (*h)->OnRecord(Numbered(i));
  (*h)->Flush();
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  EXPECT_EQ(Errors(**h), 1u);
  EXPECT_EQ(Lost(**h), 30u);
  for (uint64_t i = 40; i < 45; ++i) (*h)->OnRecord(Numbered(i));
  const absl::Status st = (*h)->Close();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  EXPECT_NE(st.message().find("1 write error(s), 30 record(s) lost"), std::string::npos) << st;
  EXPECT_NE(st.message().find("File too large"), std::string::npos) << st;

  const std::vector<std::string> lines = SplitLines(ReadAll(path));
  ASSERT_EQ(lines.size(), 16u);  // 10 whole, the cut one ended by '\n', 5 after
  for (uint64_t i = 0; i < 10; ++i) EXPECT_EQ(lines[i], Line(i)) << i;
  EXPECT_EQ(lines[10], Line(10).substr(0, line_len / 2) + "\n");
  for (uint64_t i = 0; i < 5; ++i) EXPECT_EQ(lines[11 + i], Line(40 + i)) << i;
  unlink(path.c_str());
}

TEST_F(JsonOutputErrorsTest, AlwaysFullDeviceLosesEveryRecordAndKeepsTrying) {
  auto h = JsonLinesHandler::Open("/dev/full", JsonContext());
  ASSERT_TRUE(h.ok()) << h.status();
  for (uint64_t i = 0; i < 7; ++i) (*h)->OnRecord(Numbered(i));
  (*h)->Flush();
  EXPECT_EQ(Errors(**h), 1u);
  EXPECT_EQ(Lost(**h), 7u);
  (*h)->OnRecord(Numbered(7));
  (*h)->Flush();  // tried again: the disk may have room by now
  EXPECT_EQ(Errors(**h), 2u);
  EXPECT_EQ(Lost(**h), 8u);
  const absl::Status st = (*h)->Close();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("--json /dev/full: 2 write error(s), 8 record(s) lost (last error: "
                              "No space left on device)"),
            std::string::npos)
      << st;
}

TEST_F(JsonOutputErrorsTest, ClosedPipeStopsWritingAndCountsTheRest) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string path = "/proc/self/fd/" + std::to_string(fds[1]);
  auto h = JsonLinesHandler::Open(path, JsonContext());
  ASSERT_TRUE(h.ok()) << h.status();
  close(fds[1]);
  (*h)->OnRecord(Numbered(0));
  (*h)->Flush();
  std::string got(Line(0).size() + 1, '\0');
  ASSERT_EQ(read(fds[0], got.data(), got.size()), static_cast<ssize_t>(Line(0).size()));
  EXPECT_EQ(got.substr(0, Line(0).size()), Line(0));
  close(fds[0]);  // the reader leaves
  for (uint64_t i = 1; i < 4; ++i) (*h)->OnRecord(Numbered(i));
  (*h)->Flush();
  EXPECT_EQ(Errors(**h), 1u);
  EXPECT_EQ(Lost(**h), 3u);
  for (uint64_t i = 4; i < 10; ++i) (*h)->OnRecord(Numbered(i));
  (*h)->Flush();
  EXPECT_EQ(Errors(**h), 1u);  // nothing more is tried
  EXPECT_EQ(Lost(**h), 9u);
  const absl::Status st = (*h)->Close();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("Broken pipe"), std::string::npos) << st;
}

// logrotate: the file is renamed, then SIGHUP makes the sink reopen its path.
TEST_F(JsonOutputErrorsTest, ReopenStartsANewFileAfterARename) {
  const std::string path = TempPath("rotate.json");
  const std::string moved = path + ".1";
  auto h = JsonLinesHandler::Open(path, JsonContext());
  ASSERT_TRUE(h.ok()) << h.status();
  for (uint64_t i = 0; i < 3; ++i) (*h)->OnRecord(Numbered(i));
  ASSERT_EQ(rename(path.c_str(), moved.c_str()), 0);
  (*h)->Reopen();  // the 3 buffered records go to the old file first
  for (uint64_t i = 3; i < 5; ++i) (*h)->OnRecord(Numbered(i));
  EXPECT_TRUE((*h)->Close().ok());
  EXPECT_EQ(ReadAll(moved), Line(0) + Line(1) + Line(2));
  EXPECT_EQ(ReadAll(path), Line(3) + Line(4));
  EXPECT_EQ(Errors(**h), 0u);
  // Reopen appends: a SIGHUP without a rotation keeps what is there.
  auto again = JsonLinesHandler::Open(path, JsonContext());
  ASSERT_TRUE(again.ok());
  (*again)->OnRecord(Numbered(5));
  (*again)->Reopen();
  (*again)->OnRecord(Numbered(6));
  EXPECT_TRUE((*again)->Close().ok());
  EXPECT_EQ(ReadAll(path), Line(5) + Line(6));
  // A path that cannot be opened again: the old file keeps the records.
  const std::string dir = TempPath("gone");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  const std::string inner = dir + "/f.json";
  auto in_dir = JsonLinesHandler::Open(inner, JsonContext());
  ASSERT_TRUE(in_dir.ok());
  ASSERT_EQ(rename(inner.c_str(), moved.c_str()), 0);
  ASSERT_EQ(rmdir(dir.c_str()), 0);
  (*in_dir)->OnRecord(Numbered(7));
  (*in_dir)->Reopen();
  EXPECT_EQ(Errors(**in_dir), 1u);
  (*in_dir)->OnRecord(Numbered(8));
  EXPECT_TRUE((*in_dir)->Close().ok());  // nothing lost
  EXPECT_EQ(Lost(**in_dir), 0u);
  EXPECT_EQ(ReadAll(moved), Line(7) + Line(8));
  unlink(path.c_str());
  unlink(moved.c_str());
}

}  // namespace
}  // namespace skyprobe::testing
