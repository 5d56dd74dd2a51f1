// units.h: numbers as people read them in skyprobectl's tables: bytes in SI
// units (1.50 kB), counts (12.3k), bit rates (4.20 Mb/s), durations (2m03s)
// and times (2010-06-01T12:00:05Z, UTC). CSV and JSON keep the raw numbers.
//
// Owner: none (pure functions), used by skyprobectl's main thread.
//
//   HumanBytes(1500) == "1.50 kB";  HumanDuration(123000) == "2m03s";
//   DisplayWidth("[2001:db8::1]:443") == 17;  ElideMiddle(text, 12, 4);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace skyprobe::ctl {

// Three significant digits and an SI prefix (k = 1000): "999 B", "1.50 kB",
// "12.3 MB". Negative values (never sent by a probe) print as plain numbers.
std::string HumanBytes(int64_t bytes);
// The same without a unit: "999", "1.50k", "12.3M".
std::string HumanCount(int64_t n);
// Bits per second: "0 b/s", "850 b/s", "4.20 Mb/s", "1.00 Gb/s".
std::string HumanRate(double bits_per_sec);
// Milliseconds: "0ms", "850ms", "12.3s", "2m03s", "5h07m", "3d04h".
std::string HumanDuration(int64_t ms);
// Unix milliseconds as a UTC time to the second, "2010-06-01T12:00:05Z";
// 0 (unset) as "-".
std::string HumanTime(int64_t unix_ms);

// Terminal columns `text` takes: its UTF-8 code points (the tables print
// ASCII and the one-column "…").
size_t DisplayWidth(std::string_view text);
// `text` cut to at most `width` columns by replacing its middle with "…",
// keeping the last `keep_tail` characters whole when it can (an endpoint's
// ":port"); unchanged when it fits.
std::string ElideMiddle(std::string_view text, size_t width, size_t keep_tail = 0);

}  // namespace skyprobe::ctl
