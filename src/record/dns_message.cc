// DNS decoding for records, after gopacket's layers/dns.go (the decoder
// Skydive's DNS layer uses) and Skydive's flow/layers/dns.go conversion.
// Names follow the parser's stricter rules (parse/parse_app.cc): a pointer
// goes strictly backwards, a name has at most 255 octets, so every walk ends.
#include "record/dns_message.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "record/flow_format.h"

namespace skyprobe {
namespace {

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t Be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}

// Appends the name at `off` (labels joined by '.') to `out`; `*next` is the
// offset after it in the original stream.
bool ReadName(const uint8_t* msg, uint32_t len, uint32_t off, std::string* out, uint32_t* next) {
  out->clear();
  bool jumped = false;
  uint32_t after = 0;
  uint32_t run_start = off;
  uint32_t octets = 0;
  for (int steps = 0; steps < 512; ++steps) {
    if (off >= len) return false;
    const uint8_t b = msg[off];
    if (b == 0) {
      *next = jumped ? after : off + 1;
      return true;
    }
    if ((b & 0xC0) == 0) {
      octets += 1u + b;
      if (octets > 255 || off + 1u + b > len) return false;
      if (!out->empty()) out->push_back('.');
      out->append(reinterpret_cast<const char*>(msg + off + 1), b);
      off += 1u + b;
    } else if ((b & 0xC0) == 0xC0) {
      if (off + 2 > len) return false;
      const uint32_t target = Be16(msg + off) & 0x3FFF;
      if (target >= run_start) return false;
      if (!jumped) {
        jumped = true;
        after = off + 2;
      }
      off = run_start = target;
    } else {
      return false;
    }
  }
  return false;
}

// Go's net.IP.String(): dotted IPv4 (also for an IPv4-mapped IPv6 address),
// RFC 5952 IPv6, "<nil>" when empty, "?" and hex otherwise.
std::string GoIp(const uint8_t* p, uint32_t n) {
  std::string s;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (n == 4) {
    AppendIp(4, p, &s);
  } else if (n == 16 && std::memcmp(p, kMapped, 12) == 0) {
    AppendIp(4, p + 12, &s);
  } else if (n == 16) {
    AppendIp(6, p, &s);
  } else if (n == 0) {
    s = "<nil>";
  } else {
    static constexpr char kHex[] = "0123456789abcdef";
    s = "?";
    for (uint32_t i = 0; i < n; ++i) {
      s.push_back(kHex[p[i] >> 4]);
      s.push_back(kHex[p[i] & 15]);
    }
  }
  return s;
}

// Skydive keeps these types; gopacket decodes their data.
bool Kept(uint16_t type) {
  switch (type) {
    case 1:
    case 2:
    case 5:
    case 6:
    case 12:
    case 13:
    case 15:
    case 16:
    case 28:
    case 33:
    case 41:
      return true;
    default:
      return false;
  }
}

// One record at `off`; false when it is invalid. `*keep` says whether Skydive
// keeps its type.
bool ReadRecord(const uint8_t* msg, uint32_t len, uint32_t* off, DnsRecordView* rr, bool* keep) {
  uint32_t p = 0;
  if (!ReadName(msg, len, *off, &rr->name, &p) || p + 10 > len) return false;
  rr->type = Be16(msg + p);
  rr->cls = Be16(msg + p + 2);
  rr->ttl = Be32(msg + p + 4);
  rr->data_length = Be16(msg + p + 8);
  const uint32_t rdata = p + 10;
  const uint32_t end = rdata + rr->data_length;
  if (end > len) return false;
  *off = end;
  *keep = Kept(rr->type);
  if (!*keep) return true;
  rr->ip.clear();
  rr->target.clear();
  rr->mname.clear();
  rr->rname.clear();
  rr->host.clear();
  rr->txts.clear();
  rr->opts.clear();
  rr->serial = rr->refresh = rr->retry = rr->expire = rr->minimum = 0;
  rr->priority = rr->weight = rr->port = rr->preference = 0;
  uint32_t next = 0;
  switch (rr->type) {
    case 1:
    case 28:
      rr->ip = GoIp(msg + rdata, rr->data_length);
      return true;
    case 2:
    case 5:
    case 12:
      return ReadName(msg, len, rdata, &rr->target, &next);
    case 6:
      if (!ReadName(msg, len, rdata, &rr->mname, &next)) return false;
      if (!ReadName(msg, len, next, &rr->rname, &next) || next + 20 > len) return false;
      rr->serial = Be32(msg + next);
      rr->refresh = Be32(msg + next + 4);
      rr->retry = Be32(msg + next + 8);
      rr->expire = Be32(msg + next + 12);
      rr->minimum = Be32(msg + next + 16);
      return true;
    case 15:
      if (rdata + 2 > len) return false;
      rr->preference = Be16(msg + rdata);
      return ReadName(msg, len, rdata + 2, &rr->host, &next);
    case 33:
      if (rdata + 6 > len) return false;
      rr->priority = Be16(msg + rdata);
      rr->weight = Be16(msg + rdata + 2);
      rr->port = Be16(msg + rdata + 4);
      return ReadName(msg, len, rdata + 6, &rr->host, &next);
    case 13:
    case 16:
      for (uint32_t i = rdata; i < end;) {
        const uint32_t n = msg[i];
        if (i + 1 + n > end) return false;
        rr->txts.emplace_back(reinterpret_cast<const char*>(msg + i + 1), n);
        i += 1 + n;
      }
      return true;
    case 41:
      for (uint32_t i = rdata; i < end;) {
        if (end - i < 4) return false;
        const uint32_t n = Be16(msg + i + 2);
        if (i + 4 + n > end) return false;
        rr->opts.emplace_back(Be16(msg + i),
                              std::string(reinterpret_cast<const char*>(msg + i + 4), n));
        i += 4 + n;
      }
      return true;
    default:
      return true;
  }
}

bool ReadSection(const uint8_t* msg, uint32_t len, uint32_t count, uint32_t* off,
                 std::vector<DnsRecordView>* out, DnsMessage* m) {
  out->clear();
  DnsRecordView rr;
  for (uint32_t i = 0; i < count; ++i) {
    if (*off == len) return true;  // a rebuilt message without the records Skydive drops
    bool keep = false;
    if (!ReadRecord(msg, len, off, &rr, &keep)) return false;
    if (rr.type == 41) m->rcode = static_cast<uint8_t>(m->rcode | ((rr.ttl >> 20) & 0xF0));
    if (keep) out->push_back(rr);
  }
  return true;
}

// Name in wire form, no compression; false for a label over 63 bytes or a
// name over 255 octets.
bool PutName(const std::string& name, uint8_t* out, size_t cap, size_t* pos) {
  size_t start = 0;
  size_t octets = 1;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    const size_t n = dot - start;
    if (n == 0 || n > 63) return false;
    octets += n + 1;
    if (octets > 255 || *pos + 1 + n > cap) return false;
    out[(*pos)++] = static_cast<uint8_t>(n);
    std::memcpy(out + *pos, name.data() + start, n);
    *pos += n;
    start = dot + 1;
  }
  if (*pos + 1 > cap) return false;
  out[(*pos)++] = 0;
  return true;
}

