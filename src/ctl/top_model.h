// top_model.h: what `skyprobectl top` shows, apart from the terminal: the
// flows of successive answers with their current rates (bytes and packets
// since the previous answer of their probe, over the time between them),
// sorted by rate or total; the probes' packet rate, drops and table
// occupancy from their Stats; and the screen as text for a given size.
//
// Owner: skyprobectl's main thread; no I/O.
//
//   TopModel m(TopSort::kBits);
//   m.AddSample(probe_index, rows, steady_seconds);   // each probe, each refresh
//   std::string screen = TopScreen(m, header, columns, 120, 40);
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ctl/flow_columns.h"
#include "query/result_set.h"

namespace skyprobe::ctl {

enum class TopSort : uint8_t { kBits, kPackets, kBytes };
const char* TopSortName(TopSort s);  // "bit rate", "packet rate", "total bytes"

struct TopRow {
  query::FlowRow flow;
  bool rated = false;  // false on a probe's first answer: no rate yet
  double bits = 0;     // bits per second since the previous answer
  double packets = 0;  // packets per second
};

class TopModel {
 public:
  explicit TopModel(TopSort sort) : sort_(sort) {}

  // Probe `probe`'s flows at `seconds` (a steady clock). A flow seen in its
  // previous answer is rated by what its counters grew; one that was not
  // (new since) by all its counters, as they all came within the interval.
  void AddSample(size_t probe, std::vector<query::FlowRow> rows, double seconds);

  void set_sort(TopSort s) { sort_ = s; }
  TopSort sort() const { return sort_; }
  // Every probe's latest rows, sorted: by the rate or total, then UUID.
  std::vector<const TopRow*> Sorted() const;

 private:
  struct Previous {
    double seconds = 0;
    std::map<uint64_t, std::pair<int64_t, int64_t>> counters;  // UUID -> bytes, packets
    bool present = false;
  };
  TopSort sort_;
  std::map<size_t, Previous> previous_;
  std::map<size_t, std::vector<TopRow>> rows_;
};

// The probes' health for the header, summed over the probes.
struct TopHeader {
  std::string title;            // first line: probes, interval, sort, keys
  double packets_per_sec = -1;  // < 0: unknown yet
  double bits_per_sec = -1;
  uint64_t drops = 0;
  double drops_per_sec = -1;
  uint64_t flows_live = 0;
  uint64_t flows_capacity = 0;  // 0: unknown
  bool paused = false;
  std::string error;  // the last failed call, shown until one succeeds
};

// The header lines, a blank line, then a table (RATE PKTS/S and `columns`)
// of as many flows as fit in `height` lines (0: all), each line fitted to
// `width` (0: no limit) as RenderTable does.
std::string TopScreen(const TopModel& m, const TopHeader& h, const std::vector<FlowColumn>& columns,
                      size_t width, size_t height);

}  // namespace skyprobe::ctl
