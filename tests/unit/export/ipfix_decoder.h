// ipfix_decoder.h: a second, independent reading of IPFIX for the tests:
// RFC 7011 messages decoded from bytes with their templates, and the IANA
// registry as Debian's python3-ipfix ships it (name, number, type, length),
// so that tests name elements as the registry does, never by the exporter's
// own tables.
//
// Owner: test code only.
//
//   IeRegistry reg = IeRegistry::Load();            // fails the test if absent
//   Stream s = DecodeStream(bytes.data(), bytes.size());
//   s.records[0].Get(reg, "sourceIPv4Address");
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace skyprobe::testing {

struct IeSpec {
  std::string name;
  uint32_t pen = 0;
  uint16_t id = 0;
  std::string type;
  uint16_t length = 0;  // 65535: variable
};

// The registry files of python3-ipfix: iana.iespec and rfc5103.iespec, lines
// like "octetDeltaCount(1)<unsigned64>[8]" and
// "reverseOctetDeltaCount(29305/1)<unsigned64>[8]".
class IeRegistry {
 public:
  static std::string Dir() {
    const char* d = std::getenv("SKYPROBE_IESPEC_DIR");
    return d != nullptr ? d : "/usr/lib/python3/dist-packages/ipfix";
  }
  // Empty `error()` when both files were read.
  static IeRegistry Load() {
    IeRegistry r;
    const std::regex line(R"(^([A-Za-z0-9]+)\((?:(\d+)/)?(\d+)\)<([A-Za-z0-9]+)>\[(\d+)\]\s*$)");
    for (const char* file : {"iana.iespec", "rfc5103.iespec"}) {
      const std::string path = Dir() + "/" + file;
      std::ifstream in(path);
      if (!in) {
        r.error_ = path + " not found: install python3-ipfix (scripts/setup.sh --tests)";
        return r;
      }
      std::string text;
      while (std::getline(in, text)) {
        std::smatch m;
        if (!std::regex_match(text, m, line)) continue;
        IeSpec s;
        s.name = m[1];
        s.pen = m[2].matched ? static_cast<uint32_t>(std::stoul(m[2])) : 0;
        s.id = static_cast<uint16_t>(std::stoul(m[3]));
        s.type = m[4];
        s.length = static_cast<uint16_t>(std::stoul(m[5]));
        r.by_name_[s.name] = s;
        r.by_number_[{s.pen, s.id}] = s.name;
      }
    }
    return r;
  }
  const std::string& error() const { return error_; }
  size_t size() const { return by_name_.size(); }
  const IeSpec* Find(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &it->second;
  }
  std::string NameOf(uint32_t pen, uint16_t id) const {
    auto it = by_number_.find({pen, id});
    return it == by_number_.end() ? "" : it->second;
  }

 private:
  std::map<std::string, IeSpec> by_name_;
  std::map<std::pair<uint32_t, uint16_t>, std::string> by_number_;
  std::string error_;
};

struct FieldSpec {
  uint32_t pen;
  uint16_t id;
  uint16_t length;
};

struct DecodedRecord {
  uint16_t template_id = 0;
  std::vector<std::pair<FieldSpec, std::vector<uint8_t>>> fields;
  // The value of the element named `name` (by the registry), empty if absent.
  const std::vector<uint8_t>* Find(const IeRegistry& reg, const std::string& name) const {
    const IeSpec* s = reg.Find(name);
    if (s == nullptr) return nullptr;
    for (const auto& [f, v] : fields) {
      if (f.pen == s->pen && f.id == s->id) return &v;
    }
    return nullptr;
  }
  const std::vector<uint8_t>* FindEnterprise(uint32_t pen, uint16_t id) const {
    for (const auto& [f, v] : fields) {
      if (f.pen == pen && f.id == id) return &v;
    }
    return nullptr;
  }
  static uint64_t Uint(const std::vector<uint8_t>& v) {
    uint64_t x = 0;
    for (uint8_t b : v) x = x << 8 | b;
    return x;
  }
};

struct DecodedMessage {
  uint16_t length = 0;
  uint32_t export_time = 0;
  uint32_t sequence = 0;
  uint32_t domain = 0;
  uint32_t data_records = 0;
  uint32_t options_records = 0;  // of data_records: under an options template (type records)
  uint32_t template_records = 0;
};

struct Stream {
  std::vector<DecodedMessage> messages;
  std::vector<DecodedRecord> records;  // data records, in order
  std::map<uint16_t, std::vector<FieldSpec>> templates;
  std::map<uint16_t, uint16_t> scope_counts;  // options templates
  std::string error;                          // first malformation, empty if none
};

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t Be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

// Decodes back-to-back messages (a file, or UDP payloads appended).
inline Stream DecodeStream(const uint8_t* data, size_t size) {
  Stream s;
  size_t pos = 0;
  auto fail = [&](const std::string& why) {
    if (s.error.empty()) s.error = why + " at byte " + std::to_string(pos);
  };
  while (pos < size) {
    if (size - pos < 16) return fail("truncated message header"), s;
    const uint8_t* m = data + pos;
    DecodedMessage msg;
    if (Be16(m) != 10) return fail("version is not 10"), s;
    msg.length = Be16(m + 2);
    msg.export_time = Be32(m + 4);
    msg.sequence = Be32(m + 8);
    msg.domain = Be32(m + 12);
    if (msg.length < 16 || pos + msg.length > size) return fail("bad message length"), s;
    size_t off = 16;
    while (off < msg.length) {
      if (msg.length - off < 4) return fail("truncated set header"), s;
      const uint16_t set_id = Be16(m + off);
      const uint16_t set_len = Be16(m + off + 2);
      if (set_len < 4 || off + set_len > msg.length) return fail("bad set length"), s;
      const uint8_t* p = m + off + 4;
      const uint8_t* end = m + off + set_len;
      if (set_id == 2 || set_id == 3) {
        while (end - p >= 4) {
          const uint16_t tid = Be16(p);
          const uint16_t count = Be16(p + 2);
          p += 4;
          if (set_id == 3) {
            s.scope_counts[tid] = Be16(p);
            p += 2;
          }
          std::vector<FieldSpec> fields;
          for (uint16_t i = 0; i < count; ++i) {
            if (end - p < 4) return fail("truncated template"), s;
            FieldSpec f{0, static_cast<uint16_t>(Be16(p) & 0x7FFF), Be16(p + 2)};
            const bool ent = (Be16(p) & 0x8000) != 0;
            p += 4;
            if (ent) {
              if (end - p < 4) return fail("truncated enterprise number"), s;
              f.pen = Be32(p);
              p += 4;
            }
            fields.push_back(f);
          }
          s.templates[tid] = fields;
          ++msg.template_records;
        }
      } else if (set_id >= 256) {
        auto t = s.templates.find(set_id);
        if (t == s.templates.end()) return fail("data set before its template"), s;
        // Records until fewer bytes than the shortest record are left (padding).
        size_t min_len = 0;
        for (const FieldSpec& f : t->second) min_len += f.length == 65535 ? 1 : f.length;
        while (static_cast<size_t>(end - p) >= min_len && end > p) {
          DecodedRecord r;
          r.template_id = set_id;
          for (const FieldSpec& f : t->second) {
            size_t len = f.length;
            if (len == 65535) {
              if (end - p < 1) return fail("truncated length"), s;
              len = *p++;
              if (len == 255) {
                if (end - p < 2) return fail("truncated long length"), s;
                len = Be16(p);
                p += 2;
              }
            }
            if (static_cast<size_t>(end - p) < len) return fail("truncated field"), s;
            r.fields.push_back({f, std::vector<uint8_t>(p, p + len)});
            p += len;
          }
          s.records.push_back(std::move(r));
          ++msg.data_records;
          msg.options_records += s.scope_counts.count(set_id) > 0;
        }
      } else {
        return fail("reserved set id"), s;
      }
      off += set_len;
    }
    s.messages.push_back(msg);
    pos += msg.length;
  }
  return s;
}

}  // namespace skyprobe::testing
