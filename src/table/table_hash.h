// table_hash.h: the keyed hash that places flows in a shard's rte_hash.
//
// Owner: one process-wide secret, set at start-up before any table or RX
// lcore exists (SetTableHashSeed; a random one otherwise), then only read by
// every RX lcore.
//
//   SetTableHashSeed(cfg.hash_seed);              // --hash-seed N: reproducible placement
//   uint32_t sig = TableHashSig(key);            // per packet (flow_key.h's FlowTableKey)
//
// Why keyed. The words of a flow key come from the packets. With a public
// hash, anyone who can send packets past the probe can compute which flows
// share a bucket and send thousands of them: rte_hash then chains them in
// its extendable buckets and every lookup walks the chain (hash flooding).
// XXH3 with a 192-byte secret drawn at start-up (getrandom) gives placements
// an outsider cannot predict. This is only about placement: the flows'
// exported IDs (TrackingID, L3TrackingID, UUID) are Skydive's unkeyed
// XXH64, bit for bit (flow_key.h), and two different keys never share a
// flow whatever their hashes, because the table compares whole keys.
#pragma once

#include <cstddef>
#include <cstdint>

namespace skyprobe {

// Secret from `seed` (XXH3_generateSecret_fromSeed): the same placement in
// every run, for tests and reproducible benchmarks.
void SetTableHashSeed(uint64_t seed);
// A fresh random secret (what the process starts with).
void SetTableHashRandom();

namespace table_hash_internal {
inline constexpr size_t kSecretSize = 192;  // XXH3_SECRET_DEFAULT_SIZE
// XXH3's secret (flow_key.cc hashes keys with it).
struct Secret {
  alignas(64) uint8_t bytes[kSecretSize];
};
extern Secret g_secret;
}  // namespace table_hash_internal

}  // namespace skyprobe
