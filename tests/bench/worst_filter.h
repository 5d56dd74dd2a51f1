// worst_filter.h: the costliest filter expression the limits allow
// (query/filter_limits.h), for benchmarks: 64 regular expressions that RE2
// can only run slowly, and two 4096-value `in` lists over keys formatted as
// text, all under one OR that never matches, so every term is evaluated on
// every flow. About 70 ms per flow on this VM (filter_bench BM_Worst);
// scripts/worst_filter.py writes the same text for the integration tests.
//
// Owner: benchmark programs only.
//
//   auto f = query::CompiledFilter::Compile(bench::WorstFilter(), nullptr, {});
#pragma once

#include <string>

#include "absl/strings/str_cat.h"

namespace skyprobe::bench {

// `key in (...)` with `n` values: integers from `first` when `first` > 0,
// else quoted strings that no flow has.
inline std::string InList(const std::string& key, int n, int first) {
  std::string s = key + " in (";
  for (int i = 0; i < n; ++i) {
    if (i > 0) s += ", ";
    absl::StrAppend(&s, first > 0 ? absl::StrCat(first + i) : absl::StrCat("'no-such-", i, "'"));
  }
  return s + ")";
}

inline std::string WorstFilter() {
  std::string s;
  // (.?){1000}x: a program of 11,000 instructions whose DFA runs out of
  // memory on any text; about 1 ms per match on a dotted address.
  for (int i = 0; i < 64; ++i) {
    absl::StrAppend(&s, i > 0 ? " or " : "", "Network.", i % 2 ? "A" : "B", " =~ '(.?){1000}x", i,
                    "'");
  }
  absl::StrAppend(&s, " or ", InList("LayersPath", 4096, 0));
  absl::StrAppend(&s, " or ", InList("Application", 4096, 0));
  return s;
}

}  // namespace skyprobe::bench
