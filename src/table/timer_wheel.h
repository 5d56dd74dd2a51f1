// timer_wheel.h: a hashed timing wheel over flow slots, with lazy re-arming.
//
// Owner: the RX lcore that owns the shard. Links live in FlowHot (no
// allocation; the line a due timer reads anyway); a flow sits in the slot of
// its deadline tick. Packets do not touch the wheel: when a slot comes due,
// each flow's real deadline is recomputed from its Last and it is either
// expired or re-armed. A flow is therefore expired at most one tick after its
// deadline, once the worker has had the time to visit it (Advance is metered
// by a WorkBudget and resumes where it stopped).
//
// A bitmap of the non-empty slots (one bit a slot, one summary bit a word)
// finds the earliest armed flow in constant time: eviction at the table
// limit takes its victim there without walking empty slots.
//
//   wheel.Arm(pos, now_ns + expire_ns);
//   wheel.Advance(now_ns, &budget, [&](uint32_t pos) { ... Arm again or expire ... });
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "table/flow_record.h"
#include "table/work_budget.h"

namespace skyprobe {

class TimerWheel {
 public:
  // `tick_ns` is the granularity (the maximum lateness); `slots` a power of
  // two, at least 64 and below 2^16 (FlowHot::wheel_slot holds slot + 1).
  TimerWheel(FlowHot* hot, int64_t tick_ns, uint32_t slots)
      : hot_(hot),
        tick_ns_(tick_ns),
        mask_(slots - 1),
        heads_(slots, kNoIndex),
        bits_(slots / 64, 0),
        summary_((slots / 64 + 63) / 64, 0) {
    assert(slots >= 64 && slots < 0xffff && (slots & (slots - 1)) == 0);
  }

  // Starts the clock: ticks before `now_ns` are considered done.
  void Start(int64_t now_ns) { next_tick_ = now_ns / tick_ns_; }
  bool started() const { return next_tick_ >= 0; }

  // Returns the time the flow's slot comes due (t * tick, at most
  // HorizonNs()): the owner's next due time may have to come earlier.
  int64_t Arm(uint32_t pos, int64_t deadline_ns) noexcept {
    int64_t t = (deadline_ns + tick_ns_ - 1) / tick_ns_;  // due once now >= t * tick
    if (t < next_tick_) t = next_tick_;
    const int64_t horizon = next_tick_ + static_cast<int64_t>(mask_);
    if (t > horizon) t = horizon;  // re-checked then, and re-armed further
    Link(pos, static_cast<uint32_t>(t) & mask_);
    return t * tick_ns_;
  }

  // Puts `pos` back first in the slot being visited (Advance stopped on it:
  // the next call visits it first).
  void Retry(uint32_t pos) noexcept { Link(pos, static_cast<uint32_t>(next_tick_) & mask_); }

  // When the earliest armed flow's slot comes due (INT64_MAX: none armed):
  // Advance to an earlier time visits nothing. Constant time (the bitmap).
  int64_t NextDueNs() const noexcept {
    if (next_tick_ < 0) return INT64_MIN;
    const uint32_t from = static_cast<uint32_t>(next_tick_) & mask_;
    uint32_t slot = FindFrom(from);
    if (slot == kNoIndex && from != 0) slot = FindFrom(0);
    if (slot == kNoIndex) return INT64_MAX;
    return (next_tick_ + ((slot - from) & mask_)) * tick_ns_;
  }
  // The latest time a flow armed now may wait for its first visit.
  int64_t HorizonNs() const noexcept {
    return (next_tick_ + static_cast<int64_t>(mask_)) * tick_ns_;
  }

  void Disarm(uint32_t pos) noexcept {
    FlowHot& w = hot_[pos];
    if (w.wheel_slot == 0) return;
    const uint32_t slot = w.wheel_slot - 1u;
    if (w.wheel_prev != kNoIndex) {
      hot_[w.wheel_prev].wheel_next = w.wheel_next;
    } else {
      heads_[slot] = w.wheel_next;
      if (w.wheel_next == kNoIndex) MarkEmpty(slot);
    }
    if (w.wheel_next != kNoIndex) hot_[w.wheel_next].wheel_prev = w.wheel_prev;
    w.wheel_slot = 0;
    w.wheel_prev = w.wheel_next = kNoIndex;
  }

  // What one visit costs the budget (a FlowHot line, maybe a record).
  static constexpr uint32_t kVisitCost = 64;

