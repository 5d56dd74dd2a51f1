// port.h: EAL start-up and the DPDK ports the probe reads from.
//
// Owner: main thread, during start-up and shutdown only. This module (with
// rx_worker) is the only place that includes rte_ethdev.h.
//
//   SKYPROBE_RETURN_IF_ERROR(InitEal(EalArguments(cfg)));
//   SKYPROBE_ASSIGN_OR_RETURN(auto infos, ProbePorts(cfg));
//   SKYPROBE_ASSIGN_OR_RETURN(Ports ports, StartPorts(infos, queues, rss, rss_l4, extra_mbufs));
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "parse/parsed_packet.h"

struct rte_mempool;

namespace skyprobe {

class MappedFileQueue;
class LiveDeviceClock;

// The handshake that keeps a queue's poller off its device while the
// control lcore reopens it (ReopenPort): DPDK's rule is that a queue is
// never polled while its port stops or starts. `request` is a count, odd
// while the poller must stay off; the poller, at its next poll, answers with
// that count in `acked` and polls nothing until `request` is even again (one
// relaxed load a burst otherwise, on the queues that can be reopened only).
struct QueuePause {
  std::atomic<uint32_t> request{0};
  std::atomic<uint32_t> acked{0};
};

// One RX queue as a worker sees it.
struct RxQueueSpec {
  uint16_t port_id = 0;
  uint16_t queue_id = 0;
  LinkType link_type = LinkType::kEthernet;
  // pcap inputs: the file's snaplen (a frame this long was cut by the
  // capture; its wire length is recovered from its IP header). 0 = never cut.
  uint32_t snaplen = 0;
  bool is_file = false;    // end of data means end of input
  bool is_kernel = false;  // --iface: the kernel's ring, not a NIC's
  // --iface-time kernel (net_pcap's live mode): each frame carries the kernel's
  // receive time in the timestamp field (Ports::timestamp_offset).
  bool kernel_time = false;
  // A port whose PMD stamps each frame with the NIC's clock
  // (RTE_ETH_RX_OFFLOAD_TIMESTAMP): that clock's conversion to Unix ns (owned
  // by Ports, refitted by RefitPortClocks), null otherwise. Its frames keep
  // their own time, as kernel_time's.
  const LiveDeviceClock* device_clock = nullptr;
  std::string name;  // for messages: file path or device name
  // A file queue read from the mapped file (owned by Ports) instead of the
  // port's net_pcap queue; null: rte_eth_rx_burst.
  MappedFileQueue* mapped = nullptr;
  // An --iface read through net_pcap's live mode, which opens the interface
  // by name when the port starts: the port can be reopened on an interface
  // of that name made again (owned by Ports); null for every other queue.
  QueuePause* pause = nullptr;
};

struct Ports {
  std::vector<RxQueueSpec> queues;
  rte_mempool* mbuf_pool = nullptr;    // the PMDs' queues (net_pcap, NICs, kernel rings)
  rte_mempool* mapped_pool = nullptr;  // mapped files' queues: bare mbufs, no data room
  // Lcores share CPUs: the pools are on relaxed-tail-sync rings (port.cc).
  bool pools_rts = false;
  int timestamp_offset = -1;  // mbuf dynfield of RX timestamps, -1 if none
  uint64_t timestamp_flag = 0;
  // The file queues read from their mapped files (RxQueueSpec::mapped).
  std::vector<std::shared_ptr<MappedFileQueue>> mapped;
  // The device clocks of NIC ports that stamp their frames (RxQueueSpec::device_clock).
  struct PortClock {
    uint16_t port_id = 0;
    std::shared_ptr<LiveDeviceClock> clock;
    bool warned = false;  // a failed refit said once
  };
  std::vector<PortClock> device_clocks;
  // The queues that can be reopened (RxQueueSpec::pause).
  std::vector<std::shared_ptr<QueuePause>> pauses;
};

// rte_eal_init with `args` (args[0] is the program name). EAL's own
// messages go to stderr at the log level given in the args.
absl::Status InitEal(const std::vector<std::string>& args);

// What a port can do, read before configuring it.
struct PortInfo {
  RxQueueSpec spec;  // queue_id 0; file, link type and snaplen for pcap inputs
  uint16_t max_rx_queues = 1;
  uint16_t file_queues = 0;    // --pcap-queues: one queue per file (0 otherwise)
  bool symmetric_rss = false;  // supports RSS over IP with a settable key
  // --iface (net_af_packet): the port's AF_PACKET sockets, one per queue, in a
  // PACKET_FANOUT_HASH group. The kernel spreads frames by its symmetric flow hash, so
  // each queue can feed its own worker as with symmetric RSS (0 for other ports).
  uint16_t kernel_fanout_queues = 0;
  uint8_t hash_key_size = 40;
  // The capture point this port is: its input's attributes (--pcap FILE,..., --iface
  // NAME,..., --port DEVICE,...) resolved against --node-tid and --bpf. Capture IDs
  // are made unique across ports by the caller (UniqueCaptureIds).
  CapturePointSpec point;
  // A net_pcap port's files, queue by queue, and whether to read them from
  // their mapping (--pcap-reader mapped) rather than through net_pcap.
  std::vector<std::string> files;
  bool map_files = false;
  // Its one file can be read in shares (file shares, StartPorts): mapped,
  // and the mapped reader takes it on.
  bool file_shareable = false;
  bool quiet = false;  // no start-up note (a file left to net_pcap, NIC time unused)
};

// Lists every port with its capabilities (no configuration yet).
absl::StatusOr<std::vector<PortInfo>> ProbePorts(const Config& cfg);

// Configures and starts every port with `rx_queues` RX queues (exactly the
// port's file queues or kernel fanout queues where it has those), symmetric RSS
// when `rss` and the port supports it, promiscuous for live ports. Returns every
// queue. RSS hashes the IP addresses, and the TCP/UDP ports too when
// `rss_l4_ports`. With IP defragmentation it must not: a NIC hashes a fragment
// on its addresses only, while the unfragmented packets of the same TCP/UDP
// flow would be hashed on their ports too and could reach another worker.
// `file_shares` > 1: the file of each port that is file_shareable is read
// by that many queues (queue ids 0..file_shares-1), each with a reader and a
// mapping of its own, for the caller to make shares (MappedFileQueue::
// SetShare): several workers on one file without a dispatcher.
absl::StatusOr<Ports> StartPorts(const std::vector<PortInfo>& infos, uint16_t rx_queues, bool rss,
                                 bool rss_l4_ports, uint32_t extra_mbufs, uint16_t file_shares = 1);

// True if `lcore` shares a CPU with another lcore (an oversubscribed set-up:
// its poller yields when idle, the mbuf pools are made on rings a preempted
// lcore does not stall).
bool LcoreSharesCpu(unsigned lcore);

// Per-port counters from the NIC/PMD.
struct PortCounters {
  uint64_t ipackets = 0;
  uint64_t imissed = 0;
  uint64_t ierrors = 0;
  uint64_t rx_nombuf = 0;
};
PortCounters ReadPortCounters(uint16_t port_id);

void StopPorts(const Ports& ports);

// Stops and starts again the port of a queue whose `pause` is set, its poller
// kept off meanwhile: net_pcap's live mode opens its interface by name again
// (the control lcore, when an --iface deleted meanwhile is back). An error
// when the poller did not answer within a second (the port is left as it
// was) or the port did not start (the interface is not there yet).
absl::Status ReopenPort(uint16_t port_id, QueuePause* pause);

// Refits each NIC clock of `ports` from its last sample to a reading now
// (device_clock.h: the NIC's oscillator drifts from the host's clock). The
// control lcore calls it about once a second while the ports run; a port
// whose clock cannot be read keeps its fit (said once on stderr).
void RefitPortClocks(Ports* ports, bool quiet);

}  // namespace skyprobe
