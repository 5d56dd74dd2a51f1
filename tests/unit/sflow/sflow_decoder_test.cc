// Unit tests of the sFlow v5 decoder on datagrams built by sflow_builder.h.

#include "sflow/sflow_decoder.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "sflow_builder.h"
#include "sflow_invariants.h"

namespace skyprobe::sflow {
namespace {

using testing::BuildDatagram;
using testing::TestDatagram;
using testing::TestHeader;
using testing::TestSample;
using testing::UdpFrame;
using testing::XdrWriter;

// Decodes from an exactly-sized heap copy, so ASan sees any read past the end.
DecodeError DecodeCopy(const std::vector<uint8_t>& bytes, Datagram* out,
                       std::unique_ptr<uint8_t[]>* keep) {
  keep->reset(new uint8_t[bytes.size() + 1]);
  if (!bytes.empty()) std::memcpy(keep->get(), bytes.data(), bytes.size());
  return DecodeDatagram(keep->get(), bytes.size(), out);
}

class DecoderTest : public ::testing::Test {
 protected:
  DecodeError Decode(const std::vector<uint8_t>& bytes) {
    return DecodeCopy(bytes, dg_.get(), &buf_);
  }
  std::unique_ptr<Datagram> dg_ = std::make_unique<Datagram>();
  std::unique_ptr<uint8_t[]> buf_;
};

TEST_F(DecoderTest, Ipv4AgentOneFlowSample) {
  TestDatagram d;
  d.sequence = 77;
  d.sub_agent = 9;
  const std::vector<uint8_t> frame = UdpFrame(1, 10);
  d.samples.push_back(TestSample::Flow(512, {TestHeader::Eth(frame)}));
  ASSERT_EQ(Decode(BuildDatagram(d)), DecodeError::kNone);
  EXPECT_EQ(dg_->version, 5u);
  EXPECT_EQ(dg_->agent_ip_version, 4);
  EXPECT_EQ(0, std::memcmp(dg_->agent, d.agent, 4));
  EXPECT_EQ(dg_->sub_agent_id, 9u);
  EXPECT_EQ(dg_->sequence, 77u);
  EXPECT_EQ(dg_->uptime_ms, 123456u);
  EXPECT_EQ(dg_->samples, 1u);
  EXPECT_EQ(dg_->flow_samples, 1u);
  EXPECT_EQ(dg_->records, 1u);
  ASSERT_EQ(dg_->num_headers, 1u);
  const RawHeader& h = dg_->headers[0];
  EXPECT_EQ(h.protocol, kHeaderEthernet);
  EXPECT_EQ(h.caplen, frame.size());
  EXPECT_EQ(h.wire_length, frame.size());  // frame_length - 4 stripped
  EXPECT_EQ(h.sampling_rate, 512u);
  EXPECT_EQ(0, std::memcmp(h.data, frame.data(), frame.size()));
  EXPECT_GE(h.data, buf_.get());
  char text[kAgentTextMax];
  EXPECT_EQ(AgentText(*dg_, text), 9u);
  EXPECT_STREQ(text, "192.0.2.1");
}

TEST_F(DecoderTest, Ipv6AgentExpandedSampleSkipsOtherRecords) {
  TestDatagram d;
  d.ipv6 = true;
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42};
  std::memcpy(d.agent, v6, 16);
  // Odd header lengths exercise the opaque padding.
  TestHeader h1 = TestHeader::Eth(UdpFrame(1, 3));
  const std::vector<uint8_t> eth = UdpFrame(2, 5);
  TestHeader h2{kHeaderIpv4, 1000, 0, std::vector<uint8_t>(eth.begin() + 14, eth.end())};
  d.samples.push_back(TestSample::Expanded(1000, {h1, h2}, /*extra=*/true));
  ASSERT_EQ(Decode(BuildDatagram(d)), DecodeError::kNone);
  EXPECT_EQ(dg_->agent_ip_version, 6);
  EXPECT_EQ(0, std::memcmp(dg_->agent, v6, 16));
  EXPECT_EQ(dg_->records, 3u);
  EXPECT_EQ(dg_->records_skipped, 1u);
  ASSERT_EQ(dg_->num_headers, 2u);
  EXPECT_EQ(dg_->headers[0].caplen, h1.bytes.size());
  EXPECT_EQ(0, std::memcmp(dg_->headers[0].data, h1.bytes.data(), h1.bytes.size()));
  EXPECT_EQ(dg_->headers[1].protocol, kHeaderIpv4);
  EXPECT_EQ(dg_->headers[1].wire_length, 1000u);
  EXPECT_EQ(dg_->headers[1].sampling_rate, 1000u);
  EXPECT_EQ(0, std::memcmp(dg_->headers[1].data, h2.bytes.data(), h2.bytes.size()));
  char text[kAgentTextMax];
  AgentText(*dg_, text);
  EXPECT_STREQ(text, "2001:db8::42");
}

TEST_F(DecoderTest, SeveralSamplesCounterSamplesSkipped) {
  TestDatagram d;
  d.samples.push_back(
      TestSample::Flow(10, {TestHeader::Eth(UdpFrame(1)), TestHeader::Eth(UdpFrame(2))}));
  d.samples.push_back(TestSample::Counter());
  d.samples.push_back(TestSample::Expanded(20, {TestHeader::Eth(UdpFrame(3))}));
  d.samples.push_back(TestSample::Counter());
  d.samples.push_back(TestSample::Flow(0, {TestHeader::Eth(UdpFrame(4))}));
  ASSERT_EQ(Decode(BuildDatagram(d)), DecodeError::kNone);
  EXPECT_EQ(dg_->samples, 5u);
  EXPECT_EQ(dg_->flow_samples, 3u);
  EXPECT_EQ(dg_->samples_skipped, 2u);
  EXPECT_EQ(dg_->records, 4u);
  EXPECT_EQ(dg_->records_skipped, 0u);
  ASSERT_EQ(dg_->num_headers, 4u);
  const uint32_t rates[] = {10, 10, 20, 0};  // a rate of 0 is passed on as sent
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(dg_->headers[i].sampling_rate, rates[i]) << i;
    EXPECT_EQ(dg_->headers[i].data[11], i + 1) << i;  // source MAC's last byte
  }
}

