// CapturePoints: which NodeTID and CaptureID a record reports, and what its
// UUID hashes: Skydive's NodeTID alone where it tells the points apart, the
// CaptureID after it where points share one.

#include "record/capture_points.h"

#include <string>

#include "gtest/gtest.h"

namespace skyprobe {
namespace {

FlowSnapshot Record(uint8_t input, const char* own_node_tid = "") {
  FlowSnapshot s;
  s.input = input;
  std::snprintf(s.node_tid, sizeof(s.node_tid), "%s", own_node_tid);
  return s;
}

TEST(CapturePointsTest, RecordsTakeTheirPointsNames) {
  CapturePoints points("probe");
  points.Add(1, CapturePoint{"a.pcap", "tap-1", "uplink"});
  points.Add(3, CapturePoint{"b.pcap", "probe", "b.pcap"});
  EXPECT_EQ(RecordNodeTid(Record(1), "probe", &points), "tap-1");
  EXPECT_EQ(RecordCaptureId(Record(1), "", &points), "uplink");
  EXPECT_EQ(RecordNodeTid(Record(3), "probe", &points), "probe");
  EXPECT_EQ(RecordCaptureId(Record(3), "", &points), "b.pcap");
  // No point: input 0 (sFlow), or a number never added; the fallbacks.
  for (const uint8_t input : {0, 2, 4, 200}) {
    EXPECT_EQ(RecordNodeTid(Record(input), "probe", &points), "probe") << int{input};
    EXPECT_EQ(RecordCaptureId(Record(input), "fallback", &points), "fallback") << int{input};
  }
  // A record's own NodeTID (an sFlow agent's) wins over everything.
  EXPECT_EQ(RecordNodeTid(Record(1, "192.0.2.1"), "probe", &points), "192.0.2.1");
  // Without points: the fallbacks.
  EXPECT_EQ(RecordNodeTid(Record(1), "probe", nullptr), "probe");
  EXPECT_EQ(RecordCaptureId(Record(1), "", nullptr), "");
  EXPECT_EQ(points.Inputs(), (std::vector<uint8_t>{1, 3}));
  EXPECT_EQ(points.Find(2), nullptr);
}

TEST(CapturePointsTest, UuidTagIsTheNodeTidUnlessShared) {
  CapturePoints points("probe");
  points.Add(1, CapturePoint{"a.pcap", "tap-1", "a"});
  points.Add(2, CapturePoint{"b.pcap", "tap-2", "b"});
  points.Add(3, CapturePoint{"c.pcap", "probe", "c"});
  points.Add(4, CapturePoint{"d.pcap", "probe", "d"});
  // Own NodeTIDs: exactly what Skydive hashes.
  EXPECT_EQ(points.UuidTag(1), "tap-1");
  EXPECT_EQ(points.UuidTag(2), "tap-2");
  // Shared: NodeTID, NUL, CaptureID.
  EXPECT_EQ(points.UuidTag(3), std::string("probe\0c", 7));
  EXPECT_EQ(points.UuidTag(4), std::string("probe\0d", 7));
  EXPECT_NE(points.UuidTag(3), points.UuidTag(4));
  // No point: the probe's NodeTID.
  EXPECT_EQ(points.UuidTag(0), "probe");
  // One point alone hashes its NodeTID, even an empty one (Skydive's UUIDs).
  CapturePoints one;
  one.Add(1, CapturePoint{"a.pcap", "", "a.pcap"});
  EXPECT_EQ(one.UuidTag(1), "");
}

}  // namespace
}  // namespace skyprobe
