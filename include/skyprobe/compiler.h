// compiler.h: branch hints, prefetch and alignment helpers for hot-path code.
//
// Owner: none (header-only, stateless). Use only on RX-lcore code paths;
// control-plane code should not need them.
//
//   if (SKYPROBE_UNLIKELY(len < 14)) return ParseError::kTooShort;
//   SKYPROBE_PREFETCH0(next_packet_data);
#pragma once

#define SKYPROBE_LIKELY(x) __builtin_expect(!!(x), 1)
#define SKYPROBE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SKYPROBE_PREFETCH0(p) __builtin_prefetch((p), 0, 3)
#define SKYPROBE_PREFETCH_W(p) __builtin_prefetch((p), 1, 3)
#define SKYPROBE_CACHE_LINE 64
#define SKYPROBE_CACHE_ALIGNED alignas(SKYPROBE_CACHE_LINE)
#define SKYPROBE_ALWAYS_INLINE inline __attribute__((always_inline))
