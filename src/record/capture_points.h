// capture_points.h: the probe's capture points (Skydive's table per capture):
// which NodeTID and CaptureID the records of each input carry, and what their
// UUIDs hash.
//
// Owner: built once by src/app at start-up, then shared read-only
// (std::shared_ptr<const CapturePoints>) by every thread that formats or
// filters records: the control lcore, gRPC threads, RX workers between bursts.
//
//   auto points = std::make_shared<CapturePoints>(cfg.node_tid);
//   points->Add(port_id + 1, CapturePoint{"tap1.pcap", "tap-1", "uplink"});
//   std::string_view id = RecordCaptureId(snap, "", points.get());
//
// A record names its point by FlowSnapshot::input (1-based: DPDK port id + 1
// for port inputs, app/inputs.h kSflowInputBase + i for the i-th sFlow
// listener, whose records keep their agent's NodeTID; 0: none).
//
// UUIDs. Skydive's UUID hashes the flow's table key, Start and NodeTID, so the
// same conversation seen at two capture points with their own NodeTIDs (two
// interfaces, two hosts) has two UUIDs and one TrackingID. skyprobe keeps that
// hash byte for byte where the NodeTID tells the points apart. When several
// points share a NodeTID (two taps of one probe, no node-tid= given), the UUID
// hashes after the NodeTID a NUL byte and the point's CaptureID (unique within
// the probe), so the UUIDs still differ; a probe with one capture point hashes
// exactly what Skydive hashes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "record/flow_snapshot.h"

namespace skyprobe {

struct CapturePoint {
  std::string name;        // the input: file path, interface, DPDK device
  std::string node_tid;    // NodeTID of its records
  std::string capture_id;  // CaptureID of its records, unique within the probe
};

class CapturePoints {
 public:
  // `probe_node_tid`: --node-tid, for records of no point (or no own NodeTID).
  explicit CapturePoints(std::string probe_node_tid = "")
      : probe_node_tid_(std::move(probe_node_tid)) {}

  // Set-up only: the point whose records carry `input` (1..255).
  void Add(uint8_t input, CapturePoint point);

  // The point of `input`, or null (input 0, or no point of that number).
  const CapturePoint* Find(uint8_t input) const {
    return input < points_.size() && present_[input] ? &points_[input] : nullptr;
  }
  const std::string& probe_node_tid() const { return probe_node_tid_; }
  // Inputs with a point, in increasing order.
  std::vector<uint8_t> Inputs() const;

  // What the UUID of a flow of `input` hashes after its Start (see above):
  // the NodeTID, then "\0" and the CaptureID when another point shares it.
  std::string UuidTag(uint8_t input) const;

 private:
  std::string probe_node_tid_;
  std::vector<CapturePoint> points_;  // by input
  std::vector<bool> present_;
};

// The NodeTID a record reports: its own (sFlow: its agent's), else its
// capture point's, else `probe_node_tid`. `points` may be null.
std::string_view RecordNodeTid(const FlowSnapshot& s, std::string_view probe_node_tid,
                               const CapturePoints* points);
// The CaptureID a record reports: its capture point's, else `fallback`.
std::string_view RecordCaptureId(const FlowSnapshot& s, std::string_view fallback,
                                 const CapturePoints* points);

}  // namespace skyprobe
