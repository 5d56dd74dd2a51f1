// flow_table.h: one shard of the flow table (Skydive's Table, per worker).
//
// Owner: exactly one RX lcore. Nothing here is thread-safe and nothing needs
// to be: other cores only ever see FlowSnapshots handed out through the
// RecordSink. Storage is preallocated at Create(): a FlowIndex of whole
// flow keys (FlowTableKey, compared whole; bucket signature keyed, see
// table_hash.h, and precomputed) whose positions index the
// FlowHot/FlowCold/UUID arrays.
//
//   auto table = FlowTable::Create(opts, sink);
//   table->ProcessBurst(frames, parsed, ts_ns, n, caplens);   // per RX burst
//   table->AdvanceClock(now_ns);                       // timers, update ticks
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "parse/parsed_packet.h"
#include "record/flow_snapshot.h"
#include "skyprobe/compiler.h"
#include "table/app_meta_store.h"
#include "table/defragmenter.h"
#include "table/expired_flows.h"
#include "table/flow_index.h"
#include "table/flow_key.h"
#include "table/flow_record.h"
#include "table/raw_packet_arena.h"
#include "table/table_counters.h"
#include "table/tcp_health.h"
#include "table/tcp_stream.h"
#include "table/timer_wheel.h"
#include "table/uuid_index.h"
#include "table/work_budget.h"

