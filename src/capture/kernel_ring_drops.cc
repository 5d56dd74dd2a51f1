#include "capture/kernel_ring_drops.h"

#include <dirent.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace skyprobe {
namespace {

struct Watched {
  std::vector<int> fds;  // empty once forgotten
  uint64_t drops = 0;    // accumulated tp_drops of every socket
};

std::mutex mu;
std::map<uint16_t, Watched>* watched = new std::map<uint16_t, Watched>;  // never freed
// Fast answer for probes that watch nothing (files, NICs, libpcap).
std::atomic<bool> any_watched{false};

bool IsRingSocket(int fd, int if_index) {
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  int domain = 0;
  socklen_t len = sizeof(domain);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_PACKET) {
    return false;
  }
  int version = -1;
  len = sizeof(version);
  if (getsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, &len) != 0 || version != TPACKET_V2) {
    return false;
  }
  sockaddr_ll sll{};
  len = sizeof(sll);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&sll), &len) != 0) return false;
  return sll.sll_ifindex == if_index;
}

// Adds the drops counted since the last read of each socket (the read resets them).
void ReadLocked(Watched* w) {
  for (const int fd : w->fds) {
    tpacket_stats st{};
    socklen_t len = sizeof(st);
    if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) w->drops += st.tp_drops;
  }
}

}  // namespace

std::vector<int> FindKernelRingSockets(int if_index, const std::set<int>& taken) {
  std::vector<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  const int own = dirfd(dir);
  while (const dirent* e = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == own || taken.count(static_cast<int>(fd))) {
      continue;
    }
    if (IsRingSocket(static_cast<int>(fd), if_index)) fds.push_back(static_cast<int>(fd));
  }
  closedir(dir);
  std::sort(fds.begin(), fds.end());
  return fds;
}

absl::Status WatchKernelRings(uint16_t port_id, int if_index, uint16_t queues,
                              const std::string& name) {
  std::lock_guard<std::mutex> lock(mu);
  std::set<int> taken;
  for (const auto& [id, w] : *watched) taken.insert(w.fds.begin(), w.fds.end());
  std::vector<int> fds = FindKernelRingSockets(if_index, taken);
  if (fds.size() < queues) {
    return absl::InternalError(absl::StrCat(
        "port ", port_id, " (", name, "): found ", fds.size(), " of its ", queues,
        " AF_PACKET ring socket(s): the kernel's drops on its rings could not be counted"));
  }
  // Another port's sockets on the same interface, opened after this port's
  // (higher descriptors), are left to that port.
  fds.resize(queues);
  Watched& w = (*watched)[port_id];
  w.fds = std::move(fds);
  // Drops since EAL opened the sockets count too: frames queued in the rings
  // before the workers started are the probe's to read, and so were those.
  ReadLocked(&w);
  any_watched.store(true, std::memory_order_release);
  return absl::OkStatus();
}

uint64_t KernelRingDrops(uint16_t port_id) {
  if (!any_watched.load(std::memory_order_acquire)) return 0;
  std::lock_guard<std::mutex> lock(mu);
  const auto it = watched->find(port_id);
  if (it == watched->end()) return 0;
  ReadLocked(&it->second);
  return it->second.drops;
}

void ForgetKernelRings(uint16_t port_id) {
  std::lock_guard<std::mutex> lock(mu);
  const auto it = watched->find(port_id);
  if (it == watched->end()) return;
  ReadLocked(&it->second);
  it->second.fds.clear();
}

}  // namespace skyprobe
