#include "export/json_lines_handler.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace skyprobe {
namespace {

constexpr size_t kFlushAt = 1 << 16;

int OpenFile(const std::string& path, bool append) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
  int fd;
  do {
    fd = open(path.c_str(), flags, 0644);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<JsonLinesHandler>> JsonLinesHandler::Open(const std::string& path,
                                                                         JsonContext ctx) {
  if (path == "-") {
    return std::unique_ptr<JsonLinesHandler>(
        new JsonLinesHandler(STDOUT_FILENO, false, "", "--json stdout", std::move(ctx)));
  }
  const int fd = OpenFile(path, /*append=*/false);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("--json ", path, ": cannot open for writing: ", std::strerror(errno)));
  }
  return std::unique_ptr<JsonLinesHandler>(
      new JsonLinesHandler(fd, true, path, absl::StrCat("--json ", path), std::move(ctx)));
}

JsonLinesHandler::JsonLinesHandler(int fd, bool owned, std::string path, std::string label,
                                   JsonContext ctx)
    : fd_(fd),
      owned_(owned),
      path_(std::move(path)),
      label_(std::move(label)),
      ctx_(std::move(ctx)) {
  buf_.reserve(kFlushAt * 2);
}

JsonLinesHandler::~JsonLinesHandler() {
  if (fd_ >= 0) (void)Close();
}

void JsonLinesHandler::OnRecord(const FlowSnapshot& s) {
  if (broken_) {
    counters_.AddLost(1);  // nobody reads: not even formatted
    return;
  }
  AppendFlowJson(s, ctx_, &buf_);
  if (buf_.size() >= kFlushAt) Flush();
}

bool JsonLinesHandler::WriteAll(const char* data, size_t len, size_t* written) {
  *written = 0;
  while (*written < len) {
    const ssize_t w = write(fd_, data + *written, len - *written);
    if (w > 0) {
      *written += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // A non-blocking stdout: wait for room, as a blocking one would.
      pollfd p{fd_, POLLOUT, 0};
      (void)poll(&p, 1, -1);
      continue;
    }
    if (w == 0) errno = EIO;  // no progress and no error: give up on this chunk
    return false;
  }
  return true;
}

void JsonLinesHandler::Failed(int err) {
  counters_.AddErrors(1);
  ++write_failures_;
  last_error_ = err;
  if (err == EPIPE) broken_ = true;
  if (err != reported_) {
    reported_ = err;
    std::fprintf(stderr, "skyprobe: %s: write failed: %s; %s\n", label_.c_str(), std::strerror(err),
                 err == EPIPE ? "nothing more is written there (records_lost counts the rest)"
                              : "records are lost until it works again (records_lost)");
  }
}

void JsonLinesHandler::Flush() {
  if (buf_.empty() || fd_ < 0) return;
  if (broken_) {
    counters_.AddLost(static_cast<uint64_t>(std::count(buf_.begin(), buf_.end(), '\n')));
    buf_.clear();
    return;
  }
  size_t written = 0;
  // A line cut by an earlier failure is ended first: the lines after it parse.
  bool ok = !mid_line_ || WriteAll("\n", 1, &written);
  if (ok) {
    mid_line_ = false;
    ok = WriteAll(buf_.data(), buf_.size(), &written);
  } else {
    written = 0;
  }
  if (!ok) {
    const int err = errno;
    // Every line not ended in the output is lost (each record is one line).
    counters_.AddLost(static_cast<uint64_t>(
        std::count(buf_.begin() + static_cast<ptrdiff_t>(written), buf_.end(), '\n')));
    if (written > 0 && buf_[written - 1] != '\n') mid_line_ = true;
    Failed(err);
  }
  buf_.clear();
}

void JsonLinesHandler::Reopen() {
  Flush();
  if (!owned_ || fd_ < 0) return;  // stdout stays
  const int fd = OpenFile(path_, /*append=*/true);
  if (fd < 0) {
    const int err = errno;
    counters_.AddErrors(1);  // nothing lost: the old file still takes the records
    std::fprintf(stderr, "skyprobe: %s: reopen failed: %s; still writing the old file\n",
                 label_.c_str(), std::strerror(err));
    return;
  }
  close(fd_);
  fd_ = fd;
  mid_line_ = false;  // a new file starts clean
  broken_ = false;
}

absl::Status JsonLinesHandler::Close() {
  if (fd_ < 0) return absl::OkStatus();
  Flush();
  if (owned_ && close(fd_) != 0 && errno != EINTR) {
    // NFS and friends report write errors at close.
    Failed(errno);
  }
  fd_ = -1;
  const uint64_t lost = counters_.records_lost.load(std::memory_order_relaxed);
  if (write_failures_ > 0) {
    return absl::DataLossError(
        absl::StrCat(label_, ": ", write_failures_, " write error(s), ", lost,
                     " record(s) lost (last error: ", std::strerror(last_error_), ")"));
  }
  return absl::OkStatus();
}

}  // namespace skyprobe
