// enhancer_pipeline.h: the ordered list of enhancers run on every record.
//
// Owner: control lcore only (built at start-up, then used by the control loop).
// Skydive's EnhancerPipeline and EnhancerPipelineConfig: an enhancer whose
// name the configuration never mentions is enabled. Unlike Skydive, a
// configured name that matches no registered enhancer is reported (CheckConfig)
// so a typo in the config file is an error, not a silently ignored line.
//
//   EnhancerPipeline pipeline(config);   // config.Disable("CommunityID") ...
//   SKYPROBE_RETURN_IF_ERROR(pipeline.AddEnhancer(std::move(e)));
//   SKYPROBE_RETURN_IF_ERROR(pipeline.CheckConfig());
//   pipeline.Enhance(snapshot);
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "control/enhancer.h"
#include "record/flow_snapshot.h"

namespace skyprobe {

// Which enhancers are on, by name.
class EnhancerPipelineConfig {
 public:
  void Enable(std::string_view name);
  void Disable(std::string_view name);

  // True unless `name` was disabled (names never configured are enabled).
  bool IsEnabled(std::string_view name) const;

  // Every name given to Enable() or Disable(), sorted.
  std::vector<std::string> ConfiguredNames() const;

 private:
  std::map<std::string, bool, std::less<>> enabled_;
};

class EnhancerPipeline {
 public:
  explicit EnhancerPipeline(EnhancerPipelineConfig config = {});

  EnhancerPipeline(const EnhancerPipeline&) = delete;
  EnhancerPipeline& operator=(const EnhancerPipeline&) = delete;

  // Appends `enhancer`; it runs after those added before it. AlreadyExists if
  // an enhancer with the same name is registered, InvalidArgument if null.
  absl::Status AddEnhancer(std::unique_ptr<Enhancer> enhancer);

  // Replaces the configuration (e.g. on reload).
  void SetConfig(EnhancerPipelineConfig config);
  const EnhancerPipelineConfig& config() const { return config_; }

  // Configured names that match no registered enhancer, sorted.
  std::vector<std::string> UnknownConfiguredNames() const;

  // InvalidArgument naming the unknown configured enhancers and the known
  // ones, OK if there are none.
  absl::Status CheckConfig() const;

  // Runs every enabled enhancer on `s`, in registration order.
  void Enhance(FlowSnapshot* s) const {
    for (const Entry& e : entries_) {
      if (e.enabled) e.enhancer->Enhance(s);
    }
  }

  bool IsEnabled(std::string_view name) const { return config_.IsEnabled(name); }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::unique_ptr<Enhancer> enhancer;
    bool enabled;  // cached from config_, so Enhance() does no map lookup
  };

  EnhancerPipelineConfig config_;
  std::vector<Entry> entries_;
};

}  // namespace skyprobe
