// The control loop over RecordSources: every record reaches every handler
// once, in each source's order, after the enhancers; the loop ends only when
// every source is done and empty; the first Close() error is returned.
#include "control/control_loop.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "export/json_lines_handler.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace skyprobe {
namespace {

using ::testing::ElementsAreArray;

// A producer as the control lcore sees it: `before` records are there from
// the start; `last` more appear at the very moment it turns done (on its
// `done_after`-th Done() call), as when a worker publishes its final records
// and then sets its flag between two polls. Hands out at most 7 records per
// Drain so that a source takes several batches.
class ScriptedSource final : public RecordSource {
 public:
  ScriptedSource(uint64_t first_uuid, int before, int last, int done_after)
      : next_uuid_(first_uuid), last_(last), done_after_(done_after) {
    Publish(before);
  }

  bool Done() const noexcept override {
    if (!done_ && ++done_calls_ >= done_after_) {
      Publish(last_);
      done_ = true;
    }
    return done_;
  }
  uint32_t Drain(FlowSnapshot** out, uint32_t max) noexcept override {
    const uint32_t n = std::min<uint32_t>({max, 7, static_cast<uint32_t>(store_.size() - head_)});
    for (uint32_t i = 0; i < n; ++i) out[i] = &store_[head_ + i];
    head_ += n;
    drained_ += n;
    return n;
  }
  void Release(FlowSnapshot* const* recs, uint32_t n) noexcept override {
    for (uint32_t i = 0; i < n; ++i) {
      // Released in the order handed out, each exactly once.
      if (recs[i] == &store_[released_]) ++released_;
    }
  }

  std::vector<uint64_t> Published() const {
    std::vector<uint64_t> out;
    for (const FlowSnapshot& s : store_) out.push_back(s.uuid);
    return out;
  }
  size_t drained() const { return drained_; }
  size_t released() const { return released_; }

 private:
  void Publish(int n) const {
    for (int i = 0; i < n; ++i) {
      FlowSnapshot s;
      s.uuid = next_uuid_++;
      s.event = s.uuid % 3 == 0 ? FlowEvent::kExpire : FlowEvent::kUpdate;
      store_.push_back(s);  // deque: earlier records keep their address
    }
  }

  mutable std::deque<FlowSnapshot> store_;
  mutable uint64_t next_uuid_;
  mutable int done_calls_ = 0;
  mutable bool done_ = false;
  const int last_;
  const int done_after_;
  size_t head_ = 0;
  size_t drained_ = 0;
  size_t released_ = 0;
};

struct Seen {
  std::vector<uint64_t> uuids;
  std::vector<bool> enhanced;
  int closes = 0;
};

class RecordingHandler final : public FlowHandler {
 public:
  RecordingHandler(Seen* seen, absl::Status close) : seen_(seen), close_(std::move(close)) {}
  void OnRecord(const FlowSnapshot& s) override {
    seen_->uuids.push_back(s.uuid);
    seen_->enhanced.push_back(std::strcmp(s.community_id, "seen") == 0);
  }
  absl::Status Close() override {
    ++seen_->closes;
    return close_;
  }

