// Slot reuse and the per-packet lookup key: a flow that left the table (idle,
// evicted, flushed) leaves nothing behind, and the lookup key tells flows apart
// exactly as Skydive's key bytes do.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "eal_env.h"
#include "gtest/gtest.h"
#include "packet_builder.h"
#include "recording_sink.h"
#include "table/flow_key.h"
#include "table/flow_table.h"

namespace skyprobe {
namespace {

using testing::Make;
using testing::Reverse;
using testing::TestPacket;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;
constexpr testing::Mac kMacA = {0x02, 0, 0, 0, 0, 0xa};
constexpr testing::Mac kMacB = {0x02, 0, 0, 0, 0, 0xb};
constexpr testing::Ip4 kIpA = {10, 0, 0, 1};
constexpr testing::Ip4 kIpB = {10, 0, 0, 2};

using Sink = testing::RecordingSink;

class FlowTableSlotsTest : public ::testing::Test {
 protected:
  void Build(uint32_t max_flows) {
    static std::atomic<int> n{0};
    FlowTableOptions o;
    o.name = "slots" + std::to_string(n++);
    o.max_flows = max_flows;
    o.expire_ns = 10 * kSec;
    o.update_ns = 3600 * kSec;
    auto t = FlowTable::Create(o, sink_.AsSink());
    ASSERT_TRUE(t.ok()) << t.status();
    table_ = std::move(*t);
  }

  // One RX burst: every packet at `ts`.
  void Burst(const std::vector<TestPacket>& ps, int64_t ts) {
    std::vector<const uint8_t*> frames;
    std::vector<ParsedPacket> parsed;
    std::vector<int64_t> stamps(ps.size(), ts);
    for (const TestPacket& p : ps) {
      frames.push_back(p.frame.data());
      parsed.push_back(p.parsed);
    }
    table_->AdvanceClock(ts);
    table_->ProcessBurst(frames.data(), parsed.data(), stamps.data(),
                         static_cast<uint32_t>(ps.size()));
  }

  TestPacket Udp(uint16_t sport) {
    return Make(kMacA, kMacB, kIpA, kIpB, FlowProtocol::kUdp, sport, 53, 100);
  }