namespace skyprobe {

// Where records leave the shard. `acquire` returns a slot to fill, or null
// when the consumer is behind (the table then keeps the flow, counts a
// stall and retries later: a record is delayed, never lost); `publish`
// hands the filled slot over. Called per record, never per packet.
struct RecordSink {
  void* ctx = nullptr;
  FlowSnapshot* (*acquire)(void* ctx) = nullptr;
  void (*publish)(void* ctx, FlowSnapshot* s) = nullptr;
};

struct FlowTableOptions {
  std::string name = "flows0";  // names its memory zones and errors
  int socket_id = -1;           // NUMA socket of the port (-1: any)
  uint8_t worker_id = 0;
  uint32_t max_flows = 1u << 20;
  KeyMode key_mode = KeyMode::kL2;
  OverloadPolicy overload = OverloadPolicy::kEvictOldest;
  int64_t update_ns = 60'000'000'000;
  int64_t expire_ns = 600'000'000'000;
  int64_t tcp_close_hold_ns = 2'000'000'000;
  int64_t tick_ns = 100'000'000;
  std::string node_tid;
  // Capture points: uuid_tags[input] is what the UUID of a flow whose first
  // packet came from `input` (ParsedPacket::input) hashes after its Start
  // (CapturePoints::UuidTag: the point's NodeTID, and its CaptureID when the
  // NodeTID is shared). Inputs without an entry (0: unknown) hash node_tid.
  std::vector<std::string> uuid_tags;
  // Where the NodeTID is the table's own and may change (sFlow agent tables,
  // SetNodeTid): a non-empty uuid_tag_suffixes[input] makes uuid_tags[input]
  // node_tid, a NUL and the suffix (its capture point's CaptureID), rebuilt
  // with every NodeTID.
  std::vector<std::string> uuid_tag_suffixes;
  // Raw packet capture: the first `raw_first` and last `raw_last` packets of
  // each flow, cut to `capture_length`, in `raw_memory_bytes` of slots.
  // Off (no arena, one predictable branch per packet) when both are 0.
  uint32_t raw_first = 0;
  uint32_t raw_last = 0;
  uint32_t capture_length = 256;
  uint64_t raw_memory_bytes = 0;
  // sFlow tables: keep counters scaled by each packet's sampling rate
  // (ProcessBurst's `weights`) in an array of their own, and put node_tid
  // into every record (FlowSnapshot::node_tid, at most kRecordNodeTidMax - 1
  // bytes). RX tables leave both off and pay nothing for them.
  bool scaled_metrics = false;
  bool node_tid_in_records = false;
  // IP defragmentation (flow_table_defrag.cc): on when the parser marks
  // fragments (ParserConfig::ip_defrag); at most `ip_defrag_max` datagrams
  // in reassembly, each given up `ip_defrag_timeout_ns` after its first fragment.
  bool ip_defrag = false;
  uint32_t ip_defrag_max = 65536;
  int64_t ip_defrag_timeout_ns = 30'000'000'000;
  // Tests only: replaces the keyed table hash (TableHashSig) for bucket
  // placement, e.g. with one that collides on purpose. rte_hash's
  // signature (key, key_len, init_val); the key is a FlowTableKey.
  uint32_t (*hash_fn)(const void* key, uint32_t key_len, uint32_t init_val) = nullptr;
  // TCP sequence trackers (docs/tcp-metrics.md), each a 192-byte side array
  // by position made only when on: Skydive's stream counters
  // (table/tcp_stream.h) and Wireshark's health flags (table/tcp_health.h).
  bool tcp_stream_metrics = false;
  bool tcp_health = false;
  // --keep-expired: a flow that ended by itself (idle, TCP close) stays
  // queryable, raw packets included, for `keep_expired_ns` of the shard's
  // clock, at most `keep_expired_max` flows (the oldest go first). 0: off.
  int64_t keep_expired_ns = 0;
  uint32_t keep_expired_max = 0;
  // Application metadata (TLS ClientHello, HTTP request, DNS summary) and
  // Skydive's extra layers (ExtraLayerBits), for at most `app_meta_flows`
  // flows at once, with `app_meta_pending` readers of ClientHellos and
  // request heads spanning segments (table/app_meta_store.h). Off (no
  // memory, one predictable branch per packet) unless one of the first two is on.
  bool app_metadata = false;
  uint8_t extra_layers = 0;
  uint32_t app_meta_flows = 0;
  uint32_t app_meta_pending = 1024;
};

class FlowTable {
 public:
  static absl::StatusOr<std::unique_ptr<FlowTable>> Create(const FlowTableOptions& opts,
                                                           RecordSink sink);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // Accounts `n` parsed frames (frames[i] is the frame ParsedPacket i was
  // parsed from, ts_ns[i] its time, caplens[i] its captured bytes). Frames
  // with no sub-packet are skipped: the caller counted their parse error.
  // Raw packet capture needs `caplens`; without them it keeps nothing.
  // `weights[i]` (sFlow: the sampling rate, >= 1) feeds the scaled counters
  // of a table created with scaled_metrics; null leaves them alone.
  // With ip_defrag, frames marked as fragments (ParsedPacket::frag_sub) go
  // one by one through flow_table_defrag.cc, in order with the others; that
  // needs `caplens` (without them fragments count as parsed), and applies no
  // weights (sFlow tables do not defragment).
  void ProcessBurst(const uint8_t* const* frames, const ParsedPacket* pkts, const int64_t* ts_ns,
                    uint32_t n, const uint32_t* caplens = nullptr,
                    const uint32_t* weights = nullptr) noexcept;

  // Moves the shard's clock to `now_ns` (never backwards): runs the update
  // tick when due, expires idle or closed flows and gives up IP datagrams
  // past their timeout, until `budget` is spent (null: no limit). Returns
  // false if work is left (time ran out, or the sink had no slot): the next
  // call resumes it.
  bool AdvanceClock(int64_t now_ns, WorkBudget* budget = nullptr) noexcept;

  // The earliest time at which AdvanceClock has work (an update tick, a
  // wheel slot, a datagram's or a kept flow's timeout): an AdvanceClock to
  // an earlier time does nothing but move the clock. INT64_MIN while work
  // is left from an earlier call (or before the clock starts). Frames
  // accounted meanwhile may only bring it earlier (new timers).
  int64_t next_due_ns() const noexcept { return due_ns_; }
  // A bound below which frames from `first_ns` on can be accounted with no
  // AdvanceClock between them: nothing is due before it, and no timer a
  // frame at or after `first_ns` arms comes due before it either (the
  // shortest timer a frame sets, and the wheel's horizon). Capture clocks
  // (rx_worker.cc) compare a burst's last time to it: one compare a burst.
  int64_t QuietUntil(int64_t first_ns) const noexcept {
    return std::min(std::min(due_ns_, first_ns + min_timer_ns_), wheel_->HorizonNs());
  }

