// mapping_guard.h: a mapped capture file that another program cuts short
// while the probe reads it (tcpdump -W reusing its files, a copy over it)
// must not kill the probe. The kernel sends SIGBUS to the first read of a
// mapped page wholly past the file's new end, and SIGBUS's default is to end
// the process. A guarded mapping's SIGBUS maps zero pages over the rest of
// the mapping (the read that faulted, and every later one, reads zeros) and
// notes the fault; the reader (capture_file.h) sees the note at its next
// record, asks the file's size (MappingFileSize), and ends the file there
// with an error instead of reading zeros as frames.
//
// Owner: Guard and Unguard on the thread that maps and unmaps (the main
// thread at start-up and exit); the handler on whichever thread faulted (the
// reader, or a worker parsing a frame it was handed); the fault note read by
// the reader. The handler only reads the table of guarded ranges and writes
// their fault notes (atomics), and calls mmap and nothing else.
//
//   const int slot = GuardMapping(base, size);   // -1: not guarded
//   const std::atomic<size_t>* note = MappingFaultNote(slot);
//   if (note->load() < end_of_what_was_read) ... MappingFileSize(fd) ...
//   UnguardMapping(slot);                        // before munmap
//
// A SIGBUS outside every guarded range goes to the handler that was there
// before (the default: the process ends, as it would have).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace skyprobe {

namespace mapping_guard_internal {
struct Range {
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};  // 0: a free slot
  // The offset from `begin` of the lowest page that faulted; SIZE_MAX: none.
  std::atomic<size_t> fault_at{SIZE_MAX};
};
inline constexpr int kRanges = 4096;
extern Range g_ranges[kRanges];
}  // namespace mapping_guard_internal

// Guards [base, base + size), a file's mapping (page aligned, as mmap gives
// it); installs the handler on first use. -1 when every slot is
// taken (the mapping is then unguarded, as before).
int GuardMapping(const void* base, size_t size);

// The slot's range is no longer guarded (before its munmap).
void UnguardMapping(int slot);

// The slot's fault note: the offset in its range of the lowest page a read
// faulted on (the file was cut short: from there on the range reads zeros),
// or SIZE_MAX; read in place (a reader keeps the pointer).
inline const std::atomic<size_t>* MappingFaultNote(int slot) noexcept {
  return &mapping_guard_internal::g_ranges[slot].fault_at;
}

// The size of the file open at `fd` now (fstat), or -1.
int64_t MappingFileSize(int fd) noexcept;

}  // namespace skyprobe
