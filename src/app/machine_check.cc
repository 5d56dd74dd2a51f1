#include "app/machine_check.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

#include "app/machine_view.h"

namespace skyprobe {
namespace {

using State = CheckItem::State;

class Checker {
 public:
  Checker(const Config& cfg, const Machine& m) : cfg_(cfg), m_(m) {}

  std::vector<CheckItem> Run() {
    if (cfg_.eal_args.empty()) {
      CheckSoftwareRun();
    } else {
      CheckNicRun();
    }
    CheckIfaces();
    return std::move(items_);
  }

 private:
  void Add(State s, std::string what, std::string fix = "") {
    items_.push_back(CheckItem{s, std::move(what), std::move(fix)});
  }

  std::vector<int> OnlineCpus() const {
    const std::optional<std::string> online = m_.Read("/sys/devices/system/cpu/online");
    return online ? ParseList(*online) : std::vector<int>{};
  }

  // --pcap, --iface, --sflow-listen without --eal: no hugepages, no PCI.
  void CheckSoftwareRun() {
    Add(State::kReady,
        "EAL: no hugepages or NIC needed (--no-huge --no-pci: --pcap, --iface and "
        "--sflow-listen run on ordinary memory)");
    const std::vector<std::string> args = EalArguments(cfg_);
    const EalPlan plan = ReadEalArgs(args);
    const std::vector<int> cpus = OnlineCpus();
    const std::set<int> distinct(plan.lcores.begin(), plan.lcores.end());
    if (!cpus.empty() && plan.lcores.size() > cpus.size()) {
      Add(State::kWarning,
          absl::StrCat("lcores: ", plan.lcores.size(), " (control, workers, dispatcher) on ",
                       cpus.size(),
                       " CPU(s): they share CPUs (fine for a replay, not for a "
                       "live link at rate)"),
          "fewer --workers, or a machine with more CPUs");
    } else {
      Add(State::kReady,
          absl::StrCat("lcores: ", plan.lcores.size(), " on CPU(s) ",
                       ListText(std::vector<int>(distinct.begin(), distinct.end()))));
    }
    const uint64_t need = ProbeMemoryMegabytes(cfg_);
    uint64_t avail_kb = 0;
    if (const std::optional<std::string> mi = m_.Read("/proc/meminfo")) {
      for (absl::string_view line : absl::StrSplit(*mi, '\n')) {
        if (absl::ConsumePrefix(&line, "MemAvailable:")) {
          absl::SimpleAtoi(absl::StripSuffix(absl::StripAsciiWhitespace(line), " kB"), &avail_kb);
        }
      }
    }
    if (avail_kb / 1024 >= need) {
      Add(State::kReady, absl::StrCat("memory: ", avail_kb / 1024, " MB available, the probe ",
                                      "reserves ", need, " MB (resident as flows fill it)"));
    } else {
      Add(State::kWarning,
          absl::StrCat("memory: ", avail_kb / 1024, " MB available, the probe reserves ", need,
                       " MB: a full table would not fit"),
          "a smaller --max-flows (about 370 bytes a flow, docs/deploy.md)");
    }
  }

  void CheckNicRun() {
    const EalPlan plan = ReadEalArgs(cfg_.eal_args);
    std::vector<std::string> devices = plan.pci;
    for (const PortAttributes& p : cfg_.port_attrs) {
      if (IsPci(p.device) &&
          std::find(devices.begin(), devices.end(), FullPci(p.device)) == devices.end()) {
        devices.push_back(FullPci(p.device));
      }
    }
    if (devices.empty() && !plan.vdevs) {
      Add(State::kMissing, "NIC: the EAL arguments name no device",
          "name the port: --eal \"-l 0-2 -a 0000:3b:00.0\" (lspci -D | grep -i ethernet)");
    }
    bool vfio = false;
    std::set<int> nic_nodes;
    for (const std::string& dev : devices) vfio |= CheckDevice(dev, &nic_nodes);
    if (vfio) CheckVfio();
    if (!plan.no_huge) CheckHugepages(plan, nic_nodes);
    CheckLcores(plan, nic_nodes);
    CheckMemlock(plan);
  }