  // Emits the final record of every live flow and empties the shard (end of
  // input, signal, Flush request). Returns false when the sink ran out of
  // slots or `budget` is spent: call again (the work resumes).
  bool FlushAll(WorkBudget* budget = nullptr) noexcept;
  // FlushAll for a table that sees no more frames (the worker's exit): the
  // same records and counters, with the hash and the timer wheel emptied at
  // once instead of flow by flow. Call it again until true, with nothing
  // between the calls; the table is empty and usable after.
  bool Retire() noexcept;
  // The process is about to exit: the destructor leaves the table's arrays
  // and hash (EAL memory) to the exit instead of freeing them (a free writes
  // every byte: about a second for a 16M-flow table). Nothing may use the
  // table after this but its destructor.
  void LeaveToProcessExit() noexcept;

  // Gives an empty table a new NodeTID (an sFlow agent's table going to the
  // next new agent). Refused while flows are live: their UUIDs hash the old one.
  absl::Status SetNodeTid(const std::string& node_tid);

  uint32_t size() const { return live_; }
  // Flows it holds at most before the overload policy applies (--max-flows share).
  uint32_t max_flows() const { return opts_.max_flows; }
  // Positions are 0..capacity()-1; IsLive says whether one holds a flow
  // (queries walk the shard with these and FillSnapshot).
  uint32_t capacity() const { return capacity_; }
  bool IsLive(uint32_t pos) const { return (hot_[pos].flags & kFlowLive) != 0; }
  int64_t now_ns() const { return now_ns_; }
  const TableCounters& counters() const { return counters_; }

  // The records' memory by position, for a prefaulter on another thread
  // (table_prefault.h): each array's base and stride, constant from Create
  // to LeaveToProcessExit. positions_used() (positions ever given to a
  // flow) is the one figure safe to read from another thread.
  struct RecordArray {
    uint8_t* base;
    size_t stride;
  };
  std::array<RecordArray, 3> record_arrays() const noexcept {
    return {RecordArray{reinterpret_cast<uint8_t*>(hot_), sizeof(FlowHot)},
            RecordArray{reinterpret_cast<uint8_t*>(cold_), sizeof(FlowCold)},
            RecordArray{reinterpret_cast<uint8_t*>(uuids_), sizeof(uint64_t)}};
  }
  uint32_t positions_used() const noexcept { return index_->fresh(); }

  // Fills `out` from the flow at `pos` (used for records and queries).
  void FillSnapshot(uint32_t pos, FlowEvent event, ExpireReason reason, FlowSnapshot* out) const;
  // The flow at `pos` as a live answer shows it (docs/query.md): a record
  // that is not emitted, Event UPDATE, whose LastUpdateMetric (the window
  // open since the flow's previous record) is there only once the flow has
  // had an update record (before that, Metric holds it all).
  void FillLiveSnapshot(uint32_t pos, FlowSnapshot* out) const;

  // UUID of the flow at `pos` (meaningful only while IsLive(pos)); uuids()
  // is the whole dense array, capacity() entries, for scans by UUID.
  uint64_t uuid(uint32_t pos) const { return uuids_[pos]; }
  const uint64_t* uuids() const { return uuids_; }
  // The live flow of UUID `uuid` through the UUID index (one probe), or -1;
  // kNoUuidIndex when the shard keeps no index (raw packet capture off):
  // then scan uuids().
  static constexpr int32_t kNoUuidIndex = -2;
  int32_t FindUuid(uint64_t uuid) const noexcept;
  bool has_uuid_index() const { return uuid_index_ != nullptr; }
  // The raw packet arena, null when capture is off (queries read it).
  const RawPacketArena* raw_packets() const { return raw_.get(); }
  // True when IP defragmentation is on (--ip-defrag).
  bool ip_defrag() const { return defrag_ != nullptr; }
  // Recently expired flows (null unless --keep-expired); their raw packets
  // are parked in raw_packets() under each entry's raw_id.
  const ExpiredFlows* kept() const { return kept_.get(); }
  // The position of the flow whose lookup key (LookupKey) is `key`, or < 0;
  // never creates one. A key left in the hash without its flow (a failed
  // delete, counted in table_inconsistencies) is not found.
  int32_t Lookup(const FlowTableKey& key) const noexcept;
  // The application metadata store, null when off.
  const AppMetaStore* app_meta() const { return app_.get(); }

