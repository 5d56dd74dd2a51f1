// --keep-expired inside the flow table: a flow that ended by itself (idle,
// TCP close) is kept as its final record, with its raw packets, until its
// time on the shard clock is up or the ring is full; parked packets give way
// to live flows; a flush or an eviction keeps nothing. The oracle is what the test fed and what the
// sink received.
#include <atomic>
#include <memory>
#include <vector>

#include "eal_env.h"
#include "gtest/gtest.h"
#include "packet_builder.h"
#include "recording_sink.h"
#include "table/flow_table.h"

namespace skyprobe {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;
constexpr uint32_t kSlotBytes = 24 + 64;  // header + capture length 64
constexpr int64_t kExpire = 10 * kSec;
constexpr int64_t kKeep = 5 * kSec;

class ExpiredFlowsTest : public ::testing::Test {
 protected:
  void Build(uint32_t keep_max, uint32_t raw_first, uint32_t raw_slots, int64_t keep_ns = kKeep,
             uint32_t max_flows = 64) {
    static std::atomic<int> n{0};
    FlowTableOptions o;
    o.name = "kept" + std::to_string(n++);
    o.max_flows = max_flows;
    o.expire_ns = kExpire;
    o.update_ns = 60 * kSec;
    o.tick_ns = 100'000'000;
    o.raw_first = raw_first;
    o.capture_length = 64;
    o.raw_memory_bytes = uint64_t{raw_slots} * kSlotBytes;
    o.keep_expired_ns = keep_ns;
    o.keep_expired_max = keep_max;
    auto t = FlowTable::Create(o, sink_.AsSink());
    ASSERT_TRUE(t.ok()) << t.status();
    table_ = std::move(*t);
  }
  // UDP packet of flow `sport`, frame byte 60 = `tag`.
  void Feed(uint16_t sport, uint8_t tag, int64_t ts) {
    testing::TestPacket p = testing::Make({2, 0, 0, 0, 0, 0xa}, {2, 0, 0, 0, 0, 0xb}, {10, 0, 0, 1},
                                          {10, 0, 0, 2}, FlowProtocol::kUdp, sport, 53, 64);
    p.frame[60] = tag;
    const uint8_t* frame = p.frame.data();
    const uint32_t caplen = static_cast<uint32_t>(p.frame.size());
    table_->AdvanceClock(ts);
    table_->ProcessBurst(&frame, &p.parsed, &ts, 1, &caplen);
  }
  // The final record the sink received for `sport`.
  const FlowSnapshot* FinalRecord(uint16_t sport) const {
    for (const FlowSnapshot& s : sink_.records) {
      if (s.event == FlowEvent::kExpire && s.transport_a == sport) return &s;
    }
    return nullptr;
  }
  // The kept entry of `sport`, or null.
  const ExpiredFlows::Entry* Kept(uint16_t sport) const {
    const ExpiredFlows* k = table_->kept();
    for (uint64_t q = k->front_seq(); q < k->end_seq(); ++q) {
      if (k->At(q).snap.transport_a == sport) return &k->At(q);
    }
    return nullptr;
  }
  // Tags of the packets parked for `sport`'s kept entry (empty: none).
  std::vector<uint8_t> ParkedTags(uint16_t sport) const {
    std::vector<uint8_t> out;
    const ExpiredFlows::Entry* e = Kept(sport);
    if (e == nullptr) return out;
    table_->raw_packets()->ForEachParked(
        e->raw_id, [&](const RawPacketArena::Packet& p) { out.push_back(p.data[60]); });
    return out;
  }

  testing::RecordingSink sink_;
  std::unique_ptr<FlowTable> table_;
};

TEST_F(ExpiredFlowsTest, OffByDefault) {
  FlowTableOptions o;
  o.name = "kept_off";
  o.max_flows = 8;
  auto t = FlowTable::Create(o, sink_.AsSink());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->kept(), nullptr);
}

TEST_F(ExpiredFlowsTest, AnExpiredFlowIsKeptAsItsFinalRecordWithItsPackets) {
  Build(8, 3, 16);
  for (uint8_t i = 1; i <= 4; ++i) Feed(1000, i, kT0 + i);
  Feed(2000, 9, kT0 + 5 * kSec);
  table_->AdvanceClock(kT0 + kExpire + kSec / 5);  // 1000 idle (a timer tick late at most): out
  ASSERT_EQ(table_->size(), 1u);
  const FlowSnapshot* final_record = FinalRecord(1000);
  ASSERT_NE(final_record, nullptr);
  const ExpiredFlows::Entry* e = Kept(1000);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(table_->kept()->size(), 1u);
  EXPECT_EQ(e->snap.uuid, final_record->uuid);
  EXPECT_EQ(e->snap.event, FlowEvent::kExpire);
  EXPECT_EQ(e->snap.expire_reason, ExpireReason::kIdle);
  EXPECT_EQ(e->snap.finish_type, final_record->finish_type);
  EXPECT_EQ(e->snap.metric.ab_packets, 4);
  EXPECT_EQ(e->snap.metric.ab_bytes, final_record->metric.ab_bytes);
  EXPECT_EQ(e->snap.raw_packets_captured, 3);
  EXPECT_EQ(table_->kept()->UuidAt(table_->kept()->front_seq()), final_record->uuid);
  EXPECT_EQ(ParkedTags(1000), (std::vector<uint8_t>{1, 2, 3}));  // the first N = 3 fed
  EXPECT_EQ(table_->counters().kept_expired, 1u);
  EXPECT_EQ(table_->counters().kept_expired_now, 1u);
  // Its slots stay taken while it is kept: 3 parked + 1 of the live flow.
  EXPECT_EQ(table_->raw_packets()->free_slots(), 16u - 4u);
}

