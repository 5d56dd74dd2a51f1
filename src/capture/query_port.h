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
//   port->Serve(table, &budget);                                  // worker loop
//
// The worker's share is metered in time (a WorkBudget per call, about 10 us
// of the loop iteration), never in flows: a predicate that may cost more
// than a few microseconds on one flow (FlowPredicate::costly) is not
// evaluated by the worker at all; it ships the candidates and Collect
// evaluates them on the requester's thread.
//
// kAggregate (BeginAggregate) counts the matching flows of the shard by
// group into a GroupTable the requester allocated: no flow leaves the
// worker, only the groups. The predicate must not be costly (the requester
// groups the snapshots of a costly query itself). A group past the table's
// capacity, or a key that does not encode, ends the scan early and says so
// (groups_overflow, group_key_too_long).
// With --keep-expired, snapshots include the shard's recently expired flows
// (their final records, Event EXPIRE) and kRawPackets looks among them too.
//
// kRawPackets looks for one flow by UUID (one probe of the shard's UUID
// index when raw capture keeps one, else a metered scan of the UUID array)
// and copies its raw packets into a byte buffer sized at Create() for the
// most one flow can hold; the requester reads it with VisitRawPackets once
// Collect says finished.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "record/flow_groups.h"
#include "record/flow_predicate.h"
#include "table/flow_table.h"
#include "table/work_budget.h"

struct rte_ring;

namespace skyprobe {

class QueryPort {
 public:
  enum class Kind : uint8_t { kSnapshot, kFlush, kRawPackets, kAggregate };

  // `raw_buffer_bytes`: room for one flow's raw packets (0: capture is off).
  static absl::StatusOr<std::unique_ptr<QueryPort>> Create(int index, int socket_id,
                                                           uint64_t raw_buffer_bytes = 0);
  ~QueryPort();

  // Requester: starts a query (the previous one must be finished). `uuid`
  // names the flow of a kRawPackets query.
  void Begin(Kind kind, std::shared_ptr<const FlowPredicate> predicate, uint64_t uuid = 0);
  // Requester: starts a kAggregate query over at most `max_groups` groups
  // (the port's GroupTable is allocated here on first use, kept for the next).
  void BeginAggregate(std::shared_ptr<const FlowPredicate> predicate,
                      std::shared_ptr<const FlowGrouper> grouper, uint32_t max_groups);
  // Requester, after a finished kAggregate query: the shard's groups, and
  // whether the scan stopped early (more groups than the table holds, or a
  // key too long to encode: the groups are then incomplete).
  const GroupTable& groups() const { return *groups_; }
  bool groups_overflow() const { return groups_overflow_; }
  bool group_key_too_long() const { return group_key_too_long_; }
  // Requester: hands every snapshot received so far to `visit`; returns true
  // once the worker has finished and everything was visited. A costly
  // predicate is evaluated here, which can take long: `abandon` (may be
  // null) is asked before each flow, and once it says true Collect returns
  // false; the caller then Cancel()s the query.
  bool Collect(const std::function<void(const FlowSnapshot&)>& visit,
               const std::function<bool()>* abandon = nullptr);
  // Requester: stops the query in progress. The worker drops it at its next
  // Serve; returns true once it has (false if `worker_done` is set first:
  // the worker is gone and the port no longer matters). Begin may follow.
  bool Cancel(const std::atomic<bool>* worker_done);
  // Requester, after a finished kRawPackets query: whether this shard holds
  // the flow, and its packets in capture order (`data` valid during the call).
  bool raw_found() const { return raw_found_; }
  // ... and whether the flow found had expired (--keep-expired).
  bool raw_expired() const { return raw_expired_; }
  void VisitRawPackets(const std::function<void(const RawPacketArena::Packet&)>& visit) const;

  // Worker: works on the pending query, if any, until `budget` is spent;
  // the next call resumes. Call it every loop iteration.
  void Serve(FlowTable* table, WorkBudget* budget) noexcept { Serve(&table, 1, budget); }
  // The same over several shards owned by one thread (the sFlow source's
  // per-agent tables), one after the other. `tables` may grow between calls.
  void Serve(FlowTable* const* tables, size_t n, WorkBudget* budget) noexcept;
  bool pending() const { return request_.load(std::memory_order_acquire) != nullptr; }

 private:
  static constexpr uint32_t kChunkFlows = 128;
  static constexpr uint32_t kChunks = 64;  // 8192 flows in flight, about 3 MiB
  // What the worker's units of query work cost a WorkBudget (about ns): a
  // UUID array slot, a free table slot, a snapshot (a predicate that is not
  // costly adds at most 2 us, compiled_filter.cc).
  static constexpr uint32_t kUuidSlotCost = 1;
  static constexpr uint32_t kFreeSlotCost = 2;
  static constexpr uint32_t kSnapshotCost = 300;
  // A snapshot, its key and a group table probe.
  static constexpr uint32_t kGroupCost = 450;

