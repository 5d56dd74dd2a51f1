// table_prefault.h: makes the flow tables' record memory resident just ahead
// of the positions their workers hand out, from a thread of its own, so that
// a worker creating a flow does not take the page fault (and the clearing
// of the page) on its first write to the flow's records.
//
// Owner: the main thread starts it after the tables exist and destroys it
// (stop and join) before they go. Its thread only reads each table's count
// of positions used (an atomic, FlowTable::positions_used) and asks the
// kernel to populate pages with madvise(MADV_POPULATE_WRITE), which never
// changes their contents: a page the worker writes meanwhile is simply
// already there. It stays `ahead` positions past the count, so what is
// resident follows what the table uses (a table sized for a million flows
// that holds a thousand stays small) and never passes the arrays' ends.
// When nothing moves it rests, up to 10 ms at a time; once every table is
// resident to its end it is done and its thread returns.
//
// Only for memory the kernel faults in page by page (EAL --no-huge: replays
// and tests); hugepage memory is populated when EAL maps it (the probe does
// not start one there). A kernel without MADV_POPULATE_WRITE (before Linux
// 5.14) makes the thread stop at its first call: the workers fault as before.
//
//   auto pf = TablePrefaulter::Start({table.get()});   // after the tables exist
//   ...                                               // workers run
//   pf.reset();                                       // before the tables go
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "table/flow_table.h"

namespace skyprobe {

class TablePrefaulter {
 public:
  // Positions populated past the count used: 64k positions is 16.5 MiB of
  // records, about 10 ms of new flows at a worker's full rate of creation.
  static constexpr uint32_t kAheadPositions = 64 * 1024;

  static std::unique_ptr<TablePrefaulter> Start(const std::vector<const FlowTable*>& tables,
                                                uint32_t ahead = kAheadPositions);
  ~TablePrefaulter();
  TablePrefaulter(const TablePrefaulter&) = delete;
  TablePrefaulter& operator=(const TablePrefaulter&) = delete;

  // Bytes populated so far, and the errno that stopped the thread (0: none).
  uint64_t bytes_populated() const { return bytes_.load(std::memory_order_relaxed); }
  int error() const { return error_.load(std::memory_order_relaxed); }

 private:
  struct Target {
    const FlowTable* table;
    uint32_t capacity;
    uint32_t done;  // positions below this are populated
  };
  TablePrefaulter() = default;
  void Run();
  // Populates positions [from, to) of every array of `t`; false on an error.
  bool Populate(const Target& t, uint32_t from, uint32_t to);

  std::vector<Target> targets_;
  uint32_t ahead_ = kAheadPositions;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<int> error_{0};
  std::thread thread_;
};

}  // namespace skyprobe
