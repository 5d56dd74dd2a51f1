// query_port.h: how a worker answers table queries without stopping RX.
//
// Owner: one per worker (or per sFlow source). The requester side (Begin/Collect) is used by one
// control-plane thread at a time (the caller serialises queries); the worker
// side (Serve) only by the worker's RX lcore, between bursts. Answers travel
// in preallocated chunks over two SPSC rings (empty chunks to the worker,
// filled ones back), so the worker neither allocates nor waits: with no
// empty chunk it simply resumes its scan on a later loop.
//
//   port->Begin(QueryPort::Kind::kSnapshot, predicate);          // requester
//   while (!port->Collect([&](const FlowSnapshot& s) { ... })) {} // requester
//   port->Serve(table);                                           // worker loop
//
// kRawPackets looks for one flow by UUID and copies its raw packets into a
// byte buffer sized at Create() for the most one flow can hold; the
// requester reads it with VisitRawPackets once Collect says finished.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "record/flow_predicate.h"
#include "table/flow_table.h"

struct rte_ring;

namespace skyprobe {

class QueryPort {
 public:
  enum class Kind : uint8_t { kSnapshot, kFlush, kRawPackets };

  // `raw_buffer_bytes`: room for one flow's raw packets (0: capture is off).
  static absl::StatusOr<std::unique_ptr<QueryPort>> Create(int index, int socket_id,
                                                           uint64_t raw_buffer_bytes = 0);
  ~QueryPort();

  // Requester: starts a query (the previous one must be finished). `uuid`
  // names the flow of a kRawPackets query.
  void Begin(Kind kind, std::shared_ptr<const FlowPredicate> predicate, uint64_t uuid = 0);
  // Requester: hands every snapshot received so far to `visit`; returns true
  // once the worker has finished and everything was visited.
  bool Collect(const std::function<void(const FlowSnapshot&)>& visit);
  // Requester, after a finished kRawPackets query: whether this shard holds
  // the flow, and its packets in capture order (`data` valid during the call).
  bool raw_found() const { return raw_found_; }
  void VisitRawPackets(const std::function<void(const RawPacketArena::Packet&)>& visit) const;

  // Worker: does a bounded slice of the pending query, if any. Call it every
  // loop; `due` (idle, or every 16th loop under load) lets a slice of any
  // query run, while the cheap ones (UUID scans, raw-packet look-ups: about
  // 50 us a slice) run at every call, so a one-flow query does not wait for
  // thousands of bursts.
  void Serve(FlowTable* table, bool due = true) noexcept { Serve(&table, 1, due); }
  // The same over several shards owned by one thread (the sFlow source's
  // per-agent tables), one after the other; a slice per table and call.
  // `tables` may grow between calls.
  void Serve(FlowTable* const* tables, size_t n, bool due = true) noexcept;
  bool pending() const { return request_.load(std::memory_order_acquire) != nullptr; }

 private:
  static constexpr uint32_t kChunkFlows = 128;
  static constexpr uint32_t kChunks = 64;   // 8192 flows in flight, about 3 MiB
  static constexpr uint32_t kSlice = 4096;  // table positions visited per Serve call
  // ... when only the dense UUID array is read (about 4 ns a slot less than
  // a snapshot per live flow: the same time per call as kSlice).
  static constexpr uint32_t kUuidSlice = 1u << 16;

  struct Chunk {
    uint32_t count = 0;
    FlowSnapshot flows[kChunkFlows];
  };
  struct Request {
    Kind kind = Kind::kSnapshot;
    std::shared_ptr<const FlowPredicate> predicate;
    uint64_t uuid = 0;
    bool cheap = false;  // reads the dense UUID array only
  };
  // One packet in raw_buffer_, followed by its bytes padded to 8.
  struct RawRecord {
    int64_t timestamp_ns;
    uint32_t wire_length;
    uint32_t caplen;
    uint32_t link_type;
    uint32_t index;
  };

  QueryPort() = default;
  // Worker: one slice of a kSnapshot scan; true when finished.
  bool ServeSnapshots(const Request& r, FlowTable* table) noexcept;
  // Worker: one slice of a kRawPackets scan; true when finished.
  bool ServeRawPackets(const Request& r, FlowTable* table) noexcept;
  void CopyRawPackets(const FlowTable& table, uint32_t pos) noexcept;

  rte_ring* free_ = nullptr;  // empty chunks, requester -> worker
  rte_ring* full_ = nullptr;  // filled chunks, worker -> requester
  std::vector<std::unique_ptr<Chunk>> chunks_;
  Request storage_;
  std::atomic<Request*> request_{nullptr};
  std::atomic<bool> finished_{true};
  // kRawPackets answer: written by the worker before `finished_` is set.
  std::unique_ptr<uint8_t[]> raw_buffer_;
  uint64_t raw_capacity_ = 0;
  uint64_t raw_used_ = 0;
  bool raw_found_ = false;
  // Worker-only state of the running query.
  uint32_t cursor_ = 0;
  size_t table_cursor_ = 0;
  Chunk* current_ = nullptr;
};

}  // namespace skyprobe
