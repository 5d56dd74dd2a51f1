// The parser's fast path (parse_fast.cc) against the full decoder
// (ParseFrameFull): random frames around the fast path's guard, each parsed
// both ways under random configurations, must give the same ParsedPacket
// field by field; a frame the fast path refuses must leave the output
// untouched. The generator builds Ethernet frames with 0-3 VLAN tags, IPv4
// (IHL 4-7, options, fragments, bad and TSO total lengths, other versions)
// or IPv6 (extension headers, zero and bad payload lengths), TCP (options
// valid or not, bad data offsets, payloads on TLS/DNS/Modbus ports), UDP
// (tunnel, application and MPLS ports, bad lengths, empty payloads), ICMP and
// other protocols, other EtherTypes, then cuts, pads or mislabels them.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "parse/internal/decode.h"
#include "parse/parser.h"
#include "parsed_packet_diff.h"  // tests/common

namespace skyprobe::testing {
namespace {

using Frame = std::vector<uint8_t>;

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}

  uint32_t Below(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }
  bool OneIn(uint32_t n) { return Below(n) == 0; }
  uint8_t Byte() { return static_cast<uint8_t>(Below(256)); }

  template <size_t N>
  uint16_t Pick(const uint16_t (&v)[N]) {
    return v[Below(N)];
  }

  // A frame around the fast path's guard; `*kind` names its common shape.
  Frame Make() {
    Frame f(12);
    for (auto& b : f) b = Byte();
    const uint32_t vlans = OneIn(8) ? 3 : Below(3);
    for (uint32_t v = 0; v < vlans; ++v) {
      Put16(&f, OneIn(3) ? 0x88A8 : 0x8100);
      Put16(&f, static_cast<uint16_t>(Below(65536)));  // PCP, DEI, VID
      if (OneIn(40)) return Cut(f);                    // a tag cut short
    }
    const uint32_t r = Below(20);
    if (r < 9) {
      Put16(&f, 0x0800);
      Ipv4(&f);
    } else if (r < 17) {
      Put16(&f, 0x86DD);
      Ipv6(&f);
    } else {
      static constexpr uint16_t kTypes[] = {0x0806, 0x8847, 0x88CC, 0x0040, 0x05FF, 0x1234};
      Put16(&f, Pick(kTypes));
      Append(&f, Below(80));
    }
    return f;
  }

