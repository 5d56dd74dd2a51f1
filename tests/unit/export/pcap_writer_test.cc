// PcapWriter byte layout: classic pcap with nanosecond magic for one link
// type, pcapng blocks (4-byte aligned, lengths at both ends) for several.

#include "export/pcap_writer.h"

#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "unit/record/test_packets.h"

namespace skyprobe {
namespace {

uint32_t Le32(const std::string& s, size_t at) {
  uint32_t v;
  std::memcpy(&v, s.data() + at, 4);
  return v;  // the test machine is little-endian, as the files are
}

TEST(PcapWriterTest, ClassicPcap) {
  PcapWriter w({1, 1});
  EXPECT_FALSE(w.pcapng());
  std::string out;
  w.AppendHeader(&out);
  ASSERT_EQ(out.size(), 24u);
  EXPECT_EQ(Le32(out, 0), 0xa1b23c4du);
  EXPECT_EQ(Le32(out, 20), 1u);
  RawPacketCopy p = testing::UdpPacket(5'000'000'123, 1, 1);
  p.wire_length = 100;
  w.AppendPacket(p, &out);
  EXPECT_EQ(Le32(out, 24), 5u);
  EXPECT_EQ(Le32(out, 28), 123u);
  EXPECT_EQ(Le32(out, 32), p.data.size());
  EXPECT_EQ(Le32(out, 36), 100u);  // original length kept
  EXPECT_EQ(out.size(), 24 + 16 + p.data.size());
}

TEST(PcapWriterTest, PcapngForSeveralLinkTypes) {
  PcapWriter w({1, 228, 1});
  EXPECT_TRUE(w.pcapng());
  std::string out;
  w.AppendHeader(&out);
  w.AppendPacket(testing::RawIpPacket(7, 1), &out);
  // Walk the blocks: SHB, IDB (1), IDB (228), EPB on interface 1.
  size_t at = 0;
  std::vector<uint32_t> types;
  while (at < out.size()) {
    const uint32_t len = Le32(out, at + 4);
    ASSERT_EQ(len % 4, 0u);
    ASSERT_EQ(Le32(out, at + len - 4), len);
    types.push_back(Le32(out, at));
    if (Le32(out, at) == 6) {
      EXPECT_EQ(Le32(out, at + 8), 1u);
    }
    at += len;
  }
  EXPECT_EQ(at, out.size());
  EXPECT_EQ(types, (std::vector<uint32_t>{0x0a0d0d0a, 1, 1, 6}));
}

}  // namespace
}  // namespace skyprobe
