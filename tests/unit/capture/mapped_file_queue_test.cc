// The mapped reader's queue (mapped_file_queue.h) on bare mbufs (no data
// room, as StartPorts gives a replay of mapped files): every frame of a file
// arrives whole, in order, with its capture time, a 100 kB frame as a chain;
// and a pool run dry loses nothing: Burst gives 0 until mbufs come back, then
// goes on where it stopped, and no frame is counted as dropped. Read in
// shares (several workers on one file), every frame reaches exactly one
// share, both directions of a conversation the same one, each with its
// capture time, and the other shares learn the time by clock marks where the
// rule says (at the first frame past each tick), then the end, once.
#include "capture/mapped_file_queue.h"

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace skyprobe {
namespace {

struct Frame {
  std::vector<uint8_t> data;
  uint64_t ts_us;
};

void Put32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }

// A little-endian microsecond pcap file of `frames` (Ethernet, snaplen 256 KiB).
std::string WritePcap(const std::vector<Frame>& frames) {
  std::string b;
  Put32(&b, 0xa1b2c3d4);
  Put32(&b, 0x00040002);  // version 2.4
  Put32(&b, 0);
  Put32(&b, 0);
  Put32(&b, 262144);
  Put32(&b, 1);
  for (const Frame& f : frames) {
    Put32(&b, static_cast<uint32_t>(f.ts_us / 1000000));
    Put32(&b, static_cast<uint32_t>(f.ts_us % 1000000));
    Put32(&b, static_cast<uint32_t>(f.data.size()));
    Put32(&b, static_cast<uint32_t>(f.data.size()));
    b.append(reinterpret_cast<const char*>(f.data.data()), f.data.size());
  }
  char path[] = "/tmp/skyprobe_mfq_XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  FILE* fp = fdopen(fd, "wb");
  EXPECT_EQ(std::fwrite(b.data(), 1, b.size(), fp), b.size());
  std::fclose(fp);
  return path;
}

std::vector<Frame> RandomFrames(size_t n, size_t long_at) {
  std::mt19937 rng(7);
  std::vector<Frame> frames(n);
  uint64_t ts = 1'700'000'000'000'000;
  for (size_t i = 0; i < n; ++i) {
    const size_t len = i == long_at ? 100'000 : 14 + rng() % 1501;
    frames[i].data.resize(len);
    for (uint8_t& c : frames[i].data) c = static_cast<uint8_t>(rng());
    ts += rng() % 5000;
    frames[i].ts_us = ts;
  }
  return frames;
}

TEST(MappedFileQueueTest, BareMbufsCarryEveryFrameAndADryPoolLosesNone) {
  const std::vector<Frame> frames = RandomFrames(300, 150);
  const std::string path = WritePcap(frames);
  int ts_offset = -1;
  uint64_t ts_flag = 0;
  ASSERT_EQ(rte_mbuf_dyn_rx_timestamp_register(&ts_offset, &ts_flag), 0);

  constexpr unsigned kPool = 48;  // under two bursts: the pool runs dry
  rte_mempool* pool = rte_pktmbuf_pool_create("mfq_bare", kPool, 0, 0, 0, SOCKET_ID_ANY);
  ASSERT_NE(pool, nullptr);
  ASSERT_EQ(rte_pktmbuf_data_room_size(pool), 0);
  {
    absl::StatusOr<std::unique_ptr<CaptureFile>> file = CaptureFile::Open(path);
    ASSERT_TRUE(file.ok()) << file.status();
    absl::StatusOr<std::unique_ptr<MappedFileQueue>> q =
        MappedFileQueue::Create(*std::move(file), pool, 3, ts_offset, ts_flag);
    ASSERT_TRUE(q.ok()) << q.status();

    std::vector<Frame> got;
    std::vector<rte_mbuf*> held;
    int dry = 0;
    std::vector<uint8_t> buf(100'000);
    auto take_all = [&] {
      for (rte_mbuf* m : held) {
        EXPECT_EQ(m->port, 3);
        EXPECT_NE(m->ol_flags & ts_flag, 0u);
        const auto* d = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, m->pkt_len, buf.data()));
        Frame f{std::vector<uint8_t>(d, d + m->pkt_len),
                *RTE_MBUF_DYNFIELD(m, ts_offset, uint64_t*)};
        got.push_back(std::move(f));
      }
      for (rte_mbuf* m : held) rte_pktmbuf_free(m);
      held.clear();
    };
    for (int polls = 0; !(*q)->at_end() && polls < 10'000; ++polls) {
      rte_mbuf* m[32];
      const uint16_t n = (*q)->Burst(m, 32);
      held.insert(held.end(), m, m + n);
      if (n == 0 && !(*q)->at_end()) {
        ++dry;
        EXPECT_EQ((*q)->nombuf(), 0u) << "a frame waiting for an mbuf is not a drop";
        take_all();
      }
    }
    take_all();
    EXPECT_TRUE((*q)->at_end());
    EXPECT_GT(dry, 0) << "the pool never ran dry: the test proves nothing about it";
    EXPECT_EQ((*q)->nombuf(), 0u);
    ASSERT_EQ(got.size(), frames.size());
    for (size_t i = 0; i < frames.size(); ++i) {
      EXPECT_EQ(got[i].data, frames[i].data) << "frame " << i;
      EXPECT_EQ(got[i].ts_us, frames[i].ts_us) << "frame " << i;
    }
  }
  EXPECT_EQ(rte_mempool_avail_count(pool), kPool) << "every mbuf came back";
  rte_mempool_free(pool);
  std::remove(path.c_str());
}

