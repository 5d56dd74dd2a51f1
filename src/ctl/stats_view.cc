// stats_view.cc: picking the counters of a Stats reply that say how a probe is
// doing, with their rates, and printing them.

#include "ctl/stats_view.h"

#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "export/json_lines.h"

namespace skyprobe::ctl {
namespace {

namespace v1 = ::skyprobe::v1;

// scope -> name -> value, in reply order within a scope.
using Counters = std::map<std::string, std::vector<std::pair<std::string, uint64_t>>>;

Counters Index(const v1::StatsReply& r) {
  Counters out;
  for (const v1::StatsEntry& e : r.entries()) out[e.scope()].emplace_back(e.name(), e.value());
  return out;
}

const uint64_t* Find(const Counters& c, const std::string& scope, const std::string& name) {
  auto it = c.find(scope);
  if (it == c.end()) return nullptr;
  for (const auto& [n, v] : it->second) {
    if (n == name) return &v;
  }
  return nullptr;
}

struct Rater {
  const Counters* before;  // null: no rates
  double seconds;

  StatsRow Row(const std::string& scope, const std::string& name, uint64_t value,
               bool gauge = false) const {
    StatsRow r{name, value};
    if (before == nullptr || gauge || seconds <= 0) return r;
    const uint64_t* old = Find(*before, scope, name);
    if (old == nullptr || *old > value) return r;  // new counter, or the probe restarted
    r.has_rate = true;
    r.rate = static_cast<double>(value - *old) / seconds;
    return r;
  }
};

// Traffic counters of scope total, in display order; gauges have no rate.
constexpr std::pair<const char*, bool> kTraffic[] = {
    {"packets_in", false},    {"bytes_in", false},        {"packets_in_flows", false},
    {"filtered", false},      {"flows_live", true},       {"flows_created", false},
    {"flows_expired", false}, {"records_out", false},     {"sflow_datagrams", false},
    {"sflow_frames", false},  {"sflow_flows_live", true},
};

bool IsDropReason(const std::string& name) {
  return absl::StartsWith(name, "drop_") || absl::StartsWith(name, "sflow_drop_") ||
         name == "port_imissed" || name == "port_ierrors" || name == "port_rx_nombuf";
}

std::string Number(double v) {
  // Whole numbers stay whole; rates get one decimal below 100.
  if (v >= 100 || v == static_cast<double>(static_cast<uint64_t>(v))) {
    return absl::StrFormat("%.0f", v);
  }
  return absl::StrFormat("%.1f", v);
}

void AppendRowJson(const StatsRow& r, std::string* out) {
  AppendJsonString(r.name, out);
  absl::StrAppend(out, ":{\"total\":", r.value);
  if (r.has_rate) absl::StrAppend(out, ",\"per_sec\":", absl::StrFormat("%.6f", r.rate));
  out->push_back('}');
}

}  // namespace

StatsView MakeStatsView(const std::string& probe, const v1::StatsReply* before,
                        const v1::StatsReply& now) {
  StatsView v;
  v.probe = probe;
  v.node_tid = now.node_tid();
  const Counters cur = Index(now);
  Counters old;
  Rater rater{nullptr, 0};
  if (before != nullptr && now.monotonic_ns() > before->monotonic_ns()) {
    old = Index(*before);
    v.seconds = static_cast<double>(now.monotonic_ns() - before->monotonic_ns()) / 1e9;
    rater = Rater{&old, v.seconds};
  }
  for (const auto& [name, gauge] : kTraffic) {
    if (const uint64_t* value = Find(cur, "total", name)) {
      v.traffic.push_back(rater.Row("total", name, *value, gauge));
    }
  }
  uint64_t old_drops = 0;
  bool rated = rater.before != nullptr;
  if (auto it = cur.find("total"); it != cur.end()) {
    for (const auto& [name, value] : it->second) {
      if (!IsDropReason(name)) continue;
      StatsRow r = rater.Row("total", name, value);
      v.drops += value;
      if (r.has_rate) {
        old_drops += *Find(old, "total", name);
      } else {
        rated = false;
      }
      v.drop_reasons.push_back(std::move(r));
    }
  }
  if (rated) v.drops_rate = static_cast<double>(v.drops - old_drops) / v.seconds;
  for (const auto& [scope, entries] : cur) {
    if (!absl::StartsWith(scope, "output.")) continue;
    OutputRow o;
    o.name = scope.substr(7);
    for (const char* first : {"records", "records_lost", "output_errors"}) {
      if (const uint64_t* value = Find(cur, scope, first)) {
        o.counters.push_back(rater.Row(scope, first, *value));
      }
    }
    for (const auto& [name, value] : entries) {
      if (name != "records" && name != "records_lost" && name != "output_errors") {
        o.counters.push_back(rater.Row(scope, name, value));
      }
    }
    v.outputs.push_back(std::move(o));
  }
  for (const auto& [scope, entries] : cur) {
    const uint64_t* up = Find(cur, scope, "link_up");
    const uint64_t* downs = Find(cur, scope, "link_downs");
    if (up != nullptr && downs != nullptr) v.links.push_back(LinkRow{scope, *up != 0, *downs});
  }
  return v;
}

std::string StatsTable(const StatsView& v) {
  std::string out = absl::StrCat("probe ", v.probe);
  if (!v.node_tid.empty()) absl::StrAppend(&out, " (", v.node_tid, ")");
  if (v.seconds > 0) absl::StrAppend(&out, absl::StrFormat(", rates over %.2f s", v.seconds));
  out.push_back('\n');
  const bool rates = v.seconds > 0;
  auto line = [&](const std::string& label, uint64_t total, bool has_rate, double rate) {
    absl::StrAppend(&out, absl::StrFormat("  %-26s %16d", label, total));
    if (rates && has_rate) absl::StrAppend(&out, absl::StrFormat(" %14s/s", Number(rate)));
    out.push_back('\n');
  };
  absl::StrAppend(&out, absl::StrFormat("%-28s %16s%s\n", "traffic", "total",
                                        rates ? absl::StrFormat(" %16s", "rate") : ""));
  for (const StatsRow& r : v.traffic) line(r.name, r.value, r.has_rate, r.rate);
  absl::StrAppend(&out, "drops\n");
  const bool drops_rated = rates && !v.drop_reasons.empty();
  line("all reasons", v.drops, drops_rated, v.drops_rate);
  for (const StatsRow& r : v.drop_reasons) {
    if (r.value != 0) line(r.name, r.value, r.has_rate, r.rate);
  }
  for (const OutputRow& o : v.outputs) {
    absl::StrAppend(&out, "output ", o.name, "\n");
    for (const StatsRow& r : o.counters) line(r.name, r.value, r.has_rate, r.rate);
  }
  if (!v.links.empty()) absl::StrAppend(&out, "links\n");
  for (const LinkRow& l : v.links) {
    absl::StrAppend(&out, absl::StrFormat("  %-26s %16s   went down %d time(s)\n", l.port,
                                          l.up ? "up" : "DOWN", l.downs));
  }
  return out;
}

std::string StatsJson(const StatsView& v) {
  std::string out = "{\"probe\":";
  AppendJsonString(v.probe, &out);
  out += ",\"node_tid\":";
  AppendJsonString(v.node_tid, &out);
  if (v.seconds > 0)
    absl::StrAppend(&out, ",\"interval_sec\":", absl::StrFormat("%.9f", v.seconds));
  out += ",\"traffic\":{";
  for (size_t i = 0; i < v.traffic.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendRowJson(v.traffic[i], &out);
  }
  absl::StrAppend(&out, "},\"drops\":{\"total\":", v.drops);
  if (v.seconds > 0 && !v.drop_reasons.empty()) {
    absl::StrAppend(&out, ",\"per_sec\":", absl::StrFormat("%.6f", v.drops_rate));
  }
  out += ",\"reasons\":{";
  for (size_t i = 0; i < v.drop_reasons.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendRowJson(v.drop_reasons[i], &out);
  }
  out += "}},\"outputs\":{";
  for (size_t i = 0; i < v.outputs.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(v.outputs[i].name, &out);
    out += ":{";
    for (size_t j = 0; j < v.outputs[i].counters.size(); ++j) {
      if (j > 0) out.push_back(',');
      AppendRowJson(v.outputs[i].counters[j], &out);
    }
    out.push_back('}');
  }
  out += "},\"links\":{";
  for (size_t i = 0; i < v.links.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(v.links[i].port, &out);
    absl::StrAppend(&out, ":{\"up\":", v.links[i].up ? "true" : "false",
                    ",\"downs\":", v.links[i].downs, "}");
  }
  out += "}}\n";
  return out;
}

}  // namespace skyprobe::ctl