  // One PCI device: present, bound to a driver DPDK can use; its NUMA node.
  // True when it uses (or should use) vfio-pci.
  bool CheckDevice(const std::string& dev, std::set<int>* nodes) {
    const std::string base = "/sys/bus/pci/devices/" + dev;
    if (!m_.Exists(base)) {
      Add(State::kMissing, absl::StrCat("NIC ", dev, ": no such PCI device"),
          "lspci -D | grep -i ethernet   (the addresses of this machine's NICs)");
      return false;
    }
    const std::string driver = m_.LinkName(base + "/driver");
    std::string node_text = m_.Read(base + "/numa_node").value_or("-1");
    int node = -1;
    absl::SimpleAtoi(node_text, &node);
    if (node >= 0) nodes->insert(node);
    const std::string where = node >= 0 ? absl::StrCat(", NUMA node ", node) : "";
    if (driver == "vfio-pci" || driver == "uio_pci_generic" || driver == "igb_uio") {
      Add(State::kReady, absl::StrCat("NIC ", dev, ": bound to ", driver, where));
      return driver == "vfio-pci";
    }
    if (driver == "mlx5_core" || driver == "mlx4_core") {
      // Bifurcated: DPDK's mlx5/mlx4 PMDs drive the NIC beside its kernel driver.
      Add(State::kReady, absl::StrCat("NIC ", dev, ": ", driver,
                                      " (Mellanox: DPDK works beside the kernel driver)", where));
      return false;
    }
    const std::vector<std::string> ifaces = m_.List(base + "/net");
    std::string fix = "modprobe vfio-pci && ";
    for (const std::string& i : ifaces) absl::StrAppend(&fix, "ip link set ", i, " down && ");
    absl::StrAppend(&fix, "dpdk-devbind.py --bind=vfio-pci ", dev);
    std::string what = absl::StrCat("NIC ", dev, ": ");
    if (driver.empty()) {
      what += "bound to no driver";
    } else {
      absl::StrAppend(&what, "bound to its kernel driver ", driver);
      if (!ifaces.empty()) absl::StrAppend(&what, " (", absl::StrJoin(ifaces, ", "), ")");
    }
    absl::StrAppend(&what, ", DPDK needs vfio-pci", where);
    Add(State::kMissing, std::move(what), std::move(fix));
    return true;
  }

  void CheckVfio() {
    const size_t groups = m_.List("/sys/kernel/iommu_groups").size();
    const bool noiommu =
        m_.Read("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode").value_or("N") == "Y";
    if (groups > 0) {
      Add(State::kReady, absl::StrCat("IOMMU: on (", groups, " groups)"));
    } else if (noiommu) {
      Add(State::kWarning, "IOMMU: off; vfio runs in unsafe no-IOMMU mode (no DMA protection)",
          "add intel_iommu=on iommu=pt (AMD: amd_iommu=on) to the kernel command line, reboot");
    } else {
      Add(State::kMissing, "IOMMU: off, and vfio is not in no-IOMMU mode",
          "add intel_iommu=on iommu=pt (AMD: amd_iommu=on) to the kernel command line and "
          "reboot; without an IOMMU: modprobe vfio enable_unsafe_noiommu_mode=1");
    }
    if (m_.Exists("/sys/bus/pci/drivers/vfio-pci") && m_.Exists("/dev/vfio/vfio")) {
      Add(State::kReady, "vfio-pci: loaded (/dev/vfio/vfio)");
    } else {
      Add(State::kMissing, "vfio-pci: not loaded", "modprobe vfio-pci");
    }
  }

