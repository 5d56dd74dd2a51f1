// eal_args.cc: the EAL argv derived from a Config. Pcap runs need no hugepages, no PCI and
// no shared config, so several probes (and tests) can run side by side on one host.

#include <sched.h>
#include <sys/stat.h>
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

// Memory for the mempools and the flow table: about 256 bytes a flow plus the flow index's
// buckets and keys, rounded up to 600 bytes a flow, plus 128 MB for mbufs and rings with up to four
// RX queues, and 64 MB more for each queue beyond (its 8191 mbufs of 2.4 KB, capture/port.cc,
// and what grows with the queues and workers: dispatch rings, their mbufs, record rings).
// sFlow agent tables come on top (every agent may appear). --no-huge memory is reserved,
// not resident: untouched memory costs nothing. The TCP trackers add 192 bytes a flow each
// (RX tables only; table/tcp_health.h, table/tcp_stream.h). Application metadata adds its
// slots (kAppSlotBytes each), a 4-byte reference per flow and each worker's readers of
// ClientHellos spanning segments (table/app_meta_store.h).
constexpr uint64_t kAppSlotBytes = 544;  // sizeof(AppMeta) and its free-list entry, rounded up
constexpr uint64_t kAppReaderBytes = uint64_t{1024} * 1408;  // per worker
uint64_t MemoryMegabytes(const Config& cfg) {
  // The RX tables' flows: a replay's shards hold no more than its files can fill.
  uint64_t rx_flows = cfg.max_flows;
  if (const uint64_t bound = ReplayFlowBound(cfg); bound != 0) {
    rx_flows = std::min(rx_flows, bound * std::max<uint32_t>(cfg.workers, 1));
  }
  uint64_t flows = rx_flows;
  if (!cfg.sflow_listen.empty()) flows += uint64_t{cfg.sflow_max_agents} * cfg.sflow_max_flows;
  uint64_t bytes = flows * 600;
  bytes += rx_flows * 192 * ((cfg.tcp_stream_metrics ? 1 : 0) + (cfg.tcp_health ? 1 : 0));
  if (cfg.app_metadata || cfg.extra_layers != 0) {
    const uint64_t slots =
        cfg.app_meta_flows != 0 ? cfg.app_meta_flows : std::max<uint64_t>(cfg.max_flows / 4, 1);
    bytes +=
        slots * kAppSlotBytes + rx_flows * 4 + std::max<uint32_t>(cfg.workers, 1) * kAppReaderBytes;
  }
  const uint64_t table_mb = (bytes + (1u << 20) - 1) >> 20;
  const uint64_t queues = cfg.pcap_files.size() + cfg.ifaces.size() * AfPacketQueues(cfg);
  const uint64_t mbuf_mb = 128 + 64 * (queues > 4 ? queues - 4 : 0);
  return std::max<uint64_t>(256, table_mb + mbuf_mb);
}

bool HasArg(const std::vector<std::string>& args, absl::string_view name) {
  return std::any_of(args.begin(), args.end(), [name](const std::string& a) {
    return a == name || absl::StartsWith(a, absl::StrCat(name, "="));
  });
}

// True when a user-given argument already names the vdev "<driver><index>".
bool VdevNameTaken(const std::vector<std::string>& args, uint32_t index,
                   absl::string_view driver = "net_pcap") {
  const std::string name = absl::StrCat(driver, index);
  return std::any_of(args.begin(), args.end(), [&name](const std::string& a) {
    const size_t pos = a.find(name);
    if (pos == std::string::npos) return false;
    const size_t end = pos + name.size();
    return end == a.size() || a[end] == ',';
  });
}

// Lcore 0 is control; lcores 1..n-1 are the dispatcher (if any) and the RX workers. Lcore
// ids stay 0..n-1; the CPUs under them follow the affinity mask (containers, taskset).
// With fewer CPUs than lcores, lcore i runs on the (i mod CPUs)-th CPU: the RX lcores
// spread over every CPU, the first one shared with control, which sleeps while no record
// comes (oversubscribed: fine for pcap replay and tests, not for line rate).
std::vector<std::string> LcoreArgs(const std::vector<int>& cpus, uint32_t n) {
  bool identity = cpus.size() >= n;
  for (uint32_t i = 0; identity && i < n; ++i) identity = cpus[i] == static_cast<int>(i);
  if (identity) return {"-l", n == 1 ? "0" : absl::StrCat("0-", n - 1)};
  const std::vector<int> any = cpus.empty() ? std::vector<int>{0} : cpus;
  std::string spec = absl::StrCat("0@", any[0]);
  for (uint32_t i = 1; i < n; ++i) absl::StrAppend(&spec, ",", i, "@", any[i % any.size()]);
  return {"--lcores", spec};
}

}  // namespace

uint32_t PcapLcoreCount(const Config& cfg) {
  const uint32_t workers = std::max<uint32_t>(cfg.workers, 1);
  // Every port must give each worker a queue: the fewest queues of a port count.
  size_t queues = cfg.pcap_files.empty() ? 0 : SIZE_MAX;
  for (const std::vector<size_t>& port : PcapPortFiles(cfg)) queues = std::min(queues, port.size());
  return 1 + workers + (NeedsDispatcher(cfg, static_cast<uint32_t>(queues)) ? 1 : 0);
}

