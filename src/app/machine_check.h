// machine_check.h: `skyprobe --check`: is this machine ready to run this
// configuration? Hugepages, IOMMU and vfio, the NICs' drivers, lcores,
// NUMA, memory locking, the capabilities of a live capture.
//
// Owner: main() only, before (instead of) EAL: it reads files, nothing else.
//
//   std::vector<CheckItem> items = CheckMachine(cfg, MachineRoot());
//   const bool can_start = PrintCheck(items, stdout);   // exit 0 or 1
//
// Everything is read from files under a root ("/" normally): /sys, /proc,
// /dev. SKYPROBE_CHECK_ROOT names another root, a tree that mimics them, so
// tests can show each state this machine cannot produce itself (a NIC bound
// to its kernel driver, IOMMU off, no hugepages, two NUMA nodes).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "config/config.h"

namespace skyprobe {

struct CheckItem {
  enum class State { kReady, kWarning, kMissing };
  State state = State::kReady;
  std::string what;  // "hugepages: 1024 x 2048 kB free (2048 MB), the probe needs 700 MB"
  std::string fix;   // the command (or setting) that fixes it; empty when ready
};

// "/" or $SKYPROBE_CHECK_ROOT.
std::string MachineRoot();

// What `cfg` needs of the machine under `root`, item by item.
std::vector<CheckItem> CheckMachine(const Config& cfg, const std::string& root);

// Prints the items ("ready", "warning", "missing" with "fix:" lines) and a
// last line; true when nothing is missing (the probe can start; warnings
// cost speed, not the start).
bool PrintCheck(const std::vector<CheckItem>& items, std::FILE* out);

}  // namespace skyprobe
