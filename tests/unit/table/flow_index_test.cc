// FlowIndex against a second implementation (std::unordered_map of key to
// position): random adds, removals and lookups, with the keyed signature and
// with signatures that pile keys into a few homes (long overflow walks, a
// bucket's count stuck at its ceiling), the bulk waves against Lookup, the
// position bookkeeping (unique, below capacity, reused once freed), Reset.
#include "table/flow_index.h"

#include <cstring>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "eal_env.h"
#include "gtest/gtest.h"
#include "table/flow_key.h"
#include "table/table_hash.h"

namespace skyprobe {
namespace {

FlowTableKey KeyOf(uint64_t n) {
  FlowTableKey k{};
  k.w[0] = 3;  // words used, as LookupKey writes it
  k.w[1] = n;
  k.w[2] = n * 0x9e3779b97f4a7c15ull;
  return k;
}

struct KeyHash {
  size_t operator()(uint64_t n) const { return std::hash<uint64_t>()(n); }
};

// Signature families: the keyed one, and ones that crowd a few homes.
enum class Sigs { kKeyed, kFourHomes, kOneHome };
uint32_t SigOf(uint64_t n, Sigs s) {
  const FlowTableKey k = KeyOf(n);
  switch (s) {
    case Sigs::kKeyed:
      return TableHashSig(k);
    case Sigs::kFourHomes:
      // Homes 0..3, tags that differ (a home's keys are told apart by tag).
      return static_cast<uint32_t>((n % 4) | ((n & 0xffff) << 16));
    case Sigs::kOneHome:
      return 0x00010000u;  // one home, one tag: every key compared whole
  }
  return 0;
}

class FlowIndexTest : public ::testing::TestWithParam<Sigs> {
 protected:
  void SetUp() override { SetTableHashSeed(7); }
};

// The model: key number -> position; every check of the index against it.
class Checked {
 public:
  Checked(uint32_t capacity, Sigs sigs) : capacity_(capacity), sigs_(sigs) {
    auto x = FlowIndex::Create(capacity, -1);
    EXPECT_TRUE(x.ok()) << x.status();
    index_ = *std::move(x);
  }
  void Add(uint64_t n) {
    const int32_t pos = index_->Add(KeyOf(n), SigOf(n, sigs_));
    if (model_.size() == capacity_) {
      EXPECT_EQ(pos, -1) << "an add beyond capacity";
      return;
    }
    ASSERT_GE(pos, 0);
    ASSERT_LT(static_cast<uint32_t>(pos), capacity_);
    ASSERT_TRUE(used_.insert(pos).second) << "position " << pos << " given twice";
    model_[n] = pos;
    const FlowTableKey key = KeyOf(n);
    EXPECT_EQ(std::memcmp(&index_->KeyAt(pos), &key, sizeof(key)), 0);
  }
  void Remove(uint64_t n) {
    const auto it = model_.find(n);
    ASSERT_NE(it, model_.end());
    ASSERT_TRUE(index_->Remove(it->second, SigOf(n, sigs_)));
    used_.erase(it->second);
    model_.erase(it);
  }
  void ExpectLookup(uint64_t n) const {
    const auto it = model_.find(n);
    EXPECT_EQ(index_->Lookup(KeyOf(n), SigOf(n, sigs_)), it == model_.end() ? -1 : it->second)
        << "key " << n;
  }
  // The three waves over `keys`, against the model.
  void ExpectBulk(const std::vector<uint64_t>& keys) const {
    std::vector<FlowTableKey> k;
    std::vector<uint32_t> s;
    for (uint64_t n : keys) {
      k.push_back(KeyOf(n));
      s.push_back(SigOf(n, sigs_));
      index_->PrefetchBucket(s.back());
    }
    const uint32_t m = static_cast<uint32_t>(keys.size());
    std::vector<int32_t> cand(m), pos(m);
    index_->Candidates(s.data(), m, cand.data());
    index_->Confirm(k.data(), s.data(), m, cand.data(), pos.data());
    for (uint32_t j = 0; j < m; ++j) {
      const auto it = model_.find(keys[j]);
      EXPECT_EQ(pos[j], it == model_.end() ? -1 : it->second) << "key " << keys[j];
    }
  }
  const std::unordered_map<uint64_t, int32_t, KeyHash>& model() const { return model_; }
  FlowIndex& index() { return *index_; }
  void Reset() {
    index_->Reset();
    model_.clear();
    used_.clear();
  }

