// counters.h: what a counter is, so that reports are made from one list.
//
// Owner: none (header-only, constexpr). A per-lcore counter struct stays plain
// uint64_t fields with one writer (skyprobe/counter_read.h); beside it, a list
// declares each field once with its summary name, its kind and when it is
// shown, and the struct's fields are made from that same list:
//   #define SKYPROBE_TABLE_COUNTERS(X) X(drop_table_full, "drop_table_full", kDrop, ...) ...
//   struct TableCounters { SKYPROBE_TABLE_COUNTERS(SKYPROBE_COUNTER_FIELD) };
//   inline constexpr auto kTableCounters =
//       SKYPROBE_COUNTER_LIST(TableCounters, SKYPROBE_TABLE_COUNTERS);
// From the list: the summary's totals and names (app/counters.cc), "drops"
// and "flows_expired" as sums by kind, the frame balance below (the check at
// exit, app/probe.cc), and the metric kind (app_unit checks that every name
// has a rule in app/metrics.cc of that kind). A drop reason added to a list is
// in drops, the summary, Stats and metrics, or a unit test fails.
#pragma once

#include <array>
#include <cstdint>

namespace skyprobe {

// What a counter counts. In one input domain (the ports; the sFlow
// collector) every frame is counted once:
//   frames in = kInFlows + filtered + every kDrop (+ kHeld while running).
enum class CounterKind : uint8_t {
  kInFlows,       // frames counted in at least one flow
  kDrop,          // frames dropped for one reason: summed into the domain's "drops"
  kHeld,          // frames in no flow yet, right now (a level: defragmentation)
  kFlowsCreated,  // flows created
  kFlowsOut,      // flows that ended for one reason: summed into "flows_expired"
  kLevel,         // a count right now (a gauge), not a frame kind
  kEvent,         // anything else that only grows
};

// A level goes up and down (a Prometheus gauge); everything else only grows.
constexpr bool IsLevel(CounterKind k) {
  return k == CounterKind::kHeld || k == CounterKind::kLevel;
}

// When a counter is in the reports: with the feature that can move it
// (elsewhere it would always read 0, and is left out).
enum class CounterShown : uint8_t {
  kAlways,
  kRawPackets,   // --raw-packets
  kDefrag,       // --ip-defrag
  kKeptExpired,  // --keep-expired
  kKeptRaw,      // --keep-expired with --raw-packets
  kAppMeta,      // --app-metadata or --extra-layers
  kNever,        // read in a debugger or a benchmark only (never a frame kind)
};

// One counter of struct S.
template <typename S>
struct CounterField {
  uint64_t S::*member;
  const char* name;  // in the summary and Stats (tests and scripts read it)
  CounterKind kind;
  CounterShown shown;
  const char* help;
};

// The sum over `list` of the counters of one kind (drops, flows_expired).
template <typename S, size_t N>
constexpr uint64_t SumOfKind(const S& s, const std::array<CounterField<S>, N>& list,
                             CounterKind kind) {
  uint64_t v = 0;
  for (const CounterField<S>& c : list) {
    if (c.kind == kind) v += s.*c.member;
  }
  return v;
}

// to += from, every counter of the list (totals over lcores).
template <typename S, size_t N>
constexpr void AddCounters(const S& from, const std::array<CounterField<S>, N>& list, S* to) {
  for (const CounterField<S>& c : list) (to->*c.member) += from.*c.member;
}

// A frame can be hidden only if it is no frame kind: a drop nobody reports
// is silent loss (static_assert'ed on every list).
template <typename S, size_t N>
constexpr bool FrameKindsShown(const std::array<CounterField<S>, N>& list) {
  for (const CounterField<S>& c : list) {
    const bool frames = c.kind == CounterKind::kInFlows || c.kind == CounterKind::kDrop ||
                        c.kind == CounterKind::kHeld;
    if (frames && c.shown == CounterShown::kNever) return false;
  }
  return true;
}

// One input domain's frames: where each went. At rest (every lcore stopped,
// held frames flushed) in = in_flows + filtered + drops; while running the
// frames held for reassembly close it.
struct FrameAccount {
  uint64_t in = 0;
  uint64_t in_flows = 0;
  uint64_t filtered = 0;
  uint64_t drops = 0;
  uint64_t held = 0;
  constexpr bool Balanced() const { return in == in_flows + filtered + drops + held; }
};

}  // namespace skyprobe

// A struct member per list entry.
#define SKYPROBE_COUNTER_FIELD(field, name, kind, shown, help) uint64_t field = 0;

// The constexpr std::array describing struct S from its list.
#define SKYPROBE_COUNTER_ENTRY_(field, name, kind, shown, help)                     \
  ::skyprobe::CounterField<Self>{&Self::field, name, ::skyprobe::CounterKind::kind, \
                                 ::skyprobe::CounterShown::shown, help},
#define SKYPROBE_COUNTER_LIST(S, LIST)                \
  [] {                                                \
    using Self = S;                                   \
    return std::array{LIST(SKYPROBE_COUNTER_ENTRY_)}; \
  }()
