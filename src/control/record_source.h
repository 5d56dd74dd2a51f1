// record_source.h: what the control loop polls for flow records.
//
// Owner: the control lcore calls every method; the records come from a
// producer on another core (an RX worker's or the sFlow collector's record
// channel, which src/app wires behind this interface). One call drains a
// batch of up to 64 records: an indirect call per batch, never per packet.
//
//   const bool done = src->Done();            // read before draining
//   uint32_t n = src->Drain(recs, 64);  ...  src->Release(recs, n);
#pragma once

#include <cstdint>

#include "record/flow_snapshot.h"

namespace skyprobe {

class RecordSource {
 public:
  virtual ~RecordSource() = default;

  // True once the producer has published its last record: a Drain after
  // Done() returned true empties the source for good.
  virtual bool Done() const noexcept = 0;

  // Up to `max` records, oldest first; each stays valid until released.
  virtual uint32_t Drain(FlowSnapshot** out, uint32_t max) noexcept = 0;
  virtual void Release(FlowSnapshot* const* recs, uint32_t n) noexcept = 0;
};

}  // namespace skyprobe
