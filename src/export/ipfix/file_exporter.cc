// file_exporter.cc: IPFIX into a file (RFC 5655): messages one after the
// other, each template before the first record that uses it, written in
// large chunks. A failed write (disk full) is counted, its records and every
// later one lost, and reported when the probe exits. On SIGHUP the file is
// opened again (appending: after logrotate moved it, a new one), and a new
// session starts in it with every template.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "export/ipfix/transport_util.h"

namespace skyprobe::ipfix {
namespace {

constexpr size_t kWriteChunk = 1 << 20;

class FileExporter final : public Exporter {
 public:
  FileExporter(const ExporterOptions& o, BatchQueue* q, ExporterCounters* c, int fd)
      : Exporter(o, q, c), fd_(fd) {
    buf_.Reserve(kWriteChunk + kFileMessageBytes);
  }

 protected:
  int64_t Pump(int64_t now_ms, int* fd, short* events) override;
  absl::Status Close() override;

 private:
  void WriteOut();
  void Reopen();

  int fd_;
  bool started_ = false;
  int error_ = 0;
  ByteBuffer buf_;  // whole messages not yet written
  uint64_t buf_flows_ = 0;
  uint64_t buf_messages_ = 0;
  uint64_t buf_templates_ = 0;
};

void FileExporter::WriteOut() {
  size_t done = 0;
  while (error_ == 0 && done < buf_.size()) {
    const ssize_t n = write(fd_, buf_.data() + done, buf_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = errno;
      counters_->errors.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (error_ == 0) {
    counters_->delivered.fetch_add(buf_flows_, std::memory_order_relaxed);
    counters_->messages.fetch_add(buf_messages_, std::memory_order_relaxed);
    counters_->templates.fetch_add(buf_templates_, std::memory_order_relaxed);
    counters_->bytes.fetch_add(buf_.size(), std::memory_order_relaxed);
  } else {
    // A message cut short leaves the file unreadable past it: the whole
    // chunk counts as lost.
    counters_->spool_lost.fetch_add(buf_flows_, std::memory_order_relaxed);
  }
  buf_.clear();
  buf_flows_ = buf_messages_ = buf_templates_ = 0;
}

void FileExporter::Reopen() {
  if (!buf_.empty()) WriteOut();
  const int fd = open(opts_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    // Nothing lost: the old file still takes the records.
    counters_->errors.fetch_add(1, std::memory_order_relaxed);
    std::fprintf(stderr, "skyprobe: --ipfix %s: reopen failed: %s; still writing the old file\n",
                 opts_.name.c_str(), std::strerror(errno));
    return;
  }
  close(fd_);
  fd_ = fd;
  error_ = 0;
  NewSession();  // the new file starts with the templates
}

int64_t FileExporter::Pump(int64_t now_ms, int* fd, short* events) {
  *fd = -1;
  *events = 0;
  if (!started_) {
    started_ = true;
    NewSession();
  }
  if (reopen_.exchange(false, std::memory_order_acq_rel)) Reopen();
  for (;;) {
    uint32_t flows = 0;
    uint32_t templates = 0;
    const size_t len = PackNext(&buf_, &flows, &templates);
    if (len == 0) break;
    buf_flows_ += flows;
    buf_templates_ += templates;
    ++buf_messages_;
    ReleaseSpool(spool_sent_);
    if (buf_.size() >= kWriteChunk) WriteOut();
  }
  // Written whenever the spool runs dry, so a reader of the file sees
  // records without waiting for a full chunk.
  if (!buf_.empty()) WriteOut();
  return now_ms + 1000;
}

absl::Status FileExporter::Close() {
  if (!buf_.empty()) WriteOut();
  if (fd_ >= 0 && close(fd_) != 0 && error_ == 0) error_ = errno;
  fd_ = -1;
  if (error_ != 0) {
    return absl::DataLossError(
        absl::StrCat("--ipfix ", opts_.name, ": write failed: ", std::strerror(error_)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Exporter>> NewFileExporter(const ExporterOptions& o,
                                                          BatchQueue* queue,
                                                          ExporterCounters* counters) {
  const int fd = open(o.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("--ipfix ", o.name, ": cannot open for writing: ", std::strerror(errno)));
  }
  return std::unique_ptr<Exporter>(new FileExporter(o, queue, counters, fd));
}

}  // namespace skyprobe::ipfix
