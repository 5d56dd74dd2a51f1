// eal_args.cc: the EAL argv derived from a Config. Pcap runs need no hugepages, no PCI and
// no shared config, so several probes (and tests) can run side by side on one host.

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "config/config.h"
#include "config/config_internal.h"

namespace skyprobe {
namespace config_internal {
namespace {

// Memory for the mempools and the flow table: about 256 bytes a flow plus rte_hash buckets
// and keys, rounded up to 600 bytes a flow, plus 128 MB for mbufs and rings.
uint64_t MemoryMegabytes(uint32_t max_flows) {
  const uint64_t table_mb = (uint64_t{max_flows} * 600 + (1u << 20) - 1) >> 20;
  return std::max<uint64_t>(256, table_mb + 128);
}

bool HasArg(const std::vector<std::string>& args, absl::string_view name) {
  return std::any_of(args.begin(), args.end(), [name](const std::string& a) {
    return a == name || absl::StartsWith(a, absl::StrCat(name, "="));
  });
}

// True when a user-given argument already names the vdev "net_pcap<index>".
bool VdevNameTaken(const std::vector<std::string>& args, uint32_t index) {
  const std::string name = absl::StrCat("net_pcap", index);
  return std::any_of(args.begin(), args.end(), [&name](const std::string& a) {
    const size_t pos = a.find(name);
    if (pos == std::string::npos) return false;
    const size_t end = pos + name.size();
    return end == a.size() || a[end] == ',';
  });
}

// The probe needs two lcores: main/control and one RX worker. Lcore ids stay 0 and 1; only
// the CPUs under them follow the affinity mask (containers, taskset).
std::vector<std::string> LcoreArgs(const std::vector<int>& cpus) {
  if (cpus.size() >= 2) {
    if (cpus[0] == 0 && cpus[1] == 1) return {"-l", "0,1"};
    return {"--lcores", absl::StrCat("0@", cpus[0], ",1@", cpus[1])};
  }
  // One CPU: both lcores share it (oversubscribed, fine for pcap replay and tests).
  const int cpu = cpus.empty() ? 0 : cpus[0];
  return {"--lcores", absl::StrCat("0@", cpu, ",1@", cpu)};
}

}  // namespace

std::vector<std::string> EalArgumentsForCpus(const Config& cfg, const std::string& prefix,
                                             const std::vector<int>& cpus) {
  std::vector<std::string> args = {"skyprobe"};
  if (cfg.eal_args.empty()) {
    args.insert(args.end(), {"--no-huge", "--no-pci", "--no-shconf", "--no-telemetry", "-m",
                             absl::StrCat(MemoryMegabytes(cfg.max_flows)), "--file-prefix",
                             prefix.empty() ? absl::StrCat("skyprobe-", getpid()) : prefix,
                             "--log-level=*:error"});
    const std::vector<std::string> lcores = LcoreArgs(cpus);
    args.insert(args.end(), lcores.begin(), lcores.end());
  } else {
    // A real-port run: the operator's arguments as given; only add what keeps stdout clean
    // and EAL quiet unless they said otherwise.
    args.insert(args.end(), cfg.eal_args.begin(), cfg.eal_args.end());
    if (!HasArg(cfg.eal_args, "--no-telemetry") && !HasArg(cfg.eal_args, "--telemetry")) {
      args.push_back("--no-telemetry");
    }
    if (!HasArg(cfg.eal_args, "--log-level")) args.push_back("--log-level=*:error");
  }
  uint32_t index = 0;
  for (const std::string& path : cfg.pcap_files) {
    while (VdevNameTaken(cfg.eal_args, index)) ++index;
    args.push_back(absl::StrCat("--vdev=net_pcap", index, ",rx_pcap=", path));
    ++index;
  }
  return args;
}

}  // namespace config_internal

std::vector<std::string> EalArguments(const Config& cfg, const std::string& prefix) {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE && cpus.size() < 2; ++cpu) {
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
  } else {
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    for (long cpu = 0; cpu < online && cpus.size() < 2; ++cpu)
      cpus.push_back(static_cast<int>(cpu));
  }
  return config_internal::EalArgumentsForCpus(cfg, prefix, cpus);
}

}  // namespace skyprobe
