// bench_common.h: shared pieces of the table benchmarks (frames, sinks, EAL).
//
// Owner: benchmark programs only. Frames are 64-byte Ethernet/IPv4/UDP
// packets (60 bytes without FCS): flow i is 10.<i>:1024 -> 192.168.0.1:4000,
// so up to 2^24 distinct conversations.
//
//   InitEal(argv[0], 8192);
//   std::vector<uint8_t> bytes = FrameBytes(flows);          // plain memory
//   bench::Frames frames(flows);                               // in mbufs
#pragma once

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "table/flow_table.h"

namespace skyprobe::bench {

inline constexpr uint32_t kFrameLen = 60;

// Zeroes `len` bytes at `p` and writes an Ethernet header 02::<src_tail> ->
// 02::<dst_tail> (IPv4) and the fixed part of an IPv4/UDP header of total
// length `ip_len`; returns the IP header.
inline uint8_t* WriteEthIpv4Udp(uint8_t* p, uint32_t len, uint8_t dst_tail, uint8_t src_tail,
                                uint32_t ip_len) {
  std::memset(p, 0, len);
  p[0] = 0x02, p[5] = dst_tail;
  p[6] = 0x02, p[11] = src_tail;
  p[12] = 0x08;
  uint8_t* ip = p + 14;
  ip[0] = 0x45;
  ip[2] = static_cast<uint8_t>(ip_len >> 8);
  ip[3] = static_cast<uint8_t>(ip_len);
  ip[8] = 64;
  ip[9] = 17;
  ip[20 + 4] = static_cast<uint8_t>((ip_len - 20) >> 8);  // UDP length
  ip[20 + 5] = static_cast<uint8_t>(ip_len - 20);
  return ip;
}

// Writes the frame of flow `i` into `p` (kFrameLen bytes).
inline void WriteFrame(uint32_t i, uint8_t* p) {
  uint8_t* ip = WriteEthIpv4Udp(p, kFrameLen, 1, 2, 46);  // 20 + 8 + 18
  ip[12] = 10;
  ip[13] = static_cast<uint8_t>(i >> 16);
  ip[14] = static_cast<uint8_t>(i >> 8);
  ip[15] = static_cast<uint8_t>(i);
  ip[16] = 192, ip[17] = 168, ip[19] = 1;
  uint8_t* udp = ip + 20;
  udp[0] = 0x04;                 // 1024
  udp[2] = 0x0f, udp[3] = 0xa0;  // 4000: no port-selected L7 decoder
}

// VXLAN: 124 bytes (128 with FCS): outer Ethernet/IPv4 10.99.0.1 ->
// 10.99.0.2/UDP <ephemeral by flow> -> 4789/VXLAN VNI 100, then the frame of
// flow `i` above padded to 74 bytes (its IP/UDP lengths say so). One outer
// flow (the key ignores the UDP source port) and one inner flow per `i`.
inline constexpr uint32_t kVxlanFrameLen = 124;
inline constexpr uint32_t kVxlanOuterLen = 50;

inline void WriteVxlanFrame(uint32_t i, uint8_t* p) {
  uint8_t* ip = WriteEthIpv4Udp(p, kVxlanFrameLen, 0x11, 0x12, kVxlanFrameLen - 14);
  ip[12] = 10, ip[13] = 99, ip[15] = 1;
  ip[16] = 10, ip[17] = 99, ip[19] = 2;
  uint8_t* udp = ip + 20;
  const uint16_t sport = static_cast<uint16_t>(49152 + (i & 0x3fff));
  udp[0] = static_cast<uint8_t>(sport >> 8), udp[1] = static_cast<uint8_t>(sport);
  udp[2] = 0x12, udp[3] = 0xb5;  // 4789
  uint8_t* vxlan = udp + 8;
  vxlan[0] = 0x08;  // VNI present
  vxlan[6] = 100;   // VNI 100 (bytes 4..6)
  uint8_t* inner = vxlan + 8;
  WriteFrame(i, inner);
  const uint32_t inner_ip_len = kVxlanFrameLen - kVxlanOuterLen - 14;
  inner[17] = static_cast<uint8_t>(inner_ip_len);                // total length
  inner[14 + 20 + 5] = static_cast<uint8_t>(inner_ip_len - 20);  // UDP length
}

// A 60-byte Ethernet/IPv4/TCP handshake frame of TCP conversation `c`
// (10.128.<c>:1024 <-> 192.168.0.2:443): `stage` 0 is the SYN, 1 the SYN/ACK
// (the other way), 2 the ACK.
inline void WriteTcpHandshakeFrame(uint32_t c, uint32_t stage, uint8_t* p) {
  const bool back = stage == 1;
  uint8_t* ip = WriteEthIpv4Udp(p, kFrameLen, back ? 2 : 1, back ? 1 : 2, 40);
  ip[9] = 6;
  ip[24] = ip[25] = 0;  // no UDP length: a TCP header
  uint8_t client[4] = {10, static_cast<uint8_t>(128 | (c >> 16)), static_cast<uint8_t>(c >> 8),
                       static_cast<uint8_t>(c)};
  uint8_t server[4] = {192, 168, 0, 2};
  std::memcpy(ip + 12, back ? server : client, 4);
  std::memcpy(ip + 16, back ? client : server, 4);
  uint8_t* tcp = ip + 20;
  const uint16_t sport = back ? 443 : 1024, dport = back ? 1024 : 443;
  tcp[0] = static_cast<uint8_t>(sport >> 8), tcp[1] = static_cast<uint8_t>(sport);
  tcp[2] = static_cast<uint8_t>(dport >> 8), tcp[3] = static_cast<uint8_t>(dport);
  const uint32_t seq = stage == 0 ? 1000 : stage == 1 ? 5000 : 1001;
  const uint32_t ack = stage == 0 ? 0 : stage == 1 ? 1001 : 5001;
  for (int b = 0; b < 4; ++b) {
    tcp[4 + b] = static_cast<uint8_t>(seq >> (24 - 8 * b));
    tcp[8 + b] = static_cast<uint8_t>(ack >> (24 - 8 * b));
  }
  tcp[12] = 0x50;
  tcp[13] = stage == 0 ? 0x02 : stage == 1 ? 0x12 : 0x10;
  tcp[14] = 0xff, tcp[15] = 0xff;
}

// A ClientHello frame of TCP conversation `c` (the client's first data
// segment after WriteTcpHandshakeFrame's handshake, seq 1001): 240 bytes,
// a 186-byte TLS record offering 16 cipher suites, SNI "h<c>.example.com"
// (6 hex digits), ALPN h2 and http/1.1, TLS 1.3 and 1.2, two groups, one
// point format and four signature algorithms: a browser's shape, smaller.
inline constexpr uint32_t kHelloFrameLen = 240;

inline void WriteClientHelloFrame(uint32_t c, uint8_t* p) {
  WriteTcpHandshakeFrame(c, 2, p);  // the ACK's headers, then grown
  std::memset(p + 54, 0, kHelloFrameLen - 54);
  uint8_t* ip = p + 14;
  ip[2] = static_cast<uint8_t>((kHelloFrameLen - 14) >> 8);
  ip[3] = static_cast<uint8_t>(kHelloFrameLen - 14);
  ip[20 + 13] = 0x18;  // PSH ACK
  uint8_t* q = p + 54;
  const auto put16 = [&q](uint32_t v) {
    *q++ = static_cast<uint8_t>(v >> 8);
    *q++ = static_cast<uint8_t>(v);
  };
  const uint32_t rec_len = kHelloFrameLen - 54 - 5;
  *q++ = 0x16, *q++ = 0x03, *q++ = 0x01;
  put16(rec_len);
  *q++ = 0x01, *q++ = 0;
  put16(rec_len - 4);
  put16(0x0303);
  for (int i = 0; i < 32; ++i) *q++ = static_cast<uint8_t>(i * 7 + c);
  *q++ = 0;  // session id
  put16(32);
  for (uint32_t i = 0; i < 16; ++i) put16(i < 3 ? 0x1301 + i : 0xc000 + i);
  *q++ = 1, *q++ = 0;  // compression: null
  uint8_t* ext_len = q;
  q += 2;
  char sni[32];
  const int n = std::snprintf(sni, sizeof(sni), "h%06x.example.com", c & 0xffffff);
  put16(0x0000), put16(n + 5), put16(n + 3), *q++ = 0, put16(n);
  std::memcpy(q, sni, n), q += n;
  put16(0x000a), put16(6), put16(4), put16(29), put16(23);
  put16(0x000b), put16(2), *q++ = 1, *q++ = 0;
  put16(0x000d), put16(10), put16(8), put16(0x0403), put16(0x0804), put16(0x0401), put16(0x0503);
  put16(0x0010), put16(14), put16(12), *q++ = 2, *q++ = 'h', *q++ = '2', *q++ = 8;
  std::memcpy(q, "http/1.1", 8), q += 8;
  put16(0x002b), put16(5), *q++ = 4, put16(0x0304), put16(0x0303);
  // Padding (RFC 7685) up to the record's end.
  const uint32_t used = static_cast<uint32_t>(q - (p + 54));
  const uint32_t pad = kHelloFrameLen - 54 - used - 4;
  put16(0x0015), put16(pad);
  const uint32_t exts = static_cast<uint32_t>(q + pad - (ext_len + 2));
  ext_len[0] = static_cast<uint8_t>(exts >> 8), ext_len[1] = static_cast<uint8_t>(exts);
}

// The TCP mix: frame i is a TCP handshake frame when i % 5 == 4 (20 %: the
// t-th such frame is stage t % 3 of conversation t / 3), else the UDP frame
// of flow i.
inline void WriteMixFrame(uint32_t i, uint8_t* p) {
  if (i % 5 != 4) {
    WriteFrame(i, p);
    return;
  }
  const uint32_t t = i / 5;
  WriteTcpHandshakeFrame(t / 3, t % 3, p);
}

// The TLS mix: frame i is, when i % 5 == 4 (20 %), the t-th TCP frame: stage
// t % 4 of conversation t / 4, the stages being SYN, SYN/ACK, ACK and a
// ClientHello (kHelloFrameLen bytes); else the UDP frame of flow i.
inline uint32_t WriteTlsMixFrame(uint32_t i, uint8_t* p) {
  if (i % 5 != 4) {
    WriteFrame(i, p);
    return kFrameLen;
  }
  const uint32_t t = i / 5;
  if (t % 4 == 3) {
    WriteClientHelloFrame(t / 4, p);
    return kHelloFrameLen;
  }
  WriteTcpHandshakeFrame(t / 4, t % 4, p);
  return kFrameLen;
}

// Frames of `flows` conversations back to back in plain memory.
inline std::vector<uint8_t> FrameBytes(uint32_t flows) {
  std::vector<uint8_t> out(static_cast<size_t>(flows) * kFrameLen);
  for (uint32_t i = 0; i < flows; ++i) WriteFrame(i, &out[static_cast<size_t>(i) * kFrameLen]);
  return out;
}

// `len` bytes at the end of mbuf `m`: a benchmark whose pool or mbuf is too
// small stops here with a message instead of writing through a null pointer.
inline uint8_t* Append(rte_mbuf* m, uint16_t len) {
  char* p = m != nullptr ? rte_pktmbuf_append(m, len) : nullptr;
  if (p == nullptr) {
    std::fprintf(stderr, "bench: no mbuf or no room for %u bytes\n", len);
    std::abort();
  }
  return reinterpret_cast<uint8_t*>(p);
}

// `flows` frames (plain or VXLAN) in mbufs of their own pool (created per benchmark and sized
// to it, so that a small benchmark does not pay for a big pool's pages).
class Frames {
 public:
  enum class Kind { kUdp, kVxlan, kTcpMix, kTlsMix };
  explicit Frames(uint32_t flows, bool vxlan = false)
      : Frames(flows, vxlan ? Kind::kVxlan : Kind::kUdp) {}
  Frames(uint32_t flows, Kind kind) {
    Pool(flows, kind == Kind::kTlsMix ? kHelloFrameLen : 128);
    for (uint32_t i = 0; i < flows; ++i) {
      m_[i] = rte_pktmbuf_alloc(pool_);
      if (kind == Kind::kVxlan) {
        WriteVxlanFrame(i, Append(m_[i], kVxlanFrameLen));
      } else if (kind == Kind::kTlsMix) {
        uint8_t tmp[kHelloFrameLen];
        const uint32_t len = WriteTlsMixFrame(i, tmp);
        std::memcpy(Append(m_[i], static_cast<uint16_t>(len)), tmp, len);
      } else if (kind == Kind::kTcpMix) {
        WriteMixFrame(i, Append(m_[i], kFrameLen));
      } else {
        WriteFrame(i, Append(m_[i], kFrameLen));
      }
    }
  }
  // The plain frames of the flows numbered `ids`, in that order.
  explicit Frames(const std::vector<uint32_t>& ids) {
    Pool(static_cast<uint32_t>(ids.size()));
    for (size_t k = 0; k < ids.size(); ++k) {
      m_[k] = rte_pktmbuf_alloc(pool_);
      WriteFrame(ids[k], Append(m_[k], kFrameLen));
    }
  }
  ~Frames() {
    for (rte_mbuf* m : m_) rte_pktmbuf_free(m);
    rte_mempool_free(pool_);
  }
  Frames(const Frames&) = delete;
  Frames& operator=(const Frames&) = delete;