bool Put16(uint16_t v, uint8_t* out, size_t cap, size_t* pos) {
  if (*pos + 2 > cap) return false;
  out[(*pos)++] = static_cast<uint8_t>(v >> 8);
  out[(*pos)++] = static_cast<uint8_t>(v);
  return true;
}

bool Put32(uint32_t v, uint8_t* out, size_t cap, size_t* pos) {
  return Put16(static_cast<uint16_t>(v >> 16), out, cap, pos) &&
         Put16(static_cast<uint16_t>(v), out, cap, pos);
}

bool PutBytes(const std::string& b, uint8_t* out, size_t cap, size_t* pos) {
  if (*pos + b.size() > cap) return false;
  // NOLINTNEXTLINE(bugprone-not-null-terminated-result): wire bytes, no C string
  std::memcpy(out + *pos, b.data(), b.size());
  *pos += b.size();
  return true;
}

// The address text back to bytes (the forms GoIp writes).
bool ParseGoIp(const std::string& s, std::string* bytes) {
  uint8_t a[16];
  bytes->clear();
  if (s == "<nil>") return true;
  if (!s.empty() && s[0] == '?') {
    for (size_t i = 1; i + 1 < s.size(); i += 2) {
      int v = 0;
      if (!absl::SimpleHexAtoi(s.substr(i, 2), &v)) return false;
      bytes->push_back(static_cast<char>(v));
    }
    return true;
  }
  if (inet_pton(AF_INET, s.c_str(), a) == 1) {
    bytes->assign(reinterpret_cast<const char*>(a), 4);
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), a) == 1) {
    bytes->assign(reinterpret_cast<const char*>(a), 16);
    return true;
  }
  return false;
}

