// DNS names under attack: compression loops, forward pointers, names over
// 255 octets and messages built to make the validator walk one long name
// many times. The rules come from RFC 1035 (§3.1 name length, §4.1.4
// pointers to a prior occurrence); the work bound is the one decode.h
// documents (kDnsStepsPerByte per byte plus kDnsStepsExtra).
#include <gtest/gtest.h>

#include <string>

#include "packet_builder.h"
#include "parse/internal/decode.h"
#include "parse/parser.h"

namespace skyprobe::testing {
namespace {

using parse_internal::CheckDns;
using parse_internal::kDnsStepsExtra;
using parse_internal::kDnsStepsPerByte;

uint32_t Budget(size_t len) {
  return static_cast<uint32_t>(len) * kDnsStepsPerByte + kDnsStepsExtra;
}

Bytes Header(uint16_t questions, uint16_t answers = 0) {
  Bytes b = {0x12, 0x34, 0x81, 0x80};
  Put16(b, questions);
  Put16(b, answers);
  Put16(b, 0);
  Put16(b, 0);
  return b;
}

void Labels(Bytes& b, const std::string& dotted) {
  size_t start = 0;
  while (start < dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string::npos) dot = dotted.size();
    b.push_back(static_cast<uint8_t>(dot - start));
    b.insert(b.end(), dotted.begin() + start, dotted.begin() + dot);
    start = dot + 1;
  }
}

void Pointer(Bytes& b, uint16_t target) {
  b.push_back(static_cast<uint8_t>(0xC0 | (target >> 8)));
  b.push_back(static_cast<uint8_t>(target));
}

void TypeClass(Bytes& b, uint16_t type = 1) {
  Put16(b, type);
  Put16(b, 1);
}

// A name of `n` one-letter labels: 2n octets, the most labels per byte.
std::string OneLetterLabels(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += i ? ".a" : "a";
  return s;
}

// n questions: the first spells a 127-label name (254 octets), every other
// one is a pointer to it. Valid DNS for any n, but each pointer walks the
// whole name again: without a bound the work grows as 128 * n in 6n bytes.
Bytes ManyPointersToALongName(int n) {
  Bytes b = Header(static_cast<uint16_t>(n));
  Labels(b, OneLetterLabels(127));
  b.push_back(0);
  TypeClass(b);
  for (int i = 1; i < n; ++i) {
    Pointer(b, 12);
    TypeClass(b);
  }
  return b;
}

std::string PathOf(const Bytes& dns) {
  Bytes udp = Udp(41278, 53, dns);
  ParsedPacket p = Parse(Eth(0x0800) + Ipv4(17, udp.size()) + udp);
  return Path(p.sub[0]);
}

TEST(DnsTest, HonestCompressionStaysDns) {
  // An IPv6 reverse look-up (34 labels) answered by eight PTR records whose
  // names point back at the question: the most label-heavy honest shape.
  const std::string rev =
      "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa";
  Bytes b = Header(1, 8);
  Labels(b, rev);
  b.push_back(0);
  TypeClass(b, 12);
  for (int i = 0; i < 8; ++i) {
    Pointer(b, 12);
    TypeClass(b, 12);
    Put16(b, 0);
    Put16(b, 60);
    Bytes rdata;
    std::string host = "h";
    host += std::to_string(i);
    host += ".example.com";
    Labels(rdata, host);
    rdata.push_back(0);
    Put16(b, static_cast<uint16_t>(rdata.size()));
    b = b + rdata;
  }
  const auto check = CheckDns(b.data(), static_cast<uint32_t>(b.size()));
  EXPECT_TRUE(check.valid);
  EXPECT_EQ(check.steps, 35u + 8 * (1 + 35 + 4));  // every label and pointer once per name
  EXPECT_EQ(PathOf(b), "Ethernet/IPv4/UDP/DNS");
  EXPECT_EQ(PathOf(DnsResponse()), "Ethernet/IPv4/UDP/DNS");
}

TEST(DnsTest, NamesThatLoopFailAtTheFirstPointer) {
  // gopacket follows these for 255 hops of up to 127 labels each.
  for (int labels : {0, 1, 10, 100}) {
    Bytes self = Header(1);
    Labels(self, OneLetterLabels(labels));
    Pointer(self, 12);  // back to its own first label
    TypeClass(self);
    const auto check = CheckDns(self.data(), static_cast<uint32_t>(self.size()));
    EXPECT_FALSE(check.valid) << labels;
    EXPECT_EQ(check.steps, static_cast<uint32_t>(labels) + 1) << labels;
    EXPECT_EQ(PathOf(self), "Ethernet/IPv4/UDP") << labels;
  }
  // Two names pointing at each other: the second pointer goes forward.
  Bytes mutual = Header(2);
  Pointer(mutual, 18);  // 12: -> 18
  TypeClass(mutual);
  Pointer(mutual, 12);  // 18: -> 12
  TypeClass(mutual);
  EXPECT_FALSE(CheckDns(mutual.data(), static_cast<uint32_t>(mutual.size())).valid);
}

TEST(DnsTest, PointersMustPointBeforeTheirRun) {
  // A forward pointer to a well-formed name: gopacket accepts it, RFC 1035
  // calls for a prior occurrence and nothing but a loop needs it.
  Bytes fwd = Header(1);
  Pointer(fwd, 18);
  TypeClass(fwd);
  Labels(fwd, "www.example.com");
  fwd.push_back(0);
  EXPECT_FALSE(CheckDns(fwd.data(), static_cast<uint32_t>(fwd.size())).valid);
  EXPECT_EQ(PathOf(fwd), "Ethernet/IPv4/UDP");

  // A pointer into the labels of its own run (behind it, but not before the
  // run's start) is the shortest loop with labels.
  Bytes inner = Header(1);
  Labels(inner, "www.example");
  Pointer(inner, 16);  // the "example" label just before it
  TypeClass(inner);
  EXPECT_FALSE(CheckDns(inner.data(), static_cast<uint32_t>(inner.size())).valid);

  // A chain of pointers each strictly before the run holding it is fine.
  Bytes chain = Header(3);
  Labels(chain, "com");
  chain.push_back(0);  // 12..16
  TypeClass(chain);    // 17..20
  Labels(chain, "example");
  Pointer(chain, 12);  // 21: example.com
  TypeClass(chain);
  Labels(chain, "www");
  Pointer(chain, 21);  // www.example.com
  TypeClass(chain);
  EXPECT_TRUE(CheckDns(chain.data(), static_cast<uint32_t>(chain.size())).valid);
}

TEST(DnsTest, WholeNameIsAtMost255Octets) {
  // Two runs of 150 octets each, joined by a pointer: each run passes
  // gopacket's per-run check; the name is 300 octets (RFC 1035 §3.1: 255).
  const std::string run = std::string(49, 'x') + "." + std::string(49, 'y') + "." +
                          std::string(48, 'z');  // 50 + 50 + 49 = 149 octets
  Bytes b = Header(2);
  Labels(b, run);
  b.push_back(0);
  TypeClass(b);
  Bytes ok = b;
  ok[5] = 1;
  EXPECT_TRUE(CheckDns(ok.data(), static_cast<uint32_t>(ok.size())).valid);
  Labels(b, run);
  Pointer(b, 12);
  TypeClass(b);
  EXPECT_FALSE(CheckDns(b.data(), static_cast<uint32_t>(b.size())).valid);

  // 127 one-letter labels: 254 octets, the longest name there is.
  Bytes longest = ManyPointersToALongName(1);
  EXPECT_TRUE(CheckDns(longest.data(), static_cast<uint32_t>(longest.size())).valid);
  Bytes too_long = Header(1);
  Labels(too_long, OneLetterLabels(127) + ".bb");
  too_long.push_back(0);
  TypeClass(too_long);
  EXPECT_FALSE(CheckDns(too_long.data(), static_cast<uint32_t>(too_long.size())).valid);
}

TEST(DnsTest, WorkIsLinearInTheMessage) {
  // The walk of ManyPointersToALongName(n) costs 128 + 129 (n - 1) steps.
  // Within the budget the message is DNS; past it the check stops at the
  // budget and the frame ends at UDP (kAnomalyBadAppLayer).
  int first_refused = 0;
  for (int n = 1; n <= 2000; n += (n < 40 ? 1 : 97)) {
    Bytes b = ManyPointersToALongName(n);
    const auto check = CheckDns(b.data(), static_cast<uint32_t>(b.size()));
    const uint32_t honest_steps = 128u + 129u * static_cast<uint32_t>(n - 1);
    const bool fits = honest_steps <= Budget(b.size());
    EXPECT_LE(check.steps, Budget(b.size())) << n;
    EXPECT_EQ(check.valid, fits) << n;
    if (fits) {
      EXPECT_EQ(check.steps, honest_steps) << n;
    } else if (first_refused == 0) {
      first_refused = n;
    }
  }
  // With one step per byte plus 128, the fourth question (the third pointer
  // to the 254-octet name) is refused: 515 steps in 289 bytes.
  EXPECT_EQ(first_refused, 4);
  EXPECT_EQ(PathOf(ManyPointersToALongName(40)), "Ethernet/IPv4/UDP");
}

}  // namespace
}  // namespace skyprobe::testing
