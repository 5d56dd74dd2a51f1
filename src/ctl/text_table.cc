// text_table.cc: see text_table.h.

#include "ctl/text_table.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "ctl/units.h"

namespace skyprobe::ctl {

std::string RenderTable(const std::vector<TableColumn>& columns,
                        const std::vector<std::vector<std::string>>& rows, size_t width) {
  const size_t n = columns.size();
  std::vector<size_t> w(n, 0);
  for (size_t i = 0; i < n; ++i) w[i] = DisplayWidth(columns[i].header);
  for (const auto& row : rows) {
    for (size_t i = 0; i < n && i < row.size(); ++i) w[i] = std::max(w[i], DisplayWidth(row[i]));
  }
  if (width > 0 && n > 0) {
    size_t total = 2 * (n - 1);
    for (const size_t x : w) total += x;
    // One column at a time, always the widest that may still shrink: two
    // IPv6 endpoint columns end up cut alike.
    while (total > width) {
      size_t pick = n;
      for (size_t i = 0; i < n; ++i) {
        const size_t floor = std::max(columns[i].shrink_to, DisplayWidth(columns[i].header));
        if (columns[i].shrink_to == 0 || w[i] <= floor) continue;
        if (pick == n || w[i] > w[pick]) pick = i;
      }
      if (pick == n) break;
      --w[pick];
      --total;
    }
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t i = 0; i < n; ++i) {
      std::string cell = i < cells.size() ? cells[i] : std::string();
      if (DisplayWidth(cell) > w[i]) cell = ElideMiddle(cell, w[i], columns[i].keep_tail);
      const size_t pad = w[i] - DisplayWidth(cell);
      // Headers of number columns are right-aligned too, over their digits.
      if (columns[i].right) text.append(pad, ' ');
      text += cell;
      if (i + 1 < n) {
        if (!columns[i].right) text.append(pad, ' ');
        text.append(2, ' ');
      }
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text;
    out += '\n';
  };
  std::vector<std::string> head;
  head.reserve(columns.size());
  for (const TableColumn& c : columns) head.push_back(c.header);
  line(head);
  for (const auto& row : rows) line(row);
  return out;
}

size_t TerminalWidth(int fd) {
  if (!isatty(fd)) return 0;
  if (const char* env = std::getenv("COLUMNS"); env != nullptr) {
    size_t v = 0;
    if (absl::SimpleAtoi(env, &v) && v > 0) return v;
  }
  winsize ws{};
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

}  // namespace skyprobe::ctl
