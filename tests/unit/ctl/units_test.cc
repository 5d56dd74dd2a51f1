// skyprobectl's human units and table layout: SI prefixes with three
// significant digits (rounding that carries to the next prefix), durations at
// each boundary, UTC times, middle elision of wide cells, and tables that
// keep their columns aligned when cells are cut to fit a width.

#include "ctl/units.h"

#include <string>
#include <vector>

#include "ctl/text_table.h"
#include "gtest/gtest.h"

namespace skyprobe::ctl {
namespace {

TEST(Units, BytesUseSiPrefixesAndThreeDigits) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(999), "999 B");
  EXPECT_EQ(HumanBytes(1000), "1.00 kB");
  EXPECT_EQ(HumanBytes(1500), "1.50 kB");
  EXPECT_EQ(HumanBytes(9994), "9.99 kB");
  EXPECT_EQ(HumanBytes(9995), "10.0 kB");  // rounding carries to the next digit count
  EXPECT_EQ(HumanBytes(123456789), "123 MB");
  EXPECT_EQ(HumanBytes(999499), "999 kB");
  EXPECT_EQ(HumanBytes(999500), "1.00 MB");  // ... and to the next prefix
  EXPECT_EQ(HumanBytes(INT64_MAX), "9.22 EB");
  EXPECT_EQ(HumanBytes(-5), "-5");
}

TEST(Units, CountsAndRates) {
  EXPECT_EQ(HumanCount(999), "999");
  EXPECT_EQ(HumanCount(98765), "98.8k");
  EXPECT_EQ(HumanCount(2000000), "2.00M");
  EXPECT_EQ(HumanRate(0), "0 b/s");
  EXPECT_EQ(HumanRate(-1), "0 b/s");
  EXPECT_EQ(HumanRate(850), "850 b/s");
  EXPECT_EQ(HumanRate(4.2e6), "4.20 Mb/s");
  EXPECT_EQ(HumanRate(1e9), "1.00 Gb/s");
}

TEST(Units, Durations) {
  EXPECT_EQ(HumanDuration(0), "0ms");
  EXPECT_EQ(HumanDuration(999), "999ms");
  EXPECT_EQ(HumanDuration(1000), "1.0s");
  EXPECT_EQ(HumanDuration(12345), "12.3s");
  EXPECT_EQ(HumanDuration(59999), "59.9s");  // cut, never rounded up to "60.0s"
  EXPECT_EQ(HumanDuration(60000), "1m00s");
  EXPECT_EQ(HumanDuration(123000), "2m03s");
  EXPECT_EQ(HumanDuration(3723000), "1h02m");
  EXPECT_EQ(HumanDuration(86400000 + 4 * 3600000), "1d04h");
  EXPECT_EQ(HumanDuration(-3), "0ms");
}

TEST(Units, TimesAreUtc) {
  EXPECT_EQ(HumanTime(1275393605123), "2010-06-01T12:00:05Z");
  EXPECT_EQ(HumanTime(1), "1970-01-01T00:00:00Z");
  EXPECT_EQ(HumanTime(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(HumanTime(0), "-");
}

TEST(Units, ElideMiddleKeepsTheTail) {
  const std::string ep = "[2001:db8:85a3:1234:5678:8a2e:370:7334]:50000";
  EXPECT_EQ(ElideMiddle(ep, 100, 11), ep);
  const std::string cut = ElideMiddle(ep, 21, 11);
  EXPECT_EQ(DisplayWidth(cut), 21u);
  EXPECT_EQ(cut, "[2001:db8\u20267334]:50000");
  EXPECT_EQ(ElideMiddle("abcdef", 3), "a\u2026f");
  EXPECT_EQ(ElideMiddle("abcdef", 1), "\u2026");
  EXPECT_EQ(ElideMiddle("abcdef", 0), "");
}

// The column where `header` starts in the header line, in display columns.
size_t Column(const std::string& line, const std::string& text) {
  return DisplayWidth(line.substr(0, line.find(text)));
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t at = 0;
  for (size_t nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) {
    out.push_back(text.substr(at, nl - at));
  }
  return out;
}

TEST(TextTable, AlignsAndRightAlignsNumbers) {
  const std::string t = RenderTable({{"NAME"}, {"N", true}}, {{"a", "5"}, {"longer", "12345"}}, 0);
  EXPECT_EQ(t, "NAME        N\na           5\nlonger  12345\n");
}

TEST(TextTable, CutsShrinkableColumnsToFitAndKeepsAlignment) {
  const std::string v6 = "[2001:db8:85a3:1234:5678:8a2e:370:7334]:50000";
  const std::vector<TableColumn> cols = {{"A", false, 21, 11}, {"B", false, 21, 11}, {"X"}};
  const std::vector<std::vector<std::string>> rows = {{v6, v6, "x"},
                                                      {"10.0.0.1:80", "10.0.0.2:443", "y"}};
  const std::vector<std::string> lines = Lines(RenderTable(cols, rows, 50));
  ASSERT_EQ(lines.size(), 3u);
  for (const std::string& l : lines) EXPECT_LE(DisplayWidth(l), 50u) << l;
  // B and X start at the same column on every line.
  const size_t b = Column(lines[0], "B");
  const size_t x = Column(lines[0], "X");
  EXPECT_EQ(Column(lines[1], "[2001"), 0u);
  EXPECT_EQ(DisplayWidth(lines[1].substr(0, lines[1].rfind("[2001"))), b);
  EXPECT_EQ(Column(lines[2], "10.0.0.2"), b);
  EXPECT_EQ(Column(lines[1], " x") + 1, x);
  EXPECT_NE(lines[1].find(":50000"), std::string::npos);  // the port survives the cut
  // Too narrow for even the floors: the columns stop at 21, nothing else is cut.
  const std::vector<std::string> narrow = Lines(RenderTable(cols, rows, 10));
  EXPECT_EQ(DisplayWidth(narrow[1]), 21u + 2 + 21 + 2 + 1);
}

}  // namespace
}  // namespace skyprobe::ctl