  void CheckHugepages(const EalPlan& plan, const std::set<int>& nic_nodes) {
    const uint64_t need = std::max(ProbeMemoryMegabytes(cfg_), plan.memory_mb);
    const Hugepages h = ReadHugepages(m_, "/sys/kernel/mm/hugepages");
    const std::string what = absl::StrCat("hugepages: ", h.sizes, " (", h.free_mb,
                                          " MB), the probe needs ", need, " MB");
    if (h.free_mb >= need) {
      Add(State::kReady, what);
    } else {
      const uint64_t pages = (need + 1) / 2 + (h.total_mb - h.free_mb + 1) / 2;
      Add(State::kMissing, what,
          absl::StrCat("echo ", pages,
                       " > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages   (at boot: "
                       "hugepages=",
                       pages, ", or default_hugepagesz=1G hugepagesz=1G hugepages=",
                       (need + 1023) / 1024, ")"));
    }
    bool mounted = false;
    if (const std::optional<std::string> mounts = m_.Read("/proc/mounts")) {
      mounted = absl::StrContains(*mounts, " hugetlbfs ");
    }
    if (mounted) {
      Add(State::kReady, "hugetlbfs: mounted");
    } else {
      Add(State::kMissing, "hugetlbfs: not mounted",
          "mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages");
    }
    for (int node : nic_nodes) {
      const Hugepages n =
          ReadHugepages(m_, absl::StrCat("/sys/devices/system/node/node", node, "/hugepages"));
      if (m_.List("/sys/devices/system/node").size() > 1 && n.free_mb == 0) {
        Add(State::kWarning,
            absl::StrCat("hugepages on NUMA node ", node,
                         " (the NIC's): none free: its packet "
                         "buffers would come from another node"),
            absl::StrCat("echo N > /sys/devices/system/node/node", node,
                         "/hugepages/hugepages-2048kB/nr_hugepages"));
      }
    }
  }

  int CpuNode(int cpu) const {
    for (const std::string& e : m_.List(absl::StrCat("/sys/devices/system/cpu/cpu", cpu))) {
      int node = 0;
      if (absl::StartsWith(e, "node") && absl::SimpleAtoi(e.substr(4), &node)) return node;
    }
    return -1;
  }

  void CheckLcores(const EalPlan& plan, const std::set<int>& nic_nodes) {
    if (plan.lcores.empty()) {
      Add(State::kWarning, "lcores: none given: EAL takes every CPU",
          "give the control lcore and one per RX worker: --eal \"-l 0-4 ...\"");
      return;
    }
    const std::vector<int> online = OnlineCpus();
    std::vector<int> offline;
    for (int c : plan.lcores) {
      if (std::find(online.begin(), online.end(), c) == online.end()) offline.push_back(c);
    }
    if (!offline.empty()) {
      Add(State::kMissing,
          absl::StrCat("lcores: CPU(s) ", ListText(offline),
                       " not online (online: ", ListText(online), ")"),
          "take online CPUs in -l (lscpu -e)");
      return;
    }
    const uint32_t rx = static_cast<uint32_t>(plan.lcores.size()) - 1;
    if (rx == 0 || (cfg_.workers > 0 && cfg_.workers > rx)) {
      Add(State::kMissing,
          absl::StrCat("lcores: ", plan.lcores.size(), " given (", ListText(plan.lcores),
                       "): the control lcore and ", std::max<uint32_t>(cfg_.workers, 1),
                       " RX worker(s) need ", 1 + std::max<uint32_t>(cfg_.workers, 1)),
          "one more CPU per worker in -l");
      return;
    }
    Add(State::kReady, absl::StrCat("lcores: control on CPU ", plan.lcores[0], ", RX on CPU(s) ",
                                    ListText({plan.lcores.begin() + 1, plan.lcores.end()})));
    const std::vector<int> isolated =
        ParseList(m_.Read("/sys/devices/system/cpu/isolated").value_or(""));
    std::vector<int> busy;
    for (size_t i = 1; i < plan.lcores.size(); ++i) {
      if (std::find(isolated.begin(), isolated.end(), plan.lcores[i]) == isolated.end()) {
        busy.push_back(plan.lcores[i]);
      }
    }
    if (!busy.empty()) {
      const std::string l = ListText({plan.lcores.begin() + 1, plan.lcores.end()});
      Add(State::kWarning,
          absl::StrCat("lcores: RX CPU(s) ", ListText(busy),
                       " not isolated: the kernel schedules "
                       "other work there"),
          absl::StrCat("add isolcpus=", l, " nohz_full=", l, " rcu_nocbs=", l,
                       " to the kernel command line, reboot"));
    } else {
      Add(State::kReady, "lcores: RX CPU(s) isolated");
    }
    for (int node : nic_nodes) {
      std::vector<int> far;
      for (size_t i = 1; i < plan.lcores.size(); ++i) {
        const int n = CpuNode(plan.lcores[i]);
        if (n >= 0 && n != node) far.push_back(plan.lcores[i]);
      }
      if (!far.empty()) {
        Add(State::kWarning,
            absl::StrCat("NUMA: RX CPU(s) ", ListText(far), " are not on node ", node,
                         ", the NIC's: every packet crosses the interconnect"),
            absl::StrCat("take RX CPUs of node ", node, " (",
                         m_.Read(absl::StrCat("/sys/devices/system/node/node", node, "/cpulist"))
                             .value_or("lscpu"),
                         ") in -l"));
      } else {
        Add(State::kReady, absl::StrCat("NUMA: RX CPU(s) on node ", node, ", the NIC's"));
      }
    }
  }

