// filter_limits.h: the bounds every filter obeys, written as text or sent as a
// structured Filter, and the check of a structured Filter against them.
//
// Owner: none (constants and pure functions). Called on gRPC threads, in
// skyprobectl and in the fuzz targets.
//
//   SKYPROBE_RETURN_IF_ERROR(CheckFilterLimits(query.filter()));  // before compiling it
//   RE2 re(pattern, FilterRegexOptions());
//
// Why: a filter is evaluated on every flow of every shard, its tree is walked
// recursively (compile, evaluate, destroy), and it arrives from anyone who can
// reach the service. Without bounds, 300,000 nested parentheses overflow the
// stack and a thousand regular expressions hold gigabytes. The limits are far
// above what a person writes (docs/query.md lists them); over one, the answer
// is INVALID_ARGUMENT naming the limit.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "re2/re2.h"
#include "skyprobe/v1/probe_service.pb.h"

namespace skyprobe::query {

// Levels of nesting: BoolFilters on the path from the root to a condition
// (the condition's own level counts), and in text also parentheses and 'not'.
inline constexpr int kMaxFilterDepth = 64;
// Filter messages in one filter: conditions and boolean operators alike
// (in text each value of an `in` list is one condition, `a != v` is five
// messages: AND, NOT, NullFilter, NOT, the term).
inline constexpr int kMaxFilterTerms = 10000;
// Values in one `in (...)` list.
inline constexpr int kMaxInValues = 4096;
// Regular expressions (=~, RegexFilter) in one filter, and the memory each
// may use (RE2's max_mem: its program and its DFA caches together). A pattern
// that needs more does not compile ("pattern too large").
inline constexpr int kMaxFilterRegexes = 64;
inline constexpr int64_t kFilterRegexMaxMem = 256 << 10;

// RE2 options for filter regular expressions (quiet, memory-capped).
RE2::Options FilterRegexOptions();

// OK, or INVALID_ARGUMENT naming the limit a structured filter breaks
// ("filter: nested more than 64 levels deep (the limit is 64)"). Iterative:
// any depth the caller could build is safe to check. Key names, types and
// regular expressions are the compiler's business, not this check's.
absl::Status CheckFilterLimits(const skyprobe::v1::Filter& filter);

}  // namespace skyprobe::query