bool PutRecord(const DnsRecordView& rr, uint8_t* out, size_t cap, size_t* pos) {
  if (!PutName(rr.name, out, cap, pos) || !Put16(rr.type, out, cap, pos) ||
      !Put16(rr.cls, out, cap, pos) || !Put32(rr.ttl, out, cap, pos)) {
    return false;
  }
  const size_t len_at = *pos;
  if (!Put16(0, out, cap, pos)) return false;
  const size_t start = *pos;
  bool ok = true;
  std::string bytes;
  switch (rr.type) {
    case 1:
    case 28:
      ok = ParseGoIp(rr.ip, &bytes);
      // Go prints an IPv4-mapped IPv6 address dotted: an AAAA record had 16 bytes.
      if (ok && rr.type == 28 && bytes.size() == 4) {
        bytes.insert(0, std::string("\0\0\0\0\0\0\0\0\0\0\xff\xff", 12));
      }
      ok = ok && PutBytes(bytes, out, cap, pos);
      break;
    case 2:
    case 5:
    case 12:
      ok = PutName(rr.target, out, cap, pos);
      break;
    case 6:
      ok = PutName(rr.mname, out, cap, pos) && PutName(rr.rname, out, cap, pos) &&
           Put32(rr.serial, out, cap, pos) && Put32(rr.refresh, out, cap, pos) &&
           Put32(rr.retry, out, cap, pos) && Put32(rr.expire, out, cap, pos) &&
           Put32(rr.minimum, out, cap, pos);
      break;
    case 15:
      ok = Put16(rr.preference, out, cap, pos) && PutName(rr.host, out, cap, pos);
      break;
    case 33:
      ok = Put16(rr.priority, out, cap, pos) && Put16(rr.weight, out, cap, pos) &&
           Put16(rr.port, out, cap, pos) && PutName(rr.host, out, cap, pos);
      break;
    case 13:
    case 16:
      for (const std::string& t : rr.txts) {
        if (!ok || t.size() > 255 || *pos + 1 > cap) return false;
        out[(*pos)++] = static_cast<uint8_t>(t.size());
        ok = PutBytes(t, out, cap, pos);
      }
      break;
    case 41:
      for (const auto& [code, data] : rr.opts) {
        ok = ok && data.size() <= 0xFFFF && Put16(code, out, cap, pos) &&
             Put16(static_cast<uint16_t>(data.size()), out, cap, pos) &&
             PutBytes(data, out, cap, pos);
      }
      break;
    default:
      break;
  }
  if (!ok) return false;
  const size_t n = *pos - start;
  out[len_at] = static_cast<uint8_t>(n >> 8);
  out[len_at + 1] = static_cast<uint8_t>(n);
  return true;
}

struct Named {
  uint16_t value;
  const char* name;
};

constexpr Named kGopacketTypes[] = {
    {1, "A"},   {2, "NS"},   {3, "MD"},    {4, "MF"},   {5, "CNAME"}, {6, "SOA"},    {7, "MB"},
    {8, "MG"},  {9, "MR"},   {10, "NULL"}, {11, "WKS"}, {12, "PTR"},  {13, "HINFO"}, {14, "MINFO"},
    {15, "MX"}, {16, "TXT"}, {28, "AAAA"}, {33, "SRV"}, {41, "OPT"},  {256, "URI"},
};
constexpr Named kGopacketClasses[] = {{1, "IN"}, {2, "CS"}, {3, "CH"}, {4, "HS"}, {255, "Any"}};
constexpr Named kGopacketOpCodes[] = {
    {0, "Query"}, {1, "Inverse Query"}, {2, "Status"}, {4, "Notify"}, {5, "Update"}};
