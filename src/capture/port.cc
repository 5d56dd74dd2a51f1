#include "capture/port.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "skyprobe/status.h"

namespace skyprobe {
namespace {

constexpr uint16_t kRxDescriptors = 1024;
constexpr uint32_t kMbufsPerQueue = 8191;

}  // namespace

absl::Status InitEal(const std::vector<std::string>& args) {
  std::vector<std::unique_ptr<char[]>> storage;
  std::vector<char*> argv;
  for (const std::string& a : args) {
    storage.emplace_back(new char[a.size() + 1]);
    std::copy(a.c_str(), a.c_str() + a.size() + 1, storage.back().get());
    argv.push_back(storage.back().get());
  }
  argv.push_back(nullptr);
  // EAL keeps pointers into argv: the strings must outlive the process.
  for (auto& s : storage) s.release();
  if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0) {
    return ErrnoToStatus(-rte_errno, "rte_eal_init (see the EAL message above)");
  }
  return absl::OkStatus();
}

absl::StatusOr<Ports> SetupPorts(const Config& cfg) {
  Ports ports;
  const uint16_t count = rte_eth_dev_count_avail();
  if (count == 0) return absl::NotFoundError("no DPDK port: check --pcap or the --eal device list");
  ports.mbuf_pool = rte_pktmbuf_pool_create("skyprobe_mbufs", kMbufsPerQueue * count, 256, 0,
                                            RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
  if (ports.mbuf_pool == nullptr) return ErrnoToStatus(-rte_errno, "rte_pktmbuf_pool_create");

  uint16_t port_id;
  RTE_ETH_FOREACH_DEV(port_id) {
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    rte_eth_dev_get_name_by_port(port_id, name);
    const std::string ctx = absl::StrCat("port ", port_id, " (", name, ")");
    RxQueueSpec q;
    q.port_id = port_id;
    q.name = name;
    // net_pcapN is the N-th --pcap file (config/eal_args.cc names them so).
    unsigned index = 0;
    if (sscanf(name, "net_pcap%u", &index) == 1 && index < cfg.pcap_inputs.size()) {
      const PcapInput& in = cfg.pcap_inputs[index];
      q.is_file = true;
      q.name = in.path;
      q.snaplen = in.snaplen;
      q.link_type = static_cast<LinkType>(in.link_type);  // --link-type already applied
    }
    rte_eth_dev_info info{};
    int rc = rte_eth_dev_info_get(port_id, &info);
    if (rc != 0) return Annotate(ErrnoToStatus(rc, "rte_eth_dev_info_get"), ctx);
    rte_eth_conf conf{};
    const uint16_t nb_tx = info.max_tx_queues > 0 ? 1 : 0;
    rc = rte_eth_dev_configure(port_id, 1, nb_tx, &conf);
    if (rc != 0) return Annotate(ErrnoToStatus(rc, "rte_eth_dev_configure"), ctx);
    uint16_t nb_rxd = kRxDescriptors, nb_txd = 512;
    rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rxd, &nb_txd);
    rc = rte_eth_rx_queue_setup(port_id, 0, nb_rxd, rte_eth_dev_socket_id(port_id), nullptr,
                                ports.mbuf_pool);
    if (rc != 0) return Annotate(ErrnoToStatus(rc, "rte_eth_rx_queue_setup"), ctx);
    if (nb_tx > 0) {
      rc = rte_eth_tx_queue_setup(port_id, 0, nb_txd, rte_eth_dev_socket_id(port_id), nullptr);
      if (rc != 0) return Annotate(ErrnoToStatus(rc, "rte_eth_tx_queue_setup"), ctx);
    }
    rc = rte_eth_dev_start(port_id);
    if (rc != 0) return Annotate(ErrnoToStatus(rc, "rte_eth_dev_start"), ctx);
    if (!q.is_file) rte_eth_promiscuous_enable(port_id);  // a probe sees all the traffic
    ports.queues.push_back(q);
  }
  // net_pcap stamps every mbuf with its capture time (microseconds).
  ports.timestamp_offset = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, nullptr);
  const int flag_bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, nullptr);
  ports.timestamp_flag = flag_bit >= 0 ? (1ULL << flag_bit) : 0;
  return ports;
}

PortCounters ReadPortCounters(uint16_t port_id) {
  rte_eth_stats st{};
  PortCounters c;
  if (rte_eth_stats_get(port_id, &st) == 0) {
    c.ipackets = st.ipackets;
    c.imissed = st.imissed;
    c.ierrors = st.ierrors;
    c.rx_nombuf = st.rx_nombuf;
  }
  return c;
}

void StopPorts(const Ports& ports) {
  std::set<uint16_t> done;
  for (const RxQueueSpec& q : ports.queues) {
    if (!done.insert(q.port_id).second) continue;
    rte_eth_dev_stop(q.port_id);
    rte_eth_dev_close(q.port_id);
  }
}

}  // namespace skyprobe
