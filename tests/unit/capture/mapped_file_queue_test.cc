// The mapped reader's queue (mapped_file_queue.h) on bare mbufs (no data
// room, as StartPorts gives a replay of mapped files): every frame of a file
// arrives whole, in order, with its capture time, a 100 kB frame as a chain;
// and a pool run dry loses nothing: Burst gives 0 until mbufs come back, then
// goes on where it stopped, and no frame is counted as dropped.
#include "capture/mapped_file_queue.h"

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>

#include <cstdio>
#include <cstring>
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

}  // namespace
}  // namespace skyprobe
