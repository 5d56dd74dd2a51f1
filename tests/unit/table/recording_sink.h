// recording_sink.h: RecordSinks for table tests: one that keeps every record
// it is handed, in order (a slot is always free: the consumer is never
// behind), and one that lets them go.
//
//   testing::RecordingSink sink;
//   auto table = FlowTable::Create(opts, sink.AsSink());
//   ... sink.records ...
#pragma once

#include <vector>

#include "table/flow_table.h"

namespace skyprobe::testing {

struct RecordingSink {
  std::vector<FlowSnapshot> records;
  FlowSnapshot slot;
  static FlowSnapshot* Acquire(void* ctx) { return &static_cast<RecordingSink*>(ctx)->slot; }
  static void Publish(void* ctx, FlowSnapshot* s) {
    static_cast<RecordingSink*>(ctx)->records.push_back(*s);
  }
  RecordSink AsSink() { return RecordSink{this, &Acquire, &Publish}; }
};

// A RecordSink that lets every record go (tests that read the table, not its records).
struct DiscardingSink {
  FlowSnapshot slot;
  static FlowSnapshot* Acquire(void* ctx) { return &static_cast<DiscardingSink*>(ctx)->slot; }
  static void Publish(void*, FlowSnapshot*) {}
  RecordSink AsSink() { return RecordSink{this, &Acquire, &Publish}; }
};

}  // namespace skyprobe::testing
