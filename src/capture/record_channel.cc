#include "capture/record_channel.h"

#include <rte_errno.h>
#include <rte_mempool.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "skyprobe/status.h"

namespace skyprobe {

absl::StatusOr<std::unique_ptr<RecordChannel>> RecordChannel::Create(const std::string& name,
                                                                     uint32_t size, int socket_id) {
  std::unique_ptr<RecordChannel> ch(new RecordChannel());
  // The ring holds every slot of the pool, so Publish can never fail.
  ch->ring_ = rte_ring_create((name + "_r").c_str(), rte_align32pow2(size + 1), socket_id,
                              RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (ch->ring_ == nullptr) return ErrnoToStatus(-rte_errno, "rte_ring_create(" + name + ")");
  ch->pool_ = rte_mempool_create((name + "_p").c_str(), size, sizeof(FlowSnapshot), 0, 0, nullptr,
                                 nullptr, nullptr, nullptr, socket_id, 0);
  if (ch->pool_ == nullptr) return ErrnoToStatus(-rte_errno, "rte_mempool_create(" + name + ")");
  return ch;
}

RecordChannel::~RecordChannel() {
  rte_ring_free(ring_);
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
  if (SKYPROBE_LIKELY(rte_mempool_get(ch->pool_, &obj) == 0)) {
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
  rte_mempool_put_bulk(pool_, reinterpret_cast<void* const*>(recs), n);
}

}  // namespace skyprobe
