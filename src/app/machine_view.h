// machine_view.h: the files `skyprobe --check` reads (machine_check.h), under a root
// that is "/" or a tree laid out like /sys, /proc and /dev (tests), and what the
// EAL arguments of a configuration ask of them.
//
// Owner: main() only (--check), before EAL; plain reads, nothing kept open.
//
//   Machine m("/");  m.Read("/sys/devices/system/cpu/online");   // "0-3"
//   EalPlan plan = ReadEalArgs(cfg.eal_args);                     // -a, -l, -m, --no-huge
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace skyprobe {

// Files under a root: "/" (or "") is this machine.
class Machine {
 public:
  explicit Machine(std::string root);
  std::string Path(const std::string& p) const { return root_ + p; }
  // The file's text, surrounding whitespace stripped; nullopt if unreadable.
  std::optional<std::string> Read(const std::string& p) const;
  uint64_t ReadNumber(const std::string& p, uint64_t otherwise = 0) const;
  bool Exists(const std::string& p) const;
  // A directory's entries, sorted, without "." names.
  std::vector<std::string> List(const std::string& p) const;
  // The last part of a symlink's target ("driver" -> ".../drivers/vfio-pci").
  std::string LinkName(const std::string& p) const;

 private:
  std::string root_;
};

// "0-3,8,10-11" (sysfs lists, EAL -l) as numbers; "0,1,2" back.
std::vector<int> ParseList(absl::string_view text);
std::string ListText(const std::vector<int>& v);

// What the EAL arguments ask for.
struct EalPlan {
  std::vector<std::string> pci;  // -a / --allow / -w devices that are PCI addresses
  std::vector<int> lcores;       // the lcores' CPUs, the main (control) lcore first
  bool no_huge = false;
  uint64_t memory_mb = 0;  // -m, or the sum of --socket-mem
  bool vdevs = false;
};
EalPlan ReadEalArgs(const std::vector<std::string>& args);

// "DDDD:BB:DD.F" or "BB:DD.F"; the full lower-case form of one.
bool IsPci(absl::string_view s);
std::string FullPci(absl::string_view s);

// A capability bit of /proc/self/status CapEff.
constexpr int kCapNetAdmin = 12;
constexpr int kCapNetRaw = 13;
constexpr int kCapIpcLock = 14;
bool HasCapability(const Machine& m, int bit);

// The hugepages of a sysfs directory (/sys/kernel/mm/hugepages, or a node's).
struct Hugepages {
  uint64_t free_mb = 0;
  uint64_t total_mb = 0;
  std::string sizes;  // "1024 of 1024 x 2048 kB free"
};
Hugepages ReadHugepages(const Machine& m, const std::string& dir);

}  // namespace skyprobe
