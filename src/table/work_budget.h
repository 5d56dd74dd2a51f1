// work_budget.h: how long a worker may spend on work that is not packets
// (timers, update ticks, defragmentation give-ups, queries) before it goes
// back to rx_burst: a deadline on a clock, the TSC in production.
//
// Owner: the thread that makes it (an RX lcore per loop iteration, the sFlow
// thread per batch); it is handed down to the table and the query port and
// never shared. Work is done in units whose cost the caller estimates in
// nanoseconds-ish "charge" units; the clock is read only once about
// kClockEvery units were charged, so cheap units (a UUID slot, ~1 ns) do not
// pay a clock read each while expensive ones (a record, ~300 ns) check it
// almost every time. The first check starts the clock: a budget that no work
// touches costs no clock read at all.
//
//   WorkBudget b = WorkBudget::For(cycles);         // from the first Charge
//   bool done = table.AdvanceClock(now_ns, &b);      // false: spent, resume next call
#pragma once

#include <rte_cycles.h>

#include <cstdint>

namespace skyprobe {

class WorkBudget {
 public:
  using Clock = uint64_t (*)(void* ctx);

  // No limit: Charge() never says spent (end of input, tests).
  static WorkBudget Unlimited() { return WorkBudget(); }
  // Nothing: Charge() always says spent (move a clock, do no work).
  static WorkBudget None() {
    WorkBudget b;
    b.unlimited_ = false;
    b.started_ = true;
    b.spent_ = true;
    return b;
  }
  // `duration` ticks of `clock` (TSC cycles by default) from the first Charge.
  static WorkBudget For(uint64_t duration, Clock clock = &Tsc, void* ctx = nullptr) {
    WorkBudget b;
    b.unlimited_ = false;
    b.duration_ = duration;
    b.clock_ = clock;
    b.ctx_ = ctx;
    return b;
  }

  // Accounts one unit of work about to be done, of about `cost` ns; true
  // when the budget is spent and the caller must stop before doing it (and
  // resume on a later call). The first call of a budget always lets one
  // unit through: every call makes progress.
  bool Charge(uint32_t cost) noexcept {
    if (unlimited_) return false;
    if (spent_) return true;
    if (!started_) {
      started_ = true;
      deadline_ = clock_(ctx_) + duration_;
      since_read_ = cost;
      return false;
    }
    since_read_ += cost;
    if (since_read_ < kClockEvery) return false;
    since_read_ = 0;
    spent_ = clock_(ctx_) >= deadline_;
    return spent_;
  }
  // True once a Charge said so (nothing more will be let through).
  bool spent() const { return spent_; }
  bool unlimited() const { return unlimited_; }

  // Charge units: rough costs in ns of the work units the budget meters.
  static constexpr uint32_t kClockEvery = 256;

  static uint64_t Tsc(void*) { return rte_rdtsc(); }

 private:
  WorkBudget() = default;

  bool unlimited_ = true;
  bool started_ = false;
  bool spent_ = false;
  uint32_t since_read_ = 0;
  uint64_t duration_ = 0;
  uint64_t deadline_ = 0;
  Clock clock_ = &Tsc;
  void* ctx_ = nullptr;
};

}  // namespace skyprobe