// 16 is both BADVERS and BADSIG: gopacket names it "Bad OPT Version".
constexpr Named kGopacketRcodes[] = {
    {0, "No Error"},
    {1, "Format Error"},
    {2, "Server Failure "},  // sic: gopacket's trailing space
    {3, "Non-Existent Domain"},
    {4, "Not Implemented"},
    {5, "Query Refused"},
    {6, "Name Exists when it should not"},
    {7, "RR Set Exists when it should not"},
    {8, "RR Set that should exist does not"},
    {9, "Server Not Authoritative for zone"},
    {10, "Name not contained in zone"},
    {16, "Bad OPT Version"},
    {17, "Key not recognized"},
    {18, "Signature out of time window"},
    {19, "Bad TKEY Mode"},
    {20, "Duplicate key name"},
    {21, "Algorithm not supported"},
    {22, "Bad Truncation"},
    {23, "Bad Cookie"},
};
constexpr Named kGopacketOptionCodes[] = {
    {3, "NSID"},
    {5, "DAU"},
    {6, "DHU"},
    {7, "N3U"},
    {8, "EDNSClientSubnet"},
    {9, "EDNSExpire"},
    {10, "Cookie"},
    {11, "EDNSKeepAlive"},
    {12, "CodePadding"},
    {13, "CodeChain"},
    {14, "CodeEDNSKeyTag"},
    {16, "EDNSClientTag"},
    {17, "EDNSServerTag"},
    {26946, "DeviceID"},
};
constexpr Named kIanaTypes[] = {
    {1, "A"},           {2, "NS"},          {5, "CNAME"},   {6, "SOA"},     {10, "NULL"},
    {12, "PTR"},        {13, "HINFO"},      {15, "MX"},     {16, "TXT"},    {17, "RP"},
    {18, "AFSDB"},      {24, "SIG"},        {25, "KEY"},    {28, "AAAA"},   {29, "LOC"},
    {33, "SRV"},        {35, "NAPTR"},      {36, "KX"},     {37, "CERT"},   {39, "DNAME"},
    {41, "OPT"},        {42, "APL"},        {43, "DS"},     {44, "SSHFP"},  {45, "IPSECKEY"},
    {46, "RRSIG"},      {47, "NSEC"},       {48, "DNSKEY"}, {49, "DHCID"},  {50, "NSEC3"},
    {51, "NSEC3PARAM"}, {52, "TLSA"},       {53, "SMIMEA"}, {55, "HIP"},    {59, "CDS"},
    {60, "CDNSKEY"},    {61, "OPENPGPKEY"}, {62, "CSYNC"},  {63, "ZONEMD"}, {64, "SVCB"},
    {65, "HTTPS"},      {99, "SPF"},        {108, "EUI48"}, {109, "EUI64"}, {249, "TKEY"},
    {250, "TSIG"},      {251, "IXFR"},      {252, "AXFR"},  {255, "ANY"},   {256, "URI"},
    {257, "CAA"},
};
constexpr Named kIanaRcodes[] = {
    {0, "NOERROR"}, {1, "FORMERR"}, {2, "SERVFAIL"}, {3, "NXDOMAIN"},
    {4, "NOTIMP"},  {5, "REFUSED"}, {6, "YXDOMAIN"}, {7, "YXRRSET"},
    {8, "NXRRSET"}, {9, "NOTAUTH"}, {10, "NOTZONE"}, {11, "DSOTYPENI"},
};

template <size_t N>
const char* Find(const Named (&table)[N], uint16_t v, const char* missing) {
  for (const Named& n : table) {
    if (n.value == v) return n.name;
  }
  return missing;
}

template <size_t N>
bool FindName(const Named (&table)[N], const std::string& name, uint16_t* v) {
  for (const Named& n : table) {
    if (name == n.name) {
      *v = n.value;
      return true;
    }
  }
  return false;
}

}  // namespace

bool DecodeDnsMessage(const uint8_t* msg, uint32_t len, DnsMessage* m) {
  if (len < 12) return false;
  m->id = Be16(msg);
  m->qr = (msg[2] & 0x80) != 0;
  m->opcode = (msg[2] >> 3) & 0x0F;
  m->aa = (msg[2] & 0x04) != 0;
  m->tc = (msg[2] & 0x02) != 0;
  m->rd = (msg[2] & 0x01) != 0;
  m->ra = (msg[3] & 0x80) != 0;
  m->z = (msg[3] >> 4) & 0x07;
  m->rcode = msg[3] & 0x0F;
  m->qdcount = Be16(msg + 4);
  m->ancount = Be16(msg + 6);
  m->nscount = Be16(msg + 8);
  m->arcount = Be16(msg + 10);
  m->questions.clear();
  uint32_t off = 12;
  for (uint32_t i = 0; i < m->qdcount; ++i) {
    if (off == len) break;
    DnsQuestionView q;
    if (!ReadName(msg, len, off, &q.name, &off) || off + 4 > len) return false;
    q.type = Be16(msg + off);
    q.cls = Be16(msg + off + 2);
    off += 4;
    m->questions.push_back(std::move(q));
  }
  return ReadSection(msg, len, m->ancount, &off, &m->answers, m) &&
         ReadSection(msg, len, m->nscount, &off, &m->authorities, m) &&
         ReadSection(msg, len, m->arcount, &off, &m->additionals, m);
}