  Sink sink_;
  std::unique_ptr<FlowTable> table_;
};

TEST_F(FlowTableSlotsTest, AnExpiredFlowThatComesBackIsANewFlow) {
  Build(1024);
  Burst({Udp(1)}, kT0);
  table_->AdvanceClock(kT0 + 11 * kSec);
  ASSERT_EQ(table_->size(), 0u);
  Burst({Udp(1)}, kT0 + 12 * kSec);
  EXPECT_EQ(table_->size(), 1u);
  EXPECT_EQ(table_->counters().flows_created, 2u);
  ASSERT_TRUE(table_->FlushAll());
  ASSERT_EQ(sink_.records.size(), 2u);
  EXPECT_NE(sink_.records[0].uuid, sink_.records[1].uuid);  // another Start
  EXPECT_EQ(sink_.records[1].start, (kT0 + 12 * kSec) / 1'000'000);
  EXPECT_EQ(sink_.records[1].metric.ab_packets, 1);
}

TEST_F(FlowTableSlotsTest, FlushedFlowsAreCreatedAgainByTheSameTraffic) {
  Build(1024);
  std::vector<TestPacket> burst;
  for (uint16_t i = 1; i <= 40; ++i) burst.push_back(Udp(i));
  Burst(burst, kT0);
  ASSERT_TRUE(table_->FlushAll());
  Burst(burst, kT0 + kSec);
  EXPECT_EQ(table_->size(), 40u);
  EXPECT_EQ(table_->counters().flows_created, 80u);
  EXPECT_EQ(table_->counters().packets_in_flows, 80u);
}

// The bulk lookup of a burst precedes its updates: a flow evicted by an
// earlier packet of the same burst must not be found by a later one.
TEST_F(FlowTableSlotsTest, EvictionInsideABurstInvalidatesItsLookups) {
  Build(2);
  Burst({Udp(1)}, kT0);
  Burst({Udp(2)}, kT0 + kSec);
  Burst({Udp(3), Udp(1), Udp(3)}, kT0 + 2 * kSec);  // 3 evicts 1; 1 comes back, evicting 2
  EXPECT_EQ(table_->size(), 2u);
  EXPECT_EQ(table_->counters().flows_evicted, 2u);
  EXPECT_EQ(table_->counters().packets_in_flows, 5u);
  ASSERT_TRUE(table_->FlushAll());
  int64_t packets = 0;
  for (const FlowSnapshot& r : sink_.records) {
    packets += r.metric.ab_packets + r.metric.ba_packets;
    if (r.expire_reason == ExpireReason::kFlush && r.transport_a == 1) {
      EXPECT_EQ(r.metric.ab_packets, 1);
      EXPECT_EQ(r.start, (kT0 + 2 * kSec) / 1'000'000);
    }
    if (r.expire_reason == ExpireReason::kFlush && r.transport_a == 3) {
      EXPECT_EQ(r.metric.ab_packets, 2);
    }
  }
  EXPECT_EQ(sink_.records.size(), 4u);  // 1 and 2 evicted, 3 and the new 1 flushed
  EXPECT_EQ(packets, 5);
}

// Bursts of 32 packets that mix, inside one burst, hits on flows of earlier
// bursts, misses that create a flow, later packets of a flow created earlier
// in the same burst, evictions (or drops at the limit) and flows evicted
// earlier in the burst coming back, in both directions. The oracle is the
// same packets fed one per burst to a second table: no bulk lookup can go
// stale there, so both tables must emit the same records and counters.
TEST(FlowTableBurstTest, MixedBurstsMatchOnePacketBursts) {
  static std::atomic<int> names{0};
  for (OverloadPolicy policy : {OverloadPolicy::kEvictOldest, OverloadPolicy::kDropNew}) {
    SCOPED_TRACE(policy == OverloadPolicy::kEvictOldest ? "evict-oldest" : "drop-new");
    FlowTableOptions o;
    o.max_flows = 8;
    o.overload = policy;
    o.expire_ns = 3600 * kSec;  // flows leave by eviction and the final flush only
    o.update_ns = 3600 * kSec;
    Sink bulk_sink, one_sink;
    o.name = "burst" + std::to_string(names++);
    auto bulk = FlowTable::Create(o, bulk_sink.AsSink());
    o.name = "burst" + std::to_string(names++);
    auto one = FlowTable::Create(o, one_sink.AsSink());
    ASSERT_TRUE(bulk.ok() && one.ok());

    // 20 flows over 8 slots: about half of every burst misses.
    std::mt19937 rng(12345);
    constexpr int kBursts = 50;
    constexpr uint32_t kBurst = 32;
    uint64_t fed = 0, repeats_of_new = 0;
    std::set<uint16_t> before;  // flows seen in earlier bursts
    for (int b = 0; b < kBursts; ++b) {
      const int64_t ts = kT0 + b * kSec;
      std::vector<TestPacket> ps;
      std::set<uint16_t> in_burst;
      for (uint32_t i = 0; i < kBurst; ++i) {
        const uint16_t port = static_cast<uint16_t>(1 + rng() % 20);
        TestPacket p = Make(kMacA, kMacB, kIpA, kIpB, FlowProtocol::kUdp, port, 53,
                            static_cast<uint16_t>(60 + rng() % 100));
        ps.push_back(rng() % 3 == 0 ? Reverse(p) : p);
        if (!before.count(port) && !in_burst.insert(port).second) ++repeats_of_new;
        in_burst.insert(port);
      }
      before.insert(in_burst.begin(), in_burst.end());
      std::vector<const uint8_t*> frames;
      std::vector<ParsedPacket> parsed;
      std::vector<int64_t> stamps(kBurst, ts);
      for (const TestPacket& p : ps) {
        frames.push_back(p.frame.data());
        parsed.push_back(p.parsed);
      }
      (*bulk)->AdvanceClock(ts);
      (*bulk)->ProcessBurst(frames.data(), parsed.data(), stamps.data(), kBurst);
      for (uint32_t i = 0; i < kBurst; ++i) {
        (*one)->AdvanceClock(ts);
        (*one)->ProcessBurst(&frames[i], &parsed[i], &stamps[i], 1);
      }
      fed += kBurst;
    }
    ASSERT_TRUE((*bulk)->FlushAll());
    ASSERT_TRUE((*one)->FlushAll());
    ASSERT_GT(repeats_of_new, 0u);  // the sequence does what the test says

    const TableCounters& cb = (*bulk)->counters();
    const TableCounters& co = (*one)->counters();
    EXPECT_EQ(cb.packets_in_flows, co.packets_in_flows);
    EXPECT_EQ(cb.drop_table_full, co.drop_table_full);
    EXPECT_EQ(cb.flows_created, co.flows_created);
    EXPECT_EQ(cb.flows_evicted, co.flows_evicted);
    EXPECT_EQ(cb.packets_in_flows + cb.drop_table_full, fed);
    if (policy == OverloadPolicy::kEvictOldest) {
      EXPECT_GT(cb.flows_evicted, 0u);
      EXPECT_EQ(cb.drop_table_full, 0u);
    } else {
      EXPECT_GT(cb.drop_table_full, 0u);
      EXPECT_EQ(cb.flows_evicted, 0u);
    }
    ASSERT_EQ(bulk_sink.records.size(), one_sink.records.size());
    int64_t packets = 0;
    for (size_t i = 0; i < bulk_sink.records.size(); ++i) {
      const FlowSnapshot& x = bulk_sink.records[i];
      const FlowSnapshot& y = one_sink.records[i];
      SCOPED_TRACE("record " + std::to_string(i));
      EXPECT_EQ(x.uuid, y.uuid);
      EXPECT_EQ(x.expire_reason, y.expire_reason);
      EXPECT_EQ(x.transport_a, y.transport_a);
      EXPECT_EQ(x.metric.ab_packets, y.metric.ab_packets);
      EXPECT_EQ(x.metric.ba_packets, y.metric.ba_packets);
      EXPECT_EQ(x.metric.ab_bytes, y.metric.ab_bytes);
      EXPECT_EQ(x.metric.ba_bytes, y.metric.ba_bytes);
      EXPECT_EQ(x.start, y.start);
      EXPECT_EQ(x.last, y.last);
      packets += x.metric.ab_packets + x.metric.ba_packets;
    }
    EXPECT_EQ(static_cast<uint64_t>(packets), cb.packets_in_flows);
  }
}

// Varied sub-packets: both directions, equal endpoints, other protocols,
// IPv6, VXLAN-style keys, no link, no IP, ICMP beside ports, parents.
std::vector<TestPacket> KeyCorpus() {
  std::vector<TestPacket> out;
  const testing::Mac macs[] = {kMacA, kMacB};
  const testing::Ip4 ips[] = {kIpA, kIpB};
  for (const auto& sm : macs) {
    for (const auto& dm : macs) {
      for (const auto& si : ips) {
        for (const auto& di : ips) {
          for (FlowProtocol t : {FlowProtocol::kUdp, FlowProtocol::kTcp, FlowProtocol::kIcmpv4}) {
            for (uint16_t sp : {1, 53}) {
              out.push_back(
                  Make(sm, dm, si, di, t, sp, 53, 60, t == FlowProtocol::kIcmpv4 ? 8 : 0));
            }
          }
        }
      }
    }
  }
  const size_t base = out.size();
  for (size_t i = 0; i < base; i += 7) {
    TestPacket v6 = out[i];  // IPv6 addresses at 22 and 38, from the frame's bytes
    v6.sub().ip_version = 6;
    v6.sub().ip_src_off = 22;
    v6.sub().ip_dst_off = 38;
    v6.frame[40] ^= static_cast<uint8_t>(i);
    out.push_back(v6);
    TestPacket vni = out[i];
    vni.sub().transport_key = TransportKeyKind::kVniPort;
    vni.sub().vni = 42 + (i & 1);
    out.push_back(vni);
    TestPacket nolink = out[i];
    nolink.sub().has_link = false;
    out.push_back(nolink);
    TestPacket noip = out[i];
    noip.sub().ip_version = 0;
    noip.sub().transport_key = TransportKeyKind::kNone;
    noip.sub().icmp_version = 0;
    out.push_back(noip);
    TestPacket sctp = out[i];
    sctp.sub().transport = FlowProtocol::kSctp;
    out.push_back(sctp);
    // ICMP and ports in one sub-packet (its word shares the second MAC word
    // when there are MACs): alone, in IPv6 (the longest key with a parent),
    // without link.
    if (out[i].sub().transport_key == TransportKeyKind::kPorts) {
      TestPacket both = out[i];
      both.sub().icmp_version = 4;
      both.sub().icmp_type = IcmpType::kEcho;
      both.sub().icmp_id = static_cast<uint16_t>(7 + (i & 3));
      out.push_back(both);
      TestPacket both6 = v6;
      both6.sub().icmp_version = 6;
      both6.sub().icmp_type = IcmpType::kEcho;
      both6.sub().icmp_id = static_cast<uint16_t>(7 + (i & 1));
      out.push_back(both6);
      both6.sub().icmp_id ^= 0x100;  // only the ICMP id differs
      out.push_back(both6);
      both.sub().has_link = false;
      out.push_back(both);
    }
  }
  return out;
}

// The table's key tells flows apart exactly as Skydive's key bytes do (the
// bytes themselves compared, not their hash): equal keys <=> equal bytes.
TEST(LookupKeyTest, TellsFlowsApartExactlyAsSkydivesKeyBytes) {
  std::vector<TestPacket> corpus = KeyCorpus();
  const size_t n = corpus.size();
  for (size_t i = 0; i < n; ++i) corpus.push_back(Reverse(corpus[i]));
  for (KeyMode mode : {KeyMode::kL2, KeyMode::kL3}) {
    for (bool parent : {false, true}) {
      std::vector<KeyBytes> key_bytes;
      std::vector<FlowTableKey> lookup_keys;
      for (TestPacket& p : corpus) {
        KeyBytes kb;
        BuildKeyBytes(p.frame.data(), p.sub(), mode, 0xabc, parent, &kb);
        KeyOrientation o;
        FlowTableKey k;
        const uint32_t sig = LookupKey(p.frame.data(), p.sub(), mode, 0xabc, parent, &k, &o);
        // The signature computed on the way is the one Expire recomputes
        // from the stored key (its first word says how many words count).
        EXPECT_EQ(sig, TableHashSig(k));
        lookup_keys.push_back(k);
        key_bytes.push_back(kb);
        EXPECT_EQ(o.swap, kb.swap);
        EXPECT_EQ(o.rule, kb.rule);
      }
      for (size_t a = 0; a < corpus.size(); ++a) {
        for (size_t b = a + 1; b < corpus.size(); ++b) {
          const KeyBytes& x = key_bytes[a];
          const KeyBytes& y = key_bytes[b];
          const bool same_bytes = x.len == y.len && std::memcmp(x.data, y.data, x.len) == 0;
          ASSERT_EQ(same_bytes, SameKey(lookup_keys[a], lookup_keys[b]))
              << "packets " << a << " and " << b;
        }
      }
    }
  }
}

// A flow's identity is derived from its key when it is exported (FlowCold
// does not store it): Skydive's key bytes rebuilt from the key must be the
// bytes BuildKeyBytes lays out from the packet itself (the oracle: it reads
// the frame, not the key), cut at the same places; the addresses, the
// parent UUID, the capture point and whether there is an ICMP layer, read
// from the key, must be the packet's.
TEST(LookupKeyTest, KeyBytesRebuiltFromTheKeyAreThePacketsOwn) {
  std::vector<TestPacket> corpus = KeyCorpus();
  const size_t n = corpus.size();
  for (size_t i = 0; i < n; ++i) corpus.push_back(Reverse(corpus[i]));
  for (KeyMode mode : {KeyMode::kL2, KeyMode::kL3}) {
    for (uint64_t parent : {uint64_t{0}, uint64_t{0xabc}, ~uint64_t{0}}) {
      const bool has_parent = parent != 0;
      for (size_t i = 0; i < corpus.size(); ++i) {
        SCOPED_TRACE("packet " + std::to_string(i) + " parent " + std::to_string(has_parent));
        TestPacket& p = corpus[i];
        KeyBytes want;
        BuildKeyBytes(p.frame.data(), p.sub(), mode, parent, has_parent, &want);
        KeyOrientation o;
        FlowTableKey k;
        LookupKey(p.frame.data(), p.sub(), mode, parent, has_parent, &k, &o,
                  static_cast<uint8_t>(i % 3));
        KeyBytes got;
        KeyBytesOf(k, &got);
        ASSERT_EQ(got.len, want.len);
        EXPECT_EQ(got.l3_len, want.l3_len);
        EXPECT_EQ(got.l2_len, want.l2_len);
        ASSERT_EQ(std::memcmp(got.data, want.data, want.len), 0);
        EXPECT_EQ(TrackingIds(got).tracking_id, TrackingIds(want).tracking_id);
        uint64_t uuid = 1;
        EXPECT_EQ(KeyParentUuid(k, &uuid), has_parent);
        EXPECT_EQ(uuid, parent);
        const SubPacket& sub = p.sub();
        EXPECT_EQ(KeyInput(k), i % 3);
        EXPECT_EQ(KeyHasIcmp(k), sub.icmp_version != 0);
        ASSERT_EQ(KeyIpVersion(k), sub.ip_version);
        if (sub.ip_version == 0) {
          EXPECT_EQ(KeyIp(k, false), nullptr);
          continue;
        }
        const size_t len = sub.ip_version == 4 ? 4 : 16;
        const uint8_t* src = p.frame.data() + sub.ip_src_off;
        const uint8_t* dst = p.frame.data() + sub.ip_dst_off;
        EXPECT_EQ(std::memcmp(KeyIp(k, o.swap), src, len), 0);
        EXPECT_EQ(std::memcmp(KeyIp(k, !o.swap), dst, len), 0);
      }
    }
  }
}

// A sink that refuses a slot now and then (control behind): the table keeps
// the flow and a later call resumes.
struct StallingSink {
  std::vector<FlowSnapshot> records;
  FlowSnapshot slot;
  uint32_t calls = 0;
  static FlowSnapshot* Acquire(void* ctx) {
    auto* s = static_cast<StallingSink*>(ctx);
    return ++s->calls % 97 == 0 ? nullptr : &s->slot;
  }
  static void Publish(void* ctx, FlowSnapshot* s) {
    static_cast<StallingSink*>(ctx)->records.push_back(*s);
  }
  RecordSink AsSink() { return RecordSink{this, &Acquire, &Publish}; }
};

// Retire (the worker's exit) empties the hash and the timer wheel at once
// instead of flow by flow. The oracle is FlushAll on a second table fed the
// same frames: the same final records and counters. After Retire the table
// works as a new one: the same traffic opens new flows, later packets find
// them, and their timers expire them.
TEST(FlowTableRetireTest, RetireEmitsWhatFlushAllEmitsAndLeavesAWorkingTable) {
  static std::atomic<int> names{0};
  FlowTableOptions o;
  o.max_flows = 4096;
  o.expire_ns = 10 * kSec;
  o.update_ns = 3600 * kSec;
  testing::RecordingSink flush_sink;
  StallingSink retire_sink;
  o.name = "retire" + std::to_string(names++);
  auto flushed = FlowTable::Create(o, flush_sink.AsSink());
  o.name = "retire" + std::to_string(names++);
  auto retired = FlowTable::Create(o, retire_sink.AsSink());
  ASSERT_TRUE(flushed.ok() && retired.ok());

  // 3000 flows (UDP and TCP, both directions) over 6 s: their timers sit in
  // many wheel slots; some flows see a second packet later.
  std::mt19937 rng(777);
  std::vector<TestPacket> ps;
  std::vector<int64_t> stamps;
  for (uint32_t i = 0; i < 3000; ++i) {
    const bool tcp = i % 3 == 0;
    TestPacket p = Make(kMacA, kMacB, kIpA, kIpB, tcp ? FlowProtocol::kTcp : FlowProtocol::kUdp,
                        static_cast<uint16_t>(1000 + i), 53,
                        static_cast<uint16_t>(60 + rng() % 200), tcp ? kTcpSyn : 0);
    ps.push_back(rng() % 4 == 0 ? Reverse(p) : p);
    stamps.push_back(kT0 + static_cast<int64_t>(i) * 2'000'000);
  }
  for (uint32_t i = 0; i < 3000; i += 5) {
    ps.push_back(ps[i]);
    stamps.push_back(kT0 + 6 * kSec + static_cast<int64_t>(i) * 1000);
  }
  auto feed = [&](FlowTable* t, int64_t shift) {
    for (size_t i = 0; i < ps.size(); ++i) {
      const uint8_t* frame = ps[i].frame.data();
      const int64_t ts = stamps[i] + shift;
      t->AdvanceClock(ts);
      t->ProcessBurst(&frame, &ps[i].parsed, &ts, 1);
    }
  };
  feed(flushed->get(), 0);
  feed(retired->get(), 0);
  ASSERT_EQ((*retired)->size(), 3000u);

  ASSERT_TRUE((*flushed)->FlushAll());
  int resumed = 0;
  while (!(*retired)->Retire()) ++resumed;
  EXPECT_GT(resumed, 0);  // the sink stalled, and the calls resumed
  EXPECT_EQ((*retired)->size(), 0u);

  auto by_uuid = [](std::vector<FlowSnapshot> v) {
    std::sort(v.begin(), v.end(),
              [](const FlowSnapshot& a, const FlowSnapshot& b) { return a.uuid < b.uuid; });
    return v;
  };
  const std::vector<FlowSnapshot> want = by_uuid(flush_sink.records);
  const std::vector<FlowSnapshot> got = by_uuid(retire_sink.records);
  ASSERT_EQ(got.size(), want.size());
  ASSERT_EQ(got.size(), 3000u);
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("record " + std::to_string(i));
    EXPECT_EQ(got[i].uuid, want[i].uuid);
    EXPECT_EQ(got[i].event, FlowEvent::kExpire);
    EXPECT_EQ(got[i].expire_reason, want[i].expire_reason);
    EXPECT_EQ(got[i].transport_a, want[i].transport_a);
    EXPECT_EQ(got[i].transport_b, want[i].transport_b);
    EXPECT_EQ(got[i].metric.ab_packets, want[i].metric.ab_packets);
    EXPECT_EQ(got[i].metric.ba_packets, want[i].metric.ba_packets);
    EXPECT_EQ(got[i].metric.ab_bytes, want[i].metric.ab_bytes);
    EXPECT_EQ(got[i].metric.ba_bytes, want[i].metric.ba_bytes);
    EXPECT_EQ(got[i].tcp_metric.ab_syn_start, want[i].tcp_metric.ab_syn_start);
    EXPECT_EQ(got[i].tcp_metric.ba_syn_start, want[i].tcp_metric.ba_syn_start);
    EXPECT_EQ(got[i].start, want[i].start);
    EXPECT_EQ(got[i].last, want[i].last);
  }
  const TableCounters& cf = (*flushed)->counters();
  const TableCounters& cr = (*retired)->counters();
  EXPECT_EQ(cr.expired_flush, cf.expired_flush);
  EXPECT_EQ(cr.expired_flush, 3000u);
  EXPECT_EQ(cr.packets_in_flows, cf.packets_in_flows);
  EXPECT_EQ(cr.table_inconsistencies, 0u);

