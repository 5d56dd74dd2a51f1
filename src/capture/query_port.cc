#include "capture/query_port.h"

#include <rte_errno.h>
#include <rte_ring.h>

#include "absl/strings/str_cat.h"
#include "skyprobe/status.h"

namespace skyprobe {

absl::StatusOr<std::unique_ptr<QueryPort>> QueryPort::Create(int index, int socket_id) {
  std::unique_ptr<QueryPort> p(new QueryPort());
  const unsigned flags = RING_F_SP_ENQ | RING_F_SC_DEQ;
  p->free_ = rte_ring_create(absl::StrCat("qfree", index).c_str(), kChunks * 2, socket_id, flags);
  p->full_ = rte_ring_create(absl::StrCat("qfull", index).c_str(), kChunks * 2, socket_id, flags);
  if (p->free_ == nullptr || p->full_ == nullptr) {
    return ErrnoToStatus(-rte_errno, "rte_ring_create(query)");
  }
  for (uint32_t i = 0; i < kChunks; ++i) p->chunks_.push_back(std::make_unique<Chunk>());
  return p;
}

QueryPort::~QueryPort() {
  rte_ring_free(free_);
  rte_ring_free(full_);
}

void QueryPort::Begin(Kind kind, std::shared_ptr<const FlowPredicate> predicate) {
  void* obj;
  while (rte_ring_sc_dequeue(full_, &obj) == 0) {
  }
  while (rte_ring_sc_dequeue(free_, &obj) == 0) {
  }
  for (auto& c : chunks_) {
    c->count = 0;
    rte_ring_sp_enqueue(free_, c.get());
  }
  storage_.kind = kind;
  storage_.predicate = std::move(predicate);
  finished_.store(false, std::memory_order_relaxed);
  request_.store(&storage_, std::memory_order_release);
}

bool QueryPort::Collect(const std::function<void(const FlowSnapshot&)>& visit) {
  // Read "finished" first: chunks enqueued before it was set are then seen.
  const bool finished = finished_.load(std::memory_order_acquire);
  void* obj;
  while (rte_ring_sc_dequeue(full_, &obj) == 0) {
    Chunk* c = static_cast<Chunk*>(obj);
    for (uint32_t i = 0; i < c->count; ++i) visit(c->flows[i]);
    c->count = 0;
    rte_ring_sp_enqueue(free_, c);
  }
  return finished;
}

void QueryPort::Serve(FlowTable* table) noexcept {
  Request* r = request_.load(std::memory_order_acquire);
  if (r == nullptr) return;
  if (r->kind == Kind::kFlush) {
    if (!table->FlushAll()) return;  // the record channel is full: go on later
  } else {
    const uint32_t end = table->capacity();
    uint32_t budget = kSlice;
    for (; cursor_ < end && budget > 0; ++cursor_, --budget) {
      if (!table->IsLive(cursor_)) continue;
      if (current_ == nullptr) {
        void* obj;
        if (rte_ring_sc_dequeue(free_, &obj) != 0) return;  // requester is behind
        current_ = static_cast<Chunk*>(obj);
      }
      FlowSnapshot& s = current_->flows[current_->count];
      table->FillSnapshot(cursor_, FlowEvent::kUpdate, ExpireReason::kNone, &s);
      if (r->predicate != nullptr && !r->predicate->Matches(s)) continue;
      if (++current_->count == kChunkFlows) {
        rte_ring_sp_enqueue(full_, current_);  // cannot fail: the ring holds every chunk
        current_ = nullptr;
      }
    }
    if (cursor_ < end) return;
    if (current_ != nullptr) {
      rte_ring_sp_enqueue(full_, current_);
      current_ = nullptr;
    }
    cursor_ = 0;
  }
  request_.store(nullptr, std::memory_order_relaxed);
  finished_.store(true, std::memory_order_release);
}

}  // namespace skyprobe
