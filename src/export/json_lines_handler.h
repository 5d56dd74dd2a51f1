// json_lines_handler.h: the --json sink: one JSON object per record, per line.
//
// Owner: control lcore only. Buffers lines and writes them in large chunks;
// a write error (disk full, closed pipe) is kept and reported by Close().
//
//   SKYPROBE_ASSIGN_OR_RETURN(auto h, JsonLinesHandler::Open("-", ctx));
//   loop.AddHandler(std::move(h));
#pragma once

#include <cstdio>
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
  absl::Status Close() override;

 private:
  JsonLinesHandler(std::FILE* f, bool owned, std::string path, JsonContext ctx);
  void Flush();

  std::FILE* file_;
  bool owned_;
  std::string path_;
  JsonContext ctx_;
  std::string buf_;
  int error_ = 0;
};

}  // namespace skyprobe
