// idle_backoff.h: how a polling thread rests when it finds no work.
//
// Owner: one per polling loop (RX worker, dispatcher, control lcore, --hold);
// plain state, one thread. A loop calls Idle() after an iteration that found
// nothing and Work() after one that did. Busy: it spins (a pause, or a yield
// every 64 idle calls on a shared CPU). Adaptive: it spins `spins` times, then
// sleeps, doubling the sleep from `first_sleep_us` up to `max_sleep_us`, so an
// idle thread costs a few wake-ups a millisecond instead of a core, and work
// arriving meanwhile waits at most about `max_sleep_us` (plus the kernel's
// wake-up latency) before it is picked up.
//
//   IdleBackoff idle(IdleBackoff::Adaptive(500));
//   for (;;) { if (Poll() == 0) idle.Idle(); else idle.Work(); }
#pragma once

#include <sched.h>
#include <time.h>

#include <cstdint>

namespace skyprobe {

// The longest sleep of a thread that polls ports: frames arriving meanwhile
// wait in the port's ring at most this (plus the kernel's wake-up latency,
// about 50-60 us with the default timer slack), well within 1 ms.
inline constexpr uint32_t kMaxIdleSleepUs = 500;
// ... of a thread nothing arrives at (the control lcore, a --hold worker after
// its input ended): a record or a query waits at most about 1 ms.
inline constexpr uint32_t kMaxRestSleepUs = 1000;

class IdleBackoff {
 public:
  struct Options {
    bool adaptive = false;
    bool shares_cpu = false;  // busy: yield now and then (oversubscribed lcore)
    uint32_t spins = 1024;    // idle calls spent spinning before the first sleep
    uint32_t first_sleep_us = 10;
    uint32_t max_sleep_us = 500;
  };

  static Options Busy(bool shares_cpu) {
    return Options{.adaptive = false, .shares_cpu = shares_cpu};
  }
  static Options Adaptive(uint32_t max_sleep_us) {
    return Options{.adaptive = true, .max_sleep_us = max_sleep_us};
  }

  explicit IdleBackoff(Options o) : o_(o), sleep_us_(o.first_sleep_us) {}

  // Found work: the next idle call spins again.
  void Work() noexcept {
    idle_ = 0;
    sleep_us_ = o_.first_sleep_us;
  }

  // Found nothing. True when it slept (not just spun). `max_sleep_us` caps
  // this one sleep (a caller with a deadline, e.g. a paced replay's next
  // frame); the backoff goes on as usual.
  bool Idle(uint32_t max_sleep_us = UINT32_MAX) noexcept {
    if (!o_.adaptive) {
      if (o_.shares_cpu && ++idle_ > 64) {
        idle_ = 0;
        sched_yield();
      } else {
        Pause();
      }
      return false;
    }
    if (idle_ < o_.spins) {
      ++idle_;
      Pause();
      return false;
    }
    const uint32_t us = sleep_us_ < max_sleep_us ? sleep_us_ : max_sleep_us;
    const timespec ts{0, static_cast<long>(us) * 1000};
    clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr);
    ++sleeps_;
    sleep_us_ = sleep_us_ * 2 > o_.max_sleep_us ? o_.max_sleep_us : sleep_us_ * 2;
    return true;
  }

  bool adaptive() const { return o_.adaptive; }
  // Sleeps so far (for tests and counters).
  uint64_t sleeps() const { return sleeps_; }

 private:
  static void Pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
  }

  Options o_;
  uint32_t idle_ = 0;
  uint32_t sleep_us_;
  uint64_t sleeps_ = 0;
};

}  // namespace skyprobe
