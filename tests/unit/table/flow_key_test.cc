#include "table/flow_key.h"

#include <vector>

#include "gtest/gtest.h"
#include "packet_builder.h"

namespace skyprobe {
namespace {

using testing::Make;
using testing::Reverse;

// layer-key-mode.pcap: ping 192.168.0.2 -> 192.168.0.1, echo id 23604, sent
// from two source MACs. Skydive asserts these TrackingIDs (MANIFEST.md).
constexpr testing::Mac kMacBc = {0xf2, 0x45, 0x25, 0x5b, 0x3a, 0xbc};
constexpr testing::Mac kMacAc = {0xf2, 0x45, 0x25, 0x5b, 0x3a, 0xac};
constexpr testing::Mac kGw = {0x2e, 0xb9, 0x2d, 0x76, 0x24, 0x07};
constexpr testing::Ip4 kHost = {192, 168, 0, 2};
constexpr testing::Ip4 kPeer = {192, 168, 0, 1};

std::string Hex(uint64_t v) {
  char buf[17];
  FormatHex64(v, buf);
  return buf;
}

testing::TestPacket Ping(const testing::Mac& src_mac) {
  return Make(src_mac, kGw, kHost, kPeer, FlowProtocol::kIcmpv4, 23604, 0, 98, /*type=*/8);
}

TEST(FlowKeyTest, SkydiveTrackingIdsInL2Mode) {
  for (auto [mac, want] :
       {std::pair{kMacBc, "a25d427a9f9dcdb8"}, std::pair{kMacAc, "6952cad8cd38c63c"}}) {
    auto p = Ping(mac);
    KeyBytes kb;
    BuildKeyBytes(p.frame.data(), p.sub(), KeyMode::kL2, 0, false, &kb);
    const FlowIds ids = TrackingIds(kb);
    EXPECT_EQ(Hex(ids.tracking_id), want);
    EXPECT_EQ(Hex(ids.l3_tracking_id), "9e42a86914a043b8");
    // Without a parent, the table key is the L2 key.
    EXPECT_EQ(TableKey(kb), ids.tracking_id);
  }
}

TEST(FlowKeyTest, L3ModeIgnoresMacs) {
  auto a = Ping(kMacBc);
  auto b = Ping(kMacAc);
  KeyBytes ka, kb;
  BuildKeyBytes(a.frame.data(), a.sub(), KeyMode::kL3, 0, false, &ka);
  BuildKeyBytes(b.frame.data(), b.sub(), KeyMode::kL3, 0, false, &kb);
  EXPECT_EQ(TableKey(ka), TableKey(kb));
  EXPECT_EQ(Hex(TrackingIds(ka).tracking_id), "9e42a86914a043b8");
  EXPECT_EQ(TrackingIds(ka).tracking_id, TrackingIds(ka).l3_tracking_id);
}

TEST(FlowKeyTest, BothDirectionsGiveOneKey) {
  for (KeyMode mode : {KeyMode::kL2, KeyMode::kL3}) {
    for (FlowProtocol proto : {FlowProtocol::kTcp, FlowProtocol::kUdp}) {
      auto fwd = Make(kMacBc, kGw, kHost, kPeer, proto, 36108, 3333, 74);
      auto rev = Reverse(fwd);
      KeyBytes kf, kr;
      BuildKeyBytes(fwd.frame.data(), fwd.sub(), mode, 0, false, &kf);
      BuildKeyBytes(rev.frame.data(), rev.sub(), mode, 0, false, &kr);
      EXPECT_EQ(TableKey(kf), TableKey(kr));
      EXPECT_NE(kf.swap, kr.swap);
      EXPECT_EQ(kf.rule, DirectionRule::kEndpoints);
    }
  }
}

TEST(FlowKeyTest, PortsAndParentChangeTheKey) {
  auto a = Make(kMacBc, kGw, kHost, kPeer, FlowProtocol::kTcp, 1000, 80, 60);
  auto b = Make(kMacBc, kGw, kHost, kPeer, FlowProtocol::kTcp, 1001, 80, 60);
  auto u = Make(kMacBc, kGw, kHost, kPeer, FlowProtocol::kUdp, 1000, 80, 60);
  KeyBytes ka, kb, ku, kp;
  BuildKeyBytes(a.frame.data(), a.sub(), KeyMode::kL2, 0, false, &ka);
  BuildKeyBytes(b.frame.data(), b.sub(), KeyMode::kL2, 0, false, &kb);
  BuildKeyBytes(u.frame.data(), u.sub(), KeyMode::kL2, 0, false, &ku);
  BuildKeyBytes(a.frame.data(), a.sub(), KeyMode::kL2, 0x1234abcd, true, &kp);
  EXPECT_NE(TableKey(ka), TableKey(kb));
  EXPECT_NE(TableKey(ka), TableKey(ku));
  EXPECT_NE(TableKey(ka), TableKey(kp));
  // The parent is in the table key only, never in the tracking IDs.
  EXPECT_EQ(TrackingIds(ka).tracking_id, TrackingIds(kp).tracking_id);
}

TEST(FlowKeyTest, EqualEndpointsUseThePortTieBreak) {
  constexpr testing::Mac kZero = {};
  constexpr testing::Ip4 kLo = {127, 0, 0, 1};
  auto p = Make(kZero, kZero, kLo, kLo, FlowProtocol::kTcp, 60038, 5001, 74);
  KeyBytes k1, k2;
  BuildKeyBytes(p.frame.data(), p.sub(), KeyMode::kL2, 0, false, &k1);
  auto r = Reverse(p);
  BuildKeyBytes(r.frame.data(), r.sub(), KeyMode::kL2, 0, false, &k2);
  EXPECT_EQ(k1.rule, DirectionRule::kPortTie);
  EXPECT_EQ(TableKey(k1), TableKey(k2));
}

TEST(FlowKeyTest, UuidHashesStartAndNodeTid) {
  auto p = Ping(kMacBc);
  KeyBytes kb;
  BuildKeyBytes(p.frame.data(), p.sub(), KeyMode::kL2, 0, false, &kb);
  const uint64_t key = TableKey(kb);
  // Derived for this trace's first flow by a re-implementation of Skydive's
  // hashing written apart from skyprobe (tests/integration/golden_test.py).
  EXPECT_EQ(Hex(FlowUuid(key, 1526468153643, "", 0)), "73b2b3bcc5609d4a");
  EXPECT_NE(FlowUuid(key, 1526468153643, "probe-1", 7), FlowUuid(key, 1526468153643, "", 0));
  EXPECT_NE(FlowUuid(key, 1526468153644, "", 0), FlowUuid(key, 1526468153643, "", 0));
}

// The capture point (input) is part of the lookup key only: both directions
// at one point share a key, two points never do, and Skydive's key bytes
// (hence TrackingID, L3TrackingID and the table key) do not depend on it.
// VXLAN sub-packets (the widest transport word: VNI and port) too.
TEST(FlowKeyTest, CapturePointIsInTheLookupKeyOnly) {
  auto vxlan = Make(kMacBc, kGw, kHost, kPeer, FlowProtocol::kUdp, 51031, 4789, 120);
  vxlan.parsed.sub[0].transport_key = TransportKeyKind::kVniPort;
  vxlan.parsed.sub[0].vni = 0xffffff;
  for (const auto& [p, r] : {std::pair{Ping(kMacBc), Reverse(Ping(kMacBc))},
                             std::pair{vxlan, vxlan}}) {  // VXLAN: dst port 4789 both ways
    KeyOrientation o;
    for (const KeyMode mode : {KeyMode::kL2, KeyMode::kL3}) {
      std::vector<FlowTableKey> keys;
      for (const uint8_t input : {0, 1, 2, 32, 255}) {
        FlowTableKey k, back;
        const uint32_t sig =
            LookupKey(p.frame.data(), p.parsed.sub[0], mode, 0, false, &k, &o, input);
        const uint32_t back_sig =
            LookupKey(r.frame.data(), r.parsed.sub[0], mode, 0, false, &back, &o, input);
        EXPECT_TRUE(SameKey(k, back));
        EXPECT_EQ(sig, back_sig);
        EXPECT_EQ(sig, TableHashSig(k));
        for (const FlowTableKey& other : keys) EXPECT_FALSE(SameKey(k, other)) << int{input};
        keys.push_back(k);
      }
    }
  }
}

TEST(FlowKeyTest, HexHasNoLeadingZeros) {
  char buf[17];
  EXPECT_EQ(FormatHex64(0, buf), 1);
  EXPECT_STREQ(buf, "0");
  FormatHex64(0x00ab, buf);
  EXPECT_STREQ(buf, "ab");
  FormatHex64(~uint64_t{0}, buf);
  EXPECT_STREQ(buf, "ffffffffffffffff");
}

}  // namespace
}  // namespace skyprobe
