// UuidIndex: inserts, erases (backward shift inside long probe runs, across
// the end of the slot array) and finds, checked against a std::multimap
// after every operation. UUIDs are drawn from few high halves so that
// entries share home slots and tags on purpose; the low half tells them
// apart (the index confirms a tag against the dense UUID array).
#include "table/uuid_index.h"

#include <map>
#include <random>
#include <vector>

#include "eal_env.h"
#include "gtest/gtest.h"

namespace skyprobe {
namespace {

TEST(UuidIndexTest, AgreesWithAMapUnderCollidingInsertsAndErases) {
  constexpr uint32_t kCapacity = 512;
  auto made = UuidIndex::Create(kCapacity, -1);
  ASSERT_TRUE(made.ok()) << made.status();
  UuidIndex& index = **made;
  std::vector<uint64_t> uuids(kCapacity, 0);
  std::vector<bool> live(kCapacity, false);
  std::multimap<uint64_t, uint32_t> oracle;
  std::mt19937_64 rng(3);
  // High halves that land in a few home slots, including the last ones (runs wrap).
  const uint64_t highs[] = {0, 1, 2, 1023, 1022, 1024 + 1023, 7};
  for (int step = 0; step < 200000; ++step) {
    const uint32_t pos = static_cast<uint32_t>(rng() % kCapacity);
    if (!live[pos]) {
      const uint64_t uuid = (highs[rng() % 7] << 32) | (rng() % 64);
      uuids[pos] = uuid;
      live[pos] = true;
      index.Insert(uuid, pos);
      oracle.emplace(uuid, pos);
    } else {
      index.Erase(uuids[pos], pos);
      for (auto it = oracle.find(uuids[pos]); it != oracle.end(); ++it) {
        if (it->second == pos) {
          oracle.erase(it);
          break;
        }
      }
      live[pos] = false;
    }
    ASSERT_EQ(index.size(), oracle.size());
    // Every live UUID is found at one of its positions; one never inserted is not.
    if (step % 64 == 0) {
      for (uint32_t p = 0; p < kCapacity; ++p) {
        if (!live[p]) continue;
        const int32_t got = index.Find(uuids[p], uuids.data());
        ASSERT_GE(got, 0) << step;
        ASSERT_EQ(uuids[got], uuids[p]);
        ASSERT_TRUE(live[got]);
      }
      ASSERT_EQ(index.Find((uint64_t{1} << 32) | 999, uuids.data()), -1);
    }
  }
}

}  // namespace
}  // namespace skyprobe