 private:
  // opts_.uuid_tags from opts_.uuid_tag_suffixes and the NodeTID.
  void MakeUuidTags();
  explicit FlowTable(const FlowTableOptions& opts, RecordSink sink);
  absl::Status Init();

  // Returns the position of the flow of `key` (`looked_up`: the bulk lookup's
  // answer; `removed`/`created`: whether a flow left or was created since
  // that lookup, which may make it out of date), creating it if needed, or
  // kRefusedFull (drop-new policy) / kRefusedRing (no slot for the evicted
  // flow's record) / kRefusedError (the index had no position below the limit).
  int32_t FindOrCreate(const uint8_t* frame, const SubPacket& sub, uint64_t parent_uuid,
                       bool has_parent, const FlowTableKey& key, uint32_t sig, int32_t looked_up,
                       bool removed, bool created, int64_t ts_ns, uint8_t input) noexcept;
  // The key's bucket signature: the keyed table hash, or the test's hash_fn.
  uint32_t SigOf(const FlowTableKey& key) const noexcept {
    if (SKYPROBE_UNLIKELY(opts_.hash_fn != nullptr)) {
      return opts_.hash_fn(&key, sizeof(key), 0);
    }
    return TableHashSig(key);
  }
  // Flows created since the current bulk lookup (Scratch::created_*): a miss
  // is out of date only if its key is among them.
  int32_t CreatedSinceLookup(const FlowTableKey& key, uint32_t sig) const noexcept;
  void NoteCreated(uint32_t sig, int32_t pos) noexcept;
  // Counts one frame no flow took, by why FindOrCreate refused it.
  void CountRefused(int32_t code) noexcept {
    if (code == kRefusedRing) {
      ++counters_.drop_ring_full;
    } else if (code == kRefusedError) {
      ++counters_.drop_table_error;
    } else {
      ++counters_.drop_table_full;
    }
  }
  void InitFlow(uint32_t pos, const uint8_t* frame, const SubPacket& sub, const KeyBytes& kb,
                int64_t ts_ns, uint8_t input) noexcept;
  // Returns true when the packet went A -> B.
  bool Account(uint32_t pos, const uint8_t* frame, const SubPacket& sub, KeyOrientation o,
               int64_t ts_ns) noexcept;
  void Scale(uint32_t pos, const SubPacket& sub, bool ab, uint32_t weight) noexcept;
  void CaptureRaw(uint32_t pos, const uint8_t* frame, uint32_t caplen, const SubPacket& sub,
                  int64_t ts_ns) noexcept;
  void TcpFlags(uint32_t pos, const uint8_t* frame, const SubPacket& sub, int64_t ts_ns) noexcept;
  // The sequence trackers, for a TCP sub-packet with a known segment going
  // from A (Network.A, Transport.A) or not.
  void TrackTcp(uint32_t pos, const uint8_t* frame, const SubPacket& sub, bool from_a,
                int64_t ts_ns) noexcept;
  void FillTcpTrackers(uint32_t pos, FlowEvent event, TcpMetric* out) const noexcept;
  // The lines TrackTcp reads: both directions of each tracker (the health
  // counters' line is written only when a segment is flagged).
  void PrefetchTcpTrackers(uint32_t pos) const noexcept {
    if (tcp_health_ != nullptr) {
      const char* p = reinterpret_cast<const char*>(&tcp_health_[pos]);
      SKYPROBE_PREFETCH_W(p);
      SKYPROBE_PREFETCH_W(p + 64);
    }
    if (tcp_stream_ != nullptr) {
      const char* p = reinterpret_cast<const char*>(&tcp_stream_[pos]);
      SKYPROBE_PREFETCH_W(p);
      SKYPROBE_PREFETCH_W(p + 64);
      SKYPROBE_PREFETCH_W(p + 128);
    }
  }
  // Direction of a packet in the flow at `pos` (DirectionRule, flow_key.h).
  bool IsAb(uint32_t pos, const SubPacket& sub, KeyOrientation o) const noexcept;
  // The bulk path of ProcessBurst for `n` frames none of which is a fragment
  // to reassemble.
  void ProcessRun(const uint8_t* const* frames, const ParsedPacket* pkts, const int64_t* ts_ns,
                  uint32_t n, const uint32_t* caplens, const uint32_t* weights) noexcept;

