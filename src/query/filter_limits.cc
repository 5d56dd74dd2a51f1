// filter_limits.cc: an explicit-stack walk over a structured Filter. It stops
// at the first broken limit, so its work is bounded by the limits too, not by
// the message it is given.

#include "query/filter_limits.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace skyprobe::query {

namespace v1 = ::skyprobe::v1;

RE2::Options FilterRegexOptions() {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(kFilterRegexMaxMem);
  return o;
}

absl::Status CheckFilterLimits(const v1::Filter& filter) {
  if (filter.Kind_case() == v1::Filter::KIND_NOT_SET) return absl::OkStatus();
  // Terms are counted as they are pushed, so a BoolFilter with too many
  // members fails before any of them is looked at, and the stack never holds
  // more than the limit.
  std::vector<std::pair<const v1::Filter*, int>> stack;  // filter, its level (root: 1)
  stack.emplace_back(&filter, 1);
  int terms = 1;
  int regexes = 0;
  while (!stack.empty()) {
    const auto [f, level] = stack.back();
    stack.pop_back();
    if (level > kMaxFilterDepth) {
      return absl::InvalidArgumentError(absl::StrCat("filter: nested more than ", kMaxFilterDepth,
                                                     " levels deep (the limit is ", kMaxFilterDepth,
                                                     ")"));
    }
    if (f->has_regexfilter() && ++regexes > kMaxFilterRegexes) {
      return absl::InvalidArgumentError(
          absl::StrCat("filter: more than ", kMaxFilterRegexes,
                       " regular expressions (RegexFilter; the limit is ", kMaxFilterRegexes, ")"));
    }
    if (!f->has_boolfilter()) continue;
    const auto& members = f->boolfilter().filters();
    if (members.size() > kMaxFilterTerms - terms) {
      return absl::InvalidArgumentError(absl::StrCat(
          "filter: more than ", kMaxFilterTerms,
          " terms (conditions and boolean operators; the limit is ", kMaxFilterTerms, ")"));
    }
    terms += members.size();
    for (const v1::Filter& m : members) stack.emplace_back(&m, level + 1);
  }
  return absl::OkStatus();
}

}  // namespace skyprobe::query
