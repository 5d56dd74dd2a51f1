#include "control/enhancer_pipeline.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace skyprobe {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Records its name in a shared log and bumps raw_packets_captured, so tests
// see both which enhancers ran and in what order.
class RecordingEnhancer final : public Enhancer {
 public:
  RecordingEnhancer(std::string name, std::vector<std::string>* log)
      : name_(std::move(name)), log_(log) {}
  std::string_view Name() const override { return name_; }
  void Enhance(FlowSnapshot* s) override {
    log_->push_back(name_);
    ++s->raw_packets_captured;
  }

 private:
  std::string name_;
  std::vector<std::string>* log_;
};

TEST(EnhancerPipelineConfigTest, UnknownNamesAreEnabled) {
  EnhancerPipelineConfig cfg;
  EXPECT_TRUE(cfg.IsEnabled("Anything"));
  cfg.Disable("A");
  cfg.Enable("B");
  EXPECT_FALSE(cfg.IsEnabled("A"));
  EXPECT_TRUE(cfg.IsEnabled("B"));
  cfg.Enable("A");  // last word wins
  EXPECT_TRUE(cfg.IsEnabled("A"));
  EXPECT_THAT(cfg.ConfiguredNames(), ElementsAre("A", "B"));
}

TEST(EnhancerPipelineTest, RunsEnabledEnhancersInOrder) {
  std::vector<std::string> log;
  EnhancerPipelineConfig cfg;
  cfg.Disable("second");
  EnhancerPipeline pipeline(cfg);
  ASSERT_TRUE(pipeline.AddEnhancer(std::make_unique<RecordingEnhancer>("third", &log)).ok());
  ASSERT_TRUE(pipeline.AddEnhancer(std::make_unique<RecordingEnhancer>("second", &log)).ok());
  ASSERT_TRUE(pipeline.AddEnhancer(std::make_unique<RecordingEnhancer>("first", &log)).ok());
  EXPECT_EQ(pipeline.size(), 3u);

  FlowSnapshot s;
  pipeline.Enhance(&s);
  EXPECT_THAT(log, ElementsAre("third", "first"));
  EXPECT_EQ(s.raw_packets_captured, 2);
}

TEST(EnhancerPipelineTest, SetConfigReappliesToRegisteredEnhancers) {
  std::vector<std::string> log;
  EnhancerPipeline pipeline;
  ASSERT_TRUE(pipeline.AddEnhancer(std::make_unique<RecordingEnhancer>("a", &log)).ok());
  ASSERT_TRUE(pipeline.AddEnhancer(std::make_unique<RecordingEnhancer>("b", &log)).ok());
  FlowSnapshot s;
  pipeline.Enhance(&s);
  EXPECT_THAT(log, ElementsAre("a", "b"));

  EnhancerPipelineConfig cfg;
  cfg.Disable("a");
  pipeline.SetConfig(cfg);
  EXPECT_FALSE(pipeline.IsEnabled("a"));
  log.clear();
  pipeline.Enhance(&s);
  EXPECT_THAT(log, ElementsAre("b"));
}

TEST(EnhancerPipelineTest, RejectsDuplicateAndNull) {
  std::vector<std::string> log;
  EnhancerPipeline pipeline;
  ASSERT_TRUE(pipeline.AddEnhancer(std::make_unique<RecordingEnhancer>("a", &log)).ok());
  const absl::Status dup = pipeline.AddEnhancer(std::make_unique<RecordingEnhancer>("a", &log));
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(dup.message()), HasSubstr("\"a\""));
  EXPECT_EQ(pipeline.AddEnhancer(nullptr).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pipeline.size(), 1u);
}

TEST(EnhancerPipelineTest, ReportsConfiguredNamesWithoutEnhancer) {
  std::vector<std::string> log;
  EnhancerPipelineConfig cfg;
  cfg.Disable("CommunityId");  // typo of CommunityID
  cfg.Enable("CommunityID");
  cfg.Enable("GeoIP");
  EnhancerPipeline pipeline(cfg);
  ASSERT_TRUE(pipeline.AddEnhancer(std::make_unique<RecordingEnhancer>("CommunityID", &log)).ok());
  ASSERT_TRUE(pipeline.AddEnhancer(std::make_unique<RecordingEnhancer>("Other", &log)).ok());

  EXPECT_THAT(pipeline.UnknownConfiguredNames(), ElementsAre("CommunityId", "GeoIP"));
  const absl::Status st = pipeline.CheckConfig();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(st.message()),
            "unknown enhancers \"CommunityId\", \"GeoIP\" in configuration; known enhancers: "
            "CommunityID, Other");

  EnhancerPipelineConfig good;
  good.Disable("Other");
  pipeline.SetConfig(good);
  EXPECT_THAT(pipeline.UnknownConfiguredNames(), IsEmpty());
  EXPECT_TRUE(pipeline.CheckConfig().ok());
}

TEST(EnhancerPipelineTest, EmptyPipelineNamesNoKnownEnhancers) {
  EnhancerPipelineConfig cfg;
  cfg.Enable("X");
  EnhancerPipeline pipeline(cfg);
  EXPECT_EQ(std::string(pipeline.CheckConfig().message()),
            "unknown enhancer \"X\" in configuration; known enhancers: none");
  FlowSnapshot s;
  pipeline.Enhance(&s);  // nothing registered: no-op
  EXPECT_EQ(s.raw_packets_captured, 0);
}

}  // namespace
}  // namespace skyprobe
