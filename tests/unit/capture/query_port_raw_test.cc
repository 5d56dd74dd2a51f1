// QueryPort's raw packet export (ExportPcap): a set of flows named by UUID
// comes back whole, each flow once, through a buffer much smaller than the
// answer (the worker hands it over and goes on), from live and recently
// expired flows alike, and a flow that expires after its live copy is not
// copied again. The oracle is the test's own record of what it fed: frame
// byte 60 tags the flow, byte 61 the packet. (EAL is started by
// record_channel_test.cc's main, in the same binary.)
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "../table/eal_env.h"
#include "../table/packet_builder.h"
#include "../table/recording_sink.h"
#include "../table/ticking_clock.h"
#include "capture/query_port.h"
#include "gtest/gtest.h"

namespace skyprobe {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;
constexpr int64_t kExpire = 10 * kSec;

// What a flow's packets look like on the way out.
struct Seen {
  std::vector<int> tags;       // frame byte 61 of each packet, in order
  std::vector<int64_t> index;  // the arena's 1-based capture order
  int flow_tag = -1;           // frame byte 60 (the same on every packet)
};

class RawExportTest : public ::testing::Test {
 protected:
  // A record is 32 bytes plus the frame padded to 8: a 2-packet flow of
  // 64-byte frames takes 192 bytes, so 1000 bytes hold 5 flows.
  static constexpr uint64_t kBufferBytes = 1000;

  void SetUp() override {
    static std::atomic<int> n{0};
    FlowTableOptions o;
    o.name = "qpr" + std::to_string(n++);
    o.max_flows = 20000;
    o.expire_ns = kExpire;
    o.raw_first = 2;
    o.capture_length = 64;
    o.raw_memory_bytes = 4 << 20;
    o.keep_expired_ns = 3600 * kSec;
    o.keep_expired_max = 5000;
    auto t = FlowTable::Create(o, sink_.AsSink());
    ASSERT_TRUE(t.ok()) << t.status();
    table_ = std::move(*t);
    auto p = QueryPort::Create(2000 + n++, -1, kBufferBytes);
    ASSERT_TRUE(p.ok()) << p.status();
    port_ = std::move(*p);
  }

  // Flows sport0.. sport0+count-1, two packets each at `ts` (byte 60: the
  // flow's number from 0 mod 256, byte 61: the packet's, 1 or 2); returns
  // flow number -> UUID (from a snapshot scan).
  void Add(uint16_t sport0, uint16_t count, int64_t ts) {
    table_->AdvanceClock(ts);
    for (int k = 1; k <= 2; ++k) {
      for (uint16_t i = 0; i < count; ++i) {
        testing::TestPacket pkt =
            testing::Make({2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}, {10, 0, 0, 1}, {10, 0, 0, 2},
                          FlowProtocol::kUdp, static_cast<uint16_t>(sport0 + i), 53, 100);
        pkt.frame[60] = static_cast<uint8_t>(sport0 + i);
        pkt.frame[61] = static_cast<uint8_t>(k);
        const uint8_t* frame = pkt.frame.data();
        const uint32_t caplen = static_cast<uint32_t>(pkt.frame.size());
        table_->ProcessBurst(&frame, &pkt.parsed, &ts, 1, &caplen);
      }
    }
  }

  // UUID of every flow live or kept, by source port (a snapshot query).
  std::map<uint64_t, int> UuidsToPort() {
    std::map<uint64_t, int> out;
    port_->Begin(QueryPort::Kind::kSnapshot, nullptr);
    for (int serves = 0;; ++serves) {
      Serve();
      if (port_->Collect([&](const FlowSnapshot& s) { out[s.uuid] = s.transport_a; })) break;
      EXPECT_LT(serves, 1'000'000);
    }
    return out;
  }

  void Serve() {
    WorkBudget b = WorkBudget::For(64, &testing::TickingClock::Read, &clock_);
    port_->Serve(table_.get(), &b);
  }

  // Runs an export of `uuids` to the end; `between(serve)` runs after each
  // Serve. Checks that each flow's packets arrive together.
  std::map<uint64_t, Seen> Export(std::vector<uint64_t> uuids,
                                  const std::function<void(int)>& between = nullptr) {
    std::sort(uuids.begin(), uuids.end());
    port_->BeginRawPackets(std::make_shared<const std::vector<uint64_t>>(std::move(uuids)));
    std::map<uint64_t, Seen> got;
    uint64_t last = 0;
    handovers_ = 0;
    for (int serves = 0;; ++serves) {
      Serve();
      if (between) between(serves);
      bool any = false;
      const bool done =
          port_->CollectRawPackets([&](uint64_t uuid, const RawPacketArena::Packet& p) {
            any = true;
            Seen& s = got[uuid];
            if (!s.tags.empty()) {
              EXPECT_EQ(uuid, last) << "a flow's packets came apart";
            }
            last = uuid;
            s.tags.push_back(p.data[61]);
            s.index.push_back(p.index);
            if (s.flow_tag < 0) s.flow_tag = p.data[60];
            EXPECT_EQ(s.flow_tag, p.data[60]);
            EXPECT_EQ(p.caplen, 64u);
          });
      handovers_ += any;
      if (done) break;
      if (serves > 1'000'000) {
        ADD_FAILURE() << "the export never finishes";
        break;
      }
    }
    return got;
  }