size_t EncodeDnsMessage(const DnsMessage& m, uint8_t* out, size_t cap) {
  size_t pos = 0;
  if (cap < 12) return 0;
  Put16(m.id, out, cap, &pos);
  out[pos++] = static_cast<uint8_t>((m.qr ? 0x80 : 0) | ((m.opcode & 0x0F) << 3) |
                                    (m.aa ? 0x04 : 0) | (m.tc ? 0x02 : 0) | (m.rd ? 0x01 : 0));
  out[pos++] = static_cast<uint8_t>((m.ra ? 0x80 : 0) | ((m.z & 0x07) << 4) | (m.rcode & 0x0F));
  Put16(m.qdcount, out, cap, &pos);
  Put16(m.ancount, out, cap, &pos);
  Put16(m.nscount, out, cap, &pos);
  Put16(m.arcount, out, cap, &pos);
  for (const DnsQuestionView& q : m.questions) {
    if (!PutName(q.name, out, cap, &pos) || !Put16(q.type, out, cap, &pos) ||
        !Put16(q.cls, out, cap, &pos)) {
      return 0;
    }
  }
  for (const auto* section : {&m.answers, &m.authorities, &m.additionals}) {
    for (const DnsRecordView& rr : *section) {
      if (!PutRecord(rr, out, cap, &pos)) return 0;
    }
  }
  return pos;
}

bool ReadDnsQuestion(const uint8_t* msg, uint32_t len, std::string* name, uint16_t* type) {
  if (len < 12 || Be16(msg + 4) == 0) return false;
  uint32_t off = 0;
  if (!ReadName(msg, len, 12, name, &off) || off + 4 > len) return false;
  *type = Be16(msg + off);
  return true;
}

const char* GopacketDnsTypeName(uint16_t type) { return Find(kGopacketTypes, type, "Unknown"); }
const char* GopacketDnsClassName(uint16_t cls) { return Find(kGopacketClasses, cls, "Unknown"); }
const char* GopacketDnsOpCodeName(uint8_t opcode) {
  return Find(kGopacketOpCodes, opcode, "Unknown");
}
const char* GopacketDnsResponseCodeName(uint8_t rcode) {
  return Find(kGopacketRcodes, rcode, "Unknown");
}
const char* GopacketDnsOptionCodeName(uint16_t code) {
  return Find(kGopacketOptionCodes, code, "Unknown");
}

bool GopacketDnsTypeFromName(const std::string& name, uint16_t* type) {
  return FindName(kGopacketTypes, name, type);
}
bool GopacketDnsClassFromName(const std::string& name, uint16_t* cls) {
  return FindName(kGopacketClasses, name, cls);
}
bool GopacketDnsOpCodeFromName(const std::string& name, uint8_t* opcode) {
  uint16_t v = 0;
  if (!FindName(kGopacketOpCodes, name, &v)) return false;
  *opcode = static_cast<uint8_t>(v);
  return true;
}
bool GopacketDnsResponseCodeFromName(const std::string& name, uint8_t* rcode) {
  uint16_t v = 0;
  if (!FindName(kGopacketRcodes, name, &v)) return false;
  *rcode = static_cast<uint8_t>(v);
  return true;
}
bool GopacketDnsOptionCodeFromName(const std::string& name, uint16_t* code) {
  return FindName(kGopacketOptionCodes, name, code);
}

std::string DnsTypeMnemonic(uint16_t type) {
  const char* n = Find(kIanaTypes, type, nullptr);
  return n != nullptr ? std::string(n) : absl::StrCat("TYPE", type);
}

std::string DnsRcodeMnemonic(uint8_t rcode) {
  const char* n = Find(kIanaRcodes, rcode, nullptr);
  return n != nullptr ? std::string(n) : absl::StrCat("RCODE", rcode);
}

bool DnsTypeFromMnemonic(const std::string& name, uint16_t* type) {
  if (FindName(kIanaTypes, name, type)) return true;
  uint32_t v = 0;
  if (name.rfind("TYPE", 0) != 0 || !absl::SimpleAtoi(name.substr(4), &v) || v > 0xFFFF) {
    return false;
  }
  *type = static_cast<uint16_t>(v);
  return true;
}

bool DnsRcodeFromMnemonic(const std::string& name, uint8_t* rcode) {
  uint16_t v = 0;
  if (FindName(kIanaRcodes, name, &v)) {
    *rcode = static_cast<uint8_t>(v);
    return true;
  }
  uint32_t n = 0;
  if (name.rfind("RCODE", 0) != 0 || !absl::SimpleAtoi(name.substr(5), &n) || n > 15) {
    return false;
  }
  *rcode = static_cast<uint8_t>(n);
  return true;
}

}  // namespace skyprobe
