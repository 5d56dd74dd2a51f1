// query_port.h: how a worker answers table queries without stopping RX.
//
// Owner: one per worker. The requester side (Begin/Collect) is used by one
// control-plane thread at a time (the caller serialises queries); the worker
// side (Serve) only by the worker's RX lcore, between bursts. Answers travel
// in preallocated chunks over two SPSC rings (empty chunks to the worker,
// filled ones back), so the worker neither allocates nor waits: with no
// empty chunk it simply resumes its scan on a later loop.
//
//   port->Begin(QueryPort::Kind::kSnapshot, predicate);          // requester
//   while (!port->Collect([&](const FlowSnapshot& s) { ... })) {} // requester
//   port->Serve(table);                                           // worker loop
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "table/flow_predicate.h"
#include "table/flow_table.h"

struct rte_ring;

namespace skyprobe {

class QueryPort {
 public:
  enum class Kind : uint8_t { kSnapshot, kFlush };

  static absl::StatusOr<std::unique_ptr<QueryPort>> Create(int index, int socket_id);
  ~QueryPort();

  // Requester: starts a query (the previous one must be finished).
  void Begin(Kind kind, std::shared_ptr<const FlowPredicate> predicate);
  // Requester: hands every snapshot received so far to `visit`; returns true
  // once the worker has finished and everything was visited.
  bool Collect(const std::function<void(const FlowSnapshot&)>& visit);

  // Worker: does a bounded slice of the pending query, if any.
  void Serve(FlowTable* table) noexcept;
  bool pending() const { return request_.load(std::memory_order_acquire) != nullptr; }

 private:
  static constexpr uint32_t kChunkFlows = 128;
  static constexpr uint32_t kChunks = 16;
  static constexpr uint32_t kSlice = 4096;  // table positions visited per Serve call

  struct Chunk {
    uint32_t count = 0;
    FlowSnapshot flows[kChunkFlows];
  };
  struct Request {
    Kind kind = Kind::kSnapshot;
    std::shared_ptr<const FlowPredicate> predicate;
  };

  QueryPort() = default;

  rte_ring* free_ = nullptr;  // empty chunks, requester -> worker
  rte_ring* full_ = nullptr;  // filled chunks, worker -> requester
  std::vector<std::unique_ptr<Chunk>> chunks_;
  Request storage_;
  std::atomic<Request*> request_{nullptr};
  std::atomic<bool> finished_{true};
  // Worker-only state of the running query.
  uint32_t cursor_ = 0;
  Chunk* current_ = nullptr;
};

}  // namespace skyprobe
