// flow_table_util.h: small helpers the flow table's files share (private to
// src/table).
//
// Owner: the shard's RX lcore, like FlowTable; pure functions.
//
//   rte_hash_lookup_with_hash(hash, &key, Sig(key));
//   c.start_ms.Set(Ms(ts_ns));
#pragma once

#include <cstdint>

namespace skyprobe::table_internal {

inline uint32_t Sig(uint64_t key) { return static_cast<uint32_t>(key ^ (key >> 32)); }
inline int64_t Ms(int64_t ns) { return ns / 1'000'000; }

}  // namespace skyprobe::table_internal
