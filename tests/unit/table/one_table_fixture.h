// one_table_fixture.h: a test fixture around one small FlowTable fed one
// frame at a time on a fake clock, for the table tests of one feature (the
// TCP trackers, application metadata). A test picks the feature's options,
// builds, feeds, and reads the final records.
//
//   FlowTableOptions o = OneTableTest::Options("tcp");  o.tcp_health = true;
//   Create(o);  Feed(packet, 20 * kMs);  const FlowSnapshot f = Final();
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "packet_builder.h"
#include "recording_sink.h"
#include "table/flow_table.h"

namespace skyprobe::testing {

class OneTableTest : public ::testing::Test {
 public:
  static constexpr int64_t kMs = 1'000'000;
  static constexpr int64_t kT0 = 1'700'000'000'000'000'000;  // the fake clock's zero

 protected:
  // 64 flows, expiry 10 s, updates every 5 s, 100 ms ticks; a name of its
  // own (memory zone names are process-wide).
  static FlowTableOptions Options(const std::string& prefix) {
    static std::atomic<int> n{0};
    FlowTableOptions opts;
    opts.name = prefix + std::to_string(n++);
    opts.max_flows = 64;
    opts.expire_ns = 10'000 * kMs;
    opts.update_ns = 5'000 * kMs;
    opts.tick_ns = 100 * kMs;
    return opts;
  }
  // A new table (and sink) in place of the last one.
  void Create(const FlowTableOptions& opts) {
    sink_ = std::make_unique<RecordingSink>();
    table_.reset();
    auto t = FlowTable::Create(opts, sink_->AsSink());
    ASSERT_TRUE(t.ok()) << t.status();
    table_ = std::move(*t);
  }
  // One frame at kT0 + t.
  void Feed(const TestPacket& p, int64_t t = 0) {
    const uint8_t* frame = p.frame.data();
    const int64_t ts = kT0 + t;
    table_->AdvanceClock(ts);
    table_->ProcessBurst(&frame, &p.parsed, &ts, 1);
  }
  // Every flow's final record, the table flushed.
  std::vector<FlowSnapshot> Finals() {
    sink_->records.clear();
    EXPECT_TRUE(table_->FlushAll());
    return sink_->records;
  }
  // The one flow's final record.
  FlowSnapshot Final() {
    std::vector<FlowSnapshot> r = Finals();
    EXPECT_EQ(r.size(), 1u);
    return r.empty() ? FlowSnapshot() : r.back();
  }

  std::unique_ptr<RecordingSink> sink_;
  std::unique_ptr<FlowTable> table_;
};

}  // namespace skyprobe::testing