 private:
  Seen* seen_;
  absl::Status close_;
};

class MarkingEnhancer final : public Enhancer {
 public:
  std::string_view Name() const override { return "Mark"; }
  void Enhance(FlowSnapshot* s) override { std::strcpy(s->community_id, "seen"); }
};

// The uuids of `all` that fall in [lo, hi), in the order they were seen.
std::vector<uint64_t> Range(const std::vector<uint64_t>& all, uint64_t lo, uint64_t hi) {
  std::vector<uint64_t> out;
  for (uint64_t u : all) {
    if (u >= lo && u < hi) out.push_back(u);
  }
  return out;
}

TEST(ControlLoopTest, EveryRecordOnceInOrderIncludingThoseBeforeDone) {
  ScriptedSource a(1, 50, 5, 3);
  ScriptedSource b(1001, 30, 3, 5);
  ScriptedSource empty(5001, 0, 0, 2);
  EnhancerPipeline pipeline;
  ASSERT_TRUE(pipeline.AddEnhancer(std::make_unique<MarkingEnhancer>()).ok());
  ControlLoop loop(&pipeline);
  loop.AddSource(&a);
  loop.AddSource(&b);
  loop.AddSource(&empty);
  Seen one, two;
  loop.AddHandler(std::make_unique<RecordingHandler>(&one, absl::OkStatus()));
  loop.AddHandler(std::make_unique<RecordingHandler>(&two, absl::OkStatus()));

  ASSERT_TRUE(loop.Run().ok());

  ASSERT_EQ(a.Published().size(), 55u);
  ASSERT_EQ(b.Published().size(), 33u);
  for (const Seen* s : {&one, &two}) {
    EXPECT_THAT(Range(s->uuids, 1, 1001), ElementsAreArray(a.Published()));
    EXPECT_THAT(Range(s->uuids, 1001, 5001), ElementsAreArray(b.Published()));
    EXPECT_EQ(s->uuids.size(), 88u);
    EXPECT_EQ(std::count(s->enhanced.begin(), s->enhanced.end(), true), 88);
    EXPECT_EQ(s->closes, 1);
  }
  EXPECT_EQ(a.released(), a.drained());
  EXPECT_EQ(a.released(), 55u);
  EXPECT_EQ(b.released(), 33u);

  uint64_t expires = 0;
  for (uint64_t u : one.uuids) expires += u % 3 == 0;
  EXPECT_EQ(loop.counters().records, 88u);
  EXPECT_EQ(loop.counters().expire_records, expires);
  EXPECT_EQ(loop.counters().update_records, 88u - expires);
}

TEST(ControlLoopTest, ReturnsTheFirstCloseErrorAfterClosingEveryHandler) {
  ScriptedSource a(1, 3, 0, 1);
  ControlLoop loop(nullptr);
  loop.AddSource(&a);
  Seen ok, bad, worse;
  loop.AddHandler(std::make_unique<RecordingHandler>(&ok, absl::OkStatus()));
  loop.AddHandler(std::make_unique<RecordingHandler>(&bad, absl::DataLossError("disk full")));
  loop.AddHandler(std::make_unique<RecordingHandler>(&worse, absl::InternalError("pipe")));

  const absl::Status st = loop.Run();

  EXPECT_EQ(st, absl::DataLossError("disk full"));
  EXPECT_EQ(ok.closes + bad.closes + worse.closes, 3);
  EXPECT_EQ(worse.uuids.size(), 3u);
  EXPECT_FALSE(worse.enhanced[0]);  // no pipeline: records pass unchanged
}

// An output that fails (the --json sink on a device that is always full)
// beside one that works: the working one gets every record, the failing one
// counts every record lost, and Run() reports the loss (exit status 3).
TEST(ControlLoopTest, AFailingOutputDoesNotStopTheOthers) {
  ScriptedSource a(1, 40, 5, 4);
  ControlLoop loop(nullptr);
  loop.AddSource(&a);
  auto json = JsonLinesHandler::Open("/dev/full", JsonContext());
  ASSERT_TRUE(json.ok()) << json.status();
  const OutputCounters* out = (*json)->output_counters();
  loop.AddHandler(*std::move(json));
  Seen after;
  loop.AddHandler(std::make_unique<RecordingHandler>(&after, absl::OkStatus()));

  const absl::Status st = loop.Run();

  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  EXPECT_THAT(after.uuids, ElementsAreArray(a.Published()));
  EXPECT_EQ(out->records_lost.load(), 45u);
  EXPECT_GE(out->output_errors.load(), 1u);
  ASSERT_EQ(loop.handlers().size(), 2u);
  EXPECT_STREQ(loop.handlers()[0]->output_name(), "json");
  EXPECT_EQ(loop.handlers()[1]->output_counters(), nullptr);  // not an output
}

// SIGHUP bumps a counter; the loop makes every handler reopen once per bump.
class HangUpSource final : public RecordSource {
 public:
  explicit HangUpSource(std::atomic<uint64_t>* hup) : hup_(hup) {}
  bool Done() const noexcept override {
    ++calls_;
    if (calls_ == 3 || calls_ == 5) hup_->fetch_add(1);  // two signals while running
    return calls_ >= 8;
  }
  uint32_t Drain(FlowSnapshot**, uint32_t) noexcept override { return 0; }
  void Release(FlowSnapshot* const*, uint32_t) noexcept override {}

 private:
  std::atomic<uint64_t>* hup_;
  mutable int calls_ = 0;
};

class ReopenCounter final : public FlowHandler {
 public:
  explicit ReopenCounter(int* n) : n_(n) {}
  void OnRecord(const FlowSnapshot&) override {}
  void Reopen() override { ++*n_; }

 private:
  int* n_;
};

TEST(ControlLoopTest, EachHangUpReopensEveryHandlerOnce) {
  std::atomic<uint64_t> hup{7};  // signals before Run() are not replayed
  HangUpSource src(&hup);
  ControlLoop loop(nullptr);
  loop.AddSource(&src);
  loop.SetReopenSignal(&hup);
  int first = 0, second = 0;
  loop.AddHandler(std::make_unique<ReopenCounter>(&first));
  loop.AddHandler(std::make_unique<ReopenCounter>(&second));
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_EQ(hup.load(), 9u);
  EXPECT_EQ(first, 2);
  EXPECT_EQ(second, 2);
}

// Several periodic tasks (the --stats-interval line, the progress line) each
// run while the loop runs; the loop ends when its source is done, whatever
// the tasks are doing.
class UntilSource final : public RecordSource {
 public:
  explicit UntilSource(const std::function<bool()>& done) : done_(done) {}
  bool Done() const noexcept override { return done_(); }
  uint32_t Drain(FlowSnapshot**, uint32_t) noexcept override { return 0; }
  void Release(FlowSnapshot* const*, uint32_t) noexcept override {}

 private:
  std::function<bool()> done_;
};

TEST(ControlLoopTest, EveryPeriodicTaskRuns) {
  int fast = 0, slow = 0;
  UntilSource src([&] { return fast >= 2 && slow >= 2; });
  ControlLoop loop(nullptr);
  loop.AddSource(&src);
  loop.AddPeriodic(5, [&] { ++fast; });
  loop.AddPeriodic(20, [&] { ++slow; });
  loop.AddPeriodic(0, [&] { ADD_FAILURE() << "a zero period is no task"; });
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_GE(fast, 2);
  EXPECT_GE(slow, 2);
}

}  // namespace
}  // namespace skyprobe