  rte_mbuf** at(uint32_t i) { return &m_[i]; }

 private:
  void Pool(uint32_t flows, uint16_t room = 128) {
    static int n = 0;
    const std::string name = "bench_mbufs" + std::to_string(n++);
    pool_ = rte_pktmbuf_pool_create(name.c_str(), flows + 1024, 256, 0, RTE_PKTMBUF_HEADROOM + room,
                                    rte_socket_id());
    if (pool_ == nullptr) {
      std::fprintf(stderr, "bench: no memory for %u mbufs (raise -m)\n", flows);
      std::abort();
    }
    m_.resize(flows);
  }

  rte_mempool* pool_ = nullptr;
  std::vector<rte_mbuf*> m_;
};

// The frames of `flows` conversations the way a NIC hands them over: a small
// set of `ring` mbufs (a receive ring's worth) recycled burst after burst,
// each rewritten with the next conversation's source address just before it
// is handed out (the rest of the 60-byte frame is the same for every flow).
// Their metadata and data lines stay in cache, as a NIC's recycled mbufs do
// (mempool cache, DDIO); Frames above instead walks `flows` distinct mbufs on
// 4 KiB pages, so part of its cost at 1M flows is mbuf misses.
class RecycledFrames {
 public:
  explicit RecycledFrames(uint32_t ring = 1024) {
    static std::atomic<int> n = 0;  // rings are built in several threads (BM_WorkerScale)
    const std::string name = "bench_ring" + std::to_string(n++);
    pool_ = rte_pktmbuf_pool_create(name.c_str(), ring + 1024, 256, 0, RTE_PKTMBUF_HEADROOM + 128,
                                    rte_socket_id());
    if (pool_ == nullptr) {
      std::fprintf(stderr, "bench: no memory for %u mbufs\n", ring);
      std::abort();
    }
    m_.resize(ring);
    for (uint32_t i = 0; i < ring; ++i) {
      m_[i] = rte_pktmbuf_alloc(pool_);
      WriteFrame(i, Append(m_[i], kFrameLen));
    }
  }
  ~RecycledFrames() {
    for (rte_mbuf* m : m_) rte_pktmbuf_free(m);
    rte_mempool_free(pool_);
  }
  RecycledFrames(const RecycledFrames&) = delete;
  RecycledFrames& operator=(const RecycledFrames&) = delete;

