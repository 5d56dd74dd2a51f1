// json_writer.h: the JSON writer of the JSON lines export, shared by its
// files (private to src/export).
//
// Owner: whoever writes one record (control lcore, gRPC threads,
// skyprobectl); it fills a buffer on its own stack and appends it to the
// caller's string when full and at Finish(); no state beyond one record.
//
//   Writer w(&out); w.Open(); w.Int("Start", s.start); w.Close(); w.Finish();
//   WriteAppJson(s.app.value(), &w);   // the application metadata objects (json_app.cc)
//
// Why a buffer and a pointer: appending each key and value to the string
// cost a size check, a capacity check and a memcpy call per piece (40 % of
// the line's time was memmove). Here a field is one room check and plain
// stores: keys given as literals are copied with their length known at
// compile time, enum names come with their quotes from tables.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "export/internal/decimal.h"
#include "export/json_lines.h"
#include "record/app_meta.h"
#include "record/flow_format.h"

namespace skyprobe::export_internal {

// The most bytes WriteJsonString writes for `size` input bytes: each byte
// may become a 6-byte escape ("\u001f", "\ufffd"), plus the two quotes.
constexpr size_t JsonStringBound(size_t size) { return 6 * size + 2; }

// Writes `text` as a JSON string literal at `p` (room: JsonStringBound),
// returns its end. Same escaping as AppendJsonString (json_string.cc).
char* WriteJsonString(std::string_view text, char* p);

// An enum value name with its quotes, padded so that it is copied with one
// fixed-size memcpy. Our proto enum names: ASCII, shorter than 30.
struct QuotedName {
  static constexpr size_t kCopySize = 32;
  char bytes[kCopySize];
  size_t size;
};

// Table of QuotedName for every value of a uint8_t enum, from its name
// function (built once, on first use).
template <typename E, std::string_view (*kName)(E)>
const QuotedName& QuotedNameOf(E e) {
  static const std::array<QuotedName, 256> kTable = [] {
    std::array<QuotedName, 256> t{};
    for (size_t v = 0; v < t.size(); ++v) {
      std::string_view name = kName(static_cast<E>(v));
      if (name.size() > QuotedName::kCopySize - 2) name = name.substr(0, QuotedName::kCopySize - 2);
      t[v].bytes[0] = '"';
      std::memcpy(t[v].bytes + 1, name.data(), name.size());
      t[v].bytes[name.size() + 1] = '"';
      t[v].size = name.size() + 2;
    }
    return t;
  }();
  return kTable[static_cast<uint8_t>(e)];
}

// `first_` tracks comma placement inside the current object or array. A
// nested value always follows a key or opens an array element, and closing
// it leaves its parent non-empty, so one flag (false after any close) is
// enough at any depth.
class Writer {
 public:
  static constexpr size_t kBufferSize = 4096;
  // Field keys are our own short ASCII names (the longest is under 40).
  static constexpr size_t kMaxKey = 48;
  // Room for `,"key":` and a scalar value (a number, hex, MAC, IP in quotes).
  static constexpr size_t kFieldRoom = kMaxKey + 4 + kMaxIpText + 8;

  explicit Writer(std::string* out) : out_(out) {}
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  ~Writer() = default;

  // Appends what is buffered to the caller's string; call once at the end.
  void Finish() { Flush(); }

  void Open() {
    *Room(1) = '{';
    ++p_;
    first_ = true;
  }
  void Close() {
    *Room(1) = '}';
    ++p_;
    first_ = false;
  }
  void Newline() {
    *Room(1) = '\n';
    ++p_;
  }

  void Key(std::string_view key) { p_ = KeyAt(Room(kFieldRoom), key); }
  template <size_t N>
  void Key(const char (&key)[N]) {
    p_ = KeyAt(Room(kFieldRoom), key);
  }
  template <typename K>
  void ObjectKey(const K& key) {
    Key(key);
    Open();
  }

