// timer_wheel.h: a hashed timing wheel over flow slots, with lazy re-arming.
//
// Owner: the RX lcore that owns the shard. Links live in FlowHot (no
// allocation; the line a due timer reads anyway); a flow sits in the slot of
// its deadline tick. Packets do not
// touch the wheel: when a slot comes due, each flow's real deadline is
// recomputed from its Last and it is either expired or re-armed. A flow is
// therefore expired at most one tick after its deadline.
//
//   wheel.Arm(pos, now_ns + expire_ns);
//   wheel.Advance(now_ns, budget, [&](uint32_t pos) { ... Arm again or expire ... });
#pragma once

#include <cassert>
#include <cstdint>
#include <vector>

#include "table/flow_record.h"

namespace skyprobe {

class TimerWheel {
 public:
  // `tick_ns` is the granularity (the maximum lateness); `slots` a power of
  // two below 2^16 (FlowHot::wheel_slot holds slot + 1).
  TimerWheel(FlowHot* hot, int64_t tick_ns, uint32_t slots)
      : hot_(hot), tick_ns_(tick_ns), mask_(slots - 1), heads_(slots, kNoIndex) {
    assert(slots < 0xffff && (slots & (slots - 1)) == 0);
  }

  // Starts the clock: ticks before `now_ns` are considered done.
  void Start(int64_t now_ns) {
    next_tick_ = now_ns / tick_ns_;
    empty_until_ = next_tick_;
  }
  bool started() const { return next_tick_ >= 0; }

  void Arm(uint32_t pos, int64_t deadline_ns) noexcept {
    int64_t t = (deadline_ns + tick_ns_ - 1) / tick_ns_;  // due once now >= t * tick
    if (t < next_tick_) t = next_tick_;
    const int64_t horizon = next_tick_ + static_cast<int64_t>(mask_);
    if (t > horizon) t = horizon;  // re-checked then, and re-armed further
    if (t < empty_until_) empty_until_ = t;
    const uint32_t slot = static_cast<uint32_t>(t) & mask_;
    FlowHot& w = hot_[pos];
    w.wheel_slot = static_cast<uint16_t>(slot + 1);
    w.wheel_prev = kNoIndex;
    w.wheel_next = heads_[slot];
    if (w.wheel_next != kNoIndex) hot_[w.wheel_next].wheel_prev = pos;
    heads_[slot] = pos;
  }

  void Disarm(uint32_t pos) noexcept {
    FlowHot& w = hot_[pos];
    if (w.wheel_slot == 0) return;
    if (w.wheel_prev != kNoIndex) {
      hot_[w.wheel_prev].wheel_next = w.wheel_next;
    } else {
      heads_[w.wheel_slot - 1u] = w.wheel_next;
    }
    if (w.wheel_next != kNoIndex) hot_[w.wheel_next].wheel_prev = w.wheel_prev;
    w.wheel_slot = 0;
    w.wheel_prev = w.wheel_next = kNoIndex;
  }

  // Calls `due(pos)` for each flow in every slot whose tick has come, after
  // disarming it; `due` must expire the flow or Arm() it with a deadline after
  // `now_ns`. Stops after `budget` flows; returns false if work is left.
  template <typename Fn>
  bool Advance(int64_t now_ns, uint32_t budget, Fn&& due) noexcept {
    const int64_t now_tick = now_ns / tick_ns_;
    if (now_tick - next_tick_ > static_cast<int64_t>(mask_)) {
      // The clock jumped past the whole wheel (idle link, gap in a pcap):
      // every armed flow is due or needs re-arming; visit them all once.
      return Sweep(now_ns, now_tick, due);
    }
    while (next_tick_ <= now_tick) {
      uint32_t& head = heads_[static_cast<uint32_t>(next_tick_) & mask_];
      while (head != kNoIndex) {
        if (budget-- == 0) return false;
        const uint32_t pos = head;
        Disarm(pos);
        due(pos);
      }
      ++next_tick_;
    }
    return true;
  }

  // The first flow of the earliest non-empty slot (close to the least
  // recently seen one), or kNoIndex when the wheel is empty. Amortised O(1):
  // the scan starts where the last one found a flow (the slots before it
  // were empty then, and an Arm() before it moves the mark back), so a
  // flood of new flows at the table limit, each evicting the oldest, does
  // not walk the wheel's empty slots again for every packet.
  uint32_t Oldest() noexcept {
    if (empty_until_ < next_tick_) empty_until_ = next_tick_;
    const int64_t end = next_tick_ + static_cast<int64_t>(mask_);
    for (int64_t t = empty_until_; t <= end; ++t) {
      const uint32_t head = heads_[static_cast<uint32_t>(t) & mask_];
      if (head != kNoIndex) {
        empty_until_ = t;
        return head;
      }
    }
    empty_until_ = end + 1;  // nothing armed at all
    return kNoIndex;
  }

 private:
  template <typename Fn>
  bool Sweep(int64_t /*now_ns*/, int64_t now_tick, Fn&& due) noexcept {
    // Detach every flow into one list, move the clock, then let `due` decide.
    uint32_t list = kNoIndex;
    for (uint32_t& head : heads_) {
      while (head != kNoIndex) {
        const uint32_t pos = head;
        Disarm(pos);
        hot_[pos].wheel_next = list;
        list = pos;
      }
    }
    next_tick_ = now_tick;
    empty_until_ = now_tick;
    while (list != kNoIndex) {
      const uint32_t pos = list;
      list = hot_[pos].wheel_next;
      hot_[pos].wheel_next = kNoIndex;
      due(pos);
    }
    ++next_tick_;
    return true;
  }

  FlowHot* hot_;
  int64_t tick_ns_;
  uint32_t mask_;
  int64_t next_tick_ = -1;
  // Every slot of the ticks in [next_tick_, empty_until_) is empty (Oldest).
  int64_t empty_until_ = -1;
  std::vector<uint32_t> heads_;
};

}  // namespace skyprobe
