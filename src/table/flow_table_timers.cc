// flow_table_timers.cc: the shard's clock: update ticks (one record per
// touched flow per window), idle and TCP-close expiry on the timer wheel,
// eviction and flush; every record leaves through the RecordSink here.

#include <algorithm>
#include <cstring>
#include <utility>

#include "table/flow_table.h"
#include "table/internal/flow_table_util.h"

namespace skyprobe {
namespace {

using table_internal::Ms;

// What update-tick work costs a WorkBudget (about ns): a record, or an
// entry skipped (a flow expired since it was touched; a table slot read by
// the scan after an overflow of the touched list).
constexpr uint32_t kRecordCost = 300;
constexpr uint32_t kSkipCost = 8;
// The clock stops here (year 2116): deadlines add an expire or update period
// (at most 2^32 s) to it without overflowing int64. Capture sources never
// come near (capture_clock.h keeps frame times to the present).
constexpr int64_t kClockMaxNs = INT64_MAX / 2;

}  // namespace

bool FlowTable::AdvanceClock(int64_t now_ns, WorkBudget* budget) noexcept {
  WorkBudget unlimited = WorkBudget::Unlimited();
  if (budget == nullptr) budget = &unlimited;
  if (SKYPROBE_UNLIKELY(now_ns > kClockMaxNs)) now_ns = kClockMaxNs;
  if (!clock_started_) {
    clock_started_ = true;
    now_ns_ = now_ns;
    wheel_->Start(now_ns);
    next_update_ns_ = now_ns + opts_.update_ns;
    last_tick_ms_ = Ms(now_ns);
  }
  // Work left by an earlier call is finished at that call's time before the
  // clock moves on: what is due at a time is done the same way however
  // many calls it takes (the records do not depend on the budgets).
  if (due_ns_ == kWorkLeft && !DoDueWork(budget)) return false;
  if (now_ns > now_ns_) now_ns_ = now_ns;
  if (now_ns_ < due_ns_) return true;  // nothing due yet: no work, nothing read
  return DoDueWork(budget);
}

bool FlowTable::DoDueWork(WorkBudget* budget) noexcept {
  // One budget for every kind of work, in this order: datagrams past their
  // timeout, the update tick, then the timer wheel. Each resumes where it
  // stopped on the next call, and each waits for the one before it: with
  // the tick's records stalled (no slot), an expiry must not overtake the
  // flow's UPDATE (records would depend on the consumer's speed). Kept
  // expired flows whose time is up go first (a prefix of their ring: cheap).
  if (kept_ != nullptr) AgeKept();
  due_ns_ = kWorkLeft;
  if (defrag_ != nullptr && !defrag_busy_ && !ExpireDatagrams(budget)) return false;
  if (report_active_ && !ContinueUpdateTick(budget)) return false;
  if (now_ns_ >= next_update_ns_) {
    StartUpdateTick(next_update_ns_);
    // Catch up over idle gaps without emitting empty windows, in one step:
    // a gap in a capture can be years of update periods.
    if (next_update_ns_ <= now_ns_) {
      next_update_ns_ += ((now_ns_ - next_update_ns_) / opts_.update_ns + 1) * opts_.update_ns;
    }
    if (!ContinueUpdateTick(budget)) return false;
  }
  if (!wheel_->Advance(now_ns_, budget, [this](uint32_t pos) { return OnTimer(pos); })) {
    return false;
  }
  due_ns_ = NextDueNs();
  return true;
}

int64_t FlowTable::NextDueNs() const noexcept {
  int64_t due = std::min(next_update_ns_, wheel_->NextDueNs());
  if (defrag_ != nullptr && defrag_->Oldest() != kNoIndex) {
    due = std::min(due, defrag_->entry(defrag_->Oldest()).created_ns + opts_.ip_defrag_timeout_ns);
  }
  if (kept_ != nullptr && !kept_->empty()) {
    due = std::min(due, kept_->Front().expired_ns + opts_.keep_expired_ns);
  }
  return due;
}

bool FlowTable::OnTimer(uint32_t pos) noexcept {
  const FlowHot& h = hot_[pos];
  const bool closed = Closed(h);
  const int64_t deadline = h.last_ns + (closed ? opts_.tcp_close_hold_ns : opts_.expire_ns);
  if (deadline > now_ns_) {
    wheel_->Arm(pos, deadline);
  } else if (!Expire(pos, closed ? ExpireReason::kTcpClosed : ExpireReason::kIdle)) {
    // No record slot: the wheel stops on this flow and the next call starts
    // with it, at the same time (a later clock could put an update tick
    // before this expiry: records would depend on the consumer's speed).
    wheel_->Retry(pos);
    return false;
  }
  return true;
}

void FlowTable::StartUpdateTick(int64_t tick_ns) noexcept {
  // New touches go to a fresh list while this window is reported.
  std::swap(touched_, reporting_);
  touched_.clear();
  report_scan_ = touched_overflow_;
  touched_overflow_ = false;
  if (report_scan_) ++counters_.touched_overflow;
  report_cursor_ = 0;
  report_tick_ms_ = Ms(tick_ns);
  report_active_ = true;
}

bool FlowTable::ContinueUpdateTick(WorkBudget* budget) noexcept {
  const size_t end = report_scan_ ? capacity_ : reporting_.size();
  for (; report_cursor_ < end; ++report_cursor_) {
    const uint32_t pos =
        report_scan_ ? static_cast<uint32_t>(report_cursor_) : reporting_[report_cursor_];
    // Entries of flows expired since (or duplicated by slot reuse) are skipped.
    if ((hot_[pos].flags & (kFlowLive | kFlowTouched)) != (kFlowLive | kFlowTouched)) {
      if (budget->Charge(kSkipCost)) return false;
      continue;
    }
    if (budget->Charge(kRecordCost)) return false;        // out of time: resume here
    if (!EmitUpdate(pos, report_tick_ms_)) return false;  // no record slot: resume here
  }
  reporting_.clear();
  report_active_ = false;
  last_tick_ms_ = report_tick_ms_;
  return true;
}

bool FlowTable::EmitUpdate(uint32_t pos, int64_t tick_ms) noexcept {
  FlowSnapshot* s = sink_.acquire(sink_.ctx);
  if (SKYPROBE_UNLIKELY(s == nullptr)) {
    ++counters_.record_stalls;
    return false;
  }
  FillSnapshot(pos, FlowEvent::kUpdate, ExpireReason::kNone, s);
  s->last_update_metric.last = tick_ms;
  sink_.publish(sink_.ctx, s);
  FlowHot& h = hot_[pos];
  FlowCold& c = cold_[pos];
  c.snap_ab_packets = h.ab_packets;
  c.snap_ab_bytes = h.ab_bytes;
  c.snap_ba_packets = h.ba_packets;
  c.snap_ba_bytes = h.ba_bytes;
  h.flags = static_cast<uint8_t>((h.flags & ~kFlowTouched) | kFlowUpdated);
  ++counters_.update_records;
  return true;
}

bool FlowTable::Expire(uint32_t pos, ExpireReason reason) noexcept {
  if (!EmitFinal(pos, reason)) return false;  // the flow stays, whole, until a slot is free
  wheel_->Disarm(pos);
  // The key goes with its flow: the index holds live flows' keys only. If it
  // is not found (it cannot be), that is counted and the slot is cleared
  // all the same: the record is out.
  if (SKYPROBE_UNLIKELY(!index_->Remove(pos, SigOf(index_->KeyAt(pos))))) {
    ++counters_.table_inconsistencies;
  }
  FreeSlot(pos);
  return true;
}

bool FlowTable::EmitFinal(uint32_t pos, ExpireReason reason) noexcept {
  FlowSnapshot* s = sink_.acquire(sink_.ctx);
  if (SKYPROBE_UNLIKELY(s == nullptr)) {
    ++counters_.record_stalls;
    return false;
  }
  FillSnapshot(pos, FlowEvent::kExpire, reason, s);
  // Kept before it is published: from then on the record is the consumer's.
  // Only flows that ended by themselves: a flush (end of input, exit, a Flush
  // request) keeps nothing, nor does an eviction (a full table is overload,
  // when a copy per new flow costs most).
  if (kept_ != nullptr && (reason == ExpireReason::kIdle || reason == ExpireReason::kTcpClosed)) {
    KeepExpired(pos, *s);
  }
  sink_.publish(sink_.ctx, s);
  switch (reason) {
    case ExpireReason::kIdle:
      ++counters_.expired_idle;
      break;
    case ExpireReason::kTcpClosed:
      ++counters_.expired_tcp_closed;
      break;
    case ExpireReason::kFlush:
      ++counters_.expired_flush;
      break;
    default:
      break;  // evictions are counted by the caller
  }
  return true;
}

void FlowTable::FreeSlot(uint32_t pos) noexcept {
  // The final record is out: the flow's raw packets are no longer needed.
  if (raw_ != nullptr) raw_->Release(pos);
  if (uuid_index_ != nullptr) uuid_index_->Erase(uuids_[pos], pos);
  if (app_ != nullptr) app_->Release(pos);
  hot_[pos].flags = 0;
  --live_;
  --counters_.input_flows_live[KeyInput(hot_[pos].key) % kInputSlots];
  ++removals_;
}

void FlowTable::KeepExpired(uint32_t pos, const FlowSnapshot& s) noexcept {
  if (kept_->full()) {
    DropOldestKept();
    ++counters_.kept_expired_overflow;
  }
  ExpiredFlows::Entry& e = kept_->PushBack(s.uuid);
  e.expired_ns = now_ns_;
  e.snap = s;
  e.raw_id = raw_ != nullptr ? raw_->Park(pos) : RawPacketArena::kNoPacketsParked;
  ++counters_.kept_expired;
  counters_.kept_expired_now = kept_->size();
}

void FlowTable::DropOldestKept() noexcept {
  if (raw_ != nullptr) raw_->Unpark(kept_->Front().raw_id);
  kept_->PopFront();
  counters_.kept_expired_now = kept_->size();
}

void FlowTable::AgeKept() noexcept {
  // Entries are in expiry order: the time is up for a prefix of them.
  while (!kept_->empty() && kept_->Front().expired_ns + opts_.keep_expired_ns <= now_ns_) {
    DropOldestKept();
  }
}

template <typename Take>
bool FlowTable::FlushScan(WorkBudget* budget, Take take) noexcept {
  // Fragments still held go into their flows first: every frame is counted.
  if (defrag_ != nullptr && !FlushDatagrams(budget)) return false;
  // A call that stopped (no record slot, or its budget spent) resumes at the
  // slot it stopped on: retries while control drains cost no rescan. Flows
  // created between two calls may sit in slots already passed: the scan wraps
  // once (a whole pass from slot 0; nothing is created during a call), so
  // true means an empty shard.
  for (int pass = 0; pass < 2 && live_ > 0; ++pass) {
    for (; flush_cursor_ < capacity_ && live_ > 0; ++flush_cursor_) {
      if (!(hot_[flush_cursor_].flags & kFlowLive)) {
        if (budget->Charge(kSkipCost)) return false;
        continue;
      }
      if (budget->Charge(kRecordCost)) return false;
      if (!take(flush_cursor_)) return false;
    }
    if (flush_cursor_ == capacity_) flush_cursor_ = 0;
  }
  flush_cursor_ = 0;
  touched_.clear();
  touched_overflow_ = false;
  reporting_.clear();
  report_active_ = false;
  return true;
}

bool FlowTable::FlushAll(WorkBudget* budget) noexcept {
  WorkBudget unlimited = WorkBudget::Unlimited();
  return FlushScan(budget != nullptr ? budget : &unlimited,
                   [this](uint32_t pos) { return Expire(pos, ExpireReason::kFlush); });
}

bool FlowTable::Retire() noexcept {
  // Each flow's record leaves as in FlushAll, but its key and its timer are
  // not taken out one by one (a random bucket and two random neighbours a
  // flow, the most of a flush of a big table). A flow's own links are
  // cleared with its flags (the line its record was read from); the wheel's
  // heads are cleared once, when every flow is out.
  WorkBudget unlimited = WorkBudget::Unlimited();
  const bool done = FlushScan(&unlimited, [this](uint32_t pos) {
    if (!EmitFinal(pos, ExpireReason::kFlush)) return false;
    FlowHot& h = hot_[pos];
    h.wheel_slot = 0;
    h.wheel_prev = h.wheel_next = kNoIndex;
    FreeSlot(pos);
    return true;
  });
  if (!done) return false;
  wheel_->Clear();
  // Every key left is a flushed flow's: all go at once, when (if ever) the
  // table is given frames again (a reset writes every bucket: milliseconds
  // for a million flows, for a table that usually goes away now).
  keys_retired_ = true;
  return true;
}

}  // namespace skyprobe
