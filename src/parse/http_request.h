// http_request.h: an incremental reader of an HTTP/1.x request head: the
// method of its request line and the value of its first Host header field.
//
// Owner: RX lcore (one reader per request head in progress). Plain data, no
// allocation: the client's TCP stream is fed in order, in pieces of any size,
// from the request's first byte; the reader stops at the Host field or at
// the end of the head, whichever comes first.
//
//   HttpRequestParser r;                                  // starts reset
//   if (r.Feed(seg, seg_len, &head) == HttpRequestParser::Status::kDone) Use(head);
#pragma once

#include <cstdint>

namespace skyprobe {

// Request methods of RFC 9110 (and PATCH, RFC 5789); 0 is "none".
enum class HttpMethod : uint8_t {
  kNone = 0,
  kGet,
  kHead,
  kPost,
  kPut,
  kDelete,
  kConnect,
  kOptions,
  kTrace,
  kPatch,
};

// "GET", "HEAD", ... ("" for kNone).
const char* HttpMethodName(HttpMethod m);
// The method named `name` (case-sensitive, as on the wire), kNone if none.
HttpMethod HttpMethodFromName(const char* name, uint32_t len);

inline constexpr int kHttpMaxHost = 255;
// A request line or header line longer than this ends the reading (kNotHttp
// for the request line, kDone without a Host for a header line).
inline constexpr uint32_t kHttpMaxLine = 8192;

struct HttpRequestHead {
  HttpMethod method = HttpMethod::kNone;
  bool has_host = false;
  bool host_truncated = false;  // the value was longer than kHttpMaxHost
  uint8_t host_len = 0;
  char host[kHttpMaxHost];  // field value without surrounding whitespace
};

class HttpRequestParser {
 public:
  enum class Status : uint8_t {
    kNeedMore,  // feed the next bytes
    kDone,      // method known, and the Host field read or the head ended without one
    kNotHttp,   // not an HTTP/1.x request line
  };

  HttpRequestParser() { Reset(); }
  void Reset() noexcept;

  // Feeds the next `len` bytes; `out` is the same object on every call (it
  // is reset on the first byte). After kDone or kNotHttp nothing more is read.
  Status Feed(const uint8_t* data, uint32_t len, HttpRequestHead* out) noexcept;

 private:
  enum class State : uint8_t;
  Status status_;
  State state_;
  uint8_t idx_;        // characters matched in the current token
  char method_[8];     // the method token so far
  uint32_t line_len_;  // bytes of the current line so far
  uint32_t consumed_;
  uint8_t host_ws_;  // trailing whitespace held back from the value
};

}  // namespace skyprobe
