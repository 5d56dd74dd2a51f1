// The shard when rte_hash fails where it cannot: a key that cannot be found
// or deleted at expiry, an add that fails below the limit or gives a position
// beyond the table. Every
// frame stays accounted (in a flow that is reported, or counted as dropped)
// and each failure is counted in table_inconsistencies.
//
// This binary is linked with --wrap for three rte_hash calls (meson.build):
// each wrapper fails as many times as armed, then does what rte_hash does.
#include <rte_hash.h>

#include <cerrno>
#include <set>
#include <vector>

#include "eal_env.h"
#include "gtest/gtest.h"
#include "packet_builder.h"
#include "recording_sink.h"
#include "table/flow_key.h"
#include "table/flow_table.h"

namespace {
int g_fail_get = 0;  // rte_hash_get_key_with_position: -ENOENT
int g_fail_del = 0;  // rte_hash_del_key_with_hash: -ENOENT
int g_bad_add = 0;   // rte_hash_add_key_with_hash: a position far beyond the table
int g_fail_add = 0;  // rte_hash_add_key_with_hash: -ENOSPC
}  // namespace

extern "C" {
int __real_rte_hash_get_key_with_position(const struct rte_hash* h, const int32_t position,
                                          void** key);
int32_t __real_rte_hash_del_key_with_hash(const struct rte_hash* h, const void* key,
                                          hash_sig_t sig);
int32_t __real_rte_hash_add_key_with_hash(const struct rte_hash* h, const void* key,
                                          hash_sig_t sig);

int __wrap_rte_hash_get_key_with_position(const struct rte_hash* h, const int32_t position,
                                          void** key) {
  if (g_fail_get > 0) {
    --g_fail_get;
    return -ENOENT;
  }
  return __real_rte_hash_get_key_with_position(h, position, key);
}
int32_t __wrap_rte_hash_del_key_with_hash(const struct rte_hash* h, const void* key,
                                          hash_sig_t sig) {
  if (g_fail_del > 0) {
    --g_fail_del;
    return -ENOENT;
  }
  return __real_rte_hash_del_key_with_hash(h, key, sig);
}
int32_t __wrap_rte_hash_add_key_with_hash(const struct rte_hash* h, const void* key,
                                          hash_sig_t sig) {
  if (g_fail_add > 0) {
    --g_fail_add;
    return -ENOSPC;
  }
  const int32_t pos = __real_rte_hash_add_key_with_hash(h, key, sig);
  if (pos >= 0 && g_bad_add > 0) {
    --g_bad_add;
    return pos + (1 << 24);
  }
  return pos;
}
}

namespace skyprobe {
namespace {

using testing::Make;
using testing::TestPacket;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;
constexpr testing::Mac kMacA = {0x02, 0, 0, 0, 0, 0xa};
constexpr testing::Mac kMacB = {0x02, 0, 0, 0, 0, 0xb};
constexpr testing::Ip4 kIpA = {10, 0, 0, 1};
constexpr testing::Ip4 kIpB = {10, 0, 0, 2};

class FlowTableFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_fail_get = g_fail_del = g_bad_add = g_fail_add = 0;
    static int n = 0;
    FlowTableOptions o;
    o.name = "faults" + std::to_string(n++);
    o.max_flows = 64;
    o.expire_ns = 10 * kSec;
    o.update_ns = 3600 * kSec;
    auto t = FlowTable::Create(o, sink_.AsSink());
    ASSERT_TRUE(t.ok()) << t.status();
    table_ = std::move(*t);
  }

