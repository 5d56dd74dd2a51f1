// Parser tests: the grammar, precedence, and errors that name a column.

#include "query/filter_expr.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace skyprobe::query {
namespace {

namespace v1 = ::skyprobe::v1;
using ::testing::HasSubstr;

std::string Text(const std::string& expr) {
  absl::StatusOr<v1::Filter> f = ParseFilterExpression(expr);
  if (!f.ok()) return "ERROR " + std::string(f.status().message());
  std::string out;
  google::protobuf::TextFormat::Printer p;
  p.SetSingleLineMode(true);
  p.PrintToString(*f, &out);
  return out;
}

std::string Error(const std::string& expr) {
  absl::StatusOr<v1::Filter> f = ParseFilterExpression(expr);
  EXPECT_FALSE(f.ok()) << expr;
  if (f.ok()) return "";
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(f.status().message());
}

TEST(FilterExprTest, EmptyMatchesAll) {
  EXPECT_EQ(Text(""), "");
  EXPECT_EQ(Text("   "), "");
}

TEST(FilterExprTest, Terms) {
  EXPECT_EQ(Text("Network.A = '10.0.0.1'"),
            "TermStringFilter { Key: \"Network.A\" Value: \"10.0.0.1\" } ");
  EXPECT_EQ(Text("Transport.B == 443"), "TermInt64Filter { Key: \"Transport.B\" Value: 443 } ");
  EXPECT_EQ(Text("Metric.ABBytes > -5"), "GtInt64Filter { Key: \"Metric.ABBytes\" Value: -5 } ");
  EXPECT_EQ(Text("Start >= 1"), "GteInt64Filter { Key: \"Start\" Value: 1 } ");
  EXPECT_EQ(Text("Start < 1"), "LtInt64Filter { Key: \"Start\" Value: 1 } ");
  EXPECT_EQ(Text("Start <= 1"), "LteInt64Filter { Key: \"Start\" Value: 1 } ");
  EXPECT_EQ(Text("LayersPath =~ \"TCP$\""), "RegexFilter { Key: \"LayersPath\" Value: \"TCP$\" } ");
  EXPECT_EQ(Text("Transport.A is null"), "NullFilter { Key: \"Transport.A\" } ");
  EXPECT_EQ(Text("Transport.A IS NOT NULL"),
            "BoolFilter { Op: NOT Filters { NullFilter { Key: \"Transport.A\" } } } ");
  // Aliases are kept as written; the compiler resolves them.
  EXPECT_EQ(Text("IPV4.A = 'x'"), "TermStringFilter { Key: \"IPV4.A\" Value: \"x\" } ");
  EXPECT_EQ(Text("NodeTID = 'it\\'s'"), "TermStringFilter { Key: \"NodeTID\" Value: \"it\\'s\" } ");
}

TEST(FilterExprTest, NotEqualIsPresentAndDifferent) {
  EXPECT_EQ(Text("Transport.B != 22"),
            "BoolFilter { Filters { BoolFilter { Op: NOT Filters { NullFilter { Key: "
            "\"Transport.B\" } } } } Filters { BoolFilter { Op: NOT Filters { TermInt64Filter { "
            "Key: \"Transport.B\" Value: 22 } } } } } ");
}

TEST(FilterExprTest, PrecedenceNotAndOr) {
  // a or b and not c  ==  a or (b and (not c))
  EXPECT_EQ(Text("Start = 1 or Last = 2 and not Start = 3"),
            "BoolFilter { Op: OR Filters { TermInt64Filter { Key: \"Start\" Value: 1 } } Filters "
            "{ BoolFilter { Filters { TermInt64Filter { Key: \"Last\" Value: 2 } } "
            "Filters { BoolFilter { Op: NOT Filters { TermInt64Filter { Key: \"Start\" Value: 3 } "
            "} } } } } } ");
  EXPECT_EQ(Text("(Start = 1 or Last = 2) and Start = 3"),
            "BoolFilter { Filters { BoolFilter { Op: OR Filters { TermInt64Filter { Key: "
            "\"Start\" Value: 1 } } Filters { TermInt64Filter { Key: \"Last\" Value: 2 } } } } "
            "Filters { TermInt64Filter { Key: \"Start\" Value: 3 } } } ");
}

TEST(FilterExprTest, InAndNotIn) {
  EXPECT_EQ(Text("not Transport.B in (22, 443)"),
            "BoolFilter { Op: NOT Filters { BoolFilter { Op: OR Filters { TermInt64Filter { Key: "
            "\"Transport.B\" Value: 22 } } Filters { TermInt64Filter { Key: \"Transport.B\" "
            "Value: 443 } } } } } ");
  EXPECT_EQ(Text("Transport.B not in (22)"),
            "BoolFilter { Op: NOT Filters { TermInt64Filter { Key: \"Transport.B\" Value: 22 } } "
            "} ");
}

TEST(FilterExprTest, TheIssueExample) {
  EXPECT_THAT(Text("Network.A = '10.0.0.1' and Metric.ABBytes > 1000 and not Transport.B in "
                   "(22, 443)"),
              HasSubstr("BoolFilter { Filters { TermStringFilter"));
}

TEST(FilterExprTest, ErrorsNameTheColumn) {
  EXPECT_EQ(Error("Network.X = '1'"),
            "column 1: unknown key 'Network.X' (did you mean 'Network.A'?)");
  EXPECT_EQ(Error("Start = 1 and Transport.B = '22'"),
            "column 29: Transport.B is an integer key: compare it with a number, not '22'");
  EXPECT_EQ(Error("Network.A = 10"),
            "column 13: Network.A is a string key: quote the value ('10')");
  EXPECT_EQ(Error("Network.A > 3"),
            "column 11: '>' needs an integer key; Network.A is a string key");
  EXPECT_EQ(Error("Start > 'x'"), "column 9: '>' needs a number, got 'x'");
  EXPECT_THAT(Error("LayersPath =~ '(TCP'"),
              HasSubstr("column 15: bad regular expression '(TCP': missing )"));
  EXPECT_EQ(Error("Start = 1 Last = 2"), "column 11: expected 'and', 'or' or the end, got 'Last'");
  EXPECT_EQ(Error("(Start = 1"), "column 11: expected ')', got end of expression");
  EXPECT_EQ(Error("Start ="),
            "column 8: expected a value ('text', a number, true or false), got "
            "end of expression");
  EXPECT_EQ(Error("NodeTID = 'abc"), "column 11: unterminated string");
  EXPECT_EQ(Error("Start & 1"), "column 7: unexpected character '&'");
  EXPECT_EQ(Error("Start = 99999999999999999999"),
            "column 9: '99999999999999999999' is not a 64-bit integer");
  EXPECT_EQ(Error("and = 1"), "column 1: expected a key such as Network.A, got 'and'");
  EXPECT_EQ(Error("Start is 1"), "column 10: expected 'null', got '1'");
  EXPECT_EQ(Error("Start in 1"), "column 10: expected '(' after 'in', got '1'");
  EXPECT_EQ(Error("NodeTID = true"), "column 11: NodeTID is a string key, not a boolean");
  EXPECT_THAT(Error("Start"), HasSubstr("column 6: expected an operator"));
}

}  // namespace
}  // namespace skyprobe::query
