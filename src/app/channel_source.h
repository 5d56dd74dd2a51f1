// channel_source.h: a record channel of capture/ seen by the control loop as
// a RecordSource (control/ includes nothing from capture/).
//
// Owner: built by the wiring in src/app; its methods run on the control
// lcore. `done` is the producer's flag (RxWorker::done_flag(),
// SflowSource::done_flag()), set after its last Publish.
//
//   auto src = std::make_unique<ChannelSource>(channel.get(), worker->done_flag());
//   loop.AddSource(src.get());
#pragma once

#include <atomic>
#include <cstdint>

#include "capture/record_channel.h"
#include "control/record_source.h"

namespace skyprobe {

class ChannelSource final : public RecordSource {
 public:
  ChannelSource(RecordChannel* channel, const std::atomic<bool>* done)
      : channel_(channel), done_(done) {}

  bool Done() const noexcept override { return done_->load(std::memory_order_acquire); }
  uint32_t Drain(FlowSnapshot** out, uint32_t max) noexcept override {
    return channel_->Drain(out, max);
  }
  void Release(FlowSnapshot* const* recs, uint32_t n) noexcept override {
    channel_->Release(recs, n);
  }

 private:
  RecordChannel* channel_;
  const std::atomic<bool>* done_;
};

}  // namespace skyprobe