  // `n` (<= 64) frames of conversations first..first+n-1 (< flows).
  rte_mbuf** Next(uint32_t first, uint32_t n) {
    for (uint32_t k = 0; k < n; ++k) {
      rte_mbuf* m = m_[next_];
      next_ = next_ + 1 == m_.size() ? 0 : next_ + 1;
      const uint32_t flow = first + k;
      uint8_t* ip = rte_pktmbuf_mtod(m, uint8_t*) + 14;
      ip[13] = static_cast<uint8_t>(flow >> 16);
      ip[14] = static_cast<uint8_t>(flow >> 8);
      ip[15] = static_cast<uint8_t>(flow);
      burst_[k] = m;
    }
    return burst_;
  }

 private:
  rte_mempool* pool_ = nullptr;
  std::vector<rte_mbuf*> m_;
  size_t next_ = 0;
  rte_mbuf* burst_[64];
};

// Drops every record (counts them).
struct DiscardSink {
  FlowSnapshot slot;
  uint64_t records = 0;
  static FlowSnapshot* Acquire(void* ctx) { return &static_cast<DiscardSink*>(ctx)->slot; }
  static void Publish(void* ctx, FlowSnapshot*) { ++static_cast<DiscardSink*>(ctx)->records; }
  RecordSink AsSink() { return RecordSink{this, &Acquire, &Publish}; }
};

// EAL without devices, with `mem_mb` MiB of memory (mmap'd at start, resident
// only once touched) on 4 KiB pages. With SKYPROBE_BENCH_HUGEPAGES=1 in the
// environment it takes its memory from the free 2 MiB hugepages instead
// (`--in-memory`: no hugetlbfs mount needed, nothing left behind), allocated
// as it is used, so that one binary measures both (BENCHMARKS.md, "Hugepages").
inline bool InitEal(const char* prog, int mem_mb) {
  const std::string mem = std::to_string(mem_mb);
  const char* huge = std::getenv("SKYPROBE_BENCH_HUGEPAGES");
  if (huge != nullptr && std::strcmp(huge, "1") == 0) {
    const char* eal[] = {
        prog, "--in-memory", "--no-pci", "--no-telemetry", "--log-level=*:error", "-l", "0"};
    return rte_eal_init(sizeof(eal) / sizeof(eal[0]), const_cast<char**>(eal)) >= 0;
  }
  const char* eal[] = {prog,
                       "--no-huge",
                       "--no-pci",
                       "--no-shconf",
                       "--no-telemetry",
                       "-m",
                       mem.c_str(),
                       "--log-level=*:error",
                       "-l",
                       "0"};
  return rte_eal_init(sizeof(eal) / sizeof(eal[0]), const_cast<char**>(eal)) >= 0;
}

// Resident set size of this process in bytes (VmRSS of /proc/self/status).
inline int64_t ResidentBytes() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  int64_t kb = -1;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb * 1024;
}

}  // namespace skyprobe::bench
