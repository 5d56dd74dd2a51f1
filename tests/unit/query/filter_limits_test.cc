// The limits of filter_limits.h, text and structured: each one is reached
// (accepted) and passed (INVALID_ARGUMENT naming it), and inputs far beyond
// them (300,000 nested parentheses, a 100,000-level Filter) are refused
// without recursing into them. Depth and size of what the parser builds are
// measured here by a walk of the test's own, not taken from the parser.

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/compiled_filter.h"
#include "query/filter_expr.h"
#include "query/filter_limits.h"

namespace skyprobe::query {
namespace {

namespace v1 = ::skyprobe::v1;
using ::testing::HasSubstr;

// Levels and messages of a (shallow enough) Filter, counted independently.
struct Shape {
  int depth = 0;
  int messages = 0;
};
Shape Measure(const v1::Filter& f) {
  Shape s{1, 1};
  if (!f.has_boolfilter()) return s;
  for (const v1::Filter& m : f.boolfilter().filters()) {
    const Shape c = Measure(m);
    s.depth = std::max(s.depth, c.depth + 1);
    s.messages += c.messages;
  }
  return s;
}

std::string Repeat(const std::string& piece, int n) {
  std::string out;
  out.reserve(piece.size() * n);
  for (int i = 0; i < n; ++i) out += piece;
  return out;
}

std::string Nested(int parens) { return Repeat("(", parens) + "UUID = '1'" + Repeat(")", parens); }

absl::Status ParseStatus(const std::string& text) { return ParseFilterExpression(text).status(); }

// A chain of `levels` Filters (BoolFilter NOT ... around a term) and the
// BoolFilters of it, so that the test can take it apart from the bottom: the
// message's own destructor recurses once per level.
struct Chain {
  v1::Filter root;
  std::vector<v1::BoolFilter*> bools;

  explicit Chain(int levels) {
    v1::Filter* f = &root;
    for (int i = 1; i < levels; ++i) {
      v1::BoolFilter* b = f->mutable_boolfilter();
      b->set_op(v1::BoolFilter::NOT);
      bools.push_back(b);
      f = b->add_filters();
    }
    f->mutable_termint64filter()->set_key("Transport.B");
    f->mutable_termint64filter()->set_value(22);
  }
  ~Chain() {
    for (auto it = bools.rbegin(); it != bools.rend(); ++it) (*it)->clear_filters();
  }
};

TEST(FilterLimitsTest, TheIssuesParenthesesAreRefusedAtTheLimit) {
  // 300,000 levels: the gRPC request of issue 9 (600 KB, under the 1 MiB cap).
  const absl::Status s = ParseStatus(Nested(300000));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "column 65: more than 64 nested parentheses or 'not' (the limit is 64)");
  // skyprobectl's 60,000 (the client parses with the same function).
  EXPECT_EQ(ParseStatus(Nested(60000)).code(), absl::StatusCode::kInvalidArgument);
  // Through the compiler, as the service sees it.
  auto compiled = CompiledFilter::Compile(Nested(300000), nullptr, {});
  ASSERT_FALSE(compiled.ok());
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(compiled.status().message(), HasSubstr("filter expression: column 65: more than 64"));
}

TEST(FilterLimitsTest, ParenthesesUpToTheLimit) {
  absl::StatusOr<v1::Filter> f = ParseFilterExpression(Nested(64));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(Measure(*f).depth, 1);  // parentheses alone build nothing
  EXPECT_THAT(ParseStatus(Nested(65)).message(), HasSubstr("column 65: more than 64 nested"));
  // Side by side, each group at depth 64, is fine: nesting is what is bounded.
  const std::string two = Nested(64) + " and " + Nested(64);
  EXPECT_TRUE(ParseFilterExpression(two).ok());
}

TEST(FilterLimitsTest, NotNestsAFilterLevelEach) {
  // 63 'not' + the condition: 64 levels, the most a Filter may have.
  absl::StatusOr<v1::Filter> f = ParseFilterExpression(Repeat("not ", 63) + "Start = 1");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(Measure(*f).depth, 64);
  EXPECT_EQ(ParseStatus(Repeat("not ", 64) + "Start = 1").message(),
            "column 1: and/or/not nested more than 64 levels deep (the limit is 64)");
  // != is three levels (AND, NOT, the term): 61 'not' around it is 64.
  f = ParseFilterExpression(Repeat("not ", 61) + "Start != 1");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(Measure(*f).depth, 64);
  EXPECT_THAT(ParseStatus(Repeat("not ", 62) + "Start != 1").message(),
              HasSubstr("nested more than 64 levels deep"));
}

TEST(FilterLimitsTest, AlternatingOperatorsCountEveryLevel) {
  // a or (a and (a or (...))): one level per parenthesis, parentheses stay
  // under 64, the Filter is checked on its own depth.
  std::string text;
  for (int i = 0; i < 63; ++i) text += (i % 2 == 0 ? "Start = 1 or (" : "Start = 1 and (");
  text += "Start = 2" + Repeat(")", 63);
  absl::StatusOr<v1::Filter> f = ParseFilterExpression(text);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(Measure(*f).depth, 64);
  text = "Start = 0 and (" + text + ")";
  EXPECT_THAT(ParseStatus(text).message(), HasSubstr("nested more than 64 levels deep"));
}

TEST(FilterLimitsTest, TermsUpToTheLimit) {
  // n conditions joined by 'or': n + 1 Filter messages.
  auto ors = [](int n) {
    std::string text = "Start = 0";
    for (int i = 1; i < n; ++i) text += " or Start = " + std::to_string(i);
    return text;
  };
  absl::StatusOr<v1::Filter> f = ParseFilterExpression(ors(kMaxFilterTerms - 1));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(Measure(*f).messages, kMaxFilterTerms);
  const absl::Status s = ParseStatus(ors(kMaxFilterTerms));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("more than 10000 terms"));
  EXPECT_THAT(s.message(), HasSubstr("the limit is 10000"));
}

