#include "capture/port.h"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <string_view>
#include <thread>

#include "absl/strings/str_cat.h"
#include "capture/device_clock.h"
#include "capture/kernel_ring_drops.h"
#include "capture/mapped_file_queue.h"
#include "skyprobe/status.h"

namespace skyprobe {
namespace {

// A port that ReopenPort may stop and start: its statistics are read under
// g_reopen_lock, which the reopening holds (net_pcap's statistics read its
// libpcap handles, which a stop closes). Other ports' need no lock (a
// worker reads a net_pcap file's when a burst comes back empty).
std::atomic<bool> g_reopenable[RTE_MAX_ETHPORTS];
std::mutex g_reopen_lock;

constexpr uint16_t kRxDescriptors = 1024;
constexpr uint32_t kMbufsPerQueue = 8191;
// A mapped file's queue holds a burst in the worker, one in a capture-time
// merge and one waiting on the pacer (a frame over 64 KiB takes up to five);
// 1023 leaves room for the per-lcore caches (at most 1.5 x kMappedCache each).
constexpr uint32_t kMappedMbufsPerQueue = 1023;
constexpr uint32_t kMappedCache = 64;
// The pool of a port whose queues are all mapped: only their set-up needs it.
constexpr uint32_t kSetUpOnlyMbufs = 63;

// Queues a port must have whatever the worker count: one per file (--pcap-queues) or one
// per AF_PACKET socket of a fanout group; 0 when the count is ours to choose.
uint16_t FixedQueues(const PortInfo& info) {
  return info.file_queues != 0 ? info.file_queues : info.kernel_fanout_queues;
}

// The RX queues port `info` gets: its fixed ones, else `rx_queues`.
uint16_t PortQueues(const PortInfo& info, uint16_t rx_queues) {
  return FixedQueues(info) != 0 ? FixedQueues(info) : rx_queues;
}

// --pcap-reader mapped: the files a port's queues read themselves, opened
// before the mbuf pools are sized. A file only libpcap reads stays on the
// port's net_pcap queue (said once); a file that cannot be opened is an error.
struct MappedFile {
  uint16_t port_id;
  uint16_t queue_id;
  std::unique_ptr<CaptureFile> file;
};

absl::StatusOr<std::vector<MappedFile>> OpenMappedFiles(const std::vector<PortInfo>& infos,
                                                        uint16_t rx_queues, uint16_t file_shares) {
  std::vector<MappedFile> out;
  for (const PortInfo& info : infos) {
    if (!info.map_files) continue;
    const uint16_t nb_rx = PortQueues(info, rx_queues);
    for (uint16_t qid = 0; qid < nb_rx && qid < info.files.size(); ++qid) {
      const std::string& path = info.files[qid];
      absl::StatusOr<std::unique_ptr<CaptureFile>> file = CaptureFile::Open(path);
      if (absl::IsUnimplemented(file.status())) {
        if (!info.quiet) {
          std::fprintf(stderr, "skyprobe: %s read through net_pcap (%s)\n", path.c_str(),
                       std::string(file.status().message()).c_str());
        }
        continue;
      }
      if (!file.ok()) return file.status();
      out.push_back(MappedFile{info.spec.port_id, qid, *std::move(file)});
      // File shares: the other shares' readers, each with its own mapping.
      if (!info.file_shareable || file_shares < 2) continue;
      for (uint16_t share = 1; share < file_shares; ++share) {
        SKYPROBE_ASSIGN_OR_RETURN(std::unique_ptr<CaptureFile> again, CaptureFile::Open(path));
        out.push_back(MappedFile{info.spec.port_id, share, std::move(again)});
      }
    }
  }
  return out;
}

// Each mapped file's queue: its frames reach the worker as mbufs of
// `ports->mapped_pool` with the frame attached (the port's net_pcap queue
// stays configured but is never polled).
absl::Status MapFiles(std::vector<MappedFile> files, Ports* ports) {
  for (MappedFile& f : files) {
    bool found = false;
    const RxQueueSpec* first = nullptr;
    for (const RxQueueSpec& q : ports->queues) {
      if (q.port_id != f.port_id) continue;
      found |= q.queue_id == f.queue_id;
      if (q.queue_id == 0) first = &q;
    }
    if (!found && first != nullptr) {
      // A file share past the first: a queue of the port that only its
      // reader feeds (the port itself has one queue).
      RxQueueSpec share = *first;
      share.queue_id = f.queue_id;
      ports->queues.push_back(share);
    }
    for (RxQueueSpec& q : ports->queues) {
      if (q.port_id != f.port_id || q.queue_id != f.queue_id) continue;
      SKYPROBE_ASSIGN_OR_RETURN(
          std::unique_ptr<MappedFileQueue> mq,
          MappedFileQueue::Create(std::move(f.file), ports->mapped_pool, q.port_id,
                                  ports->timestamp_offset, ports->timestamp_flag));
      q.mapped = mq.get();
      ports->mapped.push_back(std::move(mq));
    }
  }
  return absl::OkStatus();
}

// The mbuf pools. Queues a PMD fills (NICs, kernel rings, files left to
// net_pcap) get kMbufsPerQueue mbufs with a data room each: a NIC keeps its
// ring of descriptors full, and net_pcap chains a 64 KiB frame over 33 mbufs
// and loses a frame it has read when the pool is dry. A mapped file's queue
// needs no data room (the frame stays in the mapping) and holds only the
// bursts in flight: kMappedMbufsPerQueue bare mbufs, in a pool of their own,
// so a replay does not populate, and fault in, 20 MB of packet buffers it
// never uses. Every port needs a pool for its queues' set-up, even one whose
// queues are all mapped (never polled): then the smallest one. `extra` (a
// dispatcher's rings) goes to each pool in use.
//
// Lcores that share a CPU (more lcores than CPUs: small machines, tests) get
// pools on rings in relaxed tail sync ("ring_mt_rts"). With the default
// rings, an lcore preempted between reserving ring slots and publishing
// them keeps every other lcore that touches the ring spinning until it runs
// again, a whole time slice each time: a replay with two workers on two CPUs
// then crawled at tens of thousands of frames a second.
bool LcoresShareCpus() {
  unsigned lcore;
  RTE_LCORE_FOREACH(lcore) {
    if (LcoreSharesCpu(lcore)) return true;
  }
  return false;
}

rte_mempool* CreatePool(const char* name, uint32_t n, uint32_t cache, uint16_t data_room,
                        bool rts) {
  if (rts) {
    return rte_pktmbuf_pool_create_by_ops(name, n, cache, 0, data_room, rte_socket_id(),
                                          "ring_mt_rts");
  }
  return rte_pktmbuf_pool_create(name, n, cache, 0, data_room, rte_socket_id());
}

absl::Status CreatePools(uint32_t filled_queues, uint32_t mapped_queues, uint32_t extra,
                         Ports* ports) {
  const uint32_t n = filled_queues != 0 ? kMbufsPerQueue * filled_queues + extra : kSetUpOnlyMbufs;
  ports->pools_rts = LcoresShareCpus();
  ports->mbuf_pool = CreatePool("skyprobe_mbufs", n, filled_queues != 0 ? 256 : 0,
                                RTE_MBUF_DEFAULT_BUF_SIZE, ports->pools_rts);
  if (ports->mbuf_pool == nullptr) return ErrnoToStatus(-rte_errno, "rte_pktmbuf_pool_create");
  if (mapped_queues == 0) return absl::OkStatus();
  ports->mapped_pool = CreatePool("skyprobe_mapped", kMappedMbufsPerQueue * mapped_queues + extra,
                                  kMappedCache, 0, ports->pools_rts);
  if (ports->mapped_pool == nullptr) {
    return ErrnoToStatus(-rte_errno, "rte_pktmbuf_pool_create(skyprobe_mapped)");
  }
  return absl::OkStatus();
}

// Whether port `port_id`'s frames can carry the NIC's receive time: a live port
// (not a file, not a kernel ring: those stamp in microseconds or not at all)
// whose PMD offers RTE_ETH_RX_OFFLOAD_TIMESTAMP.
bool WantsDeviceTime(const PortInfo& info, const rte_eth_dev_info& dev) {
  return !info.spec.is_file && !info.spec.is_kernel &&
         (dev.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) != 0;
}

// A started port's clock, fitted as DPDK documents (device_clock.h): two
// readings 100 ms apart, each bracketed by the host's clock. An error when the
// PMD cannot read its clock (rte_eth_read_clock), or the readings give no rate.
absl::StatusOr<DeviceClockSample> SamplePortClock(uint16_t port_id) {
  DeviceClockSample s;
  s.host_before_ns = HostNs();
  const int rc = rte_eth_read_clock(port_id, &s.ticks);
  s.host_after_ns = HostNs();
  if (rc != 0) return ErrnoToStatus(-rc, "rte_eth_read_clock");
  return s;
}

absl::StatusOr<std::shared_ptr<LiveDeviceClock>> FitPortClock(uint16_t port_id) {
  DeviceClockSample s[2];
  for (int i = 0; i < 2; ++i) {
    if (i == 1) rte_delay_us_sleep(100'000);
    SKYPROBE_ASSIGN_OR_RETURN(s[i], SamplePortClock(port_id));
  }
  SKYPROBE_ASSIGN_OR_RETURN(const DeviceClock fit, FitDeviceClock(s[0], s[1]));
  return std::make_shared<LiveDeviceClock>(fit, s[1]);
}

}  // namespace

absl::Status InitEal(const std::vector<std::string>& args) {
  // EAL may keep pointers into argv (it permutes it and remembers some
  // strings): they live in this process-wide list, freed at exit, after
  // rte_eal_cleanup.
  static std::vector<std::unique_ptr<char[]>> storage;
  std::vector<char*> argv;
  for (const std::string& a : args) {
    storage.emplace_back(new char[a.size() + 1]);
    std::copy(a.c_str(), a.c_str() + a.size() + 1, storage.back().get());
    argv.push_back(storage.back().get());
  }
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0) {
    return ErrnoToStatus(-rte_errno, "rte_eal_init (see the EAL message above)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PortInfo>> ProbePorts(const Config& cfg) {
  std::vector<PortInfo> infos;
  std::vector<bool> port_attrs_used(cfg.port_attrs.size(), false);
  const std::vector<std::vector<size_t>> pcap_ports = PcapPortFiles(cfg);
  if (rte_eth_dev_count_avail() == 0) {
    return absl::NotFoundError("no DPDK port: check --pcap or the --eal device list");
  }
  uint16_t port_id;
  RTE_ETH_FOREACH_DEV(port_id) {
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    rte_eth_dev_get_name_by_port(port_id, name);
    PortInfo info;
    info.quiet = cfg.quiet;
    RxQueueSpec& q = info.spec;
    q.port_id = port_id;
    q.name = name;
    // net_pcapN replays the files of PcapPortFiles()[N] (config/eal_args.cc names
    // them so): one --pcap file, or with --pcap-queues the files of one capture point.
    unsigned index = 0;
    const InputAttributes* attrs = nullptr;  // the capture point's own attributes
    if (sscanf(name, "net_pcap%u", &index) == 1 && index < pcap_ports.size() &&
        pcap_ports[index].back() < cfg.pcap_inputs.size()) {
      const std::vector<size_t>& files = pcap_ports[index];
      const PcapInput& in = cfg.pcap_inputs[files[0]];
      q.is_file = true;
      q.name = files.size() > 1 ? absl::StrCat(name, " (", files.size(), " files)") : in.path;
      q.snaplen = in.snaplen;
      q.link_type = static_cast<LinkType>(in.link_type);  // --link-type already applied
      attrs = &InputAttributesAt(cfg.pcap_attrs, files[0]);
      for (const size_t f : files) info.files.push_back(cfg.pcap_inputs[f].path);
      info.map_files = cfg.pcap_reader == PcapReader::kMapped;
      // One file the mapped reader takes on (opened here to ask: its header
      // decides) can be read in shares by several workers (asked only when
      // several are planned).
      info.file_shareable = FileSharesPlanned(cfg) && info.map_files && files.size() == 1 &&
                            CaptureFile::Open(in.path).ok();
      if (cfg.pcap_queues) {
        info.file_queues = static_cast<uint16_t>(files.size());
        for (const size_t f : files) {
          const PcapInput& other = cfg.pcap_inputs[f];
          if (other.link_type != in.link_type || other.snaplen != in.snaplen) {
            return absl::InvalidArgumentError(
                absl::StrCat("--pcap-queues: ", other.path, " and ", in.path,
                             " are queues of one port: they must have the same link type and "
                             "snaplen"));
          }
        }
      }
    }
    rte_eth_dev_info dev{};
    const int rc = rte_eth_dev_info_get(port_id, &dev);
    if (rc != 0) {
      return Annotate(ErrnoToStatus(rc, "rte_eth_dev_info_get"), absl::StrCat("port ", port_id));
    }
    // net_af_packetN is the N-th --iface (config/eal_args.cc). Its max_rx_queues is the
    // qpairs it was created with: every one of those sockets receives a share of the
    // traffic, so every one must be polled.
    if (sscanf(name, "net_af_packet%u", &index) == 1 && index < cfg.ifaces.size()) {
      q.name = cfg.ifaces[index];
      q.is_kernel = true;
      q.link_type = LinkType::kEthernet;
      // The ring cuts longer frames (GRO aggregates) to this: recover their length from
      // the IP header, as for a pcap snaplen. 66 = TPACKET_V2 header + alignment.
      q.snaplen = kAfPacketFrameSize - 66;
      info.kernel_fanout_queues = dev.max_rx_queues;
    }
    // net_pcap_ifaceN is the N-th --iface with --iface-time kernel (config/eal_args.cc):
    // net_pcap's live mode, one libpcap handle (one queue), each frame stamped with the
    // kernel's receive time.
    if (sscanf(name, "net_pcap_iface%u", &index) == 1 && index < cfg.ifaces.size()) {
      q.name = cfg.ifaces[index];
      q.is_kernel = true;
      q.kernel_time = true;
      q.link_type = LinkType::kEthernet;
      // libpcap cuts longer frames (GRO aggregates) to net_pcap's snaplen, and net_pcap
      // drops the original length: recover it from the IP header.
      q.snaplen = kPcapLiveSnaplen;
      info.kernel_fanout_queues = 1;
    }
    // The capture point: the input's own attributes, found by the same names.
    if ((sscanf(name, "net_af_packet%u", &index) == 1 ||
         sscanf(name, "net_pcap_iface%u", &index) == 1) &&
        index < cfg.ifaces.size()) {
      attrs = &InputAttributesAt(cfg.iface_attrs, index);
    }
    const std::string point_name = q.name;
    for (size_t a = 0; a < cfg.port_attrs.size(); ++a) {
      if (cfg.port_attrs[a].device != name) continue;
      if (attrs != nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--port ", name, ": this port is ", q.name,
            ", an input of its own: give its attributes after its name (--pcap FILE,... or "
            "--iface NAME,...)"));
      }
      attrs = &cfg.port_attrs[a].attrs;
      port_attrs_used[a] = true;
    }
    static const InputAttributes kNone;
    info.point = ResolveCapturePoint(cfg, point_name, attrs != nullptr ? *attrs : kNone);
    info.max_rx_queues = dev.max_rx_queues;
    info.symmetric_rss =
        (dev.flow_type_rss_offloads & RTE_ETH_RSS_IP) != 0 && dev.hash_key_size > 0;
    info.hash_key_size = dev.hash_key_size;
    infos.push_back(info);
  }
  for (size_t a = 0; a < cfg.port_attrs.size(); ++a) {
    if (port_attrs_used[a]) continue;
    std::string names;
    for (const PortInfo& info : infos) {
      char name[RTE_ETH_NAME_MAX_LEN] = {};
      rte_eth_dev_get_name_by_port(info.spec.port_id, name);
      absl::StrAppend(&names, names.empty() ? "" : ", ", name);
    }
    return absl::InvalidArgumentError(absl::StrCat("--port ", cfg.port_attrs[a].device,
                                                   ": no such DPDK port (ports: ", names, ")"));
  }
  return infos;
}

absl::StatusOr<Ports> StartPorts(const std::vector<PortInfo>& infos, uint16_t rx_queues, bool rss,
                                 bool rss_l4_ports, uint32_t extra_mbufs, uint16_t file_shares) {
  Ports ports;
  uint32_t total_queues = 0;
  bool any_stamped = false;
  for (const PortInfo& info : infos) {
    total_queues += PortQueues(info, rx_queues);
    any_stamped |= info.spec.is_file || info.spec.kernel_time;
  }
  bool any_device_time = false;
  SKYPROBE_ASSIGN_OR_RETURN(std::vector<MappedFile> mapped,
                            OpenMappedFiles(infos, rx_queues, file_shares));
  const auto mapped_queues = static_cast<uint32_t>(mapped.size());
  // A file's shares past the first are queues of their own (MapFiles).
  uint32_t port_mapped = 0;
  for (const MappedFile& f : mapped) {
    for (const PortInfo& info : infos) {
      if (info.spec.port_id == f.port_id && f.queue_id < PortQueues(info, rx_queues)) ++port_mapped;
    }
  }
  SKYPROBE_RETURN_IF_ERROR(
      CreatePools(total_queues - port_mapped, mapped_queues, extra_mbufs, &ports));

  for (const PortInfo& info : infos) {
    const uint16_t port_id = info.spec.port_id;
    const std::string ctx = absl::StrCat("port ", port_id, " (", info.spec.name, ")");
    const uint16_t nb_rx = PortQueues(info, rx_queues);
    if (nb_rx > info.max_rx_queues) {
      return absl::InvalidArgumentError(
          absl::StrCat(ctx, ": ", nb_rx, " RX queues wanted, the port has ", info.max_rx_queues));
    }
    rte_eth_dev_info dev{};
    int rc = rte_eth_dev_info_get(port_id, &dev);
    if (rc != 0) return Annotate(ErrnoToStatus(rc, "rte_eth_dev_info_get"), ctx);
    rte_eth_conf conf{};
    // Symmetric RSS: with the key 0x6D5A repeated, the Toeplitz hash of
    // (src, dst) equals that of (dst, src), so both directions of a flow land
    // in one queue, hence one worker and one shard.
    uint8_t key[64];
    if (rss && nb_rx > 1 && info.symmetric_rss && FixedQueues(info) == 0) {
      for (size_t i = 0; i < sizeof(key); i += 2) {
        key[i] = 0x6d;
        key[i + 1] = 0x5a;
      }
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_key = key;
      conf.rx_adv_conf.rss_conf.rss_key_len = std::min<uint8_t>(info.hash_key_size, sizeof(key));
      const uint64_t hf =
          rss_l4_ports ? (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) : RTE_ETH_RSS_IP;
      conf.rx_adv_conf.rss_conf.rss_hf = hf & dev.flow_type_rss_offloads;
    }
    // The NIC's own receive time where its PMD offers it: the PMD registers the
    // mbuf timestamp field and flag and stamps each frame in its clock's ticks.
    const bool device_time = WantsDeviceTime(info, dev);
    if (device_time) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
    const uint16_t nb_tx = dev.max_tx_queues > 0 ? 1 : 0;
    rc = rte_eth_dev_configure(port_id, nb_rx, nb_tx, &conf);
    if (rc != 0) return Annotate(ErrnoToStatus(rc, "rte_eth_dev_configure"), ctx);
    uint16_t nb_rxd = kRxDescriptors, nb_txd = 512;
    rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rxd, &nb_txd);
    const size_t first_queue = ports.queues.size();
    for (uint16_t qid = 0; qid < nb_rx; ++qid) {
      rc = rte_eth_rx_queue_setup(port_id, qid, nb_rxd, rte_eth_dev_socket_id(port_id), nullptr,
                                  ports.mbuf_pool);
      if (rc != 0) return Annotate(ErrnoToStatus(rc, "rte_eth_rx_queue_setup"), ctx);
      RxQueueSpec q = info.spec;
      q.queue_id = qid;
      if (q.kernel_time) {
        ports.pauses.push_back(std::make_shared<QueuePause>());
        q.pause = ports.pauses.back().get();
        g_reopenable[port_id].store(true, std::memory_order_relaxed);
      }
      ports.queues.push_back(q);
    }
    if (nb_tx > 0) {
      rc = rte_eth_tx_queue_setup(port_id, 0, nb_txd, rte_eth_dev_socket_id(port_id), nullptr);
      if (rc != 0) return Annotate(ErrnoToStatus(rc, "rte_eth_tx_queue_setup"), ctx);
    }
    rc = rte_eth_dev_start(port_id);
    if (rc != 0) return Annotate(ErrnoToStatus(rc, "rte_eth_dev_start"), ctx);
    if (!info.spec.is_file) rte_eth_promiscuous_enable(port_id);  // a probe sees everything
    if (device_time) {
      // A clock that cannot be read or gives no rate: the port's frames are
      // timed by the TSC per burst, as without the offload (said once).
      absl::StatusOr<std::shared_ptr<LiveDeviceClock>> clock = FitPortClock(port_id);
      if (clock.ok()) {
        for (size_t i = first_queue; i < ports.queues.size(); ++i) {
          ports.queues[i].device_clock = clock->get();
        }
        ports.device_clocks.push_back(Ports::PortClock{port_id, std::move(*clock)});
        any_device_time = true;
      } else if (!info.quiet) {
        std::fprintf(stderr, "skyprobe: %s: NIC timestamps not used (%s): TSC per burst\n",
                     ctx.c_str(), std::string(clock.status().message()).c_str());
      }
    }
    // net_af_packet (22.11) never reports the frames the kernel dropped on its full
    // rings: count them from its sockets (kernel_ring_drops.h), or refuse to run.
    if (dev.driver_name != nullptr && std::string_view(dev.driver_name) == "net_af_packet") {
      SKYPROBE_RETURN_IF_ERROR(WatchKernelRings(port_id, static_cast<int>(dev.if_index),
                                                dev.max_rx_queues, info.spec.name));
    }
  }
  // net_pcap stamps every mbuf with its capture time (microseconds): a file's record
  // time, or in live mode the kernel's receive time (libpcap's ring). Other live ports
  // (net_af_packet in 22.11 stamps nothing, NICs without the offload) are timed by the
  // worker's TSC instead.
  if (!any_stamped && !any_device_time) return ports;
  ports.timestamp_offset = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, nullptr);
  const int flag_bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, nullptr);
  ports.timestamp_flag = flag_bit >= 0 ? (1ULL << flag_bit) : 0;
  // A NIC stamp is only believed where the PMD registered both the field and
  // the flag that says a frame has one.
  if (any_device_time && (ports.timestamp_offset < 0 || ports.timestamp_flag == 0)) {
    for (RxQueueSpec& q : ports.queues) q.device_clock = nullptr;
    std::fprintf(stderr,
                 "skyprobe: NIC timestamps not used (the PMD registered no timestamp field and "
                 "flag): TSC per burst\n");
  }
  SKYPROBE_RETURN_IF_ERROR(MapFiles(std::move(mapped), &ports));
  return ports;
}

