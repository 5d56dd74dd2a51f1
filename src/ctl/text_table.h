// text_table.h: aligned text tables for people (skyprobectl flows, the
// --group-by answer, top): columns as wide as their widest cell, numbers
// right-aligned, and on a narrow terminal the columns that may shrink (wide
// IPv6 endpoints) cut in the middle with "…" instead of wrapping the line.
//
// Owner: none (pure function), used by skyprobectl's main thread.
//
//   std::string t = RenderTable({{"A", false, 21, 6}, {"BYTES", true}}, rows, 80);
//   std::fputs(t.c_str(), stdout);
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace skyprobe::ctl {

struct TableColumn {
  std::string header;
  bool right = false;    // right-aligned (numbers)
  size_t shrink_to = 0;  // narrowest this column may be cut to; 0: never cut
  size_t keep_tail = 0;  // characters a cut keeps at the end (":port" of an endpoint)
};

// Header line and one line per row (rows[i].size() == columns.size()), two
// spaces between columns, no trailing spaces. `width` > 0: the columns that
// may shrink are narrowed, widest first, until the lines fit in `width`
// columns or each is at its shrink_to (then the lines stay longer: no other
// column loses text); their longer cells are elided in the middle.
std::string RenderTable(const std::vector<TableColumn>& columns,
                        const std::vector<std::vector<std::string>>& rows, size_t width);

// The width a table should fit for `fd` on a terminal: $COLUMNS when set to a
// number, else the terminal's own; 0 (no limit) when `fd` is not a terminal.
size_t TerminalWidth(int fd);

}  // namespace skyprobe::ctl
