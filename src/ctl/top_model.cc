// top_model.cc: see top_model.h.

#include "ctl/top_model.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ctl/text_table.h"
#include "ctl/units.h"

namespace skyprobe::ctl {
namespace {

double Key(const TopRow& r, TopSort s) {
  switch (s) {
    case TopSort::kBits:
      return r.rated ? r.bits : -1;
    case TopSort::kPackets:
      return r.rated ? r.packets : -1;
    case TopSort::kBytes:
      return static_cast<double>(r.flow.snap.metric.ab_bytes + r.flow.snap.metric.ba_bytes);
  }
  return 0;
}

std::string HumanPerSec(double v) {
  if (v < 0) return "-";
  if (v < 1000) return absl::StrFormat("%.1f/s", v);
  return HumanCount(std::llround(v)) + "/s";
}

}  // namespace

const char* TopSortName(TopSort s) {
  switch (s) {
    case TopSort::kBits:
      return "bit rate";
    case TopSort::kPackets:
      return "packet rate";
    case TopSort::kBytes:
      return "total bytes";
  }
  return "";
}

void TopModel::AddSample(size_t probe, std::vector<query::FlowRow> rows, double seconds) {
  Previous& prev = previous_[probe];
  const double dt = prev.present ? seconds - prev.seconds : 0;
  std::vector<TopRow>& out = rows_[probe];
  out.clear();
  out.reserve(rows.size());
  Previous next;
  next.present = true;
  next.seconds = seconds;
  for (query::FlowRow& f : rows) {
    const FlowMetric& m = f.snap.metric;
    const int64_t bytes = m.ab_bytes + m.ba_bytes;
    const int64_t packets = m.ab_packets + m.ba_packets;
    TopRow r;
    if (prev.present && dt > 0) {
      int64_t b0 = 0, p0 = 0;
      if (auto it = prev.counters.find(f.snap.uuid); it != prev.counters.end()) {
        b0 = it->second.first;
        p0 = it->second.second;
      }
      r.rated = true;
      r.bits = static_cast<double>(std::max<int64_t>(0, bytes - b0)) * 8 / dt;
      r.packets = static_cast<double>(std::max<int64_t>(0, packets - p0)) / dt;
    }
    next.counters.emplace(f.snap.uuid, std::make_pair(bytes, packets));
    r.flow = std::move(f);
    out.push_back(std::move(r));
  }
  prev = std::move(next);
}

std::vector<const TopRow*> TopModel::Sorted() const {
  std::vector<const TopRow*> all;
  for (const auto& [probe, rows] : rows_) {
    for (const TopRow& r : rows) all.push_back(&r);
  }
  std::stable_sort(all.begin(), all.end(), [this](const TopRow* a, const TopRow* b) {
    const double x = Key(*a, sort_), y = Key(*b, sort_);
    if (x != y) return x > y;
    return a->flow.snap.uuid < b->flow.snap.uuid;
  });
  return all;
}

std::string TopScreen(const TopModel& m, const TopHeader& h, const std::vector<FlowColumn>& columns,
                      size_t width, size_t height) {
  std::string out = h.title;
  if (h.paused) out += "  [PAUSED]";
  out += '\n';
  std::string line =
      absl::StrCat("packets ", HumanPerSec(h.packets_per_sec), "  traffic ",
                   h.bits_per_sec < 0 ? "-" : HumanRate(h.bits_per_sec), "  drops ",
                   HumanCount(static_cast<int64_t>(h.drops)), " (", HumanPerSec(h.drops_per_sec),
                   ")  flows ", HumanCount(static_cast<int64_t>(h.flows_live)), " live");
  if (h.flows_capacity > 0) {
    absl::StrAppend(&line, " of ", HumanCount(static_cast<int64_t>(h.flows_capacity)), " (",
                    absl::StrFormat("%.1f", 100.0 * static_cast<double>(h.flows_live) /
                                                static_cast<double>(h.flows_capacity)),
                    " % of the table)");
  }
  out += line + '\n';
  out += h.error.empty() ? std::string() : "error: " + h.error;
  out += '\n';
  std::vector<TableColumn> cols = {{"RATE", true}, {"PKTS/S", true}};
  std::vector<std::vector<std::string>> cells;
  const std::vector<const TopRow*> rows = m.Sorted();
  // Three header lines and the table's own: the rest are flows.
  size_t room = rows.size();
  if (height > 0) room = std::min(room, height > 4 ? height - 4 : 0);
  for (size_t i = 0; i < room; ++i) {
    const TopRow& r = *rows[i];
    std::vector<std::string> cell = {r.rated ? HumanRate(r.bits) : "-",
                                     r.rated ? HumanPerSec(r.packets) : "-"};
    for (const FlowColumn& c : columns) cell.push_back(HumanCell(c, r.flow));
    cells.push_back(std::move(cell));
  }
  // The flow columns as `flows` lays them out (cut addresses and all).
  for (TableColumn& c : TableColumns(columns)) cols.push_back(std::move(c));
  out += RenderTable(cols, cells, width);
  return out;
}

}  // namespace skyprobe::ctl
