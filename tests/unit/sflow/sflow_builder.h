// sflow_builder.h: builds sFlow v5 datagrams byte by byte for tests, the
// fuzzer's seeds and benchmarks (XDR: big-endian words, opaques padded to 4).
//
// Owner: test code only.
//
//   TestDatagram d; d.samples.push_back(TestSample::Flow(512, {TestHeader::Eth(frame)}));
//   std::vector<uint8_t> bytes = BuildDatagram(d);
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace skyprobe::sflow::testing {

class XdrWriter {
 public:
  void U32(uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b_.push_back(static_cast<uint8_t>(v >> s));
  }
  void Bytes(const uint8_t* p, size_t n) {
    b_.insert(b_.end(), p, p + n);
    while (b_.size() % 4 != 0) b_.push_back(0);
  }
  // An opaque: its length, then its bytes padded.
  void Opaque(const std::vector<uint8_t>& v) {
    U32(static_cast<uint32_t>(v.size()));
    Bytes(v.data(), v.size());
  }
  std::vector<uint8_t>& bytes() { return b_; }

 private:
  std::vector<uint8_t> b_;
};

struct TestHeader {
  uint32_t protocol = 1;
  uint32_t frame_length = 0;
  uint32_t stripped = 0;
  std::vector<uint8_t> bytes;
  // An Ethernet frame sampled whole (plus the 4-byte FCS the agent strips).
  static TestHeader Eth(const std::vector<uint8_t>& frame) {
    return TestHeader{1, static_cast<uint32_t>(frame.size() + 4), 4, frame};
  }
};

struct TestSample {
  enum Kind { kFlow, kExpanded, kCounter } kind = kFlow;
  uint32_t rate = 1;
  std::vector<TestHeader> headers;
  bool extra_record = false;  // an extended_switch record (1001) before the headers
  static TestSample Flow(uint32_t rate, std::vector<TestHeader> h, bool extra = false) {
    return TestSample{kFlow, rate, std::move(h), extra};
  }
  static TestSample Expanded(uint32_t rate, std::vector<TestHeader> h, bool extra = false) {
    return TestSample{kExpanded, rate, std::move(h), extra};
  }
  static TestSample Counter() { return TestSample{kCounter, 0, {}, false}; }
};

struct TestDatagram {
  uint32_t version = 5;
  bool ipv6 = false;
  uint8_t agent[16] = {192, 0, 2, 1};
  uint32_t sub_agent = 0;
  uint32_t sequence = 1;
  std::vector<TestSample> samples;
};

inline std::vector<uint8_t> BuildRecord(const TestHeader& h) {
  XdrWriter r;
  r.U32(h.protocol);
  r.U32(h.frame_length);
  r.U32(h.stripped);
  r.Opaque(h.bytes);
  return r.bytes();
}

inline std::vector<uint8_t> BuildSample(const TestSample& s, uint32_t seq) {
  XdrWriter w;
  if (s.kind == TestSample::kCounter) {
    // counters_sample: sequence, source id, one generic interface record (format 1, 88 bytes).
    w.U32(seq);
    w.U32(3);
    w.U32(1);
    w.U32(1);
    w.U32(88);
    for (int i = 0; i < 22; ++i) w.U32(static_cast<uint32_t>(i));
    return w.bytes();
  }
  if (s.kind == TestSample::kFlow) {
    w.U32(seq);          // sequence
    w.U32(3);            // source id: ifIndex 3
    w.U32(s.rate);       // sampling rate
    w.U32(s.rate * 10);  // sample pool
    w.U32(0);            // drops
    w.U32(3);            // input
    w.U32(4);            // output
  } else {
    w.U32(seq);
    w.U32(0);  // source id type
    w.U32(3);  // source id index
    w.U32(s.rate);
    w.U32(s.rate * 10);
    w.U32(0);
    w.U32(0);  // input format
    w.U32(3);
    w.U32(0);  // output format
    w.U32(4);
  }
  w.U32(static_cast<uint32_t>(s.headers.size() + (s.extra_record ? 1 : 0)));
  if (s.extra_record) {
    w.U32(1001);  // extended_switch: src vlan, src prio, dst vlan, dst prio
    w.U32(16);
    for (int i = 0; i < 4; ++i) w.U32(7);
  }
  for (const TestHeader& h : s.headers) {
    w.U32(1);  // raw packet header
    w.Opaque(BuildRecord(h));
  }
  return w.bytes();
}

inline std::vector<uint8_t> BuildDatagram(const TestDatagram& d) {
  XdrWriter w;
  w.U32(d.version);
  w.U32(d.ipv6 ? 2 : 1);
  w.Bytes(d.agent, d.ipv6 ? 16 : 4);
  w.U32(d.sub_agent);
  w.U32(d.sequence);
  w.U32(123456);  // uptime
  w.U32(static_cast<uint32_t>(d.samples.size()));
  uint32_t seq = 1;
  for (const TestSample& s : d.samples) {
    const uint32_t format = s.kind == TestSample::kFlow       ? 1
                            : s.kind == TestSample::kExpanded ? 3
                                                              : 2;
    w.U32(format);
    w.Opaque(BuildSample(s, seq++));
  }
  return w.bytes();
}

// A small Ethernet/IPv4/UDP frame from 10.0.0.<src> port 1000 to 10.0.0.2 port 53.
inline std::vector<uint8_t> UdpFrame(uint8_t src, uint16_t payload = 8) {
  const uint16_t ip_len = static_cast<uint16_t>(20 + 8 + payload);
  const uint8_t head[42] = {0,
                            0,
                            0,
                            0,
                            0,
                            2,
                            0,
                            0,
                            0,
                            0,
                            0,
                            src,
                            0x08,
                            0x00,  // Ethernet
                            0x45,
                            0,
                            static_cast<uint8_t>(ip_len >> 8),
                            static_cast<uint8_t>(ip_len),
                            0,
                            0,
                            0x40,
                            0,
                            64,
                            17,
                            0,
                            0,
                            10,
                            0,
                            0,
                            src,
                            10,
                            0,
                            0,
                            2,  // IPv4
                            0x03,
                            0xe8,
                            0,
                            53,
                            static_cast<uint8_t>((8 + payload) >> 8),
                            static_cast<uint8_t>(8 + payload),
                            0,
                            0};  // UDP
  std::vector<uint8_t> f(sizeof(head) + payload, 0xab);
  std::memcpy(f.data(), head, sizeof(head));
  return f;
}

}  // namespace skyprobe::sflow::testing