TEST_F(ExpiredFlowsTest, KeptUntilItsTimeIsUpOnTheShardClock) {
  Build(8, 3, 16);
  for (uint8_t i = 1; i <= 2; ++i) Feed(1000, i, kT0);
  table_->AdvanceClock(kT0 + kExpire);
  ASSERT_NE(Kept(1000), nullptr);
  const int64_t expired_at = Kept(1000)->expired_ns;
  EXPECT_GE(expired_at, kT0 + kExpire);
  table_->AdvanceClock(expired_at + kKeep - 1);
  EXPECT_NE(Kept(1000), nullptr);
  table_->AdvanceClock(expired_at + kKeep);
  EXPECT_EQ(table_->kept()->size(), 0u);
  EXPECT_EQ(table_->counters().kept_expired_now, 0u);
  EXPECT_EQ(table_->counters().kept_expired_overflow, 0u);
  EXPECT_EQ(table_->raw_packets()->free_slots(), 16u);  // parked slots back
}

TEST_F(ExpiredFlowsTest, AFullRingDropsTheOldestFirst) {
  Build(2, 3, 16, /*keep_ns=*/3600 * kSec);
  Feed(1000, 1, kT0);
  Feed(2000, 2, kT0 + kSec);
  Feed(3000, 3, kT0 + 2 * kSec);
  table_->AdvanceClock(kT0 + 2 * kSec + kExpire);  // all three expire, in that order
  EXPECT_EQ(table_->size(), 0u);
  EXPECT_EQ(table_->kept()->size(), 2u);
  EXPECT_EQ(Kept(1000), nullptr);
  EXPECT_NE(Kept(2000), nullptr);
  EXPECT_NE(Kept(3000), nullptr);
  EXPECT_EQ(table_->counters().kept_expired, 3u);
  EXPECT_EQ(table_->counters().kept_expired_overflow, 1u);
  EXPECT_EQ(table_->raw_packets()->free_slots(), 16u - 2u);  // 1000's slot went with it
  EXPECT_EQ(ParkedTags(3000), (std::vector<uint8_t>{3}));
}

TEST_F(ExpiredFlowsTest, LivePacketsTakeTheSlotsOfKeptFlows) {
  Build(8, 3, 3);
  for (uint8_t i = 1; i <= 3; ++i) Feed(1000, i, kT0);
  table_->AdvanceClock(kT0 + kExpire);
  ASSERT_EQ(ParkedTags(1000), (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(table_->raw_packets()->free_slots(), 0u);
  Feed(2000, 7, kT0 + kExpire + 1);  // no free slot: the kept flow gives its packets
  EXPECT_EQ(table_->counters().raw_packets_dropped, 0u);
  EXPECT_EQ(table_->counters().kept_expired_raw_reclaimed, 1u);
  EXPECT_TRUE(ParkedTags(1000).empty());
  // The record stays (without packets now); the live flow has its packet.
  ASSERT_NE(Kept(1000), nullptr);
  EXPECT_EQ(Kept(1000)->snap.raw_packets_captured, 3);
  int live = 0;
  for (uint32_t pos = 0; pos < table_->capacity(); ++pos) {
    if (table_->IsLive(pos)) live += static_cast<int>(table_->raw_packets()->kept(pos));
  }
  EXPECT_EQ(live, 1);
  // With nothing parked left, a packet without a slot is a counted drop again.
  Feed(2000, 8, kT0 + kExpire + 2);
  Feed(2000, 9, kT0 + kExpire + 3);
  Feed(3000, 1, kT0 + kExpire + 4);
  EXPECT_EQ(table_->counters().raw_packets_dropped, 1u);
}

TEST_F(ExpiredFlowsTest, AFlushKeepsNothing) {
  Build(8, 3, 16);
  Feed(1000, 1, kT0);
  Feed(2000, 2, kT0);
  ASSERT_TRUE(table_->FlushAll());
  EXPECT_EQ(sink_.records.size(), 2u);
  EXPECT_EQ(table_->kept()->size(), 0u);
  EXPECT_EQ(table_->counters().kept_expired, 0u);
  EXPECT_EQ(table_->raw_packets()->free_slots(), 16u);
}

TEST_F(ExpiredFlowsTest, AnEvictedFlowIsNotKept) {
  Build(8, 3, 16, kKeep, /*max_flows=*/2);
  Feed(1000, 1, kT0);
  Feed(2000, 2, kT0 + 1);
  Feed(3000, 3, kT0 + 2);  // the table is full: 1000 is evicted
  ASSERT_EQ(table_->counters().flows_evicted, 1u);
  ASSERT_NE(FinalRecord(1000), nullptr);
  EXPECT_EQ(table_->kept()->size(), 0u);
  EXPECT_EQ(table_->counters().kept_expired, 0u);
  EXPECT_EQ(table_->raw_packets()->free_slots(), 16u - 2u);  // 1000's slot is free again
}

TEST_F(ExpiredFlowsTest, KeptWithoutRawPacketCapture) {
  Build(8, 0, 0);
  ASSERT_EQ(table_->raw_packets(), nullptr);
  Feed(1000, 1, kT0);
  table_->AdvanceClock(kT0 + kExpire);
  ASSERT_NE(Kept(1000), nullptr);
  EXPECT_EQ(Kept(1000)->raw_id, RawPacketArena::kNoPacketsParked);
}

}  // namespace
}  // namespace skyprobe
