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
// kRawPackets (ExportPcap) streams the raw packets of a set of flows, named
// by UUID: one probe of the shard's UUID index per flow, then one pass over
// the recently expired flows. The worker copies whole flows into a byte
// buffer (at least the most one flow can hold) and hands it over when the
// next flow does not fit; the requester empties it (CollectRawPackets) and
// the worker goes on. So an export of 100k flows costs a few hand-overs, not
// one round trip per flow (query_port_raw.cc).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
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

  // `raw_buffer_bytes`: the raw packet export buffer, at least the most one
  // flow holds (0: capture is off).
  static absl::StatusOr<std::unique_ptr<QueryPort>> Create(int index, int socket_id,
                                                           uint64_t raw_buffer_bytes = 0);
  ~QueryPort();

  // Requester: starts a kSnapshot or kFlush query (the previous one must be finished).
  void Begin(Kind kind, std::shared_ptr<const FlowPredicate> predicate);
  // Requester: starts a kRawPackets query for the flows `uuids` (sorted, no
  // repeats) that live or recently expired in this port's shards.
  void BeginRawPackets(std::shared_ptr<const std::vector<uint64_t>> uuids);
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
  // Requester, during a kRawPackets query: hands the packets the worker has
  // copied so far (whole flows, each flow's in capture order; `data` valid
  // during the call) to `visit` and lets the worker go on; returns true once
  // the worker has finished and everything was visited.
  using RawVisitor = std::function<void(uint64_t uuid, const RawPacketArena::Packet&)>;
  bool CollectRawPackets(const RawVisitor& visit);

  // Worker: works on the pending query, if any, until `budget` is spent;
  // the next call resumes. Call it every loop iteration.
  void Serve(FlowTable* table, WorkBudget* budget) noexcept { Serve(&table, 1, budget); }
  // The same over several shards owned by one thread (the sFlow source's
  // per-agent tables), one after the other. `tables` may grow between calls.
  void Serve(FlowTable* const* tables, size_t n, WorkBudget* budget) noexcept;
  bool pending() const { return request_.load(std::memory_order_acquire) != nullptr; }

 private:
  static constexpr uint32_t kChunkFlows = 128;
  static constexpr uint32_t kChunks = 64;  // 8192 flows in flight, about 6.5 MB
  // What the worker's units of query work cost a WorkBudget (about ns): a
  // UUID array slot, a free table slot, a snapshot (a predicate that is not
  // costly adds at most 2 us, compiled_filter.cc).
  static constexpr uint32_t kUuidSlotCost = 1;
  static constexpr uint32_t kFreeSlotCost = 2;
  static constexpr uint32_t kSnapshotCost = 300;
  // A snapshot, its key and a group table probe.
  static constexpr uint32_t kGroupCost = 450;

  // A chunk's snapshots are constructed the first time the worker fills
  // their slot, and reused by later queries: its pages are touched by the
  // first query that needs them, not at start-up (64 chunks: 6.5 MB a port).
  struct Chunk {
    Chunk() = default;
    Chunk(const Chunk&) = delete;
    Chunk& operator=(const Chunk&) = delete;
    ~Chunk() {
      for (uint32_t i = 0; i < built; ++i) std::destroy_at(&at(i));
    }
    // Slot `i` (< kChunkFlows, at most `built`), constructed if new.
    FlowSnapshot& Slot(uint32_t i) {
      if (i == built) {
        new (slots + i * sizeof(FlowSnapshot)) FlowSnapshot;
        ++built;
      }
      return at(i);
    }
    FlowSnapshot& at(uint32_t i) {
      return *std::launder(reinterpret_cast<FlowSnapshot*>(slots + i * sizeof(FlowSnapshot)));
    }
    const FlowSnapshot& at(uint32_t i) const {
      return *std::launder(reinterpret_cast<const FlowSnapshot*>(slots + i * sizeof(FlowSnapshot)));
    }

    uint32_t count = 0;  // filled slots
    uint32_t built = 0;  // constructed slots (count <= built)
    alignas(FlowSnapshot) unsigned char slots[sizeof(FlowSnapshot) * kChunkFlows];
  };
  struct Request {
    Kind kind = Kind::kSnapshot;
    std::shared_ptr<const FlowPredicate> predicate;
    std::shared_ptr<const std::vector<uint64_t>> uuids;  // kRawPackets: sorted
    std::shared_ptr<const FlowGrouper> grouper;          // kAggregate
    bool in_shard = true;  // the worker evaluates the predicate (not costly)
  };
  // One packet in raw_buffer_, followed by its bytes padded to 8.
  struct RawRecord {
    uint64_t uuid;  // the flow's
    int64_t timestamp_ns;
    uint32_t wire_length;
    uint32_t caplen;
    uint32_t link_type;
    uint32_t index;
  };

  QueryPort() = default;
  // Requester: what the Begin calls share (publishes the request last).
  void Start(Kind kind, std::shared_ptr<const FlowPredicate> predicate,
             std::shared_ptr<const std::vector<uint64_t>> uuids,
             std::shared_ptr<const FlowGrouper> grouper);
  // Worker: a kSnapshot scan until `budget` is spent; true when finished.
  bool ServeSnapshots(const Request& r, FlowTable* table, WorkBudget* budget) noexcept;
  // ... when the shard has a UUID index and the predicate a UUID hint: one
  // probe per hinted UUID instead of a scan.
  bool ServeHinted(const Request& r, FlowTable* table, WorkBudget* budget) noexcept;
  // Worker: one snapshot into the current chunk; false when no chunk is free.
  bool Emit(const Request& r, const FlowTable& table, uint32_t pos) noexcept;
  // Worker: a kRawPackets export until `budget` is spent or the buffer is
  // full; true when this table is done.
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
  // ... among the recently expired flows (after the live ones); true when done.
  bool ServeKeptRawPackets(const Request& r, const FlowTable& table, WorkBudget* budget) noexcept;
  // Worker: the recently expired flows of a kSnapshot scan; true when finished.
  bool ServeKept(const Request& r, const FlowTable& table, WorkBudget* budget) noexcept;
  // Worker: `s` (a kept final record) into the current chunk; false when no chunk is free.
  bool EmitKept(const Request& r, const FlowSnapshot& s) noexcept;
  // Copies flow `i` of the request (its packets from `for_each`) whole into
  // the buffer; false, copying nothing, when it does not fit (the buffer is
  // then handed over).
  template <typename ForEach>
  bool CopyFlow(const Request& r, size_t i, WorkBudget* budget, ForEach&& for_each) noexcept;
  bool CopyPacket(uint64_t uuid, const RawPacketArena::Packet& p) noexcept;
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
  // kRawPackets answer: written by the worker while raw_full_ and finished_
  // are clear, read (and emptied) by the requester once one of them is set.
  std::unique_ptr<uint8_t[]> raw_buffer_;
  uint64_t raw_capacity_ = 0;
  uint64_t raw_used_ = 0;
  std::atomic<bool> raw_full_{false};  // worker -> requester: take the buffer
  // Per flow of the request, whether it was copied (worker-only while the
  // query runs; sized by BeginRawPackets): a flow that expires after its
  // live copy is not copied again from the expired ones.
  std::vector<uint8_t> raw_done_;
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
