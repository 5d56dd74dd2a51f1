#include "capture/record_channel.h"

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "../table/eal_env.h"
#include "gtest/gtest.h"

namespace skyprobe {
namespace {

// A producer that outruns its consumer gets no slot (counted as a stall) and
// retries, as the flow table does; no record is lost or reordered. Nothing
// here can hang: once the producer is done every record it published is in
// the ring, so one drain to empty ends the test, and a producer that gets no
// slot back for kStuck gives up (a slot was lost) and fails the test.
// Both pool modes: the channel's own (single getter and putter, a cache each)
// and DPDK's default, the benchmark's baseline.
class RecordChannelTest : public ::testing::TestWithParam<RecordChannel::PoolMode> {
 protected:
  static std::string Name(const char* base) {
    static int n = 0;
    return std::string(base) + std::to_string(n++);
  }
};

TEST_P(RecordChannelTest, FullChannelRefusesSlotsAndLosesNothing) {
  auto ch = RecordChannel::Create(Name("rc_full"), 64, -1, GetParam());
  ASSERT_TRUE(ch.ok()) << ch.status();
  RecordSink sink = (*ch)->Sink();
  constexpr uint64_t kRecords = 20000;
  constexpr auto kStuck = std::chrono::seconds(30);
  std::atomic<bool> producer_done{false};
  std::atomic<bool> producer_stuck{false};
  std::thread producer([&] {
    for (uint64_t i = 0; i < kRecords; ++i) {
      FlowSnapshot* s;
      const auto since = std::chrono::steady_clock::now();
      while ((s = sink.acquire(sink.ctx)) == nullptr) {
        if (std::chrono::steady_clock::now() - since > kStuck) {
          producer_stuck.store(true, std::memory_order_relaxed);
          producer_done.store(true, std::memory_order_release);
          return;
        }
        std::this_thread::yield();
      }
      s->uuid = i;
      sink.publish(sink.ctx, s);
    }
    producer_done.store(true, std::memory_order_release);
  });
  std::set<uint64_t> seen;
  uint64_t received = 0;
  uint64_t expected_next = 0;
  bool in_order = true;
  FlowSnapshot* recs[16];
  auto drain = [&] {
    const uint32_t n = (*ch)->Drain(recs, 16);
    for (uint32_t i = 0; i < n; ++i) {
      in_order &= recs[i]->uuid == expected_next++;
      seen.insert(recs[i]->uuid);
    }
    (*ch)->Release(recs, n);
    received += n;
    return n;
  };
  // A slow consumer: small batches with pauses, so the 64-slot pool runs dry.
  while (!producer_done.load(std::memory_order_acquire)) {
    if (drain() > 0 && received % 1000 < 16) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  while (drain() > 0) {
  }
  producer.join();
  ASSERT_FALSE(producer_stuck.load())
      << "no record slot came back for 30 s (" << received << " records received): a slot was lost";
  EXPECT_EQ(received, kRecords);
  EXPECT_EQ(seen.size(), kRecords);
  EXPECT_TRUE(in_order);
  EXPECT_GT((*ch)->stalls(), 0u);
}

// `size` records can be in flight whatever the two caches hold: the
// consumer's keeps up to 1.5 x kCacheSize of what it gave back, the
// producer's what it took from the ring ahead of need. Round after round the
// producer takes slots until refused, all of them go through, and they are
// given back in odd batches (the consumer's cache then holds some).
TEST_P(RecordChannelTest, SizeRecordsAreAlwaysInFlight) {
  constexpr uint32_t kSize = 100;
  auto ch = RecordChannel::Create(Name("rc_size"), kSize, -1, GetParam());
  ASSERT_TRUE(ch.ok()) << ch.status();
  RecordSink sink = (*ch)->Sink();
  std::set<FlowSnapshot*> distinct;
  for (int round = 0; round < 20; ++round) {
    uint32_t taken = 0;
    while (FlowSnapshot* s = sink.acquire(sink.ctx)) {
      distinct.insert(s);
      sink.publish(sink.ctx, s);
      ++taken;
      ASSERT_LT(taken, 10 * kSize) << "the pool never runs dry";
    }
    EXPECT_GE(taken, kSize) << "round " << round;
    FlowSnapshot* recs[7];
    uint32_t drained = 0;
    while (const uint32_t n = (*ch)->Drain(recs, 7)) {
      (*ch)->Release(recs, n);
      drained += n;
    }
    EXPECT_EQ(drained, taken) << "round " << round;
  }
  // No record is ever handed out twice while in flight, and the pool is finite.
  EXPECT_LE(distinct.size(), kSize + 3 * RecordChannel::kCacheSize);
}

INSTANTIATE_TEST_SUITE_P(Modes, RecordChannelTest,
                         ::testing::Values(RecordChannel::PoolMode::kSingleCached,
                                           RecordChannel::PoolMode::kSharedUncached),
                         [](const ::testing::TestParamInfo<RecordChannel::PoolMode>& i) {
                           return i.param == RecordChannel::PoolMode::kSingleCached
                                      ? std::string("SingleCached")
                                      : std::string("SharedUncached");
                         });

}  // namespace
}  // namespace skyprobe

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new skyprobe::testing::EalEnvironment());
  return RUN_ALL_TESTS();
}
