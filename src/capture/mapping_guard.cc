#include "capture/mapping_guard.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>

namespace skyprobe {
namespace mapping_guard_internal {
Range g_ranges[kRanges];
}  // namespace mapping_guard_internal

namespace {

using mapping_guard_internal::g_ranges;
using mapping_guard_internal::kRanges;

struct sigaction g_previous;
uintptr_t g_page = 4096;
std::atomic<int> g_high{0};  // slots below this may be in use

void OnSigbus(int sig, siginfo_t* info, void* context) {
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  const int high = g_high.load(std::memory_order_acquire);
  for (int i = 0; i < high; ++i) {
    mapping_guard_internal::Range& r = g_ranges[i];
    const uintptr_t begin = r.begin.load(std::memory_order_relaxed);
    const uintptr_t end = r.end.load(std::memory_order_acquire);
    if (end == 0 || addr < begin || addr >= end) continue;
    // Zeros from the faulting page to the mapping's end: this read and the
    // later ones go on, and the reader sees the note.
    const uintptr_t page = addr & ~(g_page - 1);
    const uintptr_t last = (end + g_page - 1) & ~(g_page - 1);
    // The address is the mapping's own (a page of it): no pointer of the
    // program's is made from an integer here, only the kernel is told where.
    void* p = mmap(reinterpret_cast<void*>(page),  // NOLINT(performance-no-int-to-ptr)
                   last - page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) break;  // as if unguarded
    const size_t offset = page - begin;
    size_t seen = r.fault_at.load(std::memory_order_relaxed);
    while (offset < seen &&
           !r.fault_at.compare_exchange_weak(seen, offset, std::memory_order_relaxed)) {
    }
    return;
  }
  // Not ours: the handler before ours, or the default action (reinstated;
  // the read faults again on return and ends the process as it would have).
  if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
    g_previous.sa_sigaction(sig, info, context);
    return;
  }
  if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN &&
      g_previous.sa_handler != nullptr) {
    g_previous.sa_handler(sig);
    return;
  }
  signal(SIGBUS, SIG_DFL);
}

void Install() {
  g_page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  struct sigaction sa = {};
  sa.sa_sigaction = OnSigbus;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &g_previous);
}

}  // namespace

int GuardMapping(const void* base, size_t size) {
  static std::once_flag installed;
  std::call_once(installed, Install);
  const auto begin = reinterpret_cast<uintptr_t>(base);
  for (int i = 0; i < kRanges; ++i) {
    mapping_guard_internal::Range& r = g_ranges[i];
    uintptr_t free_end = 0;
    // Claimed with a placeholder end, so that no other caller takes it.
    if (!r.end.compare_exchange_strong(free_end, 1, std::memory_order_acq_rel)) continue;
    r.fault_at.store(SIZE_MAX, std::memory_order_relaxed);
    r.begin.store(begin, std::memory_order_relaxed);
    r.end.store(begin + size, std::memory_order_release);
    int high = g_high.load(std::memory_order_relaxed);
    while (high < i + 1 && !g_high.compare_exchange_weak(high, i + 1, std::memory_order_acq_rel)) {
    }
    return i;
  }
  return -1;
}

void UnguardMapping(int slot) {
  if (slot < 0 || slot >= kRanges) return;
  g_ranges[slot].end.store(0, std::memory_order_release);
}

int64_t MappingFileSize(int fd) noexcept {
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return -1;
  return static_cast<int64_t>(st.st_size);
}

}  // namespace skyprobe