 private:
  static void Put16(Frame* f, uint16_t v) {
    f->push_back(static_cast<uint8_t>(v >> 8));
    f->push_back(static_cast<uint8_t>(v));
  }
  static void Set16(Frame* f, size_t at, uint16_t v) {
    (*f)[at] = static_cast<uint8_t>(v >> 8);
    (*f)[at + 1] = static_cast<uint8_t>(v);
  }
  void Append(Frame* f, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) f->push_back(Byte());
  }
  Frame Cut(Frame f) {
    f.resize(Below(static_cast<uint32_t>(f.size()) + 1));
    return f;
  }

  uint8_t Protocol() {
    const uint32_t r = Below(16);
    if (r < 7) return 6;
    if (r < 13) return 17;
    static constexpr uint16_t kOther[] = {1, 58, 0, 4, 41, 43, 44, 47, 60, 112, 132, 2, 255};
    return static_cast<uint8_t>(Pick(kOther));
  }

  void Ipv4(Frame* f) {
    const size_t ip = f->size();
    const uint32_t ihl = OneIn(6) ? (OneIn(2) ? 6 : Below(16)) : 5;
    uint8_t version = 4;
    if (OneIn(30)) version = Byte() >> 4;
    f->push_back(static_cast<uint8_t>(version << 4 | ihl));
    f->push_back(Byte());  // DSCP
    Put16(f, 0);           // total length, set below
    Put16(f, static_cast<uint16_t>(Below(65536)));
    uint16_t frag = 0;
    if (OneIn(3)) frag = 0x4000;  // DF
    if (OneIn(12)) frag |= 0x2000;
    if (OneIn(12)) frag |= static_cast<uint16_t>(1 + Below(0x1FFF));
    if (OneIn(30)) frag |= 0x8000;
    Put16(f, frag);
    f->push_back(Byte());  // TTL
    const uint8_t proto = Protocol();
    f->push_back(proto);
    Put16(f, 0);
    Append(f, 8);
    if (ihl > 5) {
      for (uint32_t i = 20; i < ihl * 4; ++i) f->push_back(OneIn(2) ? 1 : Byte());
    }
    Transport(f, proto);
    uint32_t total = static_cast<uint32_t>(f->size() - ip);
    const uint32_t r = Below(14);
    if (r == 0) total = 0;                 // TSO
    if (r == 1) total = Below(28);         // shorter than the headers
    if (r == 2) total += 1 + Below(1500);  // beyond the capture
    if (r == 3 && total > 0) total -= 1 + Below(total);
    if (r == 4) Append(f, 1 + Below(20));  // Ethernet padding
    Set16(f, ip + 2, static_cast<uint16_t>(total));
  }

  void Ipv6(Frame* f) {
    const size_t ip = f->size();
    f->push_back(OneIn(30) ? Byte() : static_cast<uint8_t>(0x60 | (Byte() & 0x0F)));
    Append(f, 3);
    Put16(f, 0);  // payload length, set below
    const uint8_t next = Protocol();
    f->push_back(next);
    f->push_back(Byte());
    Append(f, 32);
    Transport(f, next);
    uint32_t payload = static_cast<uint32_t>(f->size() - ip - 40);
    const uint32_t r = Below(14);
    if (r == 0) payload = 0;
    if (r == 1) payload += 1 + Below(1500);
    if (r == 2 && payload > 0) payload -= 1 + Below(payload);
    if (r == 3) Append(f, 1 + Below(20));
    Set16(f, ip + 4, static_cast<uint16_t>(payload));
  }

  uint16_t Port(bool tcp) {
    static constexpr uint16_t kUdp[] = {53,   67,   68,   123,  546,  547,   2152, 3784, 4789,
                                        5060, 6081, 6343, 8472, 6635, 51234, 443,  4000, 1024};
    static constexpr uint16_t kTcp[] = {53, 443, 502, 636, 989, 990, 992, 993, 994, 995, 5061, 80};
    if (OneIn(2)) return static_cast<uint16_t>(Below(65536));
    return tcp ? Pick(kTcp) : Pick(kUdp);
  }

  void Payload(Frame* f) {
    const uint32_t r = Below(6);
    if (r < 2) return;  // none: no decoder runs, whatever the port
    if (r == 2) {
      for (const char c : std::string("GET / HTTP/1.1\r\n")) f->push_back(static_cast<uint8_t>(c));
    } else if (r == 3) {
      f->insert(f->end(), {0x16, 0x03, 0x01, 0x00, 0x30, 0x01});
    }
    Append(f, Below(64));
  }

  void Transport(Frame* f, uint8_t proto) {
    if (proto == 17) {
      const size_t udp = f->size();
      Put16(f, Port(false));
      Put16(f, Port(false));
      Put16(f, 0);
      Put16(f, static_cast<uint16_t>(Below(65536)));
      Payload(f);
      uint32_t len = static_cast<uint32_t>(f->size() - udp);
      const uint32_t r = Below(10);
      if (r == 0) len = 0;
      if (r == 1) len = Below(8);
      if (r == 2) len += 1 + Below(100);
      if (r == 3) len -= Below(len - 7);
      Set16(f, udp + 4, static_cast<uint16_t>(len));
    } else if (proto == 6) {
      Put16(f, Port(true));
      Put16(f, Port(true));
      Append(f, 8);  // sequence, acknowledgment
      uint32_t options = 0;
      if (!OneIn(3)) options = 4 * Below(11);
      uint32_t offset = 5 + options / 4;
      if (OneIn(15)) offset = Below(16);
      f->push_back(static_cast<uint8_t>(offset << 4));
      f->push_back(Byte());  // flags
      Append(f, 6);
      for (uint32_t i = 0; i < options;) {
        const uint32_t left = options - i;
        if (OneIn(10)) {  // anything
          f->push_back(Byte());
          ++i;
        } else if (left >= 10 && OneIn(2)) {  // timestamps
          f->insert(f->end(), {8, 10});
          Append(f, 8);
          i += 10;
        } else if (left >= 4 && OneIn(2)) {  // MSS
          f->insert(f->end(), {2, 4, 0x05, 0xB4});
          i += 4;
        } else {
          f->push_back(OneIn(8) ? 0 : 1);  // end of list, NOP
          ++i;
        }
      }
      Payload(f);
    } else {
      Append(f, Below(60));
    }
  }

  std::mt19937 rng_;
};

