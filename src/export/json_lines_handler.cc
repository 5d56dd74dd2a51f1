#include "export/json_lines_handler.h"

#include <cerrno>
#include <cstring>

#include "skyprobe/status.h"

namespace skyprobe {
namespace {
constexpr size_t kFlushAt = 1 << 16;
}  // namespace

absl::StatusOr<std::unique_ptr<JsonLinesHandler>> JsonLinesHandler::Open(const std::string& path,
                                                                         JsonContext ctx) {
  if (path == "-") {
    return std::unique_ptr<JsonLinesHandler>(
        new JsonLinesHandler(stdout, false, "stdout", std::move(ctx)));
  }
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("--json ", path, ": cannot open for writing: ", std::strerror(errno)));
  }
  return std::unique_ptr<JsonLinesHandler>(new JsonLinesHandler(f, true, path, std::move(ctx)));
}

JsonLinesHandler::JsonLinesHandler(std::FILE* f, bool owned, std::string path, JsonContext ctx)
    : file_(f), owned_(owned), path_(std::move(path)), ctx_(std::move(ctx)) {
  buf_.reserve(kFlushAt * 2);
}

JsonLinesHandler::~JsonLinesHandler() {
  if (file_ != nullptr) (void)Close();
}

void JsonLinesHandler::OnRecord(const FlowSnapshot& s) {
  AppendFlowJson(s, ctx_, &buf_);
  if (buf_.size() >= kFlushAt) Flush();
}

void JsonLinesHandler::Flush() {
  if (!buf_.empty() && error_ == 0) {
    if (std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size()) error_ = errno;
  }
  buf_.clear();
}

absl::Status JsonLinesHandler::Close() {
  if (file_ == nullptr) return absl::OkStatus();
  Flush();
  if (std::fflush(file_) != 0 && error_ == 0) error_ = errno;
  if (owned_ && std::fclose(file_) != 0 && error_ == 0) error_ = errno;
  file_ = nullptr;
  if (error_ != 0) {
    return absl::DataLossError(
        absl::StrCat("--json ", path_, ": write failed: ", std::strerror(error_)));
  }
  return absl::OkStatus();
}

}  // namespace skyprobe
