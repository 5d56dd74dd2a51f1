// json_string.cc: text as a JSON string literal (quotes, escapes, U+FFFD for
// bytes that are not UTF-8), written at a pointer for the JSON lines writer
// and appended to a string for everyone else (AppendJsonString).
//
// Owner: any thread; pure functions.
//
//   char* end = export_internal::WriteJsonString(text, p);  // room: JsonStringBound
//   AppendJsonString(text, &out);
#include <array>
#include <cstdint>
#include <cstring>
#include <string>

#include "export/internal/json_writer.h"
#include "export/json_lines.h"

namespace skyprobe {
namespace export_internal {
namespace {

// Bytes that end a plain run: control bytes, '"', '\\' and every non-ASCII
// byte (checked as UTF-8 on its own path).
constexpr auto kStopsRun = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  return t;
}();

// Length of the valid UTF-8 sequence at the start of `s`, 0 if invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t Utf8SequenceLength(const uint8_t* s, size_t size) {
  const uint8_t b0 = s[0];
  size_t len;
  uint32_t min;
  uint32_t cp;
  if ((b0 & 0xe0) == 0xc0) {
    len = 2, min = 0x80, cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3, min = 0x800, cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4, min = 0x10000, cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (size < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    const uint8_t b = s[i];
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

// Writes the escape of the byte `c` that stopped a run and is not the start
// of a valid UTF-8 sequence.
char* WriteEscape(uint8_t c, char* p) {
  static constexpr char kHex[] = "0123456789abcdef";
  char short_form = 0;
  switch (c) {
    case '"':
      short_form = '"';
      break;
    case '\\':
      short_form = '\\';
      break;
    case '\b':
      short_form = 'b';
      break;
    case '\f':
      short_form = 'f';
      break;
    case '\n':
      short_form = 'n';
      break;
    case '\r':
      short_form = 'r';
      break;
    case '\t':
      short_form = 't';
      break;
    default:
      break;
  }
  if (short_form != 0) {
    p[0] = '\\';
    p[1] = short_form;
    return p + 2;
  }
  if (c < 0x20) {
    const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0x0f]};
    std::memcpy(p, esc, sizeof(esc));
  } else {
    constexpr std::string_view kReplacement = "\\ufffd";  // one invalid UTF-8 byte
    std::memcpy(p, kReplacement.data(), kReplacement.size());
  }
  return p + 6;
}

}  // namespace

char* WriteJsonString(std::string_view text, char* p) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  *p++ = '"';
  size_t i = 0;
  while (i < n) {
    const uint8_t c = s[i];
    if (!kStopsRun[c]) {  // most bytes of our strings: one table look-up each
      *p++ = static_cast<char>(c);
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const size_t len = Utf8SequenceLength(s + i, n - i);
      if (len != 0) {
        std::memcpy(p, s + i, len);
        p += len;
        i += len;
        continue;
      }
    }
    p = WriteEscape(c, p);
    ++i;
  }
  *p++ = '"';
  return p;
}

}  // namespace export_internal

void AppendJsonString(std::string_view text, std::string* out) {
  const size_t old = out->size();
  out->resize(old + export_internal::JsonStringBound(text.size()));
  char* end = export_internal::WriteJsonString(text, out->data() + old);
  out->resize(static_cast<size_t>(end - out->data()));
}

}  // namespace skyprobe
