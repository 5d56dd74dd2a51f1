#include "capture/link_watch.h"

#include <rte_ethdev.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

namespace skyprobe {
namespace {

std::optional<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

LinkReading KernelLinkFrom(const std::string* operstate) {
  LinkReading r;
  if (operstate == nullptr) {
    r.status = LinkStatus::kGone;
    return r;
  }
  std::string s = *operstate;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  // RFC 2863's states as the kernel names them; "unknown": the driver
  // reports none (lo, tun, some virtual devices), and frames flow.
  r.status = s == "up" || s == "unknown" ? LinkStatus::kUp : LinkStatus::kDown;
  return r;
}

LinkWatch::LinkWatch(const Ports& ports, bool quiet) : quiet_(quiet) {
  for (const RxQueueSpec& q : ports.queues) {
    if (q.is_file || q.queue_id != 0) continue;
    auto w = std::make_unique<Watched>();
    w->port_id = q.port_id;
    w->kernel = q.is_kernel;
    w->name = q.name;
    w->pause = q.pause;
    w->last = Read(*w);
    const bool up = w->last.status == LinkStatus::kUp;
    w->up.store(up, std::memory_order_relaxed);
    if (!up) Say(*w, w->last, true);
    ports_.push_back(std::move(w));
  }
}

LinkReading LinkWatch::Read(const Watched& w) const {
  if (w.kernel) {
    const std::string dir = "/sys/class/net/" + w.name;
    const std::optional<std::string> state = ReadSmallFile(dir + "/operstate");
    LinkReading r = KernelLinkFrom(state ? &*state : nullptr);
    const std::optional<std::string> index = ReadSmallFile(dir + "/ifindex");
    if (r.status != LinkStatus::kGone && index) r.ifindex = std::atoll(index->c_str());
    return r;
  }
  rte_eth_link link{};
  LinkReading r;
  if (rte_eth_link_get_nowait(w.port_id, &link) != 0) return w.last;  // no news
  r.status = link.link_status == RTE_ETH_LINK_UP ? LinkStatus::kUp : LinkStatus::kDown;
  r.speed_mbps = link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed;
  return r;
}

void LinkWatch::Say(const Watched& w, const LinkReading& now, bool at_start) const {
  if (quiet_) return;
  std::string speed;
  if (now.status == LinkStatus::kUp && now.speed_mbps != 0) {
    speed = " (" + std::to_string(now.speed_mbps) + " Mb/s)";
  }
  if (now.status == LinkStatus::kGone) {
    std::fprintf(stderr, "skyprobe: port %u (%s): the interface is gone: %s\n", w.port_id,
                 w.name.c_str(),
                 w.pause != nullptr ? "nothing is read from it until an interface of that name "
                                      "is back, then it is reopened"
                                    : "nothing more is read from it (restart the probe once it "
                                      "is back)");
    return;
  }
  const char* what = "";
  if (now.status == LinkStatus::kDown) {
    what = at_start ? ": no frames until it comes up" : ": no frames meanwhile";
  }
  std::fprintf(stderr, "skyprobe: port %u (%s): link %s%s%s%s\n", w.port_id, w.name.c_str(),
               now.status == LinkStatus::kUp ? "up" : "down", at_start ? " at start" : "",
               speed.c_str(), what);
}

void LinkWatch::Reopen(Watched* w, const LinkReading& now) {
  const absl::Status reopened = ReopenPort(w->port_id, w->pause);
  if (!reopened.ok()) {
    // Said once; tried again at each poll while the interface is there.
    if (!quiet_ && !w->reopen_failed_said) {
      std::fprintf(stderr,
                   "skyprobe: port %u (%s): the interface is back but could not be reopened "
                   "(%s): tried again each second\n",
                   w->port_id, w->name.c_str(), std::string(reopened.message()).c_str());
    }
    w->reopen_failed_said = true;
    return;
  }
  w->reopen_failed_said = false;
  w->last = now;
  w->up.store(now.status == LinkStatus::kUp, std::memory_order_relaxed);
  if (!quiet_) {
    std::fprintf(stderr, "skyprobe: port %u (%s): the interface is back: reopened, link %s\n",
                 w->port_id, w->name.c_str(), now.status == LinkStatus::kUp ? "up" : "down");
  }
}

void LinkWatch::Poll() {
  for (const auto& w : ports_) {
    const bool gone = w->last.status == LinkStatus::kGone;
    if (gone && w->pause == nullptr) continue;  // its socket is dead
    LinkReading now = Read(*w);
    if (gone) {
      if (now.status != LinkStatus::kGone) Reopen(w.get(), now);
      continue;
    }
    // Deleted and made again since the last poll: gone, then back.
    std::optional<LinkReading> back;
    if (w->pause != nullptr && now.status != LinkStatus::kGone && now.ifindex != 0 &&
        w->last.ifindex != 0 && now.ifindex != w->last.ifindex) {
      back = now;
      now.status = LinkStatus::kGone;
    }
    if (now.status != w->last.status || now.speed_mbps != w->last.speed_mbps) {
      if (now.status != LinkStatus::kUp && w->last.status == LinkStatus::kUp) {
        w->downs.fetch_add(1, std::memory_order_relaxed);
      }
      w->up.store(now.status == LinkStatus::kUp, std::memory_order_relaxed);
      w->last = now;
      Say(*w, now, false);
    }
    if (back) Reopen(w.get(), *back);
  }
}

}  // namespace skyprobe