  static TestPacket Udp(uint16_t port) {
    return Make(kMacA, kMacB, kIpA, kIpB, FlowProtocol::kUdp, port, 53, 100);
  }
  // `n` packets of `p` in one burst at `ts`.
  void Burst(const TestPacket& p, int n, int64_t ts) {
    std::vector<const uint8_t*> frames(n, p.frame.data());
    std::vector<ParsedPacket> parsed(n, p.parsed);
    std::vector<int64_t> stamps(n, ts);
    table_->AdvanceClock(ts);
    table_->ProcessBurst(frames.data(), parsed.data(), stamps.data(), static_cast<uint32_t>(n));
    fed_ += n;
  }
  int32_t SlotOf(const TestPacket& p) const {
    KeyOrientation o;
    FlowTableKey key;
    LookupKey(p.frame.data(), p.parsed.sub[0], KeyMode::kL2, 0, false, &key, &o);
    return table_->Lookup(key);
  }
  // Every frame fed is in a reported flow or counted as dropped.
  void ExpectEveryFrameAccounted() {
    ASSERT_TRUE(table_->FlushAll());
    const TableCounters& c = table_->counters();
    EXPECT_EQ(c.packets_in_flows + c.drop_table_full + c.drop_ring_full + c.drop_table_error, fed_);
    uint64_t in_records = 0;
    std::set<uint64_t> uuids;
    for (const FlowSnapshot& r : sink_.records) {
      in_records += r.metric.ab_packets + r.metric.ba_packets;
      uuids.insert(r.uuid);
    }
    EXPECT_EQ(in_records, c.packets_in_flows);
    EXPECT_EQ(uuids.size(), sink_.records.size());
  }

  testing::RecordingSink sink_;
  std::unique_ptr<FlowTable> table_;
  uint64_t fed_ = 0;
};

// The key stays behind its expired flow; the flow's later packets make a new
// flow in that slot (before: counted in a slot nobody reports, lost).
TEST_F(FlowTableFaultsTest, AKeyThatCannotBeDeletedDoesNotSwallowLaterPackets) {
  Burst(Udp(1), 2, kT0);
  const int32_t slot = SlotOf(Udp(1));
  ASSERT_GE(slot, 0);
  g_fail_del = 1;
  table_->AdvanceClock(kT0 + 11 * kSec);
  ASSERT_EQ(g_fail_del, 0) << "the expiry should have tried to delete the key";
  ASSERT_EQ(sink_.records.size(), 1u);
  EXPECT_EQ(sink_.records[0].metric.ab_packets, 2);
  EXPECT_EQ(table_->counters().table_inconsistencies, 1u);
  EXPECT_EQ(table_->size(), 0u);
  EXPECT_LT(SlotOf(Udp(1)), 0) << "no flow behind the key left in the hash";
  // The bulk lookup finds the left key first; the flow starts again in the
  // position rte_hash keeps for that key.
  Burst(Udp(1), 3, kT0 + 12 * kSec);
  EXPECT_EQ(table_->size(), 1u);
  EXPECT_EQ(SlotOf(Udp(1)), slot);
  EXPECT_EQ(table_->counters().flows_created, 2u);
  ExpectEveryFrameAccounted();
  ASSERT_EQ(sink_.records.size(), 2u);
  EXPECT_EQ(sink_.records[1].metric.ab_packets, 3);
  EXPECT_EQ(sink_.records[1].start, (kT0 + 12 * kSec) / 1'000'000);
  EXPECT_NE(sink_.records[1].uuid, sink_.records[0].uuid);
}

TEST_F(FlowTableFaultsTest, AKeyThatCannotBeFoundAtExpiryIsCountedToo) {
  Burst(Udp(2), 1, kT0);
  Burst(Udp(3), 1, kT0);
  g_fail_get = 1;
  table_->AdvanceClock(kT0 + 11 * kSec);
  EXPECT_EQ(sink_.records.size(), 2u);
  EXPECT_EQ(table_->counters().table_inconsistencies, 1u);
  EXPECT_EQ(table_->size(), 0u);
  Burst(Udp(2), 1, kT0 + 12 * kSec);
  Burst(Udp(3), 1, kT0 + 12 * kSec);
  EXPECT_EQ(table_->size(), 2u);
  EXPECT_EQ(table_->counters().flows_created, 4u);
  ExpectEveryFrameAccounted();
}

