// inputs.h: wiring of the probe's inputs: ports and lcores (--pcap, --iface,
// --eal: the distribution mode, one shard, record channel and query port per
// RX worker, the dispatcher) and the sFlow collector (--sflow-listen). Each
// producer of records is added to the control loop as a RecordSource.
//
// Owner: the EAL main lcore, at start-up, before any lcore is launched.
//
//   SKYPROBE_RETURN_IF_ERROR(SetUpPorts(cfg, stop, &loop, &running, &workers));
//   SKYPROBE_RETURN_IF_ERROR(SetUpSflow(cfg, stop, &loop, &running));
#pragma once

#include <rte_config.h>

#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "app/running.h"
#include "config/config.h"
#include "control/control_loop.h"

namespace skyprobe {

// Input numbers (FlowSnapshot::input, one capture point each): DPDK port p
// is p + 1; the i-th --sflow-listen is kSflowInputBase + i (SflowSource sets
// ParsedPacket::input to it), after every port's.
inline constexpr uint32_t kSflowInputBase = RTE_MAX_ETHPORTS + 1;
static_assert(kSflowInputBase + sflow::SflowSockets::kMaxSockets <= kInputSlots,
              "a table counts each input apart");

// The port inputs (--pcap, --iface, --eal): ports, filters, pacing, one
// shard, record channel and query port per RX worker, and the dispatcher.
// `*workers`: how many RX workers were set up (their lcores are in `r`).
absl::Status SetUpPorts(const Config& cfg, const std::atomic<bool>* stop, ControlLoop* loop,
                        Running* r, uint32_t* workers);

// --sflow-listen: the sockets are bound now, so that an address in use stops
// the probe at start-up with a clear message.
absl::Status SetUpSflow(const Config& cfg, const std::atomic<bool>* stop, ControlLoop* loop,
                        Running* r);

}  // namespace skyprobe
