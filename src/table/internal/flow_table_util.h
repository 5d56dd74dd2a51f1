// flow_table_util.h: small helpers the flow table's files share (private to
// src/table).
//
// Owner: the shard's RX lcore, like FlowTable; pure functions.
//
//   c.start_ms.Set(Ms(ts_ns));
#pragma once

#include <cstdint>

namespace skyprobe::table_internal {

inline int64_t Ms(int64_t ns) { return ns / 1'000'000; }

}  // namespace skyprobe::table_internal