struct Tally {
  uint64_t frames = 0;
  uint64_t fast = 0;
  uint64_t fast_v4 = 0, fast_v6 = 0, fast_tcp = 0, fast_udp = 0, fast_vlan2 = 0;
  uint64_t fast_tcp_options = 0, fast_padded = 0, fast_service_port_no_payload = 0;
};

// One frame, parsed both ways with `cfg`: the same result, and the fast
// path either gives it or leaves `out` as it was.
void Check(const Frame& f, uint32_t caplen, uint32_t wire_len, const ParserConfig& cfg,
           Tally* tally) {
  ParsedPacket full;
  std::memset(static_cast<void*>(&full), 0x5A, sizeof(full));
  const uint8_t n_full = ParseFrameFull(f.data(), caplen, wire_len, cfg, &full);
  ParsedPacket both;
  std::memset(static_cast<void*>(&both), 0xA5, sizeof(both));
  const uint8_t n_both = ParseFrame(f.data(), caplen, wire_len, cfg, &both);
  ASSERT_EQ(n_full, n_both);
  ASSERT_EQ(DiffParsed(full, both), "") << "caplen " << caplen << " wire " << wire_len;

  ParsedPacket fast;
  std::memset(static_cast<void*>(&fast), 0xA5, sizeof(fast));
  ParsedPacket untouched;
  std::memcpy(static_cast<void*>(&untouched), &fast, sizeof(fast));
  ++tally->frames;
  if (!parse_internal::ParseFast(f.data(), caplen, wire_len, cfg, &fast)) {
    ASSERT_EQ(std::memcmp(&fast, &untouched, sizeof(fast)), 0) << "refused but written";
    return;
  }
  ASSERT_EQ(DiffParsed(full, fast), "") << "caplen " << caplen << " wire " << wire_len;
  const SubPacket& s = fast.sub[0];
  ++tally->fast;
  tally->fast_v4 += s.ip_version == 4;
  tally->fast_v6 += s.ip_version == 6;
  tally->fast_tcp += s.transport == FlowProtocol::kTcp;
  tally->fast_udp += s.transport == FlowProtocol::kUdp;
  tally->fast_vlan2 += s.vlan_count == 2;
  const uint32_t l4 = s.ip_version == 4 ? s.ip_src_off + 8u : s.ip_src_off + 32u;
  tally->fast_tcp_options += s.transport == FlowProtocol::kTcp && (f[l4 + 12] >> 4) > 5;
  const uint32_t ip_end =
      s.ip_version == 4 ? s.ip_src_off - 12u + s.ip_length : s.ip_src_off + 32u + s.ip_length;
  tally->fast_padded += ip_end < caplen;
  const bool service = s.transport == FlowProtocol::kUdp
                           ? parse_internal::UdpPortStep(s.dst_port) != parse_internal::Step::kStop
                           : parse_internal::TcpPortStep(s.dst_port) != parse_internal::Step::kStop;
  tally->fast_service_port_no_payload += service;
}

ParserConfig RandomConfig(Gen& g) {
  ParserConfig cfg;
  cfg.link_type = g.OneIn(20) ? LinkType::kLinuxSll : LinkType::kEthernet;
  cfg.l3_key_mode = g.OneIn(2);
  cfg.ip_defrag = g.OneIn(2);
  cfg.app_payload = g.OneIn(2);
  cfg.input = g.Byte();
  return cfg;
}

