#include "capture/record_channel.h"

#include <rte_errno.h>
#include <rte_mempool.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include <new>

#include "skyprobe/status.h"

namespace skyprobe {

namespace {

// Pool elements are FlowSnapshots for their whole life: constructed when the
// pool is made, destroyed with it (a snapshot may own its application
// metadata's storage, record/app_meta_box.h).
void ConstructRecord(rte_mempool*, void*, void* obj, unsigned) { new (obj) FlowSnapshot(); }
void DestroyRecord(rte_mempool*, void*, void* obj, unsigned) {
  static_cast<FlowSnapshot*>(obj)->~FlowSnapshot();
}

}  // namespace

absl::StatusOr<std::unique_ptr<RecordChannel>> RecordChannel::Create(const std::string& name,
                                                                     uint32_t size, int socket_id,
                                                                     PoolMode mode) {
  std::unique_ptr<RecordChannel> ch(new RecordChannel());
  const bool cached = mode == PoolMode::kSingleCached;
  // Records a cache can hold while the other side runs dry: the producer's
  // holds kCacheSize after a refill, the consumer's up to its flush
  // threshold (1.5 x kCacheSize, rte_mempool.h). The pool has that many more,
  // so that `size` records can always be in flight.
  const uint32_t slack = cached ? kCacheSize + kCacheSize * 3 / 2 : 0;
  const uint32_t objects = size + slack;
  // The ring holds every slot of the pool, so Publish can never fail.
  ch->ring_ = rte_ring_create((name + "_r").c_str(), rte_align32pow2(objects + 1), socket_id,
                              RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (ch->ring_ == nullptr) return ErrnoToStatus(-rte_errno, "rte_ring_create(" + name + ")");
  const unsigned flags = cached ? RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET : 0;
  ch->pool_ = rte_mempool_create((name + "_p").c_str(), objects, sizeof(FlowSnapshot), 0, 0,
                                 nullptr, nullptr, &ConstructRecord, nullptr, socket_id, flags);
  if (ch->pool_ == nullptr) return ErrnoToStatus(-rte_errno, "rte_mempool_create(" + name + ")");
  if (cached) {
    ch->get_cache_ = rte_mempool_cache_create(kCacheSize, socket_id);
    ch->put_cache_ = rte_mempool_cache_create(kCacheSize, socket_id);
    if (ch->get_cache_ == nullptr || ch->put_cache_ == nullptr) {
      return ErrnoToStatus(-rte_errno, "rte_mempool_cache_create(" + name + ")");
    }
  }
  return ch;
}

RecordChannel::~RecordChannel() {
  // What the caches hold goes with the pool.
  if (get_cache_ != nullptr) rte_mempool_cache_free(get_cache_);
  if (put_cache_ != nullptr) rte_mempool_cache_free(put_cache_);
  rte_ring_free(ring_);
  if (pool_ != nullptr) rte_mempool_obj_iter(pool_, &DestroyRecord, nullptr);
  rte_mempool_free(pool_);
}

RecordSink RecordChannel::Sink() {
  RecordSink s;
  s.ctx = this;
  s.acquire = &AcquireThunk;
  s.publish = &PublishThunk;
  return s;
}

FlowSnapshot* RecordChannel::AcquireThunk(void* ctx) {
  auto* ch = static_cast<RecordChannel*>(ctx);
  void* obj = nullptr;
  if (SKYPROBE_LIKELY(rte_mempool_generic_get(ch->pool_, &obj, 1, ch->get_cache_) == 0)) {
    return static_cast<FlowSnapshot*>(obj);
  }
  // Control is behind: the table keeps the flow and retries later.
  ch->stalls_.fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

void RecordChannel::PublishThunk(void* ctx, FlowSnapshot* s) {
  auto* ch = static_cast<RecordChannel*>(ctx);
  // Cannot fail: the ring is larger than the pool.
  while (rte_ring_sp_enqueue(ch->ring_, s) != 0) rte_pause();
}

uint32_t RecordChannel::Drain(FlowSnapshot** out, uint32_t max) noexcept {
  return rte_ring_sc_dequeue_burst(ring_, reinterpret_cast<void**>(out), max, nullptr);
}

void RecordChannel::Release(FlowSnapshot* const* recs, uint32_t n) noexcept {
  rte_mempool_generic_put(pool_, reinterpret_cast<void* const*>(recs), n, put_cache_);
}

}  // namespace skyprobe