// An Ethernet/IPv4/UDP frame from `a` to `b` (no checksum: only the
// addresses matter to the shares).
std::vector<uint8_t> Udp4(uint32_t a, uint32_t b, size_t len) {
  std::vector<uint8_t> f(std::max<size_t>(len, 42), 0);
  f[12] = 0x08;
  f[14] = 0x45;
  f[23] = 17;
  for (int i = 0; i < 4; ++i) {
    f[26 + i] = static_cast<uint8_t>(a >> (24 - 8 * i));
    f[30 + i] = static_cast<uint8_t>(b >> (24 - 8 * i));
  }
  return f;
}

TEST(MappedFileQueueTest, SharesTakeEachFrameOnceWithTheirTimesAndMarks) {
  constexpr uint32_t kShares = 3;
  constexpr int64_t kTickNs = 10'000'000;
  // 40 conversations, both ways, in random order; stamps moving by up to
  // 5 ms, a few going back (merged captures), a few past the limit (2037,
  // more than a day ahead), and one 100 kB frame.
  std::mt19937 rng(11);
  std::vector<Frame> frames;
  std::vector<uint64_t> conv;  // the conversation of each frame
  uint64_t ts = 1'700'000'000'000'000;
  const uint64_t kFuture = 2'114'380'800'000'000;  // 2037-01-01: past the limit
  for (size_t i = 0; i < 3000; ++i) {
    const uint32_t c = static_cast<uint32_t>(rng() % 40);
    const uint32_t a = 0x0a000000u + c * 7919u;
    const uint32_t b = 0xc0a80000u + c;
    const bool back = rng() % 2 == 0;
    ts += rng() % 5000;
    Frame f{Udp4(back ? b : a, back ? a : b, i == 1500 ? 100'000 : 60 + rng() % 200), ts};
    if (i % 97 == 5) f.ts_us = ts - 20'000;  // from the past: taken at the latest time
    if (i % 499 == 7) f.ts_us = kFuture;     // counted, taken at the latest time
    frames.push_back(std::move(f));
    conv.push_back(c);
  }
  const std::string path = WritePcap(frames);
  int ts_offset = -1;
  uint64_t ts_flag = 0;
  ASSERT_EQ(rte_mbuf_dyn_rx_timestamp_register(&ts_offset, &ts_flag), 0);
  rte_mempool* pool = rte_pktmbuf_pool_create("mfq_shares", 256, 0, 0, 0, SOCKET_ID_ANY);
  ASSERT_NE(pool, nullptr);

  // What each frame's time is taken at (capture_clock.h's rule, from the file).
  std::vector<int64_t> taken(frames.size());
  int64_t now = 0;
  size_t future = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].ts_us == kFuture) {
      ++future;
    } else {
      now = std::max<int64_t>(now, static_cast<int64_t>(frames[i].ts_us) * 1000);
    }
    taken[i] = now;
  }
  ASSERT_GT(future, 3u);

  // Each share's items, frames given back as their index in the file.
  struct Item {
    int64_t frame;  // index, -1 for a mark
    int64_t clock_ns;
  };
  std::vector<std::vector<Item>> items(kShares);
  std::vector<uint64_t> jumps(kShares, 0);
  std::map<ptrdiff_t, size_t> index_of;  // by offset in the file
  for (uint32_t s = 0; s < kShares; ++s) {
    absl::StatusOr<std::unique_ptr<CaptureFile>> file = CaptureFile::Open(path);
    ASSERT_TRUE(file.ok()) << file.status();
    if (s == 0) {
      // Where each frame's bytes lie in this reader's mapping.
      CaptureFrame f;
      absl::StatusOr<std::unique_ptr<CaptureFile>> scan = CaptureFile::Open(path);
      ASSERT_TRUE(scan.ok());
      for (size_t i = 0; (*scan)->Next(&f); ++i) index_of[f.data - (*scan)->base()] = i;
    }
    absl::StatusOr<std::unique_ptr<MappedFileQueue>> q =
        MappedFileQueue::Create(*std::move(file), pool, 0, ts_offset, ts_flag);
    ASSERT_TRUE(q.ok()) << q.status();
    (*q)->SetShare(s, kShares, LinkType::kEthernet, kTickNs);
    bool ended = false;
    for (int polls = 0; polls < 100'000; ++polls) {
      DispatchItem got[32];
      const uint16_t n = (*q)->BurstShare(got, 32, &jumps[s]);
      if (n == 0 && ended) break;
      for (uint16_t i = 0; i < n; ++i) {
        ASSERT_FALSE(ended) << "share " << s << ": an item after the end mark";
        if (got[i].frame == nullptr) {
          if (got[i].clock_ns == kEndOfInput) {
            ended = true;
          } else {
            items[s].push_back(Item{-1, got[i].clock_ns});
          }
          continue;
        }
        rte_mbuf* m = got[i].frame;
        const uint8_t* d = rte_pktmbuf_mtod(m, const uint8_t*);
        const auto it = index_of.find(d - (*q)->file().base());
        ASSERT_NE(it, index_of.end()) << "share " << s << ": a frame from nowhere";
        EXPECT_EQ(m->pkt_len, frames[it->second].data.size());
        EXPECT_EQ(*RTE_MBUF_DYNFIELD(m, ts_offset, uint64_t*), frames[it->second].ts_us);
        items[s].push_back(Item{static_cast<int64_t>(it->second), got[i].clock_ns});
        rte_pktmbuf_free(m);
      }
    }
    EXPECT_TRUE(ended) << "share " << s << " never ended";
  }

  // Every frame in exactly one share, in file order there, at its time.
  std::vector<int> owner(frames.size(), -1);
  for (uint32_t s = 0; s < kShares; ++s) {
    int64_t last = -1;
    size_t own = 0;
    for (const Item& it : items[s]) {
      if (it.frame < 0) continue;
      ++own;
      EXPECT_GT(it.frame, last) << "share " << s << ": out of file order";
      last = it.frame;
      EXPECT_EQ(owner[it.frame], -1) << "frame " << it.frame << " in two shares";
      owner[it.frame] = static_cast<int>(s);
      EXPECT_EQ(it.clock_ns, taken[it.frame]) << "frame " << it.frame;
    }
    EXPECT_GT(own, frames.size() / kShares / 3) << "share " << s << " got almost nothing";
  }
  for (size_t i = 0; i < frames.size(); ++i) ASSERT_NE(owner[i], -1) << "frame " << i << " lost";
  // A conversation, both ways, in one share.
  std::map<uint64_t, int> share_of;
  for (size_t i = 0; i < frames.size(); ++i) {
    const auto [it, fresh] = share_of.emplace(conv[i], owner[i]);
    EXPECT_EQ(it->second, owner[i]) << "conversation " << conv[i] << " split";
  }
  // A frame stamped past the limit is counted by its own share only.
  std::vector<uint64_t> want_jumps(kShares, 0);
  for (size_t i = 0; i < frames.size(); ++i) want_jumps[owner[i]] += frames[i].ts_us == kFuture;
  EXPECT_EQ(jumps, want_jumps);
  // The marks: at the first frame taken at or past each tick, every share
  // but that frame's gets one, at that frame's place and time.
  std::vector<std::vector<Item>> want(kShares);
  int64_t next_mark = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    const int64_t t = taken[i];
    if (t >= next_mark) {
      for (uint32_t s = 0; s < kShares; ++s) {
        if (static_cast<int>(s) != owner[i]) want[s].push_back(Item{-1, t});
      }
      next_mark = t - t % kTickNs + kTickNs;
    }
    want[owner[i]].push_back(Item{static_cast<int64_t>(i), t});
  }
  for (uint32_t s = 0; s < kShares; ++s) {
    ASSERT_EQ(items[s].size(), want[s].size()) << "share " << s;
    size_t marks = 0;
    for (size_t k = 0; k < want[s].size(); ++k) {
      EXPECT_EQ(items[s][k].frame, want[s][k].frame) << "share " << s << " item " << k;
      EXPECT_EQ(items[s][k].clock_ns, want[s][k].clock_ns) << "share " << s << " item " << k;
      marks += want[s][k].frame < 0;
    }
    EXPECT_GT(marks, 10u) << "share " << s << ": the marks went untested";
  }
  EXPECT_EQ(rte_mempool_avail_count(pool), 256u) << "every mbuf came back";
  rte_mempool_free(pool);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace skyprobe
