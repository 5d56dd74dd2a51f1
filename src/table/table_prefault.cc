#include "table/table_prefault.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "skyprobe/idle_backoff.h"

// Linux 5.14; older C library headers lack the name.
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace skyprobe {
namespace {

// Positions populated per call: a few MiB, so a stop request waits little.
constexpr uint32_t kStepPositions = 8 * 1024;
// How the thread rests when every table is far enough ahead: 200 us at
// first, doubling up to 10 ms while nothing moves (a probe at rest wakes it
// 100 times a second), back to 200 us at the next work.
constexpr IdleBackoff::Options kRest{
    .adaptive = true, .spins = 0, .first_sleep_us = 200, .max_sleep_us = 10'000};

}  // namespace

std::unique_ptr<TablePrefaulter> TablePrefaulter::Start(const std::vector<const FlowTable*>& tables,
                                                        uint32_t ahead) {
  std::unique_ptr<TablePrefaulter> p(new TablePrefaulter());
  p->ahead_ = ahead;
  for (const FlowTable* t : tables) p->targets_.push_back(Target{t, t->capacity(), 0});
  p->thread_ = std::thread([q = p.get()] { q->Run(); });
  return p;
}

TablePrefaulter::~TablePrefaulter() {
  stop_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
}

bool TablePrefaulter::Populate(const Target& t, uint32_t from, uint32_t to) {
  static const uintptr_t kPage = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  for (const FlowTable::RecordArray& a : t.table->record_arrays()) {
    // Whole pages: the first and last may hold neighbours' bytes, which
    // populating does not change.
    uint8_t* first = a.base + uint64_t{from} * a.stride;
    uint8_t* last = a.base + uint64_t{to} * a.stride;
    first -= reinterpret_cast<uintptr_t>(first) & (kPage - 1);
    last += (kPage - (reinterpret_cast<uintptr_t>(last) & (kPage - 1))) & (kPage - 1);
    const auto len = static_cast<size_t>(last - first);
    if (madvise(first, len, MADV_POPULATE_WRITE) != 0) {
      error_.store(errno, std::memory_order_relaxed);
      return false;
    }
    bytes_.fetch_add(len, std::memory_order_relaxed);
  }
  return true;
}

void TablePrefaulter::Run() {
  IdleBackoff rest(kRest);
  while (!stop_.load(std::memory_order_relaxed)) {
    bool worked = false;
    bool all_done = true;
    for (Target& t : targets_) {
      all_done &= t.done == t.capacity;
      const uint32_t want = static_cast<uint32_t>(
          std::min<uint64_t>(uint64_t{t.table->positions_used()} + ahead_, t.capacity));
      if (t.done >= want) continue;
      const uint32_t to = std::min(want, t.done + kStepPositions);
      if (!Populate(t, t.done, to)) return;
      t.done = to;
      worked = true;
    }
    if (all_done) return;  // every table resident to its end: nothing left to do
    if (worked) {
      rest.Work();
    } else {
      rest.Idle();
    }
  }
}

}  // namespace skyprobe
