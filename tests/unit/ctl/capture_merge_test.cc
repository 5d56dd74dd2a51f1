// skyprobectl's capture merge: the probe's own pcap and pcapng read back
// exactly, merged in time order, and every truncation of a capture is either
// a clean prefix (cut at a record boundary) or a DataLoss error, never a
// crash or a packet made up from garbage.
#include "ctl/capture_merge.h"

#include <string>
#include <vector>

#include "export/pcap_writer.h"
#include "gtest/gtest.h"
#include "tests/unit/record/test_packets.h"

namespace skyprobe::ctl {
namespace {

using ::skyprobe::testing::RawIpPacket;
using ::skyprobe::testing::UdpPacket;

std::string Write(const std::vector<RawPacketCopy>& packets) {
  std::vector<uint32_t> types;
  for (const RawPacketCopy& p : packets) types.push_back(p.link_type);
  PcapWriter w(types);
  std::string out;
  w.AppendHeader(&out);
  for (const RawPacketCopy& p : packets) w.AppendPacket(p, &out);
  return out;
}

void ExpectSame(const RawPacketCopy& a, const RawPacketCopy& b) {
  EXPECT_EQ(a.timestamp_ns, b.timestamp_ns);
  EXPECT_EQ(a.wire_length, b.wire_length);
  EXPECT_EQ(a.link_type, b.link_type);
  EXPECT_EQ(a.data, b.data);
}

TEST(CaptureMergeTest, ReadsBothLayoutsBack) {
  const std::vector<RawPacketCopy> plain = {UdpPacket(5, 1, 1), UdpPacket(1'000'000'007, 2, 2)};
  const std::vector<RawPacketCopy> mixed = {UdpPacket(3, 1, 3), RawIpPacket(4, 1)};
  for (const auto* in : {&plain, &mixed}) {
    std::vector<RawPacketCopy> got;
    ASSERT_TRUE(ReadProbeCapture(Write(*in), &got).ok());
    ASSERT_EQ(got.size(), in->size());
    for (size_t i = 0; i < got.size(); ++i) ExpectSame(got[i], (*in)[i]);
  }
}

TEST(CaptureMergeTest, MergeIsInTimeOrderAndPcapngOnlyWhenLinkTypesDiffer) {
  std::vector<RawPacketCopy> all;
  ASSERT_TRUE(ReadProbeCapture(Write({UdpPacket(10, 1, 1), UdpPacket(30, 2, 1)}), &all).ok());
  ASSERT_TRUE(ReadProbeCapture(Write({UdpPacket(20, 1, 2), UdpPacket(30, 2, 2)}), &all).ok());
  const std::string one = MergedCapture(all);
  EXPECT_EQ(one.substr(0, 4), std::string("\x4d\x3c\xb2\xa1", 4));  // pcap, ns
  std::vector<RawPacketCopy> back;
  ASSERT_TRUE(ReadProbeCapture(one, &back).ok());
  ASSERT_EQ(back.size(), 4u);
  EXPECT_EQ(back[0].timestamp_ns, 10);
  EXPECT_EQ(back[1].timestamp_ns, 20);
  EXPECT_EQ(back[2].data, all[1].data);  // equal times keep the probes' order
  EXPECT_EQ(back[3].data, all[3].data);
  all.push_back(RawIpPacket(15, 1));
  const std::string ng = MergedCapture(all);
  EXPECT_EQ(ng.substr(0, 4), std::string("\x0a\x0d\x0d\x0a", 4));
  back.clear();
  ASSERT_TRUE(ReadProbeCapture(ng, &back).ok());
  ASSERT_EQ(back.size(), 5u);
  EXPECT_EQ(back[1].link_type, 228u);
}

TEST(CaptureMergeTest, TruncationIsAPrefixOrAnError) {
  for (const std::string& file : {Write({UdpPacket(1, 1, 1), UdpPacket(2, 2, 2)}),
                                  Write({UdpPacket(1, 1, 1), RawIpPacket(2, 1)})}) {
    for (size_t cut = 0; cut < file.size(); ++cut) {
      std::vector<RawPacketCopy> got;
      const absl::Status s = ReadProbeCapture(file.substr(0, cut), &got);
      if (s.ok()) {
        EXPECT_LT(got.size(), 2u) << "cut " << cut;
      } else {
        EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
      }
    }
  }
  std::vector<RawPacketCopy> got;
  EXPECT_FALSE(ReadProbeCapture("GIF89a-not-a-capture", &got).ok());
}

}  // namespace
}  // namespace skyprobe::ctl