TEST_F(DecoderTest, EmptyDatagramIsValid) {
  TestDatagram d;
  ASSERT_EQ(Decode(BuildDatagram(d)), DecodeError::kNone);
  EXPECT_EQ(dg_->samples, 0u);
  EXPECT_EQ(dg_->num_headers, 0u);
}

TEST_F(DecoderTest, EveryTruncationIsAnError) {
  TestDatagram d;
  d.ipv6 = true;
  d.samples.push_back(TestSample::Flow(10, {TestHeader::Eth(UdpFrame(1, 1))}, true));
  d.samples.push_back(TestSample::Counter());
  d.samples.push_back(TestSample::Expanded(20, {TestHeader::Eth(UdpFrame(3, 2))}));
  const std::vector<uint8_t> full = BuildDatagram(d);
  ASSERT_EQ(Decode(full), DecodeError::kNone);
  ASSERT_EQ(dg_->num_headers, 2u);
  for (size_t len = 0; len < full.size(); ++len) {
    const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<long>(len));
    const DecodeError e = Decode(cut);
    EXPECT_NE(e, DecodeError::kNone) << "cut at " << len;
    EXPECT_EQ(dg_->num_headers, 0u) << "cut at " << len;
    // Cutting the outer datagram is reported as truncation.
    EXPECT_EQ(e, DecodeError::kTruncated) << "cut at " << len;
  }
}

TEST_F(DecoderTest, BadVersionAndAgentAddress) {
  for (uint32_t v : {0u, 2u, 4u, 6u, 0x05000000u}) {
    TestDatagram d;
    d.version = v;
    EXPECT_EQ(Decode(BuildDatagram(d)), DecodeError::kBadVersion) << v;
  }
  std::vector<uint8_t> bytes = BuildDatagram(TestDatagram());
  for (uint8_t type : {0, 3, 255}) {
    bytes[7] = type;
    EXPECT_EQ(Decode(bytes), DecodeError::kBadAgentAddress) << int{type};
  }
}