 private:
  uint32_t capacity_;
  Sigs sigs_;
  std::unique_ptr<FlowIndex> index_;
  std::unordered_map<uint64_t, int32_t, KeyHash> model_;
  std::unordered_set<int32_t> used_;
};

TEST_P(FlowIndexTest, RandomOperationsAgreeWithAMap) {
  const uint32_t capacity = GetParam() == Sigs::kOneHome ? 300 : 4000;
  Checked c(capacity, GetParam());
  std::mt19937_64 rng(42);
  const uint64_t universe = capacity * 2;
  for (int step = 0; step < 60000; ++step) {
    const uint64_t n = rng() % universe;
    const int op = static_cast<int>(rng() % 10);
    if (op < 5) {
      if (c.model().count(n) == 0) c.Add(n);
    } else if (op < 8) {
      if (c.model().count(n) != 0) c.Remove(n);
    } else {
      c.ExpectLookup(n);
    }
    if (::testing::Test::HasFatalFailure()) return;
    if (step % 1000 == 999) {
      std::vector<uint64_t> batch;
      for (int j = 0; j < 64; ++j) batch.push_back(rng() % universe);
      c.ExpectBulk(batch);
      EXPECT_EQ(c.index().size(), c.model().size());
    }
  }
  for (uint64_t n = 0; n < universe; ++n) c.ExpectLookup(n);
}

TEST_P(FlowIndexTest, FullThenEmptyThenFullAgain) {
  const uint32_t capacity = GetParam() == Sigs::kOneHome ? 200 : 5000;
  Checked c(capacity, GetParam());
  for (uint64_t n = 0; n <= capacity; ++n) c.Add(n);  // the last one is refused
  ASSERT_EQ(c.model().size(), capacity);
  EXPECT_EQ(c.index().size(), capacity);
  c.ExpectLookup(capacity);
  // Out in another order than in, then new keys take the freed positions.
  for (uint64_t n = 0; n < capacity; n += 2) c.Remove(n);
  for (uint64_t n = 1; n < capacity; n += 2) c.ExpectLookup(n);
  for (uint64_t n = 1; n < capacity; n += 2) c.Remove(n);
  EXPECT_EQ(c.index().size(), 0u);
  for (uint64_t n = 0; n < capacity; ++n) c.ExpectLookup(n);
  for (uint64_t n = capacity; n < 2 * capacity; ++n) c.Add(n);
  EXPECT_EQ(c.index().size(), capacity);
  for (uint64_t n = 0; n < 2 * capacity; ++n) c.ExpectLookup(n);
  // Reset: empty, every position free again.
  c.Reset();
  EXPECT_EQ(c.index().size(), 0u);
  for (uint64_t n = 0; n < 2 * capacity; ++n) c.ExpectLookup(n);
  for (uint64_t n = 0; n < capacity; ++n) c.Add(n);
  EXPECT_EQ(c.index().size(), capacity);
}

INSTANTIATE_TEST_SUITE_P(Sigs, FlowIndexTest,
                         ::testing::Values(Sigs::kKeyed, Sigs::kFourHomes, Sigs::kOneHome),
                         [](const ::testing::TestParamInfo<Sigs>& i) {
                           return i.param == Sigs::kKeyed       ? std::string("Keyed")
                                  : i.param == Sigs::kFourHomes ? std::string("FourHomes")
                                                                : std::string("OneHome");
                         });

// More keys past one home than its overflow count can hold (65535): the
// count stays at its ceiling, lookups walk on past it, and removals below it
// leave it there; every key is still found, and the index empties.
TEST(FlowIndexOverflowTest, AHomeWithMoreOverflowThanItsCountHolds) {
  constexpr uint32_t kKeys = 66000;
  Checked c(kKeys, Sigs::kFourHomes);
  // All in home 0 (n % 4 == 0 keys only).
  std::vector<uint64_t> keys;
  for (uint64_t n = 0; keys.size() < kKeys; n += 4) keys.push_back(n);
  for (uint64_t n : keys) c.Add(n);
  if (::testing::Test::HasFatalFailure()) return;
  for (size_t i = 0; i < keys.size(); i += 97) c.ExpectLookup(keys[i]);
  for (size_t i = 0; i < keys.size(); i += 2) c.Remove(keys[i]);
  for (size_t i = 1; i < keys.size(); i += 89) c.ExpectLookup(keys[i]);
  for (size_t i = 0; i < keys.size(); i += 89) c.ExpectLookup(keys[i]);
  for (size_t i = 1; i < keys.size(); i += 2) c.Remove(keys[i]);
  EXPECT_EQ(c.index().size(), 0u);
  c.ExpectLookup(keys.back());
}

TEST(FlowIndexCreateTest, RefusesAZeroCapacity) { EXPECT_FALSE(FlowIndex::Create(0, -1).ok()); }

}  // namespace
}  // namespace skyprobe