  template <typename K>
  void Int(const K& key, int64_t v) {
    char* p = KeyAt(Room(kFieldRoom), key);
    p_ = WriteDecimal(v, p);
  }
  template <typename K>
  void IntIfNonZero(const K& key, int64_t v) {
    if (v != 0) Int(key, v);
  }
  // `name` with its quotes (QuotedNameOf).
  template <typename K>
  void Enum(const K& key, const QuotedName& name) {
    char* p = KeyAt(Room(kFieldRoom + QuotedName::kCopySize), key);
    std::memcpy(p, name.bytes, QuotedName::kCopySize);
    p_ = p + name.size;
  }
  // A name of ours in quotes: ASCII, nothing to escape.
  template <typename K>
  void Enum(const K& key, std::string_view name) {
    if (name.size() > kMaxKey) name = name.substr(0, kMaxKey);
    char* p = KeyAt(Room(kFieldRoom + kMaxKey), key);
    *p++ = '"';
    std::memcpy(p, name.data(), name.size());
    p += name.size();
    *p++ = '"';
    p_ = p;
  }
  template <typename K>
  void String(const K& key, std::string_view v) {
    Key(key);
    StringValue(v);
  }
  template <typename K>
  void StringIfNonEmpty(const K& key, std::string_view v) {
    if (!v.empty()) String(key, v);
  }
  template <typename K>
  void Hex(const K& key, uint64_t v) {
    char* p = KeyAt(Room(kFieldRoom), key);
    *p++ = '"';
    p = WriteHex(v, p);
    *p++ = '"';
    p_ = p;
  }
  template <typename K>
  void Mac(const K& key, const uint8_t mac[6]) {
    char* p = KeyAt(Room(kFieldRoom), key);
    *p++ = '"';
    p = WriteMac(mac, p);
    *p++ = '"';
    p_ = p;
  }
  template <typename K>
  void Ip(const K& key, uint8_t version, const uint8_t* addr) {
    char* p = KeyAt(Room(kFieldRoom), key);
    *p++ = '"';
    p = WriteIp(version, addr, p);
    *p++ = '"';
    p_ = p;
  }
  void Bool(std::string_view key, bool v) {
    char* p = KeyAt(Room(kFieldRoom), key);
    const std::string_view text = v ? "true" : "false";
    std::memcpy(p, text.data(), text.size());
    p_ = p + text.size();
  }
  void BoolIfTrue(std::string_view key, bool v) {
    if (v) Bool(key, v);
  }
  // Bytes as protobuf's JSON mapping writes them: base64 (omitted when empty).
  void BytesIfNonEmpty(std::string_view key, std::string_view v);

  // Arrays: ArrayKey("Answers"), then ArrayObject() ... Close() per element
  // (or ArrayString), then CloseArray().
  void ArrayKey(std::string_view key) {
    Key(key);
    *Room(1) = '[';
    ++p_;
    first_ = true;
  }
  void ArrayObject() {
    if (!first_) {
      *Room(1) = ',';
      ++p_;
    }
    Open();
  }
  void ArrayString(std::string_view v) {
    if (!first_) {
      *Room(1) = ',';
      ++p_;
    }
    first_ = false;
    StringValue(v);
  }
  void CloseArray() {
    *Room(1) = ']';
    ++p_;
    first_ = false;
  }

  // Raw text (ours, nothing to escape) at the cursor: room for `n` bytes
  // (n <= kBufferSize), to be followed by Advance(end).
  char* Room(size_t n) {
    if (static_cast<size_t>(buf_ + kBufferSize - p_) < n) Flush();
    return p_;
  }
  void Advance(char* end) { p_ = end; }

  // Everything buffered goes to the string, which the caller may then append
  // to directly (long values); the buffer starts over.
  std::string* FlushedOut() {
    Flush();
    return out_;
  }

 private:
  void Flush() {
    out_->append(buf_, static_cast<size_t>(p_ - buf_));
    p_ = buf_;
  }
  char* Comma(char* p) {
    *p = ',';
    p += first_ ? 0 : 1;  // no comma first in an object: no branch either
    first_ = false;
    return p;
  }
  // `,"key":` at `p` (room: kFieldRoom); returns its end.
  char* KeyAt(char* p, std::string_view key) {
    p = Comma(p);
    *p++ = '"';
    const size_t n = key.size() < kMaxKey ? key.size() : kMaxKey;
    std::memcpy(p, key.data(), n);
    p += n;
    *p++ = '"';
    *p++ = ':';
    return p;
  }
  template <size_t N>
  char* KeyAt(char* p, const char (&key)[N]) {
    static_assert(N - 1 <= kMaxKey);
    p = Comma(p);
    *p++ = '"';
    std::memcpy(p, key, N - 1);  // a constant size: a few stores
    p += N - 1;
    *p++ = '"';
    *p++ = ':';
    return p;
  }
  void StringValue(std::string_view v) {
    const size_t bound = JsonStringBound(v.size());
    if (bound <= kBufferSize) {
      p_ = WriteJsonString(v, Room(bound));
    } else {
      AppendJsonString(v, FlushedOut());  // longer than the buffer: user input
    }
  }

  char buf_[kBufferSize];  // not initialized: written before it is read
  std::string* out_;
  char* p_ = buf_;
  bool first_ = true;
};

// Writes the TLS, HTTP and DNSQuery objects and Skydive's DNS, DHCPv4 and
// VRRPv2 extra layers of `app`, if any (export/json_app.cc).
void WriteAppJson(const AppMeta& app, Writer* w);

}  // namespace skyprobe::export_internal
