#include "control/enhancer_pipeline.h"

#include <utility>

namespace skyprobe {

Enhancer::~Enhancer() = default;

void EnhancerPipelineConfig::Enable(std::string_view name) {
  enabled_.insert_or_assign(std::string(name), true);
}

void EnhancerPipelineConfig::Disable(std::string_view name) {
  enabled_.insert_or_assign(std::string(name), false);
}

bool EnhancerPipelineConfig::IsEnabled(std::string_view name) const {
  const auto it = enabled_.find(name);
  return it == enabled_.end() || it->second;
}

std::vector<std::string> EnhancerPipelineConfig::ConfiguredNames() const {
  std::vector<std::string> names;
  names.reserve(enabled_.size());
  for (const auto& [name, on] : enabled_) names.push_back(name);
  return names;
}

EnhancerPipeline::EnhancerPipeline(EnhancerPipelineConfig config) : config_(std::move(config)) {}

absl::Status EnhancerPipeline::AddEnhancer(std::unique_ptr<Enhancer> enhancer) {
  if (enhancer == nullptr) return absl::InvalidArgumentError("enhancer pipeline: null enhancer");
  const std::string_view name = enhancer->Name();
  for (const Entry& e : entries_) {
    if (e.enhancer->Name() == name) {
      return absl::AlreadyExistsError("enhancer pipeline: enhancer \"" + std::string(name) +
                                      "\" is already registered");
    }
  }
  const bool enabled = config_.IsEnabled(name);
  entries_.push_back(Entry{std::move(enhancer), enabled});
  return absl::OkStatus();
}

void EnhancerPipeline::SetConfig(EnhancerPipelineConfig config) {
  config_ = std::move(config);
  for (Entry& e : entries_) e.enabled = config_.IsEnabled(e.enhancer->Name());
}

std::vector<std::string> EnhancerPipeline::UnknownConfiguredNames() const {
  std::vector<std::string> unknown;
  for (std::string& name : config_.ConfiguredNames()) {
    bool known = false;
    for (const Entry& e : entries_) known = known || e.enhancer->Name() == name;
    if (!known) unknown.push_back(std::move(name));
  }
  return unknown;
}

absl::Status EnhancerPipeline::CheckConfig() const {
  const std::vector<std::string> unknown = UnknownConfiguredNames();
  if (unknown.empty()) return absl::OkStatus();
  // Plain std::string building: Debian's Abseil has its own string_view type,
  // so absl::StrCat does not take std::string_view.
  std::string msg = unknown.size() > 1 ? "unknown enhancers " : "unknown enhancer ";
  for (size_t i = 0; i < unknown.size(); ++i) {
    msg += (i == 0 ? "\"" : ", \"") + unknown[i] + "\"";
  }
  msg += " in configuration; known enhancers: ";
  if (entries_.empty()) msg += "none";
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (i != 0) msg += ", ";
    msg += entries_[i].enhancer->Name();
  }
  return absl::InvalidArgumentError(msg);
}

}  // namespace skyprobe