bool LcoreSharesCpu(unsigned lcore) {
  const rte_cpuset_t mine = rte_lcore_cpuset(lcore);
  unsigned other;
  RTE_LCORE_FOREACH(other) {
    if (other == lcore) continue;
    rte_cpuset_t theirs = rte_lcore_cpuset(other);
    rte_cpuset_t both;
    CPU_AND(&both, &mine, &theirs);
    if (CPU_COUNT(&both) > 0) return true;
  }
  return false;
}

PortCounters ReadPortCounters(uint16_t port_id) {
  rte_eth_stats st{};
  PortCounters c;
  std::unique_lock<std::mutex> lock(g_reopen_lock, std::defer_lock);
  if (port_id < RTE_MAX_ETHPORTS && g_reopenable[port_id].load(std::memory_order_relaxed)) {
    lock.lock();
  }
  if (rte_eth_stats_get(port_id, &st) == 0) {
    c.ipackets = st.ipackets;
    // The kernel's drops on net_af_packet's rings, which its stats leave out.
    c.imissed = st.imissed + KernelRingDrops(port_id);
    c.ierrors = st.ierrors;
    c.rx_nombuf = st.rx_nombuf;
  }
  return c;
}

void StopPorts(const Ports& ports) {
  std::set<uint16_t> done;
  for (const RxQueueSpec& q : ports.queues) {
    if (!done.insert(q.port_id).second) continue;
    ForgetKernelRings(q.port_id);  // before the PMD closes its sockets
    rte_eth_dev_stop(q.port_id);
    rte_eth_dev_close(q.port_id);
  }
}

