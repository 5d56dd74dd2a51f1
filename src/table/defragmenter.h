// defragmenter.h: the per-shard table of IP datagrams in reassembly (virtual
// reassembly: byte ranges and a few header bytes, never the payload).
//
// Owner: the RX lcore that owns the shard (FlowTable keeps one when
// --ip-defrag is on; flow_table_defrag.cc decides what a fragment counts
// in). Storage is allocated once at Create() (calloc: pages become resident
// when first used); nothing is allocated per packet. Datagrams are keyed by
// (input, IP version, sub-packet level, VLAN stack, source, destination,
// protocol, IP id) in an open-addressing table with linear probing and backward-shift
// deletion, and kept in an age list (a datagram's deadline is its creation
// time + timeout, so the list's head is always the next one due).
//
//   auto d = Defragmenter::Create(16384);
//   DefragKey k = MakeDefragKey(frame, pkt);
//   uint32_t idx = d->Find(k, DefragHash(k));
//   if (idx == kNoIndex) idx = d->Insert(k, DefragHash(k), ts_ns);  // when !full()
//   FragmentFit fit = Defragmenter::AddFragment(d->entry(idx), off, len, more);
//   if (Defragmenter::Complete(d->entry(idx))) d->Remove(idx);
//
// Completion and errors (what FlowTable counts in IPMetric):
//   - a datagram is complete once the fragment without MF arrived and the
//     received fragments cover [0, end) exactly;
//   - the same (offset, length) again is a duplicate: it is a frame like any
//     other but adds nothing;
//   - a fragment that partly overlaps another (or repeats a part of one with
//     other bounds), a non-last fragment whose length is not a multiple of 8,
//     two different ends, data beyond the end or beyond 65535: errors, and the
//     datagram is never reassembled (RFC 5722 for IPv6; Linux does the same
//     for IPv4);
//   - more than kDefragMaxFragments distinct fragments: an error too.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "parse/parsed_packet.h"
#include "table/flow_record.h"

namespace skyprobe {

// Distinct fragments a datagram may have (a 64 KB datagram over a 1500-byte
// MTU has 45; 1280-byte IPv6 minimum MTU: 52).
inline constexpr uint32_t kDefragMaxFragments = 64;
// Fragments kept (time and lengths only) while the offset-0 one is missing.
inline constexpr uint32_t kDefragMaxHeld = 8;
// Leading bytes of one fragment kept to key the datagram's flows later: the
// first fragment's (up to its L4 header through a VXLAN/Geneve/GRE tunnel),
// or, until it comes, the first held fragment's (the fallback flow).
inline constexpr uint32_t kDefragHeaderCopy = 192;

struct DefragKey {
  uint8_t ip_version;
  uint8_t proto;
  uint8_t level;  // sub-packet index: an inner datagram never meets an outer one
  uint8_t input;  // ParsedPacket::input: capture points never share a datagram
  uint32_t id;
  uint64_t link_id;  // VLAN stack of the sub-packet
  uint8_t src[16];
  uint8_t dst[16];
};
static_assert(sizeof(DefragKey) == 48, "DefragKey layout");

// The key of the fragment in `pkt.sub[pkt.frag_sub]` (frag_sub must be set).
DefragKey MakeDefragKey(const uint8_t* frame, const ParsedPacket& pkt) noexcept;
uint32_t DefragHash(const DefragKey& key) noexcept;

// A fragment that came before the offset-0 one: accounted once that one
// arrives (in the datagram's flows) or at give-up (in the fallback flow).
struct HeldFragment {
  int64_t ts_ns;
  uint32_t length[kMaxSubPackets];  // SubPacket::length of levels 0..frag_sub
  uint32_t data_len;                // SubPacket::frag_data_len
};

struct DefragEntry {
  DefragKey key;
  int64_t created_ns;
  uint32_t hash;
  uint32_t older;  // age list links (kNoIndex at the ends)
  uint32_t newer;
  uint32_t end;        // datagram payload length, known once have_last
  uint32_t covered;    // bytes received (fragments never overlap in a live entry)
  uint32_t accounted;  // fragments counted in the datagram's flow (errors at give-up)
  uint8_t num_frags;
  uint8_t num_held;
  bool have_first;  // header holds the offset-0 fragment's bytes
  bool have_last;
  bool failed;      // overlap / inconsistent / too many: never reassembled
  bool context_ok;  // `header` re-parses to the same flows as the fragment it was copied from
  uint8_t level;
  uint8_t input;       // ParsedPacket::input of the frame in `header`
  LinkType link_type;  // of the frame in `header`
  uint16_t header_len;
  uint16_t frag_begin[kDefragMaxFragments];  // received fragments, unordered
  uint16_t frag_end[kDefragMaxFragments];
  HeldFragment held[kDefragMaxHeld];
  uint8_t header[kDefragHeaderCopy];
};

enum class FragmentFit : uint8_t {
  kAdded = 0,
  kDuplicate,     // same bounds as a fragment already received
  kOverlap,       // overlaps another fragment
  kInconsistent,  // lengths or ends that no datagram can have
  kTooMany,       // more than kDefragMaxFragments
};

class Defragmenter {
 public:
  static absl::StatusOr<std::unique_ptr<Defragmenter>> Create(uint32_t max_datagrams);
  ~Defragmenter();
  Defragmenter(const Defragmenter&) = delete;
  Defragmenter& operator=(const Defragmenter&) = delete;

  // Index of the datagram, or kNoIndex.
  uint32_t Find(const DefragKey& key, uint32_t hash) const noexcept;
  // Adds an empty datagram (caller checked !full()); returns its index.
  uint32_t Insert(const DefragKey& key, uint32_t hash, int64_t now_ns) noexcept;
  void Remove(uint32_t idx) noexcept;

  DefragEntry& entry(uint32_t idx) { return entries_[idx]; }
  const DefragEntry& entry(uint32_t idx) const { return entries_[idx]; }
  // The datagram created first (the next to time out), kNoIndex when empty.
  uint32_t Oldest() const { return oldest_; }
  uint32_t size() const { return size_; }
  uint32_t capacity() const { return max_; }
  bool full() const { return size_ >= max_; }

  // Records the fragment [begin, begin + len) (`more`: MF set) in `e`.
  static FragmentFit AddFragment(DefragEntry& e, uint32_t begin, uint32_t len, bool more) noexcept;
  static bool Complete(const DefragEntry& e) noexcept {
    return !e.failed && e.have_last && e.covered == e.end;
  }

 private:
  Defragmenter() = default;

  uint32_t max_ = 0;
  uint32_t mask_ = 0;          // slots - 1
  uint32_t* slots_ = nullptr;  // entry index + 1; 0 = empty
  DefragEntry* entries_ = nullptr;
  uint32_t* free_ = nullptr;  // stack of free entry indices
  uint32_t free_top_ = 0;
  uint32_t size_ = 0;
  uint32_t oldest_ = kNoIndex;
  uint32_t newest_ = kNoIndex;
};

}  // namespace skyprobe