// Rewrites the big-endian word at `off`.
void Poke(std::vector<uint8_t>* b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*b)[off + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

TEST_F(DecoderTest, AbsurdCountsAndLengths) {
  TestDatagram d;
  d.samples.push_back(TestSample::Flow(10, {TestHeader::Eth(UdpFrame(1))}));
  const std::vector<uint8_t> good = BuildDatagram(d);
  ASSERT_EQ(Decode(good), DecodeError::kNone);
  // IPv4 agent layout: version 0, type 4, agent 8, sub-agent 12, seq 16,
  // uptime 20, sample count 24, sample format 28, sample length 32, sample
  // body 36: seq 36, source 40, rate 44, pool 48, drops 52, in 56, out 60,
  // record count 64, record format 68, record length 72, protocol 76,
  // frame length 80, stripped 84, header length 88, header 92.
  struct Case {
    size_t off;
    uint32_t value;
    DecodeError want;
  } cases[] = {
      {24, 0xffffffffu, DecodeError::kBadCount},   // sample count
      {24, 2, DecodeError::kTruncated},            // one sample missing
      {32, 0xfffffff0u, DecodeError::kTruncated},  // sample length past the datagram
      {32, 0xffffffffu, DecodeError::kTruncated},  // padding overflow
      {64, 0xffffffffu, DecodeError::kBadCount},   // record count
      {64, 2, DecodeError::kBadLength},            // one record missing
      {72, 0x7ffffff0u, DecodeError::kBadLength},  // record length past the sample
      {72, 8, DecodeError::kBadLength},            // record too short for its fields
      {88, 0xfffffffcu, DecodeError::kBadLength},  // header length past the record
      {84, 0xffffffffu, DecodeError::kBadLength},  // stripped > frame length
      {32, 20, DecodeError::kBadLength},           // sample too short for its fields
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> b = good;
    Poke(&b, c.off, c.value);
    EXPECT_EQ(Decode(b), c.want) << "offset " << c.off << " value " << c.value;
    EXPECT_EQ(dg_->num_headers, 0u);
  }
  // A skipped (counter) sample with an absurd length is still bounded.
  TestDatagram dc;
  dc.samples.push_back(TestSample::Counter());
  std::vector<uint8_t> b = BuildDatagram(dc);
  Poke(&b, 32, 0x80000000u);
  EXPECT_EQ(Decode(b), DecodeError::kTruncated);
  // Longer than any UDP datagram.
  std::vector<uint8_t> huge = good;
  huge.resize(kMaxDatagramBytes + 1);
  EXPECT_EQ(Decode(huge), DecodeError::kBadLength);
}

TEST_F(DecoderTest, LargestDatagramHeadersFit) {
  // As many empty raw headers as 64 KiB holds: no overflow of headers[].
  TestDatagram d;
  TestSample s = TestSample::Flow(1, {});
  for (int i = 0; i < 2700; ++i) s.headers.push_back(TestHeader{1, 0, 0, {}});
  d.samples.push_back(s);
  const std::vector<uint8_t> b = BuildDatagram(d);
  ASSERT_LE(b.size(), kMaxDatagramBytes);
  ASSERT_EQ(Decode(b), DecodeError::kNone);
  EXPECT_EQ(dg_->num_headers, 2700u);
  EXPECT_LE(dg_->num_headers, kMaxHeaders);
}

TEST(DecodeErrorName, Names) {
  EXPECT_STREQ(DecodeErrorName(DecodeError::kTruncated), "truncated");
  EXPECT_STREQ(DecodeErrorName(DecodeError::kBadVersion), "bad_version");
  EXPECT_STREQ(DecodeErrorName(DecodeError::kBadCount), "bad_count");
}

}  // namespace
}  // namespace skyprobe::sflow

namespace skyprobe::sflow {
namespace {

// The fuzzer's checks (tests/fuzz/sflow_invariants.h) over every truncation
// and every single-byte corruption of a datagram with all record kinds.
TEST(SflowInvariants, MutationsOfAValidDatagram) {
  using testing::BuildDatagram;
  using testing::TestDatagram;
  using testing::TestHeader;
  using testing::TestSample;
  using testing::UdpFrame;
  TestDatagram d;
  d.samples.push_back(TestSample::Flow(10, {TestHeader::Eth(UdpFrame(1, 3))}, true));
  d.samples.push_back(TestSample::Counter());
  d.samples.push_back(TestSample::Expanded(20, {TestHeader{kHeaderIpv4, 40, 0, UdpFrame(3, 2)}}));
  const std::vector<uint8_t> full = BuildDatagram(d);
  std::string why;
  ASSERT_TRUE(skyprobe::testing::SflowFuzzInput(full.data(), full.size(), &why)) << why;
  for (size_t len = 0; len <= full.size(); ++len) {
    EXPECT_TRUE(skyprobe::testing::SflowFuzzInput(full.data(), len, &why)) << len << ": " << why;
  }
  for (size_t i = 0; i < full.size(); ++i) {
    for (uint8_t v : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
      std::vector<uint8_t> b = full;
      b[i] = v;
      EXPECT_TRUE(skyprobe::testing::SflowFuzzInput(b.data(), b.size(), &why))
          << i << "=" << int{v} << ": " << why;
    }
  }
}

}  // namespace
}  // namespace skyprobe::sflow
