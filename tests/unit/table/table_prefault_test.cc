// The prefaulter makes a table's records resident ahead of the positions in
// use, and only so far ahead: what the kernel reports resident (mincore) is
// the oracle, not the prefaulter's own idea of what it did.
#include "table/table_prefault.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "packet_builder.h"
#include "table/flow_table.h"

namespace skyprobe {
namespace {

using testing::Make;

constexpr testing::Mac kMacA = {2, 0, 0, 0, 0, 1};
constexpr testing::Mac kMacB = {2, 0, 0, 0, 0, 2};
constexpr int64_t kT0 = int64_t{1'700'000'000} * 1'000'000'000;

struct NullSink {
  FlowSnapshot slot;
  static FlowSnapshot* Acquire(void* ctx) { return &static_cast<NullSink*>(ctx)->slot; }
  static void Publish(void*, FlowSnapshot*) {}
  RecordSink AsSink() { return RecordSink{this, &Acquire, &Publish}; }
};

size_t PageSize() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

// `p` moved down (or up) to a page boundary, by pointer arithmetic.
uint8_t* PageDown(const uint8_t* p) {
  return const_cast<uint8_t*>(p) - (reinterpret_cast<uintptr_t>(p) & (PageSize() - 1));
}
uint8_t* PageUp(const uint8_t* p) {
  return const_cast<uint8_t*>(p) +
         ((PageSize() - (reinterpret_cast<uintptr_t>(p) & (PageSize() - 1))) & (PageSize() - 1));
}

// Pages of [begin, end) the kernel holds resident.
size_t ResidentPages(const uint8_t* begin, const uint8_t* end) {
  uint8_t* first = PageDown(begin);
  uint8_t* last = PageUp(end);
  const auto len = static_cast<size_t>(last - first);
  std::vector<unsigned char> v(len / PageSize());
  if (mincore(first, len, v.data()) != 0) return 0;
  size_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return n;
}

// Gives back the whole pages of [begin, end) (their bytes read as zero
// again: a free slot), so that the test knows they are not resident before
// the prefaulter runs, whatever the EAL heap held there before.
bool Drop(const uint8_t* begin, const uint8_t* end) {
  uint8_t* first = PageUp(begin);
  uint8_t* last = PageDown(end);
  if (last <= first) return true;
  const auto len = static_cast<size_t>(last - first);
  // Shared memory (EAL's memfd) needs its pages removed; private memory
  // only unmapped.
  return madvise(first, len, MADV_REMOVE) == 0 || madvise(first, len, MADV_DONTNEED) == 0;
}

TEST(TablePrefaulterTest, RecordsAheadOfTheFlowsAreResidentAndNoFurther) {
  static std::atomic<int> names{0};
  FlowTableOptions o;
  o.name = "prefault" + std::to_string(names++);
  o.max_flows = 256 * 1024;
  NullSink sink;
  auto t = FlowTable::Create(o, sink.AsSink());
  ASSERT_TRUE(t.ok()) << t.status();
  FlowTable& table = **t;

  const uint32_t flows = 3000;
  for (uint32_t i = 0; i < flows; ++i) {
    auto p = Make(kMacA, kMacB, {10, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)},
                  {10, 1, 0, 1}, FlowProtocol::kUdp, 1000, 53, 60);
    const uint8_t* frame = p.frame.data();
    const int64_t ts = kT0 + i;
    table.AdvanceClock(ts);
    table.ProcessBurst(&frame, &p.parsed, &ts, 1);
  }
  ASSERT_EQ(table.positions_used(), flows);

  const uint32_t ahead = 4096;
  const uint32_t want = flows + ahead;
  const auto arrays = table.record_arrays();
  // Nothing past the flows in use is resident to begin with.
  for (const auto& a : arrays) {
    const uint8_t* unused = a.base + uint64_t{flows} * a.stride;
    const uint8_t* end = a.base + uint64_t{o.max_flows} * a.stride;
    ASSERT_TRUE(Drop(unused, end)) << "madvise: " << errno;
    // At most the page shared with a used record, in the window to come.
    EXPECT_LE(ResidentPages(unused, a.base + uint64_t{want} * a.stride), 1u);
    EXPECT_GT(PageDown(a.base + uint64_t{want} * a.stride), PageUp(unused));
  }
  auto pf = TablePrefaulter::Start({&table}, ahead);
  auto all_resident = [&] {
    for (const auto& a : arrays) {
      const uint8_t* begin = a.base;
      const uint8_t* end = a.base + uint64_t{want} * a.stride;
      const auto pages = static_cast<size_t>(PageUp(end) - PageDown(begin)) / PageSize();
      if (ResidentPages(begin, end) != pages) return false;
    }
    return true;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!all_resident() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(all_resident()) << "records up to " << want << " positions are not all resident";
  // Give it time to go further if it would, then check that it did not: at
  // most `want` positions' bytes, each call rounded out to whole pages.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(pf->error(), 0);
  uint64_t record_bytes = 0;
  for (const auto& a : arrays) record_bytes += a.stride;
  const uint64_t page = PageSize();
  EXPECT_GE(pf->bytes_populated(), uint64_t{want} * record_bytes);
  EXPECT_LE(pf->bytes_populated(), uint64_t{want} * record_bytes + page * 6);  // 2 a call, 3 arrays
  // The records far past the window were left alone by the prefaulter.
  EXPECT_LT(pf->bytes_populated(), uint64_t{o.max_flows} * record_bytes / 16);
  pf.reset();
}

}  // namespace
}  // namespace skyprobe
