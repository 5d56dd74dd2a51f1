// ProbeBackendImpl's subscriber feed: the handler the control loop calls for
// every record reaches each subscriber in place at that time, and nobody once
// unsubscribed (Publish takes no lock while there is none).
#include "app/probe_backend_impl.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace skyprobe {
namespace {

FlowSnapshot Record(uint64_t uuid) {
  FlowSnapshot s;
  s.uuid = uuid;
  return s;
}

TEST(ProbeBackendSubscribersTest, RecordsReachExactlyTheSubscribersInPlace) {
  ProbeBackendImpl backend({}, {}, nullptr, "");
  std::unique_ptr<FlowHandler> feed = backend.Handler();
  feed->OnRecord(Record(1));  // nobody subscribed: goes nowhere
  std::vector<uint64_t> a, b;
  const uint64_t ida = backend.Subscribe([&](const FlowSnapshot& s) { a.push_back(s.uuid); });
  feed->OnRecord(Record(2));
  const uint64_t idb = backend.Subscribe([&](const FlowSnapshot& s) { b.push_back(s.uuid); });
  feed->OnRecord(Record(3));
  backend.Unsubscribe(ida);
  feed->OnRecord(Record(4));
  backend.Unsubscribe(idb);
  feed->OnRecord(Record(5));
  EXPECT_EQ(a, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(b, (std::vector<uint64_t>{3, 4}));
}

// Subscribers come and go on other threads (the gRPC service's) while the
// control lcore publishes: a subscriber gets an unbroken run of records, in
// order, and is never called once Unsubscribe has returned. (Nothing waits on
// a clock: a subscriber that never got its records would hang the test, and
// meson's timeout fails it.)
TEST(ProbeBackendSubscribersTest, SubscribersComingAndGoingWhilePublishing) {
  ProbeBackendImpl backend({}, {}, nullptr, "");
  std::unique_ptr<FlowHandler> feed = backend.Handler();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> published{0};
  std::thread control([&] {
    for (uint64_t i = 1; !stop.load(std::memory_order_relaxed); ++i) {
      feed->OnRecord(Record(i));
      published.store(i, std::memory_order_release);
    }
  });
  for (int round = 0; round < 200; ++round) {
    std::vector<uint64_t> got;
    std::atomic<uint64_t> delivered{0};
    std::atomic<bool> removed{false};
    std::atomic<bool> called_after_removal{false};
    const uint64_t before = published.load(std::memory_order_acquire);
    const uint64_t id = backend.Subscribe([&](const FlowSnapshot& s) {
      if (removed.load(std::memory_order_relaxed)) called_after_removal.store(true);
      got.push_back(s.uuid);
      delivered.fetch_add(1, std::memory_order_release);
    });
    while (delivered.load(std::memory_order_acquire) < 50) std::this_thread::yield();
    backend.Unsubscribe(id);
    removed.store(true, std::memory_order_relaxed);
    const uint64_t after = published.load(std::memory_order_acquire);
    ASSERT_FALSE(called_after_removal.load());
    ASSERT_GE(got.size(), 50u);
    for (size_t i = 1; i < got.size(); ++i) ASSERT_EQ(got[i], got[i - 1] + 1) << "round " << round;
    EXPECT_GT(got.front(), before);
    EXPECT_LE(got.back(), after + 1);
  }
  stop.store(true);
  control.join();
}

}  // namespace
}  // namespace skyprobe
