// answer_budget.cc: a compare-and-swap on one counter; a refusal takes nothing,
// so a big answer that does not fit leaves the room to smaller ones.

#include "service/answer_budget.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace skyprobe {

bool AnswerBudget::TryTake(uint64_t bytes) {
  uint64_t used = used_.load(std::memory_order_relaxed);
  do {
    if (bytes > limit_ || used > limit_ - bytes) return false;
  } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_acq_rel,
                                        std::memory_order_relaxed));
  return true;
}

BudgetLease::BudgetLease(BudgetLease&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)),
      held_(std::exchange(other.held_, 0)),
      refused_(other.refused_) {}

BudgetLease& BudgetLease::operator=(BudgetLease&& other) noexcept {
  if (this != &other) {
    Release();
    budget_ = std::exchange(other.budget_, nullptr);
    held_ = std::exchange(other.held_, 0);
    refused_ = other.refused_;
  }
  return *this;
}

bool BudgetLease::Grow(uint64_t bytes) {
  if (budget_ != nullptr && !budget_->TryTake(bytes)) {
    if (!refused_) budget_->refusals_.fetch_add(1, std::memory_order_relaxed);
    refused_ = true;
    return false;
  }
  held_ += bytes;
  return true;
}

void BudgetLease::Shrink(uint64_t bytes) {
  bytes = std::min(bytes, held_);
  held_ -= bytes;
  if (budget_ != nullptr) budget_->Give(bytes);
}

void BudgetLease::Release() { Shrink(held_); }

absl::Status BudgetLease::Exhausted(absl::string_view what) const {
  if (budget_ == nullptr) return absl::ResourceExhaustedError(absl::StrCat(what, ": no room"));
  const uint64_t others = budget_->used() > held_ ? budget_->used() - held_ : 0;
  return absl::ResourceExhaustedError(absl::StrCat(
      what, " needs more memory than the service has left for answers in flight: the budget is ",
      budget_->limit(), " bytes (--grpc-answer-memory), other answers hold ", others,
      "; narrow the filter, or retry when they are done"));
}

}  // namespace skyprobe
