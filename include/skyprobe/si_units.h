// si_units.h: a number as people read it, three significant digits and an
// SI prefix (k = 1000): network traffic is counted in powers of ten. One
// definition for the probe's progress line (app/progress.h) and skyprobectl's
// tables (ctl/units.h), which must print the same figure the same way.
//
// Owner: none (pure function).
//
//   SiScaled(1500, " ", "B") == "1.50 kB";   SiScaled(14.88e6, "", "") == "14.9M";
//   SiScaled(999, " ", "B") == "999 B";      // below 999.5: no prefix, rounded
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace skyprobe {

// `v` (>= 0) scaled to at most three significant digits with a prefix from
// "k", "M", "G", "T", "P", "E"; `unit` follows after `sep`. Rounding may carry
// to the next digit count: 9.996k prints as "10.0k", 999.5k as "1.00M".
inline std::string SiScaled(double v, absl::string_view sep, absl::string_view unit) {
  static constexpr const char* kPrefix[] = {"", "k", "M", "G", "T", "P", "E"};
  int p = 0;
  while (v >= 999.5 && p < 6) {
    v /= 1000;
    ++p;
  }
  if (p == 0) return absl::StrCat(static_cast<int64_t>(std::llround(v)), sep, unit);
  const int decimals = v < 9.995 ? 2 : (v < 99.95 ? 1 : 0);
  return absl::StrCat(absl::StrFormat("%.*f", decimals, v), sep, kPrefix[p], unit);
}

}  // namespace skyprobe
