// json_lines_handler.h: the --json sink: one JSON object per record, per line.
//
// Owner: control lcore only. Buffers lines and writes them in large chunks
// (at 64 KiB, about once a second, and at exit) with write(2).
//
//   SKYPROBE_ASSIGN_OR_RETURN(auto h, JsonLinesHandler::Open("-", ctx));
//   loop.AddHandler(std::move(h));
//
// Write errors never stop the probe. Each failed write counts one
// output_error, and every record whose line did not reach the output whole
// counts one of records_lost (OutputCounters, read live by stats). After
// EPIPE (the reader is gone: `skyprobe ... --json - | head -1`) nothing is
// written any more and each later record is counted lost without being
// formatted; after any other error (ENOSPC, EIO, ...) every later chunk is
// tried again, and a line cut by the failure is ended first so that the
// lines after it parse. The first error of each kind is reported on stderr
// once; Close() returns DataLoss when records were lost, which main turns
// into exit status 3.
//
// Reopen() (SIGHUP) writes out the buffer, then opens the path again in
// append mode (logrotate: the old file was renamed); if that fails, the old
// file is kept and the failure counted. stdout is never reopened.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "export/json_lines.h"
#include "record/flow_handler.h"

namespace skyprobe {

class JsonLinesHandler final : public FlowHandler {
 public:
  // `path` "-" is stdout.
  static absl::StatusOr<std::unique_ptr<JsonLinesHandler>> Open(const std::string& path,
                                                                JsonContext ctx);
  ~JsonLinesHandler() override;

  void OnRecord(const FlowSnapshot& s) override;
  void Flush() override;
  void Reopen() override;
  absl::Status Close() override;
  const char* output_name() const override { return "json"; }
  const OutputCounters* output_counters() const override { return &counters_; }

 private:
  JsonLinesHandler(int fd, bool owned, std::string path, std::string label, JsonContext ctx);
  // Writes all of `len` bytes; false (with errno set) on a failure.
  bool WriteAll(const char* data, size_t len, size_t* written);
  void Failed(int err);

  int fd_;
  bool owned_;
  std::string path_;   // the file opened again by Reopen (empty for stdout)
  std::string label_;  // "--json flows.json", "--json stdout": names the output in messages
  JsonContext ctx_;
  std::string buf_;
  bool broken_ = false;          // EPIPE: the reader is gone for good
  bool mid_line_ = false;        // a failed write left part of a line in the output
  int last_error_ = 0;           // errno of the latest failure
  int reported_ = 0;             // errno already reported on stderr
  uint64_t write_failures_ = 0;  // output_errors minus failed reopens (no record lost there)
  OutputCounters counters_;
};

}  // namespace skyprobe