  // Calls `due(pos)` for each flow in every slot whose tick has come, after
  // disarming it; `due` must expire the flow or Arm() it with a deadline after
  // `now_ns`, or (a `due` returning bool) Retry() it and return false to stop
  // here. Stops when `budget` is spent; returns false if work is left (the
  // next call resumes with the same slot).
  template <typename Fn>
  bool Advance(int64_t now_ns, WorkBudget* budget, Fn&& due) noexcept {
    const int64_t now_tick = now_ns / tick_ns_;
    if (now_tick - next_tick_ > static_cast<int64_t>(mask_)) {
      // The clock jumped past the whole wheel (idle link, gap in a pcap):
      // every armed flow is due or needs re-arming. One turn of the wheel
      // ending at now visits every slot once, with the same budget as any
      // other tick (flows re-armed on the way land in the turn's last slot
      // and are visited once more there).
      next_tick_ = now_tick - static_cast<int64_t>(mask_);
    }
    while (next_tick_ <= now_tick) {
      uint32_t& head = heads_[static_cast<uint32_t>(next_tick_) & mask_];
      while (head != kNoIndex) {
        if (budget->Charge(kVisitCost)) return false;
        const uint32_t pos = head;
        Disarm(pos);
        if constexpr (std::is_void_v<decltype(due(pos))>) {
          due(pos);
        } else if (!due(pos)) {
          return false;
        }
      }
      ++next_tick_;
    }
    return true;
  }

  // Forgets every armed flow at once. The flows' own links are the
  // caller's to clear (FlowTable::Retire, which frees them all).
  void Clear() noexcept {
    std::fill(heads_.begin(), heads_.end(), kNoIndex);
    std::fill(bits_.begin(), bits_.end(), 0);
    std::fill(summary_.begin(), summary_.end(), 0);
  }

  // The first flow of the earliest non-empty slot (close to the least
  // recently seen one), or kNoIndex when the wheel is empty. Constant time:
  // two or three words of the bitmap.
  uint32_t Oldest() const noexcept {
    if (next_tick_ < 0) return kNoIndex;
    const uint32_t from = static_cast<uint32_t>(next_tick_) & mask_;
    uint32_t slot = FindFrom(from);
    if (slot == kNoIndex && from != 0) slot = FindFrom(0);  // wrapped around
    return slot == kNoIndex ? kNoIndex : heads_[slot];
  }

 private:
  void Link(uint32_t pos, uint32_t slot) noexcept {
    FlowHot& w = hot_[pos];
    w.wheel_slot = static_cast<uint16_t>(slot + 1);
    w.wheel_prev = kNoIndex;
    w.wheel_next = heads_[slot];
    if (w.wheel_next != kNoIndex) {
      hot_[w.wheel_next].wheel_prev = pos;
    } else {
      MarkNonEmpty(slot);
    }
    heads_[slot] = pos;
  }

  void MarkNonEmpty(uint32_t slot) noexcept {
    const uint32_t w = slot >> 6;
    bits_[w] |= 1ull << (slot & 63);
    summary_[w >> 6] |= 1ull << (w & 63);
  }
  void MarkEmpty(uint32_t slot) noexcept {
    const uint32_t w = slot >> 6;
    bits_[w] &= ~(1ull << (slot & 63));
    if (bits_[w] == 0) summary_[w >> 6] &= ~(1ull << (w & 63));
  }
  // The first non-empty slot at or after `from` (no wrap), or kNoIndex.
  uint32_t FindFrom(uint32_t from) const noexcept {
    uint32_t w = from >> 6;
    const uint64_t here = bits_[w] & (~0ull << (from & 63));
    if (here != 0) return (w << 6) + static_cast<uint32_t>(__builtin_ctzll(here));
    // The next non-empty word after w, through the summary.
    ++w;
    for (uint32_t s = w >> 6; s < summary_.size(); ++s) {
      uint64_t m = summary_[s];
      if (s == (w >> 6)) m &= (w & 63) != 0 ? (~0ull << (w & 63)) : ~0ull;
      if (m != 0) {
        const uint32_t word = (s << 6) + static_cast<uint32_t>(__builtin_ctzll(m));
        return (word << 6) + static_cast<uint32_t>(__builtin_ctzll(bits_[word]));
      }
    }
    return kNoIndex;
  }

  FlowHot* hot_;
  int64_t tick_ns_;
  uint32_t mask_;
  int64_t next_tick_ = -1;
  std::vector<uint32_t> heads_;
  std::vector<uint64_t> bits_;     // slot s non-empty <=> bit s
  std::vector<uint64_t> summary_;  // word w of bits_ non-zero <=> bit w
};

}  // namespace skyprobe
