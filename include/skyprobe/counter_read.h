// counter_read.h: reading another lcore's counters while it runs.
//
// Owner: none (header-only). The writer is one lcore that bumps plain
// uint64_t fields (`++c.rx_packets`, no atomics, no fences: the hot path pays
// nothing); readers are the control lcore (summary, --stats-interval), gRPC
// threads (Stats) and the metrics endpoint's thread (a scrape).
//
//   const WorkerCounters w = RelaxedCopy(worker.counters());
//   total += w.rx_packets;
//
// Why this is safe enough, and what it promises: every field is an aligned
// 64-bit word. On x86-64 (and AArch64) an aligned 8-byte store and load are
// single-copy atomic, and the compiler writes a counter with one store (it may
// keep it in a register for a while, which only delays it). The reader loads
// each word with a relaxed atomic load, so the compiler can neither tear nor
// cache nor invent the read: each value is one the writer stored, and each
// grows monotonically from reading to reading. Nothing orders the words with
// respect to each other: totals taken from several fields may be a burst apart
// while the lcore runs, and are exact once it has stopped (the summary at
// exit). The C++ memory model calls the writer's plain store racing with
// these loads a data race; ThreadSanitizer would say so too. Making the
// writer's side atomic costs a locked or at least ordered store per packet,
// which is what the data path must not pay.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace skyprobe {

// A copy of a struct of uint64_t counters (arrays of them allowed), one
// relaxed atomic load per 8-byte word.
template <typename T>
T RelaxedCopy(const T& src) noexcept {
  static_assert(std::is_trivially_copyable_v<T>, "counters are plain words");
  static_assert(sizeof(T) % sizeof(uint64_t) == 0 && alignof(T) >= alignof(uint64_t),
                "counters are aligned 64-bit words");
  T out;
  auto* d = reinterpret_cast<uint64_t*>(&out);
  const auto* s = reinterpret_cast<const uint64_t*>(&src);
  for (size_t i = 0; i < sizeof(T) / sizeof(uint64_t); ++i) {
    d[i] = __atomic_load_n(s + i, __ATOMIC_RELAXED);
  }
  return out;
}

// One counter word, read the same way.
inline uint64_t RelaxedRead(const uint64_t& c) noexcept {
  return __atomic_load_n(&c, __ATOMIC_RELAXED);
}

}  // namespace skyprobe