TEST(FilterLimitsTest, InListUpToTheLimit) {
  auto in = [](int n) {
    std::string text = "Transport.B in (0";
    for (int i = 1; i < n; ++i) text += ", " + std::to_string(i);
    return text + ")";
  };
  absl::StatusOr<v1::Filter> f = ParseFilterExpression(in(kMaxInValues));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->boolfilter().filters_size(), kMaxInValues);
  const absl::Status s = ParseStatus(in(kMaxInValues + 1));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("more than 4096 values in one 'in' list (the limit is 4096)"));
}

TEST(FilterLimitsTest, RegularExpressionsUpToTheLimit) {
  auto regexes = [](int n) {
    std::string text = "LayersPath =~ 'IPv4'";
    for (int i = 1; i < n; ++i) text += " or LayersPath =~ 'UDP" + std::to_string(i) + "'";
    return text;
  };
  EXPECT_TRUE(ParseFilterExpression(regexes(kMaxFilterRegexes)).ok());
  EXPECT_THAT(ParseStatus(regexes(kMaxFilterRegexes + 1)).message(),
              HasSubstr("more than 64 regular expressions (=~; the limit is 64)"));
  // One pattern whose program needs more than the memory a filter regex may use.
  const absl::Status big = ParseStatus("LayersPath =~ '" + Repeat("[a-z]{1000}", 50) + "'");
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(big.message(), HasSubstr("pattern too large"));
}

TEST(FilterLimitsTest, StructuredDepth) {
  {
    Chain at(kMaxFilterDepth);
    EXPECT_EQ(Measure(at.root).depth, 64);
    EXPECT_TRUE(CheckFilterLimits(at.root).ok());
    EXPECT_TRUE(CompiledFilter::Compile("", &at.root, {}).ok());
  }
  Chain over(kMaxFilterDepth + 1);
  EXPECT_EQ(CheckFilterLimits(over.root).message(),
            "filter: nested more than 64 levels deep (the limit is 64)");
  auto compiled = CompiledFilter::Compile("", &over.root, {});
  ASSERT_FALSE(compiled.ok());
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FilterLimitsTest, StructuredFarTooDeepIsRefusedWithoutRecursion) {
  // Deeper than any stack could recurse through.
  Chain deep(100000);
  const absl::Status s = CheckFilterLimits(deep.root);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("the limit is 64"));
  EXPECT_FALSE(CompiledFilter::Compile("", &deep.root, {}).ok());
}

TEST(FilterLimitsTest, StructuredTermsAndRegexes) {
  v1::Filter wide;
  wide.mutable_boolfilter()->set_op(v1::BoolFilter::OR);
  for (int i = 0; i < kMaxFilterTerms - 1; ++i) {
    auto* t = wide.mutable_boolfilter()->add_filters()->mutable_termint64filter();
    t->set_key("Transport.B");
    t->set_value(i);
  }
  EXPECT_EQ(Measure(wide).messages, kMaxFilterTerms);
  EXPECT_TRUE(CheckFilterLimits(wide).ok());
  wide.mutable_boolfilter()->add_filters();  // an empty Filter is a term too
  EXPECT_THAT(CheckFilterLimits(wide).message(), HasSubstr("more than 10000 terms"));

  v1::Filter regexes;
  regexes.mutable_boolfilter()->set_op(v1::BoolFilter::AND);
  for (int i = 0; i < kMaxFilterRegexes; ++i) {
    auto* r = regexes.mutable_boolfilter()->add_filters()->mutable_regexfilter();
    r->set_key("LayersPath");
    r->set_value("UDP");
  }
  EXPECT_TRUE(CompiledFilter::Compile("", &regexes, {}).ok());
  regexes.mutable_boolfilter()->add_filters()->mutable_regexfilter()->set_key("LayersPath");
  EXPECT_THAT(CheckFilterLimits(regexes).message(),
              HasSubstr("more than 64 regular expressions (RegexFilter; the limit is 64)"));
}

// Found by the filter_text fuzz target: an unknown key was compared with
// every field name for a "did you mean" (100,000 characters: 0.4 s of CPU)
// and echoed whole in the error. Now a key far longer than any name gets no
// suggestion without comparing, and errors quote at most 64 characters.
TEST(FilterLimitsTest, HugeTokensGetShortErrors) {
  const std::string key(100000, 'a');
  absl::Status s = ParseStatus(key + " = 1");
  EXPECT_EQ(s.message(),
            "column 1: unknown key '" + std::string(64, 'a') + "... (100000 characters)'");
  s = ParseStatus("NodeTID = " + std::string(100000, '9'));
  EXPECT_LT(s.message().size(), 200u);
  EXPECT_THAT(s.message(), HasSubstr("... (100000 characters)"));
  s = ParseStatus("LayersPath =~ '(" + std::string(100000, 'x') + "'");
  EXPECT_LT(s.message().size(), 300u);
  v1::Filter f;
  f.mutable_termstringfilter()->set_key(key);
  auto compiled = CompiledFilter::Compile("", &f, {});
  ASSERT_FALSE(compiled.ok());
  EXPECT_LT(compiled.status().message().size(), 200u);
  // Typos still get their suggestion.
  EXPECT_THAT(ParseStatus("Network.X = '1'").message(), HasSubstr("did you mean 'Network.A'"));
}

}  // namespace
}  // namespace skyprobe::query
