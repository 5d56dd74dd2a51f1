// Raw packet capture per flow: the arena on its own (first N, last M, budget,
// capture length, slot reuse) and inside the flow table (RawPacketsCaptured,
// slots freed when a flow leaves by expiry, flush or eviction).
#include <atomic>
#include <cstring>
#include <memory>
#include <vector>

#include "eal_env.h"
#include "gtest/gtest.h"
#include "packet_builder.h"
#include "recording_sink.h"
#include "table/flow_table.h"
#include "table/raw_packet_arena.h"

namespace skyprobe {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;
constexpr uint32_t kSlotBytes = 24 + 64;  // header + capture length 64

std::unique_ptr<RawPacketArena> MakeArena(uint32_t first, uint32_t last, uint32_t slots,
                                          uint32_t capture_length = 64) {
  RawPacketArenaOptions o;
  o.first = first;
  o.last = last;
  o.capture_length = capture_length;
  o.memory_bytes = uint64_t{slots} * ((24 + capture_length + 7) & ~7u);
  auto a = RawPacketArena::Create(o, 16);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? std::move(*a) : nullptr;
}

// A packet whose bytes all equal `tag`.
std::vector<uint8_t> Bytes(uint8_t tag, size_t len = 40) { return std::vector<uint8_t>(len, tag); }

RawPacketArena::Result Feed(RawPacketArena* a, uint32_t pos, uint8_t tag, size_t len = 40) {
  const std::vector<uint8_t> b = Bytes(tag, len);
  return a->Capture(pos, b.data(), static_cast<uint32_t>(b.size()), static_cast<uint32_t>(len), 1,
                    kT0 + tag);
}

std::vector<uint32_t> Indices(const RawPacketArena& a, uint32_t pos) {
  std::vector<uint32_t> out;
  a.ForEach(pos, [&](const RawPacketArena::Packet& p) {
    EXPECT_EQ(p.data[0], static_cast<uint8_t>(p.index)) << "bytes of another packet";
    EXPECT_EQ(p.timestamp_ns, kT0 + p.index);
    out.push_back(p.index);
  });
  return out;
}

TEST(RawPacketArenaTest, KeepsTheFirstNPacketsOnly) {
  auto a = MakeArena(3, 0, 100);
  for (uint8_t i = 1; i <= 8; ++i) {
    EXPECT_EQ(Feed(a.get(), 2, i),
              i <= 3 ? RawPacketArena::Result::kKept : RawPacketArena::Result::kSkipped);
  }
  EXPECT_EQ(a->kept(2), 3u);
  EXPECT_EQ(Indices(*a, 2), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(a->kept(3), 0u);
}

TEST(RawPacketArenaTest, NIsNotCappedAtTen) {
  auto a = MakeArena(50, 0, 100);
  for (uint8_t i = 1; i <= 60; ++i) Feed(a.get(), 0, i);
  EXPECT_EQ(a->kept(0), 50u);
}

TEST(RawPacketArenaTest, KeepsTheFirstNAndTheLastM) {
  auto a = MakeArena(2, 3, 100);
  for (uint8_t i = 1; i <= 9; ++i) EXPECT_EQ(Feed(a.get(), 1, i), RawPacketArena::Result::kKept);
  EXPECT_EQ(Indices(*a, 1), (std::vector<uint32_t>{1, 2, 7, 8, 9}));
  EXPECT_EQ(a->kept(1), 5u);
  // The ring reuses its own slots: 5 slots in use, not 9.
  EXPECT_EQ(a->free_slots(), a->slot_count() - 5);
}

TEST(RawPacketArenaTest, LastMAloneAndShortFlows) {
  auto a = MakeArena(0, 2, 100);
  Feed(a.get(), 0, 1);
  EXPECT_EQ(Indices(*a, 0), (std::vector<uint32_t>{1}));
  for (uint8_t i = 2; i <= 5; ++i) Feed(a.get(), 0, i);
  EXPECT_EQ(Indices(*a, 0), (std::vector<uint32_t>{4, 5}));
  // Fewer packets than N + M: each is kept once.
  auto b = MakeArena(2, 2, 100);
  for (uint8_t i = 1; i <= 3; ++i) Feed(b.get(), 0, i);
  EXPECT_EQ(Indices(*b, 0), (std::vector<uint32_t>{1, 2, 3}));
}

TEST(RawPacketArenaTest, CutsToTheCaptureLengthAndKeepsTheWireLength) {
  auto a = MakeArena(1, 0, 4, 64);
  std::vector<uint8_t> big(1500);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i);
  a->Capture(0, big.data(), 1500, 1514, 228, kT0);
  int seen = 0;
  a->ForEach(0, [&](const RawPacketArena::Packet& p) {
    ++seen;
    EXPECT_EQ(p.caplen, 64u);
    EXPECT_EQ(p.wire_length, 1514u);
    EXPECT_EQ(p.link_type, 228u);
    EXPECT_EQ(0, std::memcmp(p.data, big.data(), 64));
  });
  EXPECT_EQ(seen, 1);
  // A sub-packet shorter on the wire than its bytes (padding): wire >= caplen for pcap.
  auto b = MakeArena(1, 0, 4, 64);
  b->Capture(0, big.data(), 60, 46, 1, kT0);
  b->ForEach(0, [](const RawPacketArena::Packet& p) { EXPECT_EQ(p.wire_length, 60u); });
}

TEST(RawPacketArenaTest, CountsWhatTheBudgetCannotHoldAndReusesReleasedSlots) {
  auto a = MakeArena(3, 0, 4);
  EXPECT_EQ(a->slot_count(), 4u);
  for (uint8_t i = 1; i <= 3; ++i) Feed(a.get(), 0, i);
  EXPECT_EQ(Feed(a.get(), 1, 1), RawPacketArena::Result::kKept);
  EXPECT_EQ(Feed(a.get(), 1, 2), RawPacketArena::Result::kDropped);
  EXPECT_EQ(Feed(a.get(), 5, 1), RawPacketArena::Result::kDropped);
  EXPECT_EQ(a->free_slots(), 0u);
  a->Release(0);
  EXPECT_EQ(a->free_slots(), 3u);
  EXPECT_EQ(a->kept(0), 0u);
  // Flow 1 is at packet 3 (of N = 3): one more first packet; then nothing.
  EXPECT_EQ(Feed(a.get(), 1, 3), RawPacketArena::Result::kKept);
  EXPECT_EQ(Feed(a.get(), 1, 4), RawPacketArena::Result::kSkipped);
  EXPECT_EQ(Indices(*a, 1), (std::vector<uint32_t>{1, 3}));
  // A position reused by a new flow starts from packet 1.
  EXPECT_EQ(Feed(a.get(), 0, 1), RawPacketArena::Result::kKept);
  EXPECT_EQ(Indices(*a, 0), (std::vector<uint32_t>{1}));
}

TEST(RawPacketArenaTest, ARingShortOfSlotsKeepsTheLatestPackets) {
  auto a = MakeArena(0, 4, 2);
  EXPECT_EQ(Feed(a.get(), 0, 1), RawPacketArena::Result::kKept);
  EXPECT_EQ(Feed(a.get(), 0, 2), RawPacketArena::Result::kKept);
  EXPECT_EQ(Feed(a.get(), 0, 3), RawPacketArena::Result::kDropped);  // packet 1 lost
  EXPECT_EQ(Indices(*a, 0), (std::vector<uint32_t>{2, 3}));
}

TEST(RawPacketArenaTest, RefusesABudgetWithoutOneSlot) {
  RawPacketArenaOptions o;
  o.first = 1;
  o.memory_bytes = 10;
  EXPECT_FALSE(RawPacketArena::Create(o, 4).ok());
}

// ---- inside the flow table ----

using Sink = testing::RecordingSink;

class RawPacketsTableTest : public ::testing::Test {
 protected:
  void Build(uint32_t first, uint32_t last, uint32_t slots, uint32_t max_flows = 64) {
    static std::atomic<int> n{0};
    FlowTableOptions o;
    o.name = "raw" + std::to_string(n++);
    o.max_flows = max_flows;
    o.expire_ns = 10 * kSec;
    o.update_ns = 5 * kSec;
    o.tick_ns = 100'000'000;
    o.raw_first = first;
    o.raw_last = last;
    o.capture_length = 64;
    o.raw_memory_bytes = uint64_t{slots} * kSlotBytes;
    auto t = FlowTable::Create(o, sink_.AsSink());
    ASSERT_TRUE(t.ok()) << t.status();
    table_ = std::move(*t);
  }
  // UDP packet of flow `sport`, frame byte 60 = `tag`.
  void Feed(uint16_t sport, uint8_t tag, int64_t ts, bool with_caplens = true) {
    testing::TestPacket p = testing::Make({2, 0, 0, 0, 0, 0xa}, {2, 0, 0, 0, 0, 0xb}, {10, 0, 0, 1},
                                          {10, 0, 0, 2}, FlowProtocol::kUdp, sport, 53, 64);
    p.frame[60] = tag;
    const uint8_t* frame = p.frame.data();
    const uint32_t caplen = static_cast<uint32_t>(p.frame.size());
    table_->AdvanceClock(ts);
    table_->ProcessBurst(&frame, &p.parsed, &ts, 1, with_caplens ? &caplen : nullptr);
  }
  uint32_t PosOf(uint16_t sport) {
    for (uint32_t pos = 0; pos < table_->capacity(); ++pos) {
      if (!table_->IsLive(pos)) continue;
      FlowSnapshot s;
      table_->FillSnapshot(pos, FlowEvent::kUpdate, ExpireReason::kNone, &s);
      if (s.transport_a == sport) return pos;
    }
    ADD_FAILURE() << "no flow " << sport;
    return 0;
  }
  std::vector<uint8_t> Tags(uint16_t sport) {
    std::vector<uint8_t> out;
    table_->raw_packets()->ForEach(PosOf(sport), [&](const RawPacketArena::Packet& p) {
      EXPECT_EQ(p.caplen, 64u);
      EXPECT_EQ(p.link_type, 1u);
      out.push_back(p.data[60]);
    });
    return out;
  }

