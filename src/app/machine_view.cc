#include "app/machine_view.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace skyprobe {

Machine::Machine(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  if (root_ == "/") root_.clear();
}

std::optional<std::string> Machine::Read(const std::string& p) const {
  std::ifstream in(Path(p));
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(s.str()));
}

uint64_t Machine::ReadNumber(const std::string& p, uint64_t otherwise) const {
  uint64_t v = 0;
  const std::optional<std::string> t = Read(p);
  return t && absl::SimpleAtoi(*t, &v) ? v : otherwise;
}

bool Machine::Exists(const std::string& p) const {
  struct stat st {};
  return stat(Path(p).c_str(), &st) == 0;
}

std::vector<std::string> Machine::List(const std::string& p) const {
  std::vector<std::string> out;
  if (DIR* d = opendir(Path(p).c_str())) {
    while (const dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') out.emplace_back(e->d_name);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Machine::LinkName(const std::string& p) const {
  char buf[4096];
  const ssize_t n = readlink(Path(p).c_str(), buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  const std::string target(buf, static_cast<size_t>(n));
  return target.substr(target.rfind('/') + 1);
}

// "0-3,8,10-11" (sysfs lists, EAL -l) as numbers.
std::vector<int> ParseList(absl::string_view text) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    const std::pair<absl::string_view, absl::string_view> r = absl::StrSplit(part, '-');
    int a = 0, b = 0;
    if (!absl::SimpleAtoi(r.first, &a)) continue;
    if (r.second.empty() || !absl::SimpleAtoi(r.second, &b)) b = a;
    for (int i = a; i <= b && i - a < 4096; ++i) out.push_back(i);
  }
  return out;
}

std::string ListText(const std::vector<int>& v) { return absl::StrJoin(v, ","); }

bool IsPci(absl::string_view s) {
  // DDDD:BB:DD.F or BB:DD.F
  const size_t colons = std::count(s.begin(), s.end(), ':');
  return (colons == 1 || colons == 2) && s.find('.') != absl::string_view::npos &&
         std::all_of(s.begin(), s.end(),
                     [](char c) { return absl::ascii_isxdigit(c) || c == ':' || c == '.'; });
}

std::string FullPci(absl::string_view s) {
  std::string out = absl::AsciiStrToLower(s);
  if (std::count(out.begin(), out.end(), ':') == 1) out = "0000:" + out;
  return out;
}

EalPlan ReadEalArgs(const std::vector<std::string>& args) {
  EalPlan plan;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view a = args[i];
    std::string value;
    auto take = [&](absl::string_view name) {
      if (a == name && i + 1 < args.size()) {
        value = args[++i];
        return true;
      }
      if (absl::StartsWith(a, absl::StrCat(name, "=")) ||
          (name.size() == 2 && a.size() > 2 && absl::StartsWith(a, name))) {
        value = std::string(a.substr(name.size() + (a[name.size()] == '=' ? 1 : 0)));
        return true;
      }
      return false;
    };
    if (take("-a") || take("--allow") || take("-w") || take("--pci-whitelist")) {
      const std::string dev(value.substr(0, value.find(',')));
      if (IsPci(dev)) plan.pci.push_back(FullPci(dev));
    } else if (take("-l")) {
      plan.lcores = ParseList(value);
    } else if (take("--lcores")) {
      // "0@1,(1-3)@2,4": the CPU after '@', else the lcore number itself.
      plan.lcores.clear();
      for (absl::string_view group : absl::StrSplit(value, absl::ByAnyChar(",)"))) {
        group = absl::StripPrefix(group, "(");
        const size_t at = group.find('@');
        const std::vector<int> cpus =
            ParseList(at == absl::string_view::npos ? group : group.substr(at + 1));
        plan.lcores.insert(plan.lcores.end(), cpus.begin(), cpus.end());
      }
    } else if (take("-c")) {
      uint64_t mask = 0;
      if (absl::SimpleHexAtoi(value, &mask)) {
        plan.lcores.clear();
        for (int b = 0; b < 64; ++b) {
          if (mask >> b & 1) plan.lcores.push_back(b);
        }
      }
    } else if (take("-m")) {
      absl::SimpleAtoi(value, &plan.memory_mb);
    } else if (take("--socket-mem")) {
      plan.memory_mb = 0;
      for (int v : ParseList(value)) plan.memory_mb += static_cast<uint64_t>(v);
    } else if (a == "--no-huge") {
      plan.no_huge = true;
    } else if (take("--vdev")) {
      plan.vdevs = true;
    }
  }
  return plan;
}

bool HasCapability(const Machine& m, int bit) {
  const std::optional<std::string> status = m.Read("/proc/self/status");
  if (!status) return false;
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    if (!absl::ConsumePrefix(&line, "CapEff:")) continue;
    uint64_t caps = 0;
    return absl::SimpleHexAtoi(absl::StripAsciiWhitespace(line), &caps) && (caps >> bit & 1);
  }
  return false;
}

Hugepages ReadHugepages(const Machine& m, const std::string& dir) {
  Hugepages h;
  std::vector<std::string> parts;
  for (const std::string& size : m.List(dir)) {
    uint64_t kb = 0;
    absl::string_view s = size;
    if (!absl::ConsumePrefix(&s, "hugepages-") || !absl::ConsumeSuffix(&s, "kB") ||
        !absl::SimpleAtoi(s, &kb)) {
      continue;
    }
    const uint64_t free = m.ReadNumber(absl::StrCat(dir, "/", size, "/free_hugepages"));
    const uint64_t nr = m.ReadNumber(absl::StrCat(dir, "/", size, "/nr_hugepages"));
    h.free_mb += free * kb / 1024;
    h.total_mb += nr * kb / 1024;
    if (nr > 0) parts.push_back(absl::StrCat(free, " of ", nr, " x ", kb, " kB free"));
  }
  h.sizes = parts.empty() ? "none reserved" : absl::StrJoin(parts, ", ");
  return h;
}

}  // namespace skyprobe
