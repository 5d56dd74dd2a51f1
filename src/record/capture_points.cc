#include "record/capture_points.h"

#include <utility>

namespace skyprobe {

void CapturePoints::Add(uint8_t input, CapturePoint point) {
  if (points_.size() <= input) {
    points_.resize(input + 1u);
    present_.resize(input + 1u, false);
  }
  points_[input] = std::move(point);
  present_[input] = true;
}

std::vector<uint8_t> CapturePoints::Inputs() const {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < points_.size(); ++i) {
    if (present_[i]) out.push_back(static_cast<uint8_t>(i));
  }
  return out;
}

std::string CapturePoints::UuidTag(uint8_t input) const {
  const CapturePoint* p = Find(input);
  if (p == nullptr) return probe_node_tid_;
  for (size_t i = 0; i < points_.size(); ++i) {
    if (i == input || !present_[i] || points_[i].node_tid != p->node_tid) continue;
    // Shared: the CaptureID (unique within the probe) keeps the UUIDs apart;
    // the NUL ends the NodeTID as a C string would.
    std::string tag = p->node_tid;
    tag.push_back('\0');
    tag += p->capture_id;
    return tag;
  }
  return p->node_tid;
}

std::string_view RecordNodeTid(const FlowSnapshot& s, std::string_view probe_node_tid,
                               const CapturePoints* points) {
  if (s.node_tid[0] != '\0') return s.node_tid;
  if (points != nullptr) {
    if (const CapturePoint* p = points->Find(s.input)) return p->node_tid;
  }
  return probe_node_tid;
}

std::string_view RecordCaptureId(const FlowSnapshot& s, std::string_view fallback,
                                 const CapturePoints* points) {
  if (points != nullptr) {
    if (const CapturePoint* p = points->Find(s.input)) return p->capture_id;
  }
  return fallback;
}

}  // namespace skyprobe