  // The hash holds no key of the retired flows: a table's worth of other
  // conversations all get a slot.
  for (uint32_t i = 0; i < o.max_flows; ++i) {
    const TestPacket p = Make(kMacB, kMacA, kIpB, kIpA, FlowProtocol::kUdp,
                              static_cast<uint16_t>(20000 + i), 99, 80);
    const uint8_t* frame = p.frame.data();
    const int64_t ts = kT0 + 30 * kSec;
    (*retired)->ProcessBurst(&frame, &p.parsed, &ts, 1);
  }
  EXPECT_EQ((*retired)->size(), o.max_flows);
  EXPECT_EQ((*retired)->counters().flows_evicted, 0u);
  EXPECT_EQ((*retired)->counters().table_inconsistencies, 0u);
  while (!(*retired)->FlushAll()) {
  }

  // The same traffic a minute later: new flows, whose later packets are
  // found (one flow per conversation), then expired by their timers.
  retire_sink.records.clear();
  feed(retired->get(), 60 * kSec);
  EXPECT_EQ((*retired)->size(), 3000u);
  EXPECT_EQ((*retired)->counters().flows_created, 6000u + o.max_flows);
  EXPECT_EQ((*retired)->counters().packets_in_flows, 2 * cf.packets_in_flows + o.max_flows);
  EXPECT_TRUE(retire_sink.records.empty());
  while (!(*retired)->AdvanceClock(kT0 + 60 * kSec + 30 * kSec)) {
  }
  EXPECT_EQ((*retired)->size(), 0u);
  const std::vector<FlowSnapshot> again = by_uuid(retire_sink.records);
  ASSERT_EQ(again.size(), 3000u);
  int64_t packets = 0;
  for (const FlowSnapshot& r : again) {
    EXPECT_EQ(r.expire_reason, ExpireReason::kIdle);
    packets += r.metric.ab_packets + r.metric.ba_packets;
  }
  EXPECT_EQ(static_cast<uint64_t>(packets), cf.packets_in_flows);
  EXPECT_EQ((*retired)->counters().table_inconsistencies, 0u);
}

}  // namespace
}  // namespace skyprobe