absl::Status ReopenPort(uint16_t port_id, QueuePause* pause) {
  const uint32_t off = pause->request.load(std::memory_order_relaxed) | 1;
  pause->request.store(off, std::memory_order_release);
  // The poller answers at its next poll: within a burst's work or an idle
  // rest (at most a millisecond or so), unless it has stopped.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (pause->acked.load(std::memory_order_acquire) != off) {
    if (std::chrono::steady_clock::now() > deadline) {
      pause->request.store(off + 1, std::memory_order_release);
      return absl::DeadlineExceededError("its worker did not leave the queue within a second");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  int rc;
  {
    const std::lock_guard<std::mutex> lock(g_reopen_lock);  // no statistics read meanwhile
    rte_eth_dev_stop(port_id);                              // closes the dead handle
    rc = rte_eth_dev_start(port_id);
    if (rc == 0) rte_eth_promiscuous_enable(port_id);
  }
  pause->request.store(off + 1, std::memory_order_release);
  return rc == 0 ? absl::OkStatus() : ErrnoToStatus(rc, "rte_eth_dev_start");
}

void RefitPortClocks(Ports* ports, bool quiet) {
  for (Ports::PortClock& pc : ports->device_clocks) {
    absl::StatusOr<DeviceClockSample> now = SamplePortClock(pc.port_id);
    absl::Status st = now.ok() ? pc.clock->Refit(*now) : now.status();
    if (!st.ok() && !pc.warned && !quiet) {
      std::fprintf(stderr, "skyprobe: port %u: NIC clock not refitted (%s): its last fit goes on\n",
                   pc.port_id, std::string(st.message()).c_str());
    }
    pc.warned |= !st.ok();
  }
}

}  // namespace skyprobe
