#include "app/outputs.h"

#include <memory>
#include <utility>

#include "control/enhancers/community_id.h"
#include "export/json_lines_handler.h"
#include "skyprobe/status.h"

namespace skyprobe {

absl::Status SetUpEnhancers(const Config& cfg, EnhancerPipeline* pipeline) {
  if (cfg.community_id) {
    SKYPROBE_RETURN_IF_ERROR(
        pipeline->AddEnhancer(std::make_unique<CommunityIdEnhancer>(cfg.community_id_seed)));
  }
  return absl::OkStatus();
}

absl::Status SetUpOutputs(const Config& cfg, ControlLoop* loop) {
  if (!cfg.json_path.empty()) {
    JsonContext ctx;
    ctx.node_tid = cfg.node_tid;
    SKYPROBE_ASSIGN_OR_RETURN(auto json, JsonLinesHandler::Open(cfg.json_path, ctx));
    loop->AddHandler(std::move(json));
  }
  return absl::OkStatus();
}

}  // namespace skyprobe