  // Every flow of `want` (UUID -> source port) came once, whole, its own.
  static void ExpectWhole(const std::map<uint64_t, Seen>& got,
                          const std::map<uint64_t, int>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [uuid, port] : want) {
      auto it = got.find(uuid);
      ASSERT_NE(it, got.end()) << "missing flow of port " << port;
      EXPECT_EQ(it->second.tags, (std::vector<int>{1, 2})) << port;
      EXPECT_EQ(it->second.index, (std::vector<int64_t>{1, 2})) << port;
      EXPECT_EQ(it->second.flow_tag, port & 0xff);
    }
  }

  testing::TickingClock clock_;
  testing::DiscardingSink sink_;
  std::unique_ptr<FlowTable> table_;
  std::unique_ptr<QueryPort> port_;
  int handovers_ = 0;
};

TEST_F(RawExportTest, ThousandsOfFlowsComeWholeThroughASmallBuffer) {
  Add(1000, 3000, kT0);
  const std::map<uint64_t, int> all = UuidsToPort();
  ASSERT_EQ(all.size(), 3000u);
  std::vector<uint64_t> ask;
  for (const auto& [uuid, port] : all) ask.push_back(uuid);
  ask.push_back(0xdead);  // no such flow: nothing, no error
  std::map<uint64_t, Seen> got = Export(ask);
  ExpectWhole(got, all);
  EXPECT_GE(handovers_, 3000 / 5);  // the buffer holds 5 flows: it changed hands
}

TEST_F(RawExportTest, OnlyTheRequestedFlows) {
  Add(1000, 600, kT0);
  std::map<uint64_t, int> want;
  std::vector<uint64_t> ask;
  for (const auto& [uuid, port] : UuidsToPort()) {
    if (port % 7 != 0) continue;
    want[uuid] = port;
    ask.push_back(uuid);
  }
  ASSERT_FALSE(want.empty());
  ExpectWhole(Export(ask), want);
}

TEST_F(RawExportTest, LiveAndRecentlyExpiredFlowsAlike) {
  Add(1000, 300, kT0);                // expire at kT0 + kExpire
  Add(5000, 200, kT0 + kExpire / 2);  // still live then
  const std::map<uint64_t, int> all = UuidsToPort();
  table_->AdvanceClock(kT0 + kExpire + kSec / 5);
  ASSERT_EQ(table_->size(), 200u);
  ASSERT_EQ(table_->kept()->size(), 300u);
  std::vector<uint64_t> ask;
  for (const auto& [uuid, port] : all) ask.push_back(uuid);
  ExpectWhole(Export(ask), all);
}

TEST_F(RawExportTest, AFlowThatExpiresAfterItsCopyIsNotCopiedAgain) {
  Add(1000, 500, kT0);
  const std::map<uint64_t, int> all = UuidsToPort();
  std::vector<uint64_t> ask;
  for (const auto& [uuid, port] : all) ask.push_back(uuid);
  // After the first slice (some flows copied live), every flow expires and
  // moves to the expired ring, where the export looks again.
  std::map<uint64_t, Seen> got = Export(ask, [&](int serve) {
    if (serve == 0) table_->AdvanceClock(kT0 + kExpire + kSec / 5);
  });
  ASSERT_EQ(table_->size(), 0u);
  ExpectWhole(got, all);
}

TEST_F(RawExportTest, ACancelledExportLeavesThePortReady) {
  Add(1000, 100, kT0);
  const std::map<uint64_t, int> all = UuidsToPort();
  std::vector<uint64_t> ask;
  for (const auto& [uuid, port] : all) ask.push_back(uuid);
  port_->BeginRawPackets(std::make_shared<const std::vector<uint64_t>>(ask));
  Serve();  // the buffer fills, nobody takes it
  std::atomic<bool> cancelled{false};
  std::thread requester([&] {
    port_->Cancel(nullptr);
    cancelled = true;
  });
  while (!cancelled) Serve();  // the worker drops the export at its next Serve
  requester.join();
  ExpectWhole(Export(ask), all);
}

TEST(RawExportNoCapture, FinishesAtOnceWithNothing) {
  FlowTableOptions o;
  o.name = "qpr-off";
  o.max_flows = 1024;
  testing::DiscardingSink sink;
  auto t = FlowTable::Create(o, sink.AsSink());
  ASSERT_TRUE(t.ok()) << t.status();
  auto p = QueryPort::Create(2999, -1);
  ASSERT_TRUE(p.ok()) << p.status();
  testing::TestPacket pkt = testing::Make({2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}, {10, 0, 0, 1},
                                          {10, 0, 0, 2}, FlowProtocol::kUdp, 1000, 53, 100);
  const uint8_t* frame = pkt.frame.data();
  const int64_t ts = kT0;
  (*t)->ProcessBurst(&frame, &pkt.parsed, &ts, 1);
  (*p)->BeginRawPackets(
      std::make_shared<const std::vector<uint64_t>>(std::vector<uint64_t>{(*t)->uuids()[0], 7}));
  WorkBudget b = WorkBudget::Unlimited();
  (*p)->Serve(t->get(), &b);
  int packets = 0;
  EXPECT_TRUE((*p)->CollectRawPackets([&](uint64_t, const RawPacketArena::Packet&) { ++packets; }));
  EXPECT_EQ(packets, 0);
}

}  // namespace
}  // namespace skyprobe