  Sink sink_;
  std::unique_ptr<FlowTable> table_;
};

TEST_F(RawPacketsTableTest, OffByDefault) {
  Build(0, 0, 0);
  EXPECT_EQ(table_->raw_packets(), nullptr);
  Feed(1000, 1, kT0);
  table_->FlushAll();
  ASSERT_EQ(sink_.records.size(), 1u);
  EXPECT_EQ(sink_.records[0].raw_packets_captured, 0);
}

TEST_F(RawPacketsTableTest, SnapshotsCountTheKeptPackets) {
  Build(2, 2, 100);
  for (uint8_t i = 1; i <= 6; ++i) Feed(1000, i, kT0 + i * kSec / 100);
  EXPECT_EQ(Tags(1000), (std::vector<uint8_t>{1, 2, 5, 6}));
  Feed(2000, 9, kT0 + kSec / 10, /*with_caplens=*/false);   // no caplens: nothing kept
  EXPECT_EQ(table_->counters().raw_packets_kept, 4u + 2u);  // the ring copied 5 and 6 too
  table_->FlushAll();
  ASSERT_EQ(sink_.records.size(), 2u);
  for (const FlowSnapshot& s : sink_.records) {
    EXPECT_EQ(s.raw_packets_captured, s.transport_a == 1000 ? 4 : 0);
  }
  EXPECT_EQ(table_->raw_packets()->free_slots(), table_->raw_packets()->slot_count());
}

TEST_F(RawPacketsTableTest, ExpiryFreesTheSlotsAfterTheFinalRecord) {
  Build(3, 0, 3);
  for (uint8_t i = 1; i <= 3; ++i) Feed(1000, i, kT0);
  Feed(2000, 1, kT0);
  EXPECT_EQ(table_->counters().raw_packets_dropped, 1u);
  table_->AdvanceClock(kT0 + 11 * kSec);  // idle expiry of both
  ASSERT_EQ(table_->size(), 0u);
  bool saw = false;
  for (const FlowSnapshot& s : sink_.records) {
    if (s.event == FlowEvent::kExpire && s.transport_a == 1000) {
      EXPECT_EQ(s.raw_packets_captured, 3);
      saw = true;
    }
  }
  EXPECT_TRUE(saw);
  EXPECT_EQ(table_->raw_packets()->free_slots(), 3u);
  Feed(3000, 7, kT0 + 12 * kSec);
  EXPECT_EQ(Tags(3000), (std::vector<uint8_t>{7}));
}

TEST_F(RawPacketsTableTest, EvictionFreesTheSlots) {
  Build(4, 0, 8, /*max_flows=*/2);
  for (uint8_t i = 1; i <= 4; ++i) Feed(1000, i, kT0);
  for (uint8_t i = 1; i <= 4; ++i) Feed(2000, i, kT0 + 1);
  EXPECT_EQ(table_->raw_packets()->free_slots(), 0u);
  Feed(3000, 1, kT0 + 2);  // evicts the oldest flow (1000) and its 4 slots
  EXPECT_EQ(table_->counters().flows_evicted, 1u);
  EXPECT_EQ(table_->counters().raw_packets_dropped, 0u);
  EXPECT_EQ(table_->raw_packets()->free_slots(), 3u);
  EXPECT_EQ(Tags(3000), (std::vector<uint8_t>{1}));
}

}  // namespace
}  // namespace skyprobe