TEST(FastPathTest, RandomFramesParseAsTheFullDecoderDoes) {
  Gen g(20261202);
  Tally t;
  for (int i = 0; i < 300000; ++i) {
    const Frame f = g.Make();
    const ParserConfig cfg = RandomConfig(g);
    uint32_t caplen = static_cast<uint32_t>(f.size());
    if (g.OneIn(5)) caplen = g.Below(caplen + 1);  // cut by a snaplen
    uint32_t wire = 0;
    const uint32_t w = g.Below(4);
    if (w == 1) wire = caplen;
    if (w == 2) wire = static_cast<uint32_t>(f.size());
    if (w == 3) wire = caplen + g.Below(2000);
    Check(f, caplen, wire, cfg, &t);
    if (HasFatalFailure()) return;
  }
  // The guard's every way in was taken, and many frames were refused.
  EXPECT_GT(t.fast, t.frames / 10);
  EXPECT_LT(t.fast, t.frames * 9 / 10);
  for (const uint64_t n : {t.fast_v4, t.fast_v6, t.fast_tcp, t.fast_udp, t.fast_vlan2,
                           t.fast_tcp_options, t.fast_padded, t.fast_service_port_no_payload}) {
    EXPECT_GT(n, 100u);
  }
}

// Frames the fast path takes, cut at every byte: each shorter capture is
// either refused or parsed alike.
TEST(FastPathTest, CommonFramesCutAtEveryByte) {
  Gen g(7);
  Tally t;
  int whole = 0;
  for (int i = 0; i < 20000 && whole < 400; ++i) {
    const Frame f = g.Make();
    ParserConfig cfg = RandomConfig(g);
    cfg.link_type = LinkType::kEthernet;
    ParsedPacket p;
    if (!parse_internal::ParseFast(f.data(), static_cast<uint32_t>(f.size()), 0, cfg, &p)) continue;
    ++whole;
    for (uint32_t caplen = 0; caplen <= f.size(); ++caplen) {
      for (const uint32_t wire : {0u, static_cast<uint32_t>(f.size())}) {
        Check(f, caplen, wire, cfg, &t);
        if (HasFatalFailure()) return;
      }
    }
  }
  EXPECT_EQ(whole, 400);
}

// Two pages, the second with no access: bytes copied to the end of the
// first have nothing readable after them, so a read past them faults.
class GuardedBuffer {
 public:
  GuardedBuffer() : page_(static_cast<size_t>(sysconf(_SC_PAGESIZE))) {
    void* m = mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    base_ = m == MAP_FAILED ? nullptr : static_cast<uint8_t*>(m);
    if (base_ != nullptr && mprotect(base_ + page_, page_, PROT_NONE) != 0) {
      munmap(base_, 2 * page_);
      base_ = nullptr;
    }
  }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;
  ~GuardedBuffer() {
    if (base_ != nullptr) munmap(base_, 2 * page_);
  }
  bool ok() const { return base_ != nullptr; }
  // The first `n` bytes of `f`, ending where the guard page starts.
  const uint8_t* Place(const Frame& f, uint32_t n) {
    uint8_t* at = base_ + page_ - n;
    std::memcpy(at, f.data(), n);
    return at;
  }

 private:
  size_t page_;
  uint8_t* base_;
};

// Neither path reads a byte past the capture, whatever the frame claims: each
// random frame, cut at every length, is parsed from the end of a page whose
// next page cannot be read (a read past the capture is a fault, which fails
// the test in any build, not only under ASan: a mapped capture file's last
// frame may end at its mapping's end).
TEST(FastPathTest, NeitherPathReadsPastTheCapture) {
  GuardedBuffer guard;
  ASSERT_TRUE(guard.ok());
  Gen g(42);
  uint64_t fast = 0;
  for (int i = 0; i < 3000; ++i) {
    const Frame f = g.Make();
    const ParserConfig cfg = RandomConfig(g);
    for (uint32_t caplen = 0; caplen <= f.size(); ++caplen) {
      const uint8_t* data = guard.Place(f, caplen);
      ParsedPacket p;
      fast += parse_internal::ParseFast(data, caplen, 0, cfg, &p) ? 1 : 0;
      ParseFrameFull(data, caplen, 0, cfg, &p);
      ParseFrame(data, caplen, static_cast<uint32_t>(f.size()), cfg, &p);
    }
  }
  EXPECT_GT(fast, 500u);  // the fast path itself ran on many of them
}

}  // namespace
}  // namespace skyprobe::testing
