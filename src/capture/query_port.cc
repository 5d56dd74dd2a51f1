#include "capture/query_port.h"

#include <rte_errno.h>
#include <rte_ring.h>

#include <chrono>
#include <cstring>
#include <new>
#include <thread>

#include "absl/strings/str_cat.h"
#include "skyprobe/status.h"

namespace skyprobe {

absl::StatusOr<std::unique_ptr<QueryPort>> QueryPort::Create(int index, int socket_id,
                                                             uint64_t raw_buffer_bytes) {
  std::unique_ptr<QueryPort> p(new QueryPort());
  if (raw_buffer_bytes > 0) {
    // Uninitialised: only the pages a query writes become resident.
    p->raw_buffer_.reset(new (std::nothrow) uint8_t[raw_buffer_bytes]);
    if (p->raw_buffer_ == nullptr) {
      return absl::ResourceExhaustedError("cannot allocate the raw packet query buffer");
    }
    p->raw_capacity_ = raw_buffer_bytes;
  }
  const unsigned flags = RING_F_SP_ENQ | RING_F_SC_DEQ;
  p->free_ = rte_ring_create(absl::StrCat("qfree", index).c_str(), kChunks * 2, socket_id, flags);
  p->full_ = rte_ring_create(absl::StrCat("qfull", index).c_str(), kChunks * 2, socket_id, flags);
  if (p->free_ == nullptr || p->full_ == nullptr) {
    return ErrnoToStatus(-rte_errno, "rte_ring_create(query)");
  }
  // Default-initialised (no value-initialisation): the slots stay untouched.
  for (uint32_t i = 0; i < kChunks; ++i) p->chunks_.push_back(std::unique_ptr<Chunk>(new Chunk));
  return p;
}

QueryPort::~QueryPort() {
  rte_ring_free(free_);
  rte_ring_free(full_);
}

void QueryPort::Begin(Kind kind, std::shared_ptr<const FlowPredicate> predicate) {
  Start(kind, std::move(predicate), nullptr, nullptr);
}

void QueryPort::BeginRawPackets(std::shared_ptr<const std::vector<uint64_t>> uuids) {
  raw_done_.assign(uuids->size(), 0);
  Start(Kind::kRawPackets, nullptr, std::move(uuids), nullptr);
}

void QueryPort::Start(Kind kind, std::shared_ptr<const FlowPredicate> predicate,
                      std::shared_ptr<const std::vector<uint64_t>> uuids,
                      std::shared_ptr<const FlowGrouper> grouper) {
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
  storage_.uuids = std::move(uuids);
  storage_.grouper = std::move(grouper);
  storage_.in_shard = storage_.predicate == nullptr || !storage_.predicate->costly();
  raw_used_ = 0;
  raw_full_.store(false, std::memory_order_relaxed);
  cancel_.store(false, std::memory_order_relaxed);  // a Cancel that came after the end
  finished_.store(false, std::memory_order_relaxed);
  request_.store(&storage_, std::memory_order_release);
}

void QueryPort::BeginAggregate(std::shared_ptr<const FlowPredicate> predicate,
                               std::shared_ptr<const FlowGrouper> grouper, uint32_t max_groups) {
  // Allocated here, on the requester's thread: the worker never allocates.
  if (groups_ == nullptr || groups_->max_groups() != max_groups) {
    groups_ = std::make_unique<GroupTable>(max_groups);
  }
  groups_->Clear();
  group_key_.scratch.reserve(256);
  groups_overflow_ = false;
  group_key_too_long_ = false;
  // Start publishes the request (release): everything above is seen by the worker.
  Start(Kind::kAggregate, std::move(predicate), nullptr, std::move(grouper));
}

bool QueryPort::Collect(const std::function<void(const FlowSnapshot&)>& visit,
                        const std::function<bool()>* abandon) {
  // Read "finished" first: chunks enqueued before it was set are then seen.
  const bool finished = finished_.load(std::memory_order_acquire);
  // A costly predicate is evaluated here, on the requester's thread.
  const FlowPredicate* pred = storage_.in_shard ? nullptr : storage_.predicate.get();
  void* obj;
  while (rte_ring_sc_dequeue(full_, &obj) == 0) {
    Chunk* c = static_cast<Chunk*>(obj);
    for (uint32_t i = 0; i < c->count; ++i) {
      // Per flow for a costly filter (milliseconds each), per chunk otherwise.
      if (abandon != nullptr && (pred != nullptr || i == 0) && (*abandon)()) {
        return false;  // the chunk is dropped with the query (Begin takes every chunk back)
      }
      if (pred == nullptr || pred->Matches(c->at(i))) visit(c->at(i));
    }
    c->count = 0;
    rte_ring_sp_enqueue(free_, c);
  }
  return finished;
}

bool QueryPort::Cancel(const std::atomic<bool>* worker_done) {
  cancel_.store(true, std::memory_order_release);
  while (!finished_.load(std::memory_order_acquire)) {
    if (worker_done != nullptr && worker_done->load(std::memory_order_acquire)) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return true;
}

bool QueryPort::EmitKept(const Request& r, const FlowSnapshot& kept) noexcept {
  if (current_ == nullptr) {
    void* obj;
    if (rte_ring_sc_dequeue(free_, &obj) != 0) return false;  // requester is behind
    current_ = static_cast<Chunk*>(obj);
  }
  FlowSnapshot& s = current_->Slot(current_->count);
  s = kept;  // Event EXPIRE: not live any more
  if (r.in_shard && r.predicate != nullptr && !r.predicate->Matches(s)) return true;
  if (++current_->count == kChunkFlows) {
    rte_ring_sp_enqueue(full_, current_);  // cannot fail: the ring holds every chunk
    current_ = nullptr;
  }
  return true;
}

bool QueryPort::ServeKept(const Request& r, const FlowTable& table, WorkBudget* budget) noexcept {
  const ExpiredFlows* kept = table.kept();
  if (kept == nullptr) return true;
  const FlowPredicate* pred = r.predicate.get();
  const bool by_uuid = pred != nullptr && !pred->uuid_hint().empty();
  // Entries may have aged out since the last call: resume at the oldest left.
  if (kept_cursor_ < kept->front_seq()) kept_cursor_ = kept->front_seq();
  for (; kept_cursor_ < kept_end_; ++kept_cursor_) {
    if (by_uuid && !pred->MayMatchUuid(kept->UuidAt(kept_cursor_))) {
      if (budget->Charge(kUuidSlotCost)) return false;
      continue;
    }
    if (budget->Charge(kSnapshotCost)) return false;
    if (!EmitKept(r, kept->At(kept_cursor_).snap)) return false;
  }
  return true;
}

bool QueryPort::Emit(const Request& r, const FlowTable& table, uint32_t pos) noexcept {
  if (current_ == nullptr) {
    void* obj;
    if (rte_ring_sc_dequeue(free_, &obj) != 0) return false;  // requester is behind
    current_ = static_cast<Chunk*>(obj);
  }
  FlowSnapshot& s = current_->Slot(current_->count);
  table.FillLiveSnapshot(pos, &s);
  if (r.in_shard && r.predicate != nullptr && !r.predicate->Matches(s)) return true;
  if (++current_->count == kChunkFlows) {
    rte_ring_sp_enqueue(full_, current_);  // cannot fail: the ring holds every chunk
    current_ = nullptr;
  }
  return true;
}

bool QueryPort::ServeHinted(const Request& r, FlowTable* table, WorkBudget* budget) noexcept {
  const std::vector<uint64_t>& hint = r.predicate->uuid_hint();
  for (; cursor_ < hint.size(); ++cursor_) {
    if (budget->Charge(kSnapshotCost)) return false;
    const int32_t pos = table->FindUuid(hint[cursor_]);
    if (pos >= 0 && !Emit(r, *table, static_cast<uint32_t>(pos))) return false;
  }
  return true;
}

template <typename Visit>
bool QueryPort::ScanLive(const Request& r, const FlowTable& table, WorkBudget* budget,
                         uint32_t cost, Visit&& visit) noexcept {
  const FlowPredicate* pred = r.predicate.get();
  const bool by_uuid = pred != nullptr && !pred->uuid_hint().empty();
  const uint32_t end = table.capacity();
  const uint64_t* uuids = table.uuids();
  for (; cursor_ < end; ++cursor_) {
    if (by_uuid && !pred->MayMatchUuid(uuids[cursor_])) {
      if (budget->Charge(kUuidSlotCost)) return false;
      continue;
    }
    if (!table.IsLive(cursor_)) {
      if (budget->Charge(kFreeSlotCost)) return false;
      continue;
    }
    if (budget->Charge(cost)) return false;
    const Step step = visit(cursor_);
    if (step == Step::kWait) return false;
    if (step == Step::kEnd) return true;
  }
  return true;
}

bool QueryPort::ServeSnapshots(const Request& r, FlowTable* table, WorkBudget* budget) noexcept {
  const FlowPredicate* pred = r.predicate.get();
  if (!kept_started_ && cursor_ == 0 && kept_end_ == 0) {
    // Flows that expire while the scan runs are not added: the answer holds
    // those live at their turn and those expired before the scan began.
    kept_end_ = table->kept() != nullptr ? table->kept()->end_seq() : 0;
  }
  // A filter that names the UUIDs it wants: one probe each when the shard
  // has a UUID index; else the dense UUID array is read (8 bytes a slot) and
  // a snapshot is built only for those UUIDs.
  const bool by_uuid = pred != nullptr && !pred->uuid_hint().empty();
  bool done = true;
  if (kept_started_) {
    // The live flows are done; the kept ones follow.
  } else if (by_uuid && table->has_uuid_index()) {
    done = ServeHinted(r, table, budget);
  } else {
    done = ScanLive(r, *table, budget, kSnapshotCost,
                    [&](uint32_t pos) { return Emit(r, *table, pos) ? Step::kNext : Step::kWait; });
  }
  if (!done) return false;
  kept_started_ = true;
  if (!ServeKept(r, *table, budget)) return false;
  if (current_ != nullptr) {
    rte_ring_sp_enqueue(full_, current_);
    current_ = nullptr;
  }
  ResetScan();
  kept_end_ = 0;
  return true;
}

bool QueryPort::ServeAggregate(const Request& r, FlowTable* table, WorkBudget* budget) noexcept {
  const FlowPredicate* pred = r.predicate.get();
  const bool done = ScanLive(r, *table, budget, kGroupCost, [&](uint32_t pos) {
    table->FillSnapshot(pos, FlowEvent::kUpdate, ExpireReason::kNone, &group_snap_);
    if (pred != nullptr && !pred->Matches(group_snap_)) return Step::kNext;
    // Stopped early, the answer is an error: the rest need not be scanned.
    if (!r.grouper->Key(group_snap_, &group_key_)) {
      group_key_too_long_ = true;
      return Step::kEnd;
    }
    if (!groups_->Add(group_key_, group_snap_.metric)) {
      groups_overflow_ = true;
      return Step::kEnd;
    }
    return Step::kNext;
  });
  if (!done) return false;
  cursor_ = 0;
  return true;
}

void QueryPort::Serve(FlowTable* const* tables, size_t n, WorkBudget* budget) noexcept {
  Request* r = request_.load(std::memory_order_acquire);
  if (r == nullptr) return;
  if (cancel_.load(std::memory_order_acquire)) {
    // Dropped: the chunk being filled is not sent (Begin takes it back).
    current_ = nullptr;
    ResetScan();
    kept_end_ = 0;
    table_cursor_ = 0;
    request_.store(nullptr, std::memory_order_relaxed);
    finished_.store(true, std::memory_order_release);
    return;
  }
  for (; table_cursor_ < n; ++table_cursor_) {
    FlowTable* table = tables[table_cursor_];
    if (r->kind == Kind::kFlush) {
      // Out of record slots or of time: go on later.
      if (!table->FlushAll(budget)) return;
    } else if (r->kind == Kind::kRawPackets) {
      if (!ServeRawPackets(*r, table, budget)) return;
    } else if (r->kind == Kind::kAggregate) {
      if (!ServeAggregate(*r, table, budget)) return;
      if (groups_overflow_ || group_key_too_long_) break;
    } else if (!ServeSnapshots(*r, table, budget)) {
      return;
    }
  }
  table_cursor_ = 0;
  request_.store(nullptr, std::memory_order_relaxed);
  finished_.store(true, std::memory_order_release);
}

}  // namespace skyprobe