  // IP defragmentation (flow_table_defrag.cc).
  struct FragFrame;
  enum class GiveUpReason : uint8_t { kTimeout, kTableFull, kFlush };
  void ProcessFragment(const uint8_t* frame, const ParsedPacket& pkt, int64_t ts_ns,
                       uint32_t caplen) noexcept;
  void AccountFragment(const FragFrame& f) noexcept;
  void AccountQuiet(uint32_t pos, const SubPacket& sub, KeyOrientation o, int64_t ts_ns,
                    int64_t packets, int64_t bytes) noexcept;
  bool ParseContext(const DefragEntry& e, ParsedPacket* ctx) const noexcept;
  int32_t FindContextFlow(const DefragEntry& e) noexcept;
  void FailDatagram(DefragEntry& e, FragmentFit why) noexcept;
  void GiveUpDatagram(uint32_t idx, GiveUpReason why) noexcept;
  bool ExpireDatagrams(WorkBudget* budget) noexcept;
  bool FlushDatagrams(WorkBudget* budget) noexcept;
  static constexpr int32_t kRefusedFull = -1;
  static constexpr int32_t kRefusedRing = -2;
  static constexpr int32_t kRefusedError = -3;  // counted in table_inconsistencies
  bool Expire(uint32_t pos, ExpireReason reason) noexcept;
  // The parts of Expire: the final record out (false: no slot, nothing
  // changed), then the slot freed (its key and timer already gone).
  bool EmitFinal(uint32_t pos, ExpireReason reason) noexcept;
  void FreeSlot(uint32_t pos) noexcept;
  // The scan FlushAll and Retire share: `take(pos)` hands over each live
  // flow (false: no record slot, stop here); resumes where it stopped.
  template <typename Take>
  bool FlushScan(WorkBudget* budget, Take take) noexcept;
  // --keep-expired: keeps the final record `s` of the flow at `pos` (and
  // parks its raw packets); drops kept flows whose time is up.
  void KeepExpired(uint32_t pos, const FlowSnapshot& s) noexcept;
  void DropOldestKept() noexcept;
  void AgeKept() noexcept;
  // False: no record slot, the wheel stops on the flow (Retry).
  bool OnTimer(uint32_t pos) noexcept;
  // The due work of AdvanceClock at now_ns_; updates due_ns_.
  bool DoDueWork(WorkBudget* budget) noexcept;
  int64_t NextDueNs() const noexcept;
  // Arms the timer of `pos`; a deadline earlier than any due brings due_ns_ in.
  void ArmTimer(uint32_t pos, int64_t deadline_ns) noexcept {
    const int64_t due = wheel_->Arm(pos, deadline_ns);
    if (due < due_ns_) due_ns_ = due;
  }
  static constexpr int64_t kWorkLeft = INT64_MIN;
  void StartUpdateTick(int64_t tick_ns) noexcept;
  bool ContinueUpdateTick(WorkBudget* budget) noexcept;
  bool EmitUpdate(uint32_t pos, int64_t tick_ms) noexcept;
  // Puts the flow on the next update tick's list (once per window).
  void MarkTouched(uint32_t pos, FlowHot* h) noexcept {
    if (h->flags & kFlowTouched) return;
    h->flags |= kFlowTouched;
    if (touched_.size() < touched_.capacity()) {
      touched_.push_back(pos);
    } else {
      touched_overflow_ = true;
    }
  }
  bool Closed(const FlowHot& h) const {
    return (h.flags & kFlowRst) != 0 ||
           (h.flags & (kFlowFinAb | kFlowFinBa)) == (kFlowFinAb | kFlowFinBa);
  }