  struct Chunk {
    uint32_t count = 0;
    FlowSnapshot flows[kChunkFlows];
  };
  struct Request {
    Kind kind = Kind::kSnapshot;
    std::shared_ptr<const FlowPredicate> predicate;
    uint64_t uuid = 0;
    std::shared_ptr<const FlowGrouper> grouper;  // kAggregate
    bool in_shard = true;                        // the worker evaluates the predicate (not costly)
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
  void Start(Kind kind, std::shared_ptr<const FlowPredicate> predicate, uint64_t uuid,
             std::shared_ptr<const FlowGrouper> grouper);
  // Worker: a kSnapshot scan until `budget` is spent; true when finished.
  bool ServeSnapshots(const Request& r, FlowTable* table, WorkBudget* budget) noexcept;
  // ... when the shard has a UUID index and the predicate a UUID hint: one
  // probe per hinted UUID instead of a scan.
  bool ServeHinted(const Request& r, FlowTable* table, WorkBudget* budget) noexcept;
  // Worker: one snapshot into the current chunk; false when no chunk is free.
  bool Emit(const Request& r, const FlowTable& table, uint32_t pos) noexcept;
  // Worker: a kRawPackets look-up until `budget` is spent; true when finished.
  bool ServeRawPackets(const Request& r, FlowTable* table, WorkBudget* budget) noexcept;
  // Worker: a kAggregate scan until `budget` is spent; true when finished
  // (or stopped early: groups_overflow_, group_key_too_long_).
  bool ServeAggregate(const Request& r, FlowTable* table, WorkBudget* budget) noexcept;
  // What a visit of ScanLive asks next: the next slot, to stop here and
  // resume at this slot on a later call, or to end the scan.
  enum class Step : uint8_t { kNext, kWait, kEnd };
  // Worker: the live slots of `table` from cursor_ on that the predicate's
  // UUID hint may match, each charged `cost` before `visit(pos)`, until
  // `budget` is spent; true when the scan ended (the table's end or kEnd),
  // false to resume at cursor_ later. cursor_ is the caller's to reset.
  template <typename Visit>
  bool ScanLive(const Request& r, const FlowTable& table, WorkBudget* budget, uint32_t cost,
                Visit&& visit) noexcept;
  // ... among the recently expired flows (after the live ones); true when finished.
  bool ServeKeptRawPackets(const Request& r, const FlowTable& table, WorkBudget* budget) noexcept;
  // Worker: the recently expired flows of a kSnapshot scan; true when finished.
  bool ServeKept(const Request& r, const FlowTable& table, WorkBudget* budget) noexcept;
  // Worker: `s` (a kept final record) into the current chunk; false when no chunk is free.
  bool EmitKept(const Request& r, const FlowSnapshot& s) noexcept;
  void CopyRawPackets(const FlowTable& table, uint32_t pos) noexcept;
  void CopyPacket(const RawPacketArena::Packet& p) noexcept;
  void ResetScan() noexcept {
    cursor_ = 0;
    kept_cursor_ = 0;
    kept_started_ = false;
  }

  rte_ring* free_ = nullptr;  // empty chunks, requester -> worker
  rte_ring* full_ = nullptr;  // filled chunks, worker -> requester
  std::vector<std::unique_ptr<Chunk>> chunks_;
  Request storage_;
  std::atomic<Request*> request_{nullptr};
  std::atomic<bool> finished_{true};
  std::atomic<bool> cancel_{false};  // requester -> worker: drop the query
  // kRawPackets answer: written by the worker before `finished_` is set.
  std::unique_ptr<uint8_t[]> raw_buffer_;
  uint64_t raw_capacity_ = 0;
  uint64_t raw_used_ = 0;
  bool raw_found_ = false;
  bool raw_expired_ = false;
  // Worker-only state of the running query (cursor_: a table position, or
  // an index into the UUID hint; then kept_cursor_: the sequence number of a
  // recently expired flow, up to kept_end_, where the kept ring ended when
  // the scan began).
  uint32_t cursor_ = 0;
  uint64_t kept_cursor_ = 0;
  uint64_t kept_end_ = 0;
  bool kept_started_ = false;
  size_t table_cursor_ = 0;
  Chunk* current_ = nullptr;
  // kAggregate: the groups (requester allocates and clears, worker fills
  // until `finished_`), the worker's scratch snapshot and key.
  std::unique_ptr<GroupTable> groups_;
  FlowSnapshot group_snap_;
  GroupKey group_key_;
  bool groups_overflow_ = false;
  bool group_key_too_long_ = false;
};

}  // namespace skyprobe
