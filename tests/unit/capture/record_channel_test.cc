#include "capture/record_channel.h"

#include <atomic>
#include <chrono>
#include <set>
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
TEST(RecordChannelTest, FullChannelRefusesSlotsAndLosesNothing) {
  auto ch = RecordChannel::Create("rc_test", 64, -1);
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

}  // namespace
}  // namespace skyprobe

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new skyprobe::testing::EalEnvironment());
  return RUN_ALL_TESTS();
}