std::vector<std::string> EalArgumentsForCpus(const Config& cfg, const std::string& prefix,
                                             const std::vector<int>& cpus) {
  std::vector<std::string> args = {"skyprobe"};
  if (cfg.eal_args.empty()) {
    args.insert(args.end(), {"--no-huge", "--no-pci", "--no-shconf", "--no-telemetry", "-m",
                             absl::StrCat(MemoryMegabytes(cfg)), "--file-prefix",
                             prefix.empty() ? absl::StrCat("skyprobe-", getpid()) : prefix,
                             "--log-level=*:error"});
    const std::vector<std::string> lcores = LcoreArgs(cpus, PcapLcoreCount(cfg));
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
  // Live interfaces: net_pcap_iface<i> (--iface-time kernel: net_pcap's live mode, one
  // libpcap handle, hence one queue, whose frames carry the kernel's receive time) or
  // net_af_packet<i> (burst: AF_PACKET sockets in one PACKET_FANOUT_HASH group) reads
  // cfg.ifaces[i] (capture/port.cc relies on the names). EAL picks the driver by the
  // name's prefix: "net_pcap_iface0" is a net_pcap device, and no --pcap port's name.
  uint32_t live = 0;
  const bool kernel_time = cfg.iface_time == IfaceTime::kKernel;
  const char* live_driver = kernel_time ? "net_pcap_iface" : "net_af_packet";
  for (const std::string& iface : cfg.ifaces) {
    while (VdevNameTaken(cfg.eal_args, live, live_driver)) ++live;
    if (kernel_time) {
      args.push_back(absl::StrCat("--vdev=net_pcap_iface", live, ",rx_iface=", iface));
    } else {
      args.push_back(absl::StrCat("--vdev=net_af_packet", live, ",iface=", iface,
                                  ",qpairs=", AfPacketQueues(cfg), ",framesz=", kAfPacketFrameSize,
                                  ",framecnt=", kAfPacketFrameCount));
    }
    ++live;
  }
  // net_pcap<k> replays the files of PcapPortFiles()[k], queue i its i-th file
  // (capture/port.cc relies on the names).
  uint32_t index = 0;
  for (const std::vector<size_t>& port : PcapPortFiles(cfg)) {
    while (VdevNameTaken(cfg.eal_args, index)) ++index;
    std::string vdev = absl::StrCat("--vdev=net_pcap", index);
    for (const size_t i : port) absl::StrAppend(&vdev, ",rx_pcap=", cfg.pcap_files[i]);
    args.push_back(vdev);
    ++index;
  }
  return args;
}

}  // namespace config_internal

uint64_t ProbeMemoryMegabytes(const Config& cfg) { return config_internal::MemoryMegabytes(cfg); }

uint64_t ReplayFlowBound(const Config& cfg) {
  if (!cfg.eal_args.empty() || !cfg.ifaces.empty() || !cfg.sflow_listen.empty()) return 0;
  if (cfg.pcap_inputs.empty()) return 0;
  uint64_t bytes = 0;
  for (const PcapInput& in : cfg.pcap_inputs) {
    struct stat st;
    if (stat(in.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    bytes += static_cast<uint64_t>(st.st_size);
  }
  return std::max<uint64_t>(1, bytes / 16 * kReplayFlowsPerFrame);
}

namespace config_internal {

std::vector<int> AffinityCpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
  } else {
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    for (long cpu = 0; cpu < online; ++cpu) cpus.push_back(static_cast<int>(cpu));
  }
  return cpus;
}

uint32_t AutoShareWorkers(const Config& cfg, size_t cpus) {
  // The control lcore keeps a CPU of its own: with an output it formats every
  // record, and a worker beside it slowed a 1M-flow replay to JSON by a tenth
  // on two CPUs (BENCHMARKS.md, "File shares").
  if (cfg.workers != 0 || cpus < 3) return 0;
  Config shared = cfg;
  shared.workers = static_cast<uint32_t>(std::min<size_t>(cpus - 1, kAutoShareMaxWorkers));
  if (!FileSharesPlanned(shared)) return 0;
  struct stat st;
  if (stat(cfg.pcap_files[0].c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<uint64_t>(st.st_size) < kAutoShareMinBytes) {
    return 0;
  }
  return shared.workers;
}

}  // namespace config_internal

std::vector<std::string> EalArguments(const Config& cfg, const std::string& prefix) {
  return config_internal::EalArgumentsForCpus(cfg, prefix, config_internal::AffinityCpus());
}

bool FileSharesPlanned(const Config& cfg) {
  return cfg.workers > 1 && cfg.distribution != Distribution::kDispatch &&
         cfg.pcap_reader == PcapReader::kMapped && cfg.pcap_files.size() == 1 && !cfg.pcap_queues &&
         cfg.ifaces.empty() && cfg.eal_args.empty() && cfg.pcap_rate == 0 && !cfg.pcap_realtime;
}

bool NeedsDispatcher(const Config& cfg, uint32_t queues) {
  const uint32_t workers = std::max<uint32_t>(cfg.workers, 1);
  if (cfg.distribution == Distribution::kDispatch) return true;
  if (workers == 1) return false;            // one worker polls every queue itself
  if (FileSharesPlanned(cfg)) return false;  // each worker reads the file
  // Live interfaces: the kernel's fanout gives each worker its own queue; net_pcap's live
  // mode has one queue per interface.
  if (!cfg.ifaces.empty() && cfg.pcap_files.empty()) {
    return cfg.iface_time == IfaceTime::kKernel;
  }
  // Without a NIC, "rss" means one net_pcap queue (file) per worker.
  return !(cfg.pcap_queues && queues >= workers);
}

uint16_t AfPacketQueues(const Config& cfg) {
  if (cfg.distribution == Distribution::kDispatch || cfg.iface_time == IfaceTime::kKernel) {
    return 1;
  }
  return static_cast<uint16_t>(std::max<uint32_t>(cfg.workers, 1));
}

}  // namespace skyprobe
