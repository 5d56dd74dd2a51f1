// answer_budget.h: the bytes that all answers in flight may hold together
// (--grpc-answer-memory): rows collected for Query, QueryStream and
// ExportPcap, the raw packets of exports, records queued for subscribers.
//
// Owner: one AnswerBudget per service, shared by every gRPC thread and the
// control lcore (subscriber queues); lock-free (one atomic). A BudgetLease
// belongs to one answer and whoever holds that answer.
//
//   BudgetLease lease(&budget);
//   if (!lease.Grow(rows * sizeof(FlowRow))) return lease.Exhausted("the answer");
//   ...  // the lease gives the bytes back when it is destroyed
//
// Why: a client can ask for the whole table again and again, and a client
// that never reads keeps its answer alive; without a bound on what answers
// hold together, twenty such clients hold twenty copies of a 1M-flow table.
#pragma once

#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace skyprobe {

class AnswerBudget {
 public:
  explicit AnswerBudget(uint64_t limit) : limit_(limit) {}
  AnswerBudget(const AnswerBudget&) = delete;
  AnswerBudget& operator=(const AnswerBudget&) = delete;

  // Takes `bytes` if the total stays within the limit; false (nothing taken) otherwise.
  bool TryTake(uint64_t bytes);
  void Give(uint64_t bytes) { used_.fetch_sub(bytes, std::memory_order_acq_rel); }

  uint64_t limit() const { return limit_; }
  uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  // Answers refused for want of room (Stats: service answers_over_budget).
  uint64_t refusals() const { return refusals_.load(std::memory_order_relaxed); }

 private:
  friend class BudgetLease;
  const uint64_t limit_;
  std::atomic<uint64_t> used_{0};
  std::atomic<uint64_t> refusals_{0};
};

// One answer's share of an AnswerBudget. Without a budget (default
// constructed, or null) it only counts: callers that need no bound (tests,
// tools) pass none.
class BudgetLease {
 public:
  BudgetLease() = default;
  explicit BudgetLease(AnswerBudget* budget) : budget_(budget) {}
  BudgetLease(BudgetLease&& other) noexcept;
  BudgetLease& operator=(BudgetLease&& other) noexcept;
  BudgetLease(const BudgetLease&) = delete;
  BudgetLease& operator=(const BudgetLease&) = delete;
  ~BudgetLease() { Release(); }

  // Takes `bytes` more; false, with nothing taken, when the budget has not
  // that much room left. The first refusal counts once in refusals().
  bool Grow(uint64_t bytes);
  // Gives back `bytes` of what the lease holds (at most all of it).
  void Shrink(uint64_t bytes);
  // Gives everything back.
  void Release();

  uint64_t held() const { return held_; }

  // RESOURCE_EXHAUSTED naming the budget, for `what` ("the answer") that
  // did not fit: how much the budget is and how much others hold.
  absl::Status Exhausted(absl::string_view what) const;

 private:
  AnswerBudget* budget_ = nullptr;
  uint64_t held_ = 0;
  bool refused_ = false;
};

}  // namespace skyprobe
