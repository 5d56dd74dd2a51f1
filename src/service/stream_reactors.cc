// stream_reactors.cc: reactor life cycles. The rule that keeps Subscribe safe
// against a client that goes away mid-stream: Finish() is called exactly once,
// and only by whoever owns the "writing" turn or finds the stream idle, so no
// write can start on a reactor that OnDone() may already have deleted.

#include "service/stream_reactors.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "export/flow_proto.h"

namespace skyprobe {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

uint64_t QueuedRecordCost(const FlowSnapshot& s) {
  return sizeof(FlowSnapshot) + 40 + s.app.CopyHeapBytes();
}

struct SubscribeReactor::Shared {
  absl::Mutex mu;
  std::deque<FlowSnapshot> queue ABSL_GUARDED_BY(mu);
  BudgetLease lease ABSL_GUARDED_BY(mu);  // what `queue` holds of the answer budget
  size_t capacity = 0;
  uint64_t dropped ABSL_GUARDED_BY(mu) = 0;
  bool over_budget ABSL_GUARDED_BY(mu) = false;  // the first drop was the budget's
  bool writing ABSL_GUARDED_BY(mu) = false;      // a write (or WriteNext) owns the stream
  bool cancelled ABSL_GUARDED_BY(mu) = false;
  bool finished ABSL_GUARDED_BY(mu) = false;  // Finish() called (or about to be)
  bool ending ABSL_GUARDED_BY(mu) = false;    // the probe stops: end once the queue is sent
};

SubscribeReactor::SubscribeReactor(ProbeBackend* backend,
                                   std::shared_ptr<const query::CompiledFilter> filter,
                                   JsonContext record_ctx, size_t queue_capacity,
                                   AnswerBudget* budget, StreamGuard guard,
                                   ServiceCounters* counters, SubscriberList* list)
    : backend_(backend),
      counters_(counters),
      record_ctx_(std::move(record_ctx)),
      guard_(std::move(guard)),
      shared_(std::make_shared<Shared>()),
      list_(list) {
  shared_->capacity = queue_capacity;
  {
    absl::MutexLock lock(&shared_->mu);
    shared_->lease = BudgetLease(budget);
  }
  // Headers first: a client that waits for them knows the subscription is live.
  StartSendInitialMetadata();
  std::shared_ptr<Shared> shared = shared_;
  ServiceCounters* const c = counters_;
  subscription_ =
      backend_->Subscribe([this, shared, filter = std::move(filter), c](const FlowSnapshot& s) {
        // Control lcore: filter, copy, maybe kick the writer. No waiting on the client.
        if (filter != nullptr && !filter->Matches(s)) return;
        bool kick = false;
        {
          absl::MutexLock lock(&shared->mu);
          if (shared->finished || shared->cancelled) return;
          if (shared->dropped != 0 || shared->queue.size() >= shared->capacity ||
              !shared->lease.Grow(QueuedRecordCost(s))) {
            if (shared->dropped == 0) shared->over_budget = shared->queue.size() < shared->capacity;
            ++shared->dropped;  // once late, stay closed: the stream ends after the queue drains
            c->subscriber_dropped.fetch_add(1, std::memory_order_relaxed);
            return;
          }
          shared->queue.push_back(s);
          if (!shared->writing) shared->writing = kick = true;
        }
        // Safe: with `writing` set by us, nobody else calls Finish(), so the
        // reactor cannot be done (and deleted) before WriteNext() runs.
        if (kick) WriteNext();
      });
  // Last: a probe already stopping ends the stream at once (EndAll).
  if (list_ != nullptr) list_->Add(this);
}

bool SubscribeReactor::RequestEnd() {
  absl::MutexLock lock(&shared_->mu);
  shared_->ending = true;
  if (shared_->writing || shared_->finished) return false;  // the writer will end it
  shared_->writing = true;
  return true;
}

void SubscribeReactor::WriteNext() {
  FlowSnapshot snap;
  grpc::Status finish;
  bool end = false;  // finish with `finish` (OK at a normal stop)
  {
    absl::MutexLock lock(&shared_->mu);
    if (shared_->cancelled) {
      finish = grpc::Status(grpc::StatusCode::CANCELLED, "subscription cancelled");
    } else if (!shared_->queue.empty()) {
      shared_->lease.Shrink(QueuedRecordCost(shared_->queue.front()));
      snap = std::move(shared_->queue.front());  // takes its metadata block, no copy
      shared_->queue.pop_front();
    } else if (shared_->dropped != 0) {
      const std::string what =
          shared_->over_budget
              ? std::string("the service's memory for answers in flight (--grpc-answer-memory)")
              : absl::StrCat("its queue of ", shared_->capacity, " records");
      finish =
          grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                       absl::StrCat("subscriber too slow: ", shared_->dropped,
                                    " records dropped after ", what, " filled; subscribe again"));
    } else if (shared_->ending) {
      end = true;  // every record sent: the probe stopped (OK)
    } else {
      shared_->writing = false;  // idle until the next record
      return;
    }
    end |= !finish.ok();
    if (end) {
      shared_->writing = false;
      shared_->finished = true;
    }
  }
  if (end) {
    Finish(finish);  // nothing after this: OnDone may run (and delete) at once
    return;
  }
  ToProto(snap, record_ctx_, &message_);
  counters_->subscriber_records.fetch_add(1, std::memory_order_relaxed);
  guard_.Busy();
  StartWrite(&message_);
}

