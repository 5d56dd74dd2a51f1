#include "app/progress.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "skyprobe/si_units.h"

namespace skyprobe {

std::string HumanBytes(uint64_t bytes) { return SiScaled(static_cast<double>(bytes), " ", "B"); }

std::string HumanCount(double n) {
  // A rate below 999.5 is printed whole, as "%.0f" rounds it.
  if (n < 999.5) return absl::StrFormat("%.0f", n);
  return SiScaled(n, "", "");
}

std::string HumanDuration(double seconds) {
  const uint64_t s = static_cast<uint64_t>(std::llround(std::max(0.0, seconds)));
  if (s >= 3600) return absl::StrFormat("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
  return absl::StrFormat("%d:%02d", s / 60, s % 60);
}

std::string ProgressMeter::Line(const ProgressSample& now) {
  window_.push_back(now);
  while (window_.size() > 2 && now.seconds - window_[1].seconds >= kWindowSec) {
    window_.pop_front();
  }
  const ProgressSample& then = window_.front();
  const double dt = now.seconds - then.seconds;
  // A rate needs some time behind it: the first half-second says little.
  const bool rated = dt >= 0.9;

  std::string line = "skyprobe: ";
  if (now.bytes_total > 0) {
    const uint64_t read = std::min(now.bytes_read, now.bytes_total);
    // Rounded down: 100.0% only once the last byte is read.
    const double pct = std::floor(static_cast<double>(read) * 1000 / now.bytes_total) / 10;
    absl::StrAppend(&line, absl::StrFormat("%.1f%%", pct), " of ", HumanBytes(now.bytes_total));
  } else {
    absl::StrAppend(&line, HumanBytes(now.bytes_read), " read");
  }
  absl::StrAppend(&line, " | ");
  if (rated) {
    absl::StrAppend(&line, HumanCount((now.packets - then.packets) / dt), " pkt/s");
  } else {
    absl::StrAppend(&line, "- pkt/s");
  }
  absl::StrAppend(&line, " | ", HumanCount(static_cast<double>(now.flows_live)), " flows live");
  if (now.outputs) {
    absl::StrAppend(&line, " | ", HumanCount(static_cast<double>(now.records_out)), " records out");
    if (now.records_lost > 0) {
      absl::StrAppend(&line, " (", HumanCount(static_cast<double>(now.records_lost)), " lost)");
    }
  }
  if (now.bytes_total > 0) {
    const double byte_rate =
        rated ? static_cast<double>(now.bytes_read - std::min(then.bytes_read, now.bytes_read)) / dt
              : 0;
    const uint64_t left = now.bytes_total - std::min(now.bytes_read, now.bytes_total);
    if (left == 0) {
      absl::StrAppend(&line, " | 0:00 left");
    } else if (byte_rate > 0) {
      absl::StrAppend(&line, " | ", HumanDuration(static_cast<double>(left) / byte_rate), " left");
    } else {
      absl::StrAppend(&line, " | -:-- left");
    }
  }
  return line;
}

InputFiles::InputFiles(const std::vector<std::string>& paths) {
  struct Want {
    dev_t dev;
    ino_t ino;
    uint64_t size;
    int count;  // the same file given twice is read through two descriptors
  };
  std::vector<Want> wants;
  for (const std::string& p : paths) {
    struct stat st {};
    if (stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
    total_ += static_cast<uint64_t>(st.st_size);
    bool seen = false;
    for (Want& w : wants) {
      if (w.dev == st.st_dev && w.ino == st.st_ino) {
        ++w.count;
        seen = true;
      }
    }
    if (!seen) wants.push_back(Want{st.st_dev, st.st_ino, static_cast<uint64_t>(st.st_size), 1});
  }
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  const int own = dirfd(dir);
  while (const dirent* e = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == own || fd <= STDERR_FILENO) continue;
    struct stat st {};
    if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    for (Want& w : wants) {
      if (w.count > 0 && w.dev == st.st_dev && w.ino == st.st_ino) {
        --w.count;
        open_.push_back(Open{static_cast<int>(fd), w.dev, w.ino, w.size});
        break;
      }
    }
  }
  closedir(dir);
  complete_ = std::all_of(wants.begin(), wants.end(), [](const Want& w) { return w.count == 0; });
}

uint64_t InputFiles::Read() const {
  uint64_t read = 0;
  for (const Open& o : open_) {
    // The descriptor may have been closed (and its number reused) since.
    struct stat st {};
    const bool same = fstat(o.fd, &st) == 0 && st.st_dev == o.dev && st.st_ino == o.ino;
    const off_t pos = same ? lseek(o.fd, 0, SEEK_CUR) : -1;
    read += pos < 0 ? o.size : std::min<uint64_t>(static_cast<uint64_t>(pos), o.size);
  }
  return read;
}

}  // namespace skyprobe
