// stream_reactors.h: the server-streaming RPCs, Subscribe, QueryStream and ExportPcap,
// as gRPC callback reactors (ServerWriteReactor; each deletes itself in OnDone).
//
// Owner: gRPC threads, plus the control lcore for Subscribe's record callback,
// which only filters, copies the snapshot into a bounded queue and, when the
// stream is idle, starts the next write: it never waits for the client. A
// subscriber whose queue is full (or whose next record finds the answer
// budget full) loses records; its stream then ends with RESOURCE_EXHAUSTED
// saying how many, after what was queued has been sent.
//
// Every stream holds a StreamGuard: its place among the streams of its kind
// (RequestSlot) and its watch by the StreamWatchdog, which cuts it off when
// a write has waited on the client for the idle deadline.
//
//   return new SubscribeReactor(backend, std::move(filter), record_ctx, queue, budget,
//                               StreamGuard(watchdog, ctx, std::move(slot)), &counters);
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/synchronization/mutex.h"
#include "export/json_lines.h"
#include "export/pcap_writer.h"
#include "query/compiled_filter.h"
#include "service/answer_budget.h"
#include "service/probe_backend.h"
#include "service/query_runner.h"
#include "service/request_slot.h"
#include "service/stream_watchdog.h"
#include "skyprobe/v1/probe_service.grpc.pb.h"

namespace skyprobe {

struct ServiceCounters {
  std::atomic<uint64_t> queries{0};
  std::atomic<uint64_t> bad_requests{0};
  std::atomic<uint64_t> unauthenticated{0};
  std::atomic<uint64_t> subscribers{0};         // currently open
  std::atomic<uint64_t> subscriber_records{0};  // sent
  std::atomic<uint64_t> subscriber_dropped{0};  // lost to slow clients
  std::atomic<uint64_t> pcap_exports{0};
  std::atomic<uint64_t> query_streams{0};
  // In progress now (the RequestSlot counts; subscribers above is the fourth).
  std::atomic<uint64_t> queries_active{0};
  std::atomic<uint64_t> query_streams_active{0};
  std::atomic<uint64_t> pcap_exports_active{0};
  std::atomic<uint64_t> refused_busy{0};  // RESOURCE_EXHAUSTED by a cap on requests
  std::atomic<uint64_t> idle_cut{0};      // streams cut off by the idle deadline
};

// What a record queued for a subscriber costs of the answer budget: the
// snapshot in its deque node (libstdc++ gives a record of more than 512
// bytes a node of its own: the chunk's header, and the node's pointer in the
// deque's map, which doubles as it grows: up to 24 bytes with its slack),
// and the heap block of its application metadata, if it carries any.
// Measured against the allocator by tests/unit/service/record_cost_test.cc.
uint64_t QueuedRecordCost(const FlowSnapshot& s);

// A stream's place among those of its kind and its watch (both optional: a
// null watchdog watches nothing). Released when the reactor is deleted, in
// OnDone: the context is still alive then.
class StreamGuard {
 public:
  StreamGuard() = default;
  StreamGuard(StreamWatchdog* watchdog, grpc::CallbackServerContext* ctx, RequestSlot slot)
      : watchdog_(watchdog), slot_(std::move(slot)) {
    if (watchdog_ != nullptr) id_ = watchdog_->Watch(ctx);
  }
  StreamGuard(StreamGuard&& other) noexcept
      : watchdog_(std::exchange(other.watchdog_, nullptr)),
        id_(other.id_),
        slot_(std::move(other.slot_)) {}
  StreamGuard& operator=(StreamGuard&&) = delete;
  ~StreamGuard() {
    if (watchdog_ != nullptr) watchdog_->Forget(id_);
  }

  // Around each write: the client's clock runs while a write waits on it.
  void Busy() {
    if (watchdog_ != nullptr) watchdog_->Busy(id_);
  }
  void Idle() {
    if (watchdog_ != nullptr) watchdog_->Idle(id_);
  }

 private:
  StreamWatchdog* watchdog_ = nullptr;
  StreamWatchdog::Id id_ = 0;
  RequestSlot slot_;
};

class SubscriberList;

class SubscribeReactor final : public grpc::ServerWriteReactor<skyprobe::v1::Flow> {
 public:
  // Queued records are taken from `budget` (null: only the queue bounds them).
  // `list` (may be null) knows it until OnDone, so that a stopping probe can
  // end it (SubscriberList::EndAll).
  SubscribeReactor(ProbeBackend* backend, std::shared_ptr<const query::CompiledFilter> filter,
                   JsonContext record_ctx, size_t queue_capacity, AnswerBudget* budget,
                   StreamGuard guard, ServiceCounters* counters, SubscriberList* list = nullptr);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  friend class SubscriberList;
  struct Shared;

  // The probe stops: the stream ends with OK once the records queued so far
  // are sent. True when the caller must call WriteNext() (the stream was
  // idle: the caller now owns the writing turn).
  bool RequestEnd();

  // Sends the next queued record, or finishes, or goes idle.
  void WriteNext();

  ProbeBackend* backend_;
  ServiceCounters* counters_;
  JsonContext record_ctx_;  // NodeTID and CaptureID of the records it sends
  StreamGuard guard_;
  std::shared_ptr<Shared> shared_;
  SubscriberList* list_ = nullptr;
  uint64_t subscription_ = 0;
  skyprobe::v1::Flow message_;
};

// The open subscriptions of a server, so that a normal stop ends each with
// OK after its last records (a client then knows the probe stopped, rather
// than seeing its call cancelled). Any thread.
class SubscriberList {
 public:
  void Add(SubscribeReactor* r);
  void Remove(SubscribeReactor* r);
  // Every subscription ends once its queue is sent; new ones end at once.
  void EndAll();

 private:
  absl::Mutex mu_;
  std::vector<SubscribeReactor*> open_ ABSL_GUARDED_BY(mu_);
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
};

// Writes a collected answer as FlowSets of at most kFlowsPerMessage flows,
// converting each to protobuf only when it is its turn.
class QueryStreamReactor final : public grpc::ServerWriteReactor<skyprobe::v1::FlowSet> {
 public:
  static constexpr size_t kFlowsPerMessage = 1000;

  // Finishes at once with `status` when it is not OK.
  QueryStreamReactor(QueryAnswer answer, const absl::Status& status, StreamGuard guard);

  void OnWriteDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  void WriteNext();

  StreamGuard guard_;
  QueryAnswer answer_;
  size_t next_ = 0;
  skyprobe::v1::FlowSet message_;
};

class PcapReactor final : public grpc::ServerWriteReactor<skyprobe::v1::PcapChunk> {
 public:
  // Finishes at once with `status` when it is not OK. Each packet's share of
  // packets.lease is given back once the packet is sent.
  PcapReactor(PcapPackets packets, const absl::Status& status, StreamGuard guard);

  void OnWriteDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  void WriteNext();

  StreamGuard guard_;
  PcapPackets packets_;
  PcapWriter writer_;
  bool header_sent_ = false;
  size_t next_ = 0;
  skyprobe::v1::PcapChunk chunk_;
};

// absl::Status -> grpc::Status, code for code (the enums agree numerically).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace skyprobe