void SubscribeReactor::OnWriteDone(bool ok) {
  guard_.Idle();
  if (!ok) {
    absl::MutexLock lock(&shared_->mu);
    shared_->cancelled = true;  // the client is gone; WriteNext finishes
  }
  WriteNext();
}

void SubscribeReactor::OnCancel() {
  {
    absl::MutexLock lock(&shared_->mu);
    shared_->cancelled = true;
    if (shared_->writing || shared_->finished) return;  // the writer will finish
    shared_->finished = true;
  }
  Finish(grpc::Status(grpc::StatusCode::CANCELLED, "subscription cancelled"));
}

void SubscribeReactor::OnDone() {
  if (list_ != nullptr) list_->Remove(this);
  backend_->Unsubscribe(subscription_);
  {
    // The backend may call the callback once more after Unsubscribe: it then
    // finds the stream finished and leaves the reactor alone.
    absl::MutexLock lock(&shared_->mu);
    shared_->finished = true;
    shared_->queue.clear();
    shared_->lease.Release();
  }
  delete this;  // the guard gives the subscriber's slot back
}

void SubscriberList::Add(SubscribeReactor* r) {
  bool end_now = false;
  {
    absl::MutexLock lock(&mu_);
    open_.push_back(r);
    end_now = ending_;
  }
  // Safe: `r` cannot be done before its constructor returned.
  if (end_now && r->RequestEnd()) r->WriteNext();
}

void SubscriberList::Remove(SubscribeReactor* r) {
  absl::MutexLock lock(&mu_);
  open_.erase(std::remove(open_.begin(), open_.end(), r), open_.end());
}

void SubscriberList::EndAll() {
  std::vector<SubscribeReactor*> kick;
  {
    // Under the lock a listed reactor is not done (OnDone removes it
    // first); one whose turn we take stays so until WriteNext finishes it.
    absl::MutexLock lock(&mu_);
    ending_ = true;
    for (SubscribeReactor* r : open_) {
      if (r->RequestEnd()) kick.push_back(r);
    }
  }
  for (SubscribeReactor* r : kick) r->WriteNext();
}

QueryStreamReactor::QueryStreamReactor(QueryAnswer answer, const absl::Status& status,
                                       StreamGuard guard)
    : guard_(std::move(guard)), answer_(std::move(answer)) {
  if (!status.ok()) {
    Finish(ToGrpcStatus(status));
    return;
  }
  next_ = answer_.first;
  WriteNext();
}

void QueryStreamReactor::OnWriteDone(bool ok) {
  guard_.Idle();
  if (!ok) {
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
    return;
  }
  WriteNext();
}

void QueryStreamReactor::WriteNext() {
  if (next_ >= answer_.end) {
    // Done (an empty answer sends no message: OK and no flows).
    Finish(grpc::Status::OK);
    return;
  }
  const size_t stop = std::min(answer_.end, next_ + kFlowsPerMessage);
  message_.Clear();
  AppendRows(answer_, next_, stop, &message_);
  if (stop < answer_.order.size()) {  // also after the limit: the listing can go on
    message_.set_nextpagetoken(
        query::TokenAfter(answer_.spec, answer_.rows[answer_.order[stop - 1]], answer_.query_id));
  }
  next_ = stop;
  guard_.Busy();
  StartWrite(&message_);
}

PcapReactor::PcapReactor(PcapPackets packets, const absl::Status& status, StreamGuard guard)
    : guard_(std::move(guard)),
      packets_(std::move(packets)),
      writer_(packets_.link_types, packets_.snaplen) {
  if (!status.ok()) {
    Finish(ToGrpcStatus(status));
    return;
  }
  WriteNext();
}

void PcapReactor::OnWriteDone(bool ok) {
  guard_.Idle();
  if (!ok) {
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
    return;
  }
  WriteNext();
}

void PcapReactor::WriteNext() {
  constexpr size_t kChunk = size_t{64} * 1024;
  std::string* data = chunk_.mutable_data();
  data->clear();
  if (!header_sent_) {
    writer_.AppendHeader(data);
    header_sent_ = true;
    chunk_.set_flows(packets_.matched);
    chunk_.set_expired_flows(packets_.expired_flows);
    chunk_.set_packets(packets_.packets.size());
  } else {
    chunk_.clear_flows();
    chunk_.clear_expired_flows();
    chunk_.clear_packets();
  }
  // A packet larger than a chunk still goes whole into one chunk.
  while (next_ < packets_.packets.size() && data->size() < kChunk) {
    RawPacketCopy& p = packets_.packets[next_];
    writer_.AppendPacket(p, data);
    packets_.lease.Shrink(p.data.size());
    p.data = std::string();  // sent: free it
    ++next_;
  }
  if (data->empty()) {
    Finish(grpc::Status::OK);
    return;
  }
  guard_.Busy();
  StartWrite(&chunk_);
}

}  // namespace skyprobe
