// link_watch.h: the link of each live port, watched: a tap whose cable is
// pulled, a mirror port shut, an --iface taken down or deleted. Without it the
// probe went on reading nothing and said nothing.
//
// Owner: the control lcore polls (about once a second) and prints changes;
// any thread reads the states (Stats, metrics, the summary).
//
//   LinkWatch links(ports, quiet);   // start-up: a port down now is said
//   links.Poll();                    // control lcore, each second
//   links.AddTo(&summary);           // portP_link_up, portP_link_downs
//
// A NIC port's (--eal) link is DPDK's (rte_eth_link_get_nowait: up, speed).
// An --iface's is the kernel's operstate (/sys/class/net/NAME/operstate): up,
// and "unknown" (interfaces whose driver reports none: lo, tun) counted as
// up; down, lowerlayerdown (a veth whose peer is down), dormant, notpresent
// as down; no such interface any more as gone (a later interface of that name
// is a new one, which an AF_PACKET socket (--iface-time burst) does not see:
// restart; net_pcap's live mode (--iface-time kernel, the default) opens the
// interface by name, so the port is reopened on it: ReopenPort). A new
// interface is told by its index (/sys/class/net/NAME/ifindex), so one
// deleted and made again between two polls is reopened too. Capture files
// have no link.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "capture/port.h"

namespace skyprobe {

enum class LinkStatus : uint8_t { kUp = 0, kDown = 1, kGone = 2 };

struct LinkReading {
  LinkStatus status = LinkStatus::kUp;
  uint32_t speed_mbps = 0;  // 0: not known (kernel interfaces, some PMDs)
  int64_t ifindex = 0;      // an --iface's kernel index (0: not known)
};

// An --iface's link from its operstate text ("up\n"), or gone when there is
// none (the interface does not exist).
LinkReading KernelLinkFrom(const std::string* operstate);

class LinkWatch {
 public:
  // The live ports of `ports` (one entry a port, files left out), read now.
  LinkWatch(const Ports& ports, bool quiet);

  // Reads every port again; a change is said on stderr (unless quiet). A
  // reopenable port whose interface is back is reopened here (ReopenPort:
  // this thread waits for its poller's answer, a millisecond or so).
  void Poll();

  // portP_link_up (1/0) and portP_link_downs (times it went from up to
  // down or away; a port down at start is not counted) of every watched port.
  template <class Summary>
  void AddTo(Summary* s) const {
    for (const auto& p : ports_) {
      s->Add("port" + std::to_string(p->port_id) + "_link_up",
             p->up.load(std::memory_order_relaxed) ? 1 : 0);
      s->Add("port" + std::to_string(p->port_id) + "_link_downs",
             p->downs.load(std::memory_order_relaxed));
    }
  }

  size_t size() const { return ports_.size(); }

 private:
  struct Watched {
    uint16_t port_id = 0;
    bool kernel = false;          // --iface: the kernel's operstate
    std::string name;             // the interface or device, for messages and /sys
    QueuePause* pause = nullptr;  // reopenable (RxQueueSpec::pause)
    bool reopen_failed_said = false;
    LinkReading last;
    std::atomic<bool> up{true};
    std::atomic<uint64_t> downs{0};
  };
  LinkReading Read(const Watched& w) const;
  void Say(const Watched& w, const LinkReading& now, bool at_start) const;
  void Reopen(Watched* w, const LinkReading& now);

  std::vector<std::unique_ptr<Watched>> ports_;
  bool quiet_;
};

}  // namespace skyprobe