  void CheckMemlock(const EalPlan& plan) {
    if (HasCapability(m_, kCapIpcLock)) {
      Add(State::kReady, "memory locking: CAP_IPC_LOCK");
      return;
    }
    std::string limit = "?";
    if (const std::optional<std::string> limits = m_.Read("/proc/self/limits")) {
      for (absl::string_view line : absl::StrSplit(*limits, '\n')) {
        if (!absl::ConsumePrefix(&line, "Max locked memory")) continue;
        const std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
        if (!f.empty()) limit = std::string(f[0]);
      }
    }
    uint64_t bytes = 0;
    const uint64_t need = std::max(ProbeMemoryMegabytes(cfg_), plan.memory_mb);
    if (limit == "unlimited" || (absl::SimpleAtoi(limit, &bytes) && bytes >> 20 >= need)) {
      Add(State::kReady, absl::StrCat("memory locking: limit ", limit));
    } else {
      Add(State::kMissing,
          absl::StrCat("memory locking: limit ", limit, " bytes, no CAP_IPC_LOCK: vfio cannot map ",
                       need, " MB for DMA"),
          "ulimit -l unlimited (systemd: LimitMEMLOCK=infinity), or run as root");
    }
  }

  void CheckIfaces() {
    for (const std::string& i : cfg_.ifaces) {
      const std::string base = "/sys/class/net/" + i;
      if (!m_.Exists(base)) {
        Add(State::kMissing, absl::StrCat("--iface ", i, ": no such interface"),
            "ip -br link   (the interfaces of this machine)");
        continue;
      }
      const std::string state = m_.Read(base + "/operstate").value_or("unknown");
      if (state == "down") {
        Add(State::kWarning, absl::StrCat("--iface ", i, ": down: no traffic will come"),
            absl::StrCat("ip link set ", i, " up"));
      } else {
        Add(State::kReady, absl::StrCat("--iface ", i, ": ", state));
      }
    }
    if (!cfg_.ifaces.empty()) {
      if (HasCapability(m_, kCapNetRaw) && HasCapability(m_, kCapNetAdmin)) {
        Add(State::kReady, "AF_PACKET: CAP_NET_RAW and CAP_NET_ADMIN");
      } else {
        Add(State::kMissing,
            "AF_PACKET: needs CAP_NET_RAW (the socket) and CAP_NET_ADMIN (promiscuous mode)",
            "run as root, or setcap cap_net_raw,cap_net_admin+ep $(command -v skyprobe) "
            "(systemd: AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN)");
      }
    }
  }

  const Config& cfg_;
  const Machine& m_;
  std::vector<CheckItem> items_;
};

}  // namespace

std::string MachineRoot() {
  const char* root = std::getenv("SKYPROBE_CHECK_ROOT");
  return root != nullptr && *root != '\0' ? root : "/";
}

std::vector<CheckItem> CheckMachine(const Config& cfg, const std::string& root) {
  const Machine m(root);
  return Checker(cfg, m).Run();
}

bool PrintCheck(const std::vector<CheckItem>& items, std::FILE* out) {
  size_t missing = 0, warnings = 0;
  std::fprintf(out, "skyprobe: check\n");
  for (const CheckItem& i : items) {
    const char* state = i.state == State::kReady     ? "ready"
                        : i.state == State::kWarning ? "warning"
                                                     : "missing";
    missing += i.state == State::kMissing;
    warnings += i.state == State::kWarning;
    std::fprintf(out, "  %-8s %s\n", state, i.what.c_str());
    if (!i.fix.empty()) std::fprintf(out, "           fix: %s\n", i.fix.c_str());
  }
  if (missing > 0) {
    std::fprintf(out, "skyprobe: check: %zu missing, %zu warning(s): the probe cannot start\n",
                 missing, warnings);
  } else {
    std::fprintf(out, "skyprobe: check: ready to start, %zu warning(s)\n", warnings);
  }
  std::fflush(out);
  return missing == 0;
}

}  // namespace skyprobe
