// kernel_ring_drops.h: frames the kernel dropped because a net_af_packet port's
// rings were full, which DPDK 22.11's PMD does not report.
//
// Owner: the main thread watches a port after starting it and forgets it before
// closing it; any thread that collects counters (control loop, Stats) reads,
// under this module's lock. Never an RX worker: each read is one getsockopt per
// socket.
//
//   SKYPROBE_RETURN_IF_ERROR(WatchKernelRings(port_id, if_index, queues, name));
//   counters.imissed += KernelRingDrops(port_id);
//
// Why: net_af_packet (22.11) reads a TPACKET_V2 ring per queue; when a ring is
// full the kernel drops the frame and counts it in the socket's
// PACKET_STATISTICS (tp_drops), but the PMD's stats never read that, so its
// imissed stays 0 and the loss would be silent. The PMD's sockets are private to
// it; they are found among the process's descriptors: AF_PACKET sockets of
// version TPACKET_V2 bound to the port's interface (rte_eth_dev_info's
// if_index), taken in descriptor order by ports in port order (the PMD opens
// them in that order at EAL start-up). libpcap's sockets (--iface-time kernel)
// are TPACKET_V3 and net_pcap reports their drops itself.
//
// PACKET_STATISTICS resets the kernel's counts on each read, so the drops are
// accumulated here. A later PMD that reads them itself (DPDK 25.03 does) takes
// its share of each reset: its imissed plus these drops is still every drop.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace skyprobe {

// The descriptors of this process's TPACKET_V2 AF_PACKET sockets bound to
// interface `if_index`, in ascending order, less those in `taken`.
std::vector<int> FindKernelRingSockets(int if_index, const std::set<int>& taken);

// Starts counting the ring drops of port `port_id`, whose `queues` sockets are
// bound to `if_index`. An error (the sockets cannot be told apart) names the
// port: the caller refuses to run rather than lose frames silently.
absl::Status WatchKernelRings(uint16_t port_id, int if_index, uint16_t queues,
                              const std::string& name);

// Frames dropped so far by the kernel for lack of room in the port's rings
// (0 for a port not watched).
uint64_t KernelRingDrops(uint16_t port_id);

// Stops watching the port (before its sockets are closed: the descriptors
// could be reused). Its drops are read once more first and kept.
void ForgetKernelRings(uint16_t port_id);

}  // namespace skyprobe