  FlowTableOptions opts_;
  RecordSink sink_;
  std::unique_ptr<FlowIndex> index_;
  uint32_t capacity_ = 0;  // array size: max_flows
  FlowHot* hot_ = nullptr;
  FlowCold* cold_ = nullptr;
  uint64_t* uuids_ = nullptr;  // by position, beside cold_: stale in free slots
  bool keys_retired_ = false;  // the index holds only retired flows' keys (Retire)
  uint64_t removals_ = 0;      // flows removed so far: a lookup older than a removal is stale
  std::unique_ptr<TimerWheel> wheel_;
  std::unique_ptr<RawPacketArena> raw_;    // null: raw packet capture off
  std::unique_ptr<UuidIndex> uuid_index_;  // with raw capture only (ExportPcap looks flows up)
  std::unique_ptr<ExpiredFlows> kept_;     // null: --keep-expired off
  ScaledMetric* scaled_ = nullptr;         // per position; null unless scaled_metrics
  std::unique_ptr<Defragmenter> defrag_;   // null: IP defragmentation off
  std::unique_ptr<AppMetaStore> app_;      // null: application metadata and extra layers off
  // IPMetric by position, only with defrag (FlowCold has no room left): valid
  // where FlowCold::saw_fragments is set, reset when a flow first sets it.
  struct IpMetricSlot {
    uint32_t fragments;
    uint32_t errors;
  };
  IpMetricSlot* ip_metric_ = nullptr;
  IpMetricSlot& IpMetricOf(uint32_t pos) noexcept;
  // TCP sequence trackers by position (null when off), reset when a TCP
  // flow is created; tcp_track_ is true when either exists.
  TcpStream* tcp_stream_ = nullptr;
  TcpHealth* tcp_health_ = nullptr;
  bool tcp_track_ = false;
  bool defrag_busy_ = false;       // inside a fragment: no datagram give-up now
  std::vector<uint32_t> touched_;  // flows touched since the last update tick
  bool touched_overflow_ = false;  // touched_ was full: the tick scans the table
  // The update tick being reported (it may span several calls when the sink
  // is full): flows of `reporting_` from `report_cursor_` on, or table
  // positions from `report_cursor_` on when `report_scan_`.
  std::vector<uint32_t> reporting_;
  bool report_active_ = false;
  bool report_scan_ = false;
  size_t report_cursor_ = 0;
  int64_t report_tick_ms_ = 0;
  uint32_t flush_cursor_ = 0;
  uint32_t live_ = 0;
  int64_t now_ns_ = 0;
  bool clock_started_ = false;
  int64_t due_ns_ = kWorkLeft;  // next_due_ns()
  int64_t min_timer_ns_ = 0;    // the shortest timer ProcessBurst arms (set at Init)
  int64_t next_update_ns_ = 0;
  int64_t last_tick_ms_ = 0;
  TableCounters counters_;

  // Per-burst scratch (ProcessBurst), kept here so that a burst constructs
  // nothing. kLookupMax keys are looked up together (FlowIndex's waves).
  static constexpr uint32_t kLookupMax = 64;
  struct Scratch {
    FlowTableKey keys[kLookupMax];
    KeyOrientation orient[kLookupMax];
    uint32_t sigs[kLookupMax];
    int32_t cand[kLookupMax];
    int32_t positions[kLookupMax];
    uint64_t parent[kLookupMax];
    uint32_t idx[kLookupMax];
    int32_t refused[kLookupMax];
    bool alive[kLookupMax];
    bool counted[kLookupMax];
    // Flows created since the bulk lookup, by generation (one per lookup),
    // in a small open-addressing set on their signature: a later packet of
    // the same new flow finds it here instead of probing the hash again.
    static constexpr uint32_t kCreatedSlots = 2 * kLookupMax;
    uint64_t generation = 1;  // never wraps; 0 marks a slot never used
    uint64_t created_gen[kCreatedSlots] = {};
    int32_t created_pos[kCreatedSlots];
    uint32_t created_sig[kCreatedSlots];
    uint64_t created_removals[kCreatedSlots];  // removals_ when it was created
  };
  Scratch scratch_;
};

}  // namespace skyprobe
