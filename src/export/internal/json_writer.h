// json_writer.h: the small JSON writer of the JSON lines export, shared by
// its files (private to src/export).
//
// Owner: whoever writes one record (control lcore, gRPC threads,
// skyprobectl); it appends to the caller's string and keeps no state beyond
// one record.
//
//   Writer w(&out); w.Open(); w.Int("Start", s.start); w.Close();
//   WriteAppJson(s.app.value(), &w);   // the application metadata objects (json_app.cc)
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "export/json_lines.h"
#include "record/app_meta.h"
#include "record/flow_format.h"

namespace skyprobe::export_internal {

// Small writer over the output string; `first_` tracks comma placement inside
// the current object or array. A nested value always follows a key or opens
// an array element, and closing it leaves its parent non-empty, so one flag
// (false after any close) is enough at any depth.
class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}

  void Open() {
    out_->push_back('{');
    first_ = true;
  }
  void Close() {
    out_->push_back('}');
    first_ = false;
  }
  // Field keys are our own short ASCII names (the longest is under 40).
  static constexpr size_t kMaxKey = 48;

  // Writes `,"key":` (no comma first in an object) at `p`; returns its end.
  char* KeyInto(char* p, std::string_view key) {
    if (!first_) *p++ = ',';
    first_ = false;
    *p++ = '"';
    const size_t n = key.size() < kMaxKey ? key.size() : kMaxKey;
    std::memcpy(p, key.data(), n);
    p += n;
    *p++ = '"';
    *p++ = ':';
    return p;
  }
  void Key(std::string_view key) {
    char buf[kMaxKey + 4];
    out_->append(buf, static_cast<size_t>(KeyInto(buf, key) - buf));
  }
  void ObjectKey(std::string_view key) {
    Key(key);
    Open();
  }

  void Int(std::string_view key, int64_t v) {
    char buf[kMaxKey + 4 + 20];  // 20: "-9223372036854775808"
    char* p = KeyInto(buf, key);
    p = std::to_chars(p, buf + sizeof(buf), v).ptr;
    out_->append(buf, static_cast<size_t>(p - buf));
  }
  void IntIfNonZero(std::string_view key, int64_t v) {
    if (v != 0) Int(key, v);
  }
  void Enum(std::string_view key, std::string_view name) {
    char buf[2 * kMaxKey + 6];
    char* p = KeyInto(buf, key);
    *p++ = '"';
    const size_t n = name.size() < kMaxKey ? name.size() : kMaxKey;
    std::memcpy(p, name.data(), n);  // proto enum names: ASCII, nothing to escape
    p += n;
    *p++ = '"';
    out_->append(buf, static_cast<size_t>(p - buf));
  }
  void String(std::string_view key, std::string_view v) {
    Key(key);
    AppendJsonString(v, out_);
  }
  void StringIfNonEmpty(std::string_view key, std::string_view v) {
    if (!v.empty()) String(key, v);
  }
  void Hex(std::string_view key, uint64_t v) {
    Key(key);
    out_->push_back('"');
    AppendHex(v, out_);
    out_->push_back('"');
  }
  void Bool(std::string_view key, bool v) {
    Key(key);
    out_->append(v ? "true" : "false");
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
    out_->push_back('[');
    first_ = true;
  }
  void ArrayObject() {
    if (!first_) out_->push_back(',');
    Open();
  }
  void ArrayString(std::string_view v) {
    if (!first_) out_->push_back(',');
    first_ = false;
    AppendJsonString(v, out_);
  }
  void CloseArray() {
    out_->push_back(']');
    first_ = false;
  }
  std::string* out() { return out_; }

 private:
  std::string* out_;
  bool first_ = true;
};

// Writes the TLS, HTTP and DNSQuery objects and Skydive's DNS, DHCPv4 and
// VRRPv2 extra layers of `app`, if any (export/json_app.cc).
void WriteAppJson(const AppMeta& app, Writer* w);

}  // namespace skyprobe::export_internal
