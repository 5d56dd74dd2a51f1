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
// retries, as the flow table does; no record is lost or reordered.
TEST(RecordChannelTest, FullChannelRefusesSlotsAndLosesNothing) {
  auto ch = RecordChannel::Create("rc_test", 64, -1);
  ASSERT_TRUE(ch.ok()) << ch.status();
  RecordSink sink = (*ch)->Sink();
  constexpr uint64_t kRecords = 20000;
  std::atomic<bool> producer_done{false};
  std::thread producer([&] {
    for (uint64_t i = 0; i < kRecords; ++i) {
      FlowSnapshot* s;
      while ((s = sink.acquire(sink.ctx)) == nullptr) std::this_thread::yield();
      s->uuid = i;
      sink.publish(sink.ctx, s);
    }
    producer_done = true;
  });
  std::set<uint64_t> seen;
  uint64_t expected_next = 0;
  bool in_order = true;
  FlowSnapshot* recs[16];
  // A slow consumer: small batches with pauses, so the 64-slot pool runs dry.
  while (!producer_done || seen.size() < kRecords) {
    const uint32_t n = (*ch)->Drain(recs, 16);
    for (uint32_t i = 0; i < n; ++i) {
      in_order &= recs[i]->uuid == expected_next++;
      seen.insert(recs[i]->uuid);
    }
    (*ch)->Release(recs, n);
    if (seen.size() % 1000 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  producer.join();
  EXPECT_EQ(seen.size(), kRecords);
  EXPECT_TRUE(in_order);
  EXPECT_GT((*ch)->stalls(), 0u);
  EXPECT_EQ((*ch)->Drain(recs, 16), 0u);
}

}  // namespace
}  // namespace skyprobe

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new skyprobe::testing::EalEnvironment());
  return RUN_ALL_TESTS();
}
