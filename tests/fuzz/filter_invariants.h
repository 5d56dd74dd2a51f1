// filter_invariants.h: one fuzz input through the filter language (text) or
// the structured Filter, and what must hold.
//
// Owner: test code only (the libFuzzer targets filter_text_fuzz and
// filter_struct_fuzz and query_unit's seed replay share it, so a normal build
// runs the same checks).
//
//   std::string why;
//   if (!FilterTextFuzzInput(data, size, &why)) __builtin_trap();
//
// What must hold, whatever the input:
// - a refusal is INVALID_ARGUMENT (text: naming a column);
// - what the parser accepts is within the limits (depth, terms, regexes),
//   measured here by a walk of its own, and CheckFilterLimits agrees;
// - what the parser accepts compiles, as text and as the Filter it made, and
//   both compiled forms give the same answer on every sample flow;
// - a structured Filter that CheckFilterLimits refuses, Compile refuses with
//   the same message; one it accepts compiles or is refused for its keys,
//   types or regular expressions only, never crashes, and evaluates.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "google/protobuf/io/coded_stream.h"
#include "query/compiled_filter.h"
#include "query/filter_expr.h"
#include "query/filter_limits.h"
#include "record/flow_snapshot.h"
#include "tests/unit/query/test_flows.h"

namespace skyprobe::testing {

// A few flows of each shape (TCP, UDP, ICMP, IPv6, no link layer, a child).
inline const std::vector<FlowSnapshot>& FuzzSampleFlows() {
  static const std::vector<FlowSnapshot> flows = [] {
    std::vector<FlowSnapshot> v;
    v.push_back(TcpFlow(0x11, "10.0.0.1", "10.0.0.2", 40000, 443, 1500));
    v.push_back(TcpFlow(0x12, "10.0.0.1", "10.0.0.3", 40001, 22, 500));
    v.push_back(UdpFlow(0x13, "10.0.0.4", "10.0.0.1", 5353, 53, 80));
    v.push_back(IcmpFlow(0x14, "10.0.0.9", "10.0.0.1"));
    v.push_back(UdpFlow(0x15, "2001:db8::1", "2001:db8::2", 1000, 4789, 10));
    FlowSnapshot inner = TcpFlow(0x16, "192.168.0.1", "192.168.0.2", 1, 80, 7);
    inner.parent_uuid = 0x15;
    inner.has_link = false;
    v.push_back(inner);
    return v;
  }();
  return flows;
}

// Levels and Filter messages of `f`, walked here (recursion: only called on
// filters already known to be at most a few hundred levels deep).
struct FilterShape {
  int depth = 0;
  int terms = 0;
  int regexes = 0;
};
inline void MeasureFilter(const skyprobe::v1::Filter& f, int level, FilterShape* out) {
  if (f.Kind_case() == skyprobe::v1::Filter::KIND_NOT_SET && level == 1) return;
  out->depth = std::max(out->depth, level);
  ++out->terms;
  if (f.has_regexfilter()) ++out->regexes;
  if (!f.has_boolfilter()) return;
  for (const auto& m : f.boolfilter().filters()) MeasureFilter(m, level + 1, out);
}

inline bool WithinLimits(const FilterShape& s) {
  return s.depth <= query::kMaxFilterDepth && s.terms <= query::kMaxFilterTerms &&
         s.regexes <= query::kMaxFilterRegexes;
}

// The answers of `f` on the sample flows, as a bit string.
inline std::string Answers(const query::CompiledFilter& f) {
  std::string out;
  for (const FlowSnapshot& s : FuzzSampleFlows()) out.push_back(f.Matches(s) ? '1' : '0');
  return out;
}

inline bool FilterTextFuzzInput(const uint8_t* data, size_t size, std::string* why) {
  auto fail = [why](const std::string& what) {
    *why = what;
    return false;
  };
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<skyprobe::v1::Filter> parsed = query::ParseFilterExpression(text);
  auto compiled = query::CompiledFilter::Compile(text, nullptr, {.node_tid = "fuzz"});
  if (!parsed.ok()) {
    if (parsed.status().code() != absl::StatusCode::kInvalidArgument) {
      return fail("parse error is not INVALID_ARGUMENT");
    }
    if (!absl::StartsWith(parsed.status().message(), "column ")) {
      return fail("parse error names no column: " + std::string(parsed.status().message()));
    }
    if (compiled.ok()) return fail("the parser refuses what the compiler takes");
    return true;
  }
  if (!query::CheckFilterLimits(*parsed).ok()) return fail("parsed filter breaks the limits");
  FilterShape shape;
  MeasureFilter(*parsed, 1, &shape);
  if (!WithinLimits(shape)) return fail("parsed filter measured beyond the limits");
  if (!compiled.ok()) {
    return fail("parsed text does not compile: " + std::string(compiled.status().message()));
  }
  auto structured = query::CompiledFilter::Compile("", &*parsed, {.node_tid = "fuzz"});
  if (!structured.ok()) {
    return fail("parsed Filter does not compile: " + std::string(structured.status().message()));
  }
  if (Answers(**compiled) != Answers(**structured)) {
    return fail("text and its Filter answer differently");
  }
  if ((*compiled)->MatchesAll() && Answers(**compiled).find('0') != std::string::npos) {
    return fail("MatchesAll but a flow does not match");
  }
  return true;
}

inline bool CheckStructuredFilter(const skyprobe::v1::Filter& filter, std::string* why) {
  auto fail = [why](const std::string& what) {
    *why = what;
    return false;
  };
  const absl::Status limits = query::CheckFilterLimits(filter);
  auto compiled = query::CompiledFilter::Compile("", &filter, {.node_tid = "fuzz"});
  if (!limits.ok()) {
    if (limits.code() != absl::StatusCode::kInvalidArgument) return fail("limit not INVALID_ARG");
    if (compiled.ok() || compiled.status() != limits) {
      return fail("Compile does not refuse what CheckFilterLimits refuses, the same way");
    }
    return true;
  }
  FilterShape shape;
  MeasureFilter(filter, 1, &shape);
  if (!WithinLimits(shape)) return fail("CheckFilterLimits passed a filter beyond the limits");
  if (!compiled.ok()) {
    if (compiled.status().code() != absl::StatusCode::kInvalidArgument) {
      return fail("compile error is not INVALID_ARGUMENT");
    }
    return true;
  }
  Answers(**compiled);  // evaluates; the sanitizers watch
  if ((filter.Kind_case() == skyprobe::v1::Filter::KIND_NOT_SET) != (*compiled)->MatchesAll()) {
    return fail("MatchesAll differs from an empty Filter");
  }
  return true;
}

// Input: a serialized skyprobe.v1.Filter, decoded as the service decodes the
// requests that carry it (request_traits.h: 133 message levels).
inline bool FilterStructFuzzInput(const uint8_t* data, size_t size, std::string* why) {
  skyprobe::v1::Filter filter;
  google::protobuf::io::CodedInputStream in(data, static_cast<int>(size));
  in.SetRecursionLimit(1 + 2 * 65 + 1);
  if (!filter.ParseFromCodedStream(&in)) return true;  // not a Filter: protobuf said so
  return CheckStructuredFilter(filter, why);
}

}  // namespace skyprobe::testing
