// units.cc: the human forms of numbers (see units.h). SI prefixes, as the
// issue asks ("kB", "Mb/s"): a probe's counters are network traffic, which
// is counted in powers of ten.

#include "ctl/units.h"

#include <time.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "skyprobe/si_units.h"

namespace skyprobe::ctl {
std::string HumanBytes(int64_t bytes) {
  if (bytes < 0) return absl::StrCat(bytes);
  return SiScaled(static_cast<double>(bytes), " ", "B");
}

std::string HumanCount(int64_t n) {
  if (n < 1000) return absl::StrCat(n);
  return SiScaled(static_cast<double>(n), "", "");
}

std::string HumanRate(double bits_per_sec) {
  if (!(bits_per_sec > 0)) return "0 b/s";
  return SiScaled(bits_per_sec, " ", "b/s");
}

std::string HumanDuration(int64_t ms) {
  if (ms < 0) ms = 0;
  if (ms < 1000) return absl::StrCat(ms, "ms");
  if (ms < 60000) return absl::StrFormat("%.1fs", std::trunc(static_cast<double>(ms) / 100) / 10);
  const int64_t s = ms / 1000;
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  if (s < 86400) return absl::StrFormat("%dh%02dm", s / 3600, s % 3600 / 60);
  return absl::StrFormat("%dd%02dh", s / 86400, s % 86400 / 3600);
}

std::string HumanTime(int64_t unix_ms) {
  if (unix_ms == 0) return "-";
  // Floor division: a time before 1970 keeps its second.
  time_t sec = static_cast<time_t>(unix_ms / 1000 - (unix_ms % 1000 < 0 ? 1 : 0));
  tm t{};
  if (gmtime_r(&sec, &t) == nullptr) return absl::StrCat(unix_ms);
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02dZ", t.tm_year + 1900, t.tm_mon + 1,
                         t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
}

size_t DisplayWidth(std::string_view text) {
  size_t n = 0;
  for (const char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string ElideMiddle(std::string_view text, size_t width, size_t keep_tail) {
  if (DisplayWidth(text) <= width) return std::string(text);
  if (width == 0) return std::string();
  // Callers pass ASCII (addresses, names): bytes are columns. The tail gets
  // half the room, or more to keep `keep_tail` characters whole.
  const size_t room = width - 1;  // one column for "…"
  size_t tail = room / 2;
  if (keep_tail > tail && keep_tail < room) tail = keep_tail;
  const size_t head = room - tail;
  std::string out(text.substr(0, head));
  out += "\u2026";
  out += text.substr(text.size() - tail);
  return out;
}

}  // namespace skyprobe::ctl