// A position beyond the record arrays: the frame is dropped (counted), and
// the key is taken out again so that nothing maps to a flow that does not exist.
TEST_F(FlowTableFaultsTest, APositionBeyondTheTableIsDroppedAndLeavesNoKey) {
  g_bad_add = 1;
  Burst(Udp(4), 1, kT0);
  EXPECT_EQ(table_->counters().drop_table_error, 1u);
  EXPECT_EQ(table_->counters().table_inconsistencies, 1u);
  EXPECT_EQ(table_->size(), 0u);
  EXPECT_LT(SlotOf(Udp(4)), 0);
  Burst(Udp(4), 2, kT0 + kSec);
  EXPECT_EQ(table_->size(), 1u);
  EXPECT_EQ(table_->counters().flows_created, 1u);
  ExpectEveryFrameAccounted();
  ASSERT_EQ(sink_.records.size(), 1u);
  EXPECT_EQ(sink_.records[0].metric.ab_packets, 2);
}

TEST_F(FlowTableFaultsTest, AnAddThatFailsBelowTheLimitIsDroppedAndCounted) {
  g_fail_add = 1;
  Burst(Udp(5), 1, kT0);
  EXPECT_EQ(table_->counters().drop_table_error, 1u);
  EXPECT_EQ(table_->counters().drop_table_full, 0u);
  EXPECT_EQ(table_->counters().table_inconsistencies, 1u);
  EXPECT_EQ(table_->size(), 0u);
  Burst(Udp(5), 1, kT0 + kSec);
  EXPECT_EQ(table_->size(), 1u);
  ExpectEveryFrameAccounted();
}

// Evict-oldest at the limit while a key is left behind: the evicted flow's
// record goes out, and the left key's next flow still lands in its own slot.
TEST_F(FlowTableFaultsTest, ALeftKeyAndEvictionAtTheLimit) {
  FlowTableOptions o;
  o.name = "faults-evict";
  o.max_flows = 2;
  o.expire_ns = 10 * kSec;
  o.update_ns = 3600 * kSec;
  o.overload = OverloadPolicy::kEvictOldest;
  auto t = FlowTable::Create(o, sink_.AsSink());
  ASSERT_TRUE(t.ok()) << t.status();
  table_ = std::move(*t);
  Burst(Udp(6), 1, kT0);
  const int32_t slot = SlotOf(Udp(6));
  g_fail_del = 1;
  table_->AdvanceClock(kT0 + 11 * kSec);  // flow 6 expires, its key stays
  ASSERT_EQ(table_->counters().table_inconsistencies, 1u);
  EXPECT_LT(SlotOf(Udp(6)), 0) << "Lookup must not report a flow for a key without one";
  Burst(Udp(7), 1, kT0 + 12 * kSec);
  Burst(Udp(8), 1, kT0 + 13 * kSec);
  // At the limit: 6 comes back and evicts 7 (the oldest), in one burst with 8.
  const TestPacket p6 = Udp(6), p8 = Udp(8);
  std::vector<const uint8_t*> frames = {p6.frame.data(), p8.frame.data()};
  std::vector<ParsedPacket> parsed = {p6.parsed, p8.parsed};
  std::vector<int64_t> stamps(2, kT0 + 14 * kSec);
  table_->AdvanceClock(kT0 + 14 * kSec);
  table_->ProcessBurst(frames.data(), parsed.data(), stamps.data(), 2);
  fed_ += 2;
  EXPECT_EQ(table_->size(), 2u);
  EXPECT_EQ(table_->counters().flows_evicted, 1u);
  EXPECT_EQ(SlotOf(Udp(6)), slot);
  EXPECT_LT(SlotOf(Udp(7)), 0);
  ExpectEveryFrameAccounted();
  ASSERT_EQ(sink_.records.size(), 4u);  // 6 (idle), 7 (evicted), then 6 and 8 flushed
  EXPECT_EQ(sink_.records[1].expire_reason, ExpireReason::kEvicted);
}

}  // namespace
}  // namespace skyprobe

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new skyprobe::testing::EalEnvironment());
  return RUN_ALL_TESTS();
}
