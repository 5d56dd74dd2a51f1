// HttpRequestParser: one state per part of the head (RFC 9112 §3, §5).
//
// request-line = method SP request-target SP HTTP-version CRLF, where the
// version must be "HTTP/1." and a digit; a bare LF ends a line too (§2.2).
// Header lines are matched against "host:" case-insensitively; any other line
// is skipped with memchr. A field line starting with whitespace (obsolete
// folding) is skipped like any other line that is not Host.
#include "parse/http_request.h"

#include <cstring>

namespace skyprobe {

enum class HttpRequestParser::State : uint8_t {
  kMethod,     // the method token, up to its SP
  kTarget,     // the request-target, up to its SP
  kVersion,    // "HTTP/1." then a digit
  kLineEnd,    // CR LF (or LF) after the version
  kLineStart,  // the first byte of a header line, or the empty line
  kHeadEnd,    // LF after the CR of the empty line
  kName,       // matching "host:"
  kHostLead,   // whitespace before the value
  kHostValue,  // the value, up to the end of the line
  kSkipLine,   // the rest of a line that is not Host
};

namespace {

constexpr const char* kMethodNames[] = {"",       "GET",     "HEAD",    "POST",  "PUT",
                                        "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};
constexpr char kVersionPrefix[] = "HTTP/1.";

inline char Lower(uint8_t c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); }

}  // namespace

const char* HttpMethodName(HttpMethod m) {
  const auto i = static_cast<size_t>(m);
  return i < sizeof(kMethodNames) / sizeof(kMethodNames[0]) ? kMethodNames[i] : "";
}

HttpMethod HttpMethodFromName(const char* name, uint32_t len) {
  for (size_t i = 1; i < sizeof(kMethodNames) / sizeof(kMethodNames[0]); ++i) {
    if (std::strlen(kMethodNames[i]) == len && std::memcmp(kMethodNames[i], name, len) == 0) {
      return static_cast<HttpMethod>(i);
    }
  }
  return HttpMethod::kNone;
}

void HttpRequestParser::Reset() noexcept {
  status_ = Status::kNeedMore;
  state_ = State::kMethod;
  idx_ = 0;
  line_len_ = 0;
  consumed_ = 0;
  host_ws_ = 0;
}

HttpRequestParser::Status HttpRequestParser::Feed(const uint8_t* data, uint32_t len,
                                                  HttpRequestHead* out) noexcept {
  if (status_ != Status::kNeedMore) return status_;
  if (consumed_ == 0 && len > 0) *out = HttpRequestHead();
  consumed_ += len;
  const uint8_t* p = data;
  const uint8_t* const e = data + len;
  // The request line may not run on forever; a header line that does ends
  // the reading without a Host.
  const auto too_long = [&](uint32_t n) {
    line_len_ += n;
    return line_len_ > kHttpMaxLine;
  };
  while (p < e) {
    switch (state_) {
      case State::kMethod: {
        const uint8_t c = *p++;
        if (c == ' ') {
          out->method = HttpMethodFromName(method_, idx_);
          if (out->method == HttpMethod::kNone) return status_ = Status::kNotHttp;
          idx_ = 0;
          state_ = State::kTarget;
        } else if (idx_ == sizeof(method_)) {
          return status_ = Status::kNotHttp;
        } else {
          method_[idx_++] = static_cast<char>(c);
        }
        if (too_long(1)) return status_ = Status::kNotHttp;
        break;
      }
      case State::kTarget: {
        // Up to the SP before the version; a CR or LF first is HTTP/0.9 or junk.
        // idx_ says whether the target has a byte yet: a piece may end
        // right before its SP.
        const uint8_t* q = p;
        while (q < e && *q != ' ' && *q != '\r' && *q != '\n') ++q;
        if (q != p) idx_ = 1;
        if (too_long(static_cast<uint32_t>(q - p) + (q == e ? 0 : 1))) {
          return status_ = Status::kNotHttp;
        }
        if (q == e) {
          p = q;
          break;
        }
        if (*q != ' ' || idx_ == 0) return status_ = Status::kNotHttp;
        idx_ = 0;
        p = q + 1;
        state_ = State::kVersion;
        break;
      }
      case State::kVersion: {
        const uint8_t c = *p++;
        if (idx_ < sizeof(kVersionPrefix) - 1) {
          if (c != static_cast<uint8_t>(kVersionPrefix[idx_])) return status_ = Status::kNotHttp;
          ++idx_;
        } else {
          if (c < '0' || c > '9') return status_ = Status::kNotHttp;
          state_ = State::kLineEnd;
          idx_ = 0;
        }
        break;
      }
      case State::kLineEnd: {
        const uint8_t c = *p++;
        if (c == '\r' && idx_ == 0) {
          idx_ = 1;
        } else if (c == '\n') {
          state_ = State::kLineStart;
          line_len_ = 0;
        } else {
          return status_ = Status::kNotHttp;
        }
        break;
      }
      case State::kLineStart: {
        const uint8_t c = *p;
        if (c == '\n') return status_ = Status::kDone;  // the empty line: no Host
        ++p;
        if (c == '\r') {
          state_ = State::kHeadEnd;
        } else if (Lower(c) == 'h') {
          idx_ = 1;
          line_len_ = 1;
          state_ = State::kName;
        } else {
          line_len_ = 1;
          state_ = State::kSkipLine;
        }
        break;
      }
      case State::kHeadEnd:
        return status_ = Status::kDone;  // CR LF (or CR then anything): the head ended
      case State::kName: {
        static constexpr char kHost[] = "host:";
        const uint8_t c = *p++;
        if (too_long(1)) return status_ = Status::kDone;
        if (Lower(c) == kHost[idx_]) {
          if (++idx_ == 5) {
            state_ = State::kHostLead;
            out->has_host = true;
          }
        } else if (c == '\n') {
          state_ = State::kLineStart;
          line_len_ = 0;
        } else {
          state_ = State::kSkipLine;
        }
        break;
      }
      case State::kHostLead:
        if (*p == ' ' || *p == '\t') {
          ++p;
          if (too_long(1)) return status_ = Status::kDone;
          break;
        }
        state_ = State::kHostValue;
        host_ws_ = 0;
        break;
      case State::kHostValue: {
        const uint8_t c = *p++;
        if (c == '\r' || c == '\n') {
          // Trailing whitespace is not part of the value (RFC 9110 §5.5).
          out->host_len = static_cast<uint8_t>(out->host_len - host_ws_);
          return status_ = Status::kDone;
        }
        if (too_long(1)) return status_ = Status::kDone;
        host_ws_ = (c == ' ' || c == '\t') ? static_cast<uint8_t>(host_ws_ + 1) : 0;
        if (out->host_len < kHttpMaxHost) {
          out->host[out->host_len++] = static_cast<char>(c);
        } else {
          out->host_truncated = true;
          host_ws_ = 0;
        }
        break;
      }
      case State::kSkipLine: {
        const void* nl = std::memchr(p, '\n', static_cast<size_t>(e - p));
        if (nl == nullptr) {
          const bool over = too_long(static_cast<uint32_t>(e - p));
          p = e;
          if (over) return status_ = Status::kDone;
          break;
        }
        p = static_cast<const uint8_t*>(nl) + 1;
        state_ = State::kLineStart;
        line_len_ = 0;
        break;
      }
    }
  }
  return status_;
}

}  // namespace skyprobe
