// stats_view.h: `skyprobectl stats`: a probe's health at a glance from two
// Stats replies taken an interval apart: traffic and its rates, drops by
// reason, outputs; as a compact table or as one JSON object.
//
// Owner: skyprobectl's main thread; pure functions of the replies.
//
//   StatsView v = MakeStatsView(probe, before, now);   // before may be null
//   std::fputs(StatsTable(v).c_str(), stdout);          // or StatsJson(v)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "skyprobe/v1/probe_service.pb.h"

namespace skyprobe::ctl {

struct StatsRow {
  std::string name;  // the counter's name in Stats ("packets_in", "drop_table_full")
  uint64_t value = 0;
  bool has_rate = false;  // a counter with two readings (not a gauge, not a single reply)
  double rate = 0;        // per second over the interval
};

struct OutputRow {
  std::string name;                // "json", "kafka" (Stats scope output.NAME)
  std::vector<StatsRow> counters;  // records_lost, output_errors, then the output's own
};

// A live port's link (Stats scope portP: link_up, link_downs).
struct LinkRow {
  std::string port;  // "port0"
  bool up = false;
  uint64_t downs = 0;  // times it went down or away since the probe started
};

struct StatsView {
  std::string probe;
  std::string node_tid;
  double seconds = 0;             // between the two replies (0: one reply, no rates)
  std::vector<StatsRow> traffic;  // packets, bytes, flows, records
  uint64_t drops = 0;             // the total of the reasons below
  double drops_rate = 0;
  std::vector<StatsRow> drop_reasons;  // every reason (drop_*, port_imissed, ...), zeros too
  std::vector<OutputRow> outputs;
  std::vector<LinkRow> links;  // live ports only (files have no link)
};

// `before` null: totals only. Counters that went down between the two (a
// restarted probe) get no rate.
StatsView MakeStatsView(const std::string& probe, const skyprobe::v1::StatsReply* before,
                        const skyprobe::v1::StatsReply& now);

// A few aligned lines; drop reasons that are zero are left out; a live port's
// link, up or DOWN, with the times it went down.
std::string StatsTable(const StatsView& v);

// One line: {"probe":..,"node_tid":..,"interval_sec":.. (ns precision),"traffic":{"packets_in":
// {"total":N,"per_sec":R},..},"drops":{"total":N,"per_sec":R,"reasons":{..}},
// "outputs":{"kafka":{"records_lost":{"total":N,..},..}},"links":{"port0":{"up":true,
// "downs":N},..}}; per_sec only with rates; links of live ports only.
std::string StatsJson(const StatsView& v);

}  // namespace skyprobe::ctl
