// record_channel.h: the one-way path of flow records from a worker to control.
//
// Owner: the producer side (Acquire/Publish) belongs to one RX lcore (or the
// sFlow thread), the consumer side (Drain/Release) to the control lcore. A
// FlowSnapshot pool and an SPSC ring at least as large as the pool: when the
// pool is empty the worker gets no slot (counted as a stall), keeps its flow
// and retries on a later loop, so it never blocks on control and a record is
// never dropped. The pool has one getter and one putter, so it uses DPDK's
// single-consumer get and single-producer put, and each side has a cache of
// its own (a record taken or given back is a few stores, the pool's ring is
// touched once per kCacheSize records): user caches rather than the per-lcore
// ones, so that the sFlow thread, which is no EAL lcore, has one too.
//
//   auto ch = RecordChannel::Create("w0", 4096, socket);
//   table_sink = ch->Sink();                // given to the worker's FlowTable
//   n = ch->Drain(recs, 64); ...; ch->Release(recs, n);   // control lcore
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "skyprobe/compiler.h"
#include "table/flow_table.h"

struct rte_ring;
struct rte_mempool;
struct rte_mempool_cache;

namespace skyprobe {

class RecordChannel {
 public:
  // How the pool is shared: kSingleCached is the channel's own use;
  // kSharedUncached is DPDK's default pool (multi-producer/multi-consumer
  // ops, no cache), what the channel used before, kept as the benchmark's
  // baseline (tests/bench/record_path_bench.cc).
  enum class PoolMode : uint8_t { kSingleCached, kSharedUncached };
  // Records taken (or given back) per visit of the pool's ring.
  static constexpr uint32_t kCacheSize = 64;

  // At least `size` records can be in flight, whatever the caches hold.
  static absl::StatusOr<std::unique_ptr<RecordChannel>> Create(
      const std::string& name, uint32_t size, int socket_id,
      PoolMode mode = PoolMode::kSingleCached);
  ~RecordChannel();

  RecordSink Sink();

  // Consumer side.
  uint32_t Drain(FlowSnapshot** out, uint32_t max) noexcept;
  void Release(FlowSnapshot* const* recs, uint32_t n) noexcept;

  // Producer-side counter, read by control for stats (single writer).
  uint64_t stalls() const { return stalls_.load(std::memory_order_relaxed); }

 private:
  RecordChannel() = default;
  static FlowSnapshot* AcquireThunk(void* ctx);
  static void PublishThunk(void* ctx, FlowSnapshot* s);

  rte_ring* ring_ = nullptr;
  rte_mempool* pool_ = nullptr;
  // Null in kSharedUncached mode. The producer's and the consumer's: apart,
  // each on its own lines.
  rte_mempool_cache* get_cache_ = nullptr;
  rte_mempool_cache* put_cache_ = nullptr;
  SKYPROBE_CACHE_ALIGNED std::atomic<uint64_t> stalls_{0};
};

}  // namespace skyprobe
