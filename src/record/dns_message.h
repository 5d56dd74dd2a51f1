// dns_message.h: a DNS message decoded the way Skydive's DNS extra layer
// reports it (gopacket's layers.DNS, then Skydive's conversion), and encoded
// back for skyprobectl, which rebuilds records from their protobuf form.
//
// Owner: none (pure functions; the caller owns the DnsMessage, whose vectors
// keep their capacity when reused). Runs where records are written (control
// lcore, gRPC threads, skyprobectl), never on the packet path.
//
//   DnsMessage m;
//   if (DecodeDnsMessage(app.dns.msg, app.dns.len, &m)) Write(m.questions, m.answers);
//   size_t n = EncodeDnsMessage(m, buf, sizeof(buf));   // 0: does not fit
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace skyprobe {

struct DnsQuestionView {
  std::string name;  // labels joined by '.', as on the wire; "" for the root
  uint16_t type = 0;
  uint16_t cls = 0;
};

// One resource record; the fields of its type only (the others stay empty).
struct DnsRecordView {
  std::string name;
  uint16_t type = 0;
  uint16_t cls = 0;
  uint32_t ttl = 0;
  uint16_t data_length = 0;
  std::string ip;            // A, AAAA: the address as Go's net.IP prints it
  std::string target;        // NS, CNAME, PTR
  std::string mname, rname;  // SOA
  uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
  uint16_t priority = 0, weight = 0, port = 0;         // SRV
  uint16_t preference = 0;                             // MX
  std::string host;                                    // SRV target, MX exchange
  std::vector<std::string> txts;                       // TXT, HINFO character strings
  std::vector<std::pair<uint16_t, std::string>> opts;  // OPT: code, data
};

struct DnsMessage {
  uint16_t id = 0;
  bool qr = false, aa = false, tc = false, rd = false, ra = false;
  uint8_t opcode = 0;
  uint8_t z = 0;
  // RCODE, with the high bits of an OPT record's extended RCODE as gopacket
  // folds them in.
  uint8_t rcode = 0;
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
  std::vector<DnsQuestionView> questions;
  // Records of the types Skydive keeps (A, AAAA, NS, CNAME, PTR, SOA, MX,
  // SRV, TXT, HINFO, OPT); others are left out, as Skydive drops them. The
  // counts above stay those of the header.
  std::vector<DnsRecordView> answers, authorities, additionals;
};

// Decodes `len` bytes. False when the header is short, a name is invalid
// (a pointer not strictly backwards, over 255 octets) or a record runs past
// the end; sections end early, without failing, where the bytes end between
// two records (a message rebuilt by EncodeDnsMessage keeps only kept records).
bool DecodeDnsMessage(const uint8_t* msg, uint32_t len, DnsMessage* out);

// The message in wire form (no name compression): header with m's counts,
// then the questions and records m holds. Returns its length, 0 if it does
// not fit `cap` bytes or a name has a label over 63 bytes.
size_t EncodeDnsMessage(const DnsMessage& m, uint8_t* out, size_t cap);

// The first question's name and type, read straight from the message (no
// allocation but `name`); false when there is none.
bool ReadDnsQuestion(const uint8_t* msg, uint32_t len, std::string* name, uint16_t* type);

// gopacket's names (Skydive's DNS layer): "A", "Unknown", ...
const char* GopacketDnsTypeName(uint16_t type);
const char* GopacketDnsClassName(uint16_t cls);
const char* GopacketDnsOpCodeName(uint8_t opcode);
const char* GopacketDnsResponseCodeName(uint8_t rcode);
const char* GopacketDnsOptionCodeName(uint16_t code);
// Inverses (for skyprobectl); false for "Unknown" and names not listed.
bool GopacketDnsTypeFromName(const std::string& name, uint16_t* type);
bool GopacketDnsClassFromName(const std::string& name, uint16_t* cls);
bool GopacketDnsOpCodeFromName(const std::string& name, uint8_t* opcode);
bool GopacketDnsResponseCodeFromName(const std::string& name, uint8_t* rcode);
bool GopacketDnsOptionCodeFromName(const std::string& name, uint16_t* code);

// IANA mnemonics (the DNSQuery summary): "AAAA", "TYPE65280" (RFC 3597) for
// types without one; "NXDOMAIN", "RCODE12" likewise.
std::string DnsTypeMnemonic(uint16_t type);
std::string DnsRcodeMnemonic(uint8_t rcode);
bool DnsTypeFromMnemonic(const std::string& name, uint16_t* type);
bool DnsRcodeFromMnemonic(const std::string& name, uint8_t* rcode);

}  // namespace skyprobe
