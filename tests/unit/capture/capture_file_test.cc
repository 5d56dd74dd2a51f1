// The mapped reader's frames (capture_file.h) against libpcap's reading of
// the same bytes (pcap_fopen_offline, microseconds: what net_pcap uses):
// pcap in both byte orders and both precisions, records cut by the snaplen,
// pcapng with several interfaces, clocks and sections, and damaged files,
// where both must stop at the same frame (the reader saying why). Then
// thousands of random corruptions of valid files, each read both ways.
#include "capture/capture_file.h"

#include <pcap/pcap.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "skyprobe/link_types.h"

namespace skyprobe {
namespace {

using Bytes = std::vector<uint8_t>;

struct Frame {
  Bytes data;
  uint32_t wirelen;
  uint64_t ts_us;
  bool operator==(const Frame& o) const {
    return data == o.data && wirelen == o.wirelen && ts_us == o.ts_us;
  }
};

struct Read {
  bool opened = false;
  std::vector<Frame> frames;
  bool error = false;  // stopped at a damaged record, not at the end
};

// libpcap's view, as net_pcap reads a file.
Read ByLibpcap(const Bytes& file) {
  Read r;
  FILE* fp = fmemopen(const_cast<uint8_t*>(file.data()), file.size(), "rb");
  if (fp == nullptr) return r;
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_fopen_offline(fp, err);  // closes fp with p
  if (p == nullptr) {
    fclose(fp);
    return r;
  }
  r.opened = true;
  pcap_pkthdr* h;
  const u_char* d;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
    r.frames.push_back(
        {Bytes(d, d + h->caplen), h->len,
         static_cast<uint64_t>(h->ts.tv_sec) * 1000000 + static_cast<uint64_t>(h->ts.tv_usec)});
  }
  r.error = rc == -1;
  pcap_close(p);
  return r;
}

// The mapped reader's view; `taken` false when it leaves the file to libpcap.
Read ByReader(const Bytes& file, bool* taken) {
  Read r;
  auto f = CaptureFile::FromBuffer(file.data(), file.size(), "test");
  *taken = f.ok();
  if (!f.ok()) return r;
  r.opened = true;
  CaptureFrame fr;
  while ((*f)->Next(&fr)) {
    r.frames.push_back({Bytes(fr.data, fr.data + fr.caplen), fr.wirelen, fr.ts_us});
  }
  r.error = !(*f)->error().empty();
  return r;
}

void ExpectSame(const Bytes& file, bool expect_error = false) {
  const Read want = ByLibpcap(file);
  ASSERT_TRUE(want.opened);
  bool taken = false;
  const Read got = ByReader(file, &taken);
  ASSERT_TRUE(taken);
  ASSERT_EQ(got.frames.size(), want.frames.size());
  for (size_t i = 0; i < want.frames.size(); ++i) EXPECT_TRUE(got.frames[i] == want.frames[i]) << i;
  EXPECT_EQ(got.error, want.error);
  EXPECT_EQ(got.error, expect_error);
}

// A writer of its own (little or big endian).
struct Writer {
  bool big = false;
  Bytes out;
  void U8(uint8_t v) { out.push_back(v); }
  void U16(uint16_t v) {
    if (big) {
      U8(v >> 8), U8(v & 0xff);
    } else {
      U8(v & 0xff), U8(v >> 8);
    }
  }
  void U32(uint32_t v) {
    if (big) {
      U16(v >> 16), U16(v & 0xffff);
    } else {
      U16(v & 0xffff), U16(v >> 16);
    }
  }
  void U64(uint64_t v) {
    if (big) {
      U32(v >> 32), U32(v & 0xffffffff);
    } else {
      U32(v & 0xffffffff), U32(v >> 32);
    }
  }
  void Raw(const Bytes& b) { out.insert(out.end(), b.begin(), b.end()); }
  void Pad4() {
    while (out.size() % 4) U8(0);
  }
};

Bytes Payload(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}

Bytes Pcap(bool big, bool nanos, uint32_t snaplen, uint32_t linktype,
           const std::vector<std::pair<Bytes, uint32_t>>& recs, uint32_t sec0 = 1700000000) {
  Writer w;
  w.big = big;
  w.U32(nanos ? 0xa1b23c4d : 0xa1b2c3d4);
  w.U16(2);
  w.U16(4);
  w.U32(0);
  w.U32(0);
  w.U32(snaplen);
  w.U32(linktype);
  uint32_t i = 0;
  for (const auto& [data, wire] : recs) {
    w.U32(sec0 + i);
    w.U32(nanos ? 999'999'999 - i * 1001 : 999'999 - i * 13);
    w.U32(static_cast<uint32_t>(data.size()));
    w.U32(wire);
    w.Raw(data);
    ++i;
  }
  return w.out;
}

TEST(CaptureFileTest, PcapBothOrdersBothPrecisions) {
  std::vector<std::pair<Bytes, uint32_t>> recs;
  for (int i = 0; i < 20; ++i) recs.push_back({Payload(60 + i * 31, i), 60 + i * 31});
  for (bool big : {false, true}) {
    for (bool nanos : {false, true}) ExpectSame(Pcap(big, nanos, 65535, 1, recs));
  }
}

TEST(CaptureFileTest, RecordsLongerThanSnaplenAreCutAsLibpcapCutsThem) {
  // Snaplen 100; records of 100 (cut on capture: wire 1500) and 300 bytes
  // (a writer that ignored its own snaplen): libpcap keeps 100 bytes.
  const Bytes f = Pcap(false, false, 100, 1, {{Payload(100, 1), 1500}, {Payload(300, 2), 300}});
  ExpectSame(f);
  auto r = CaptureFile::FromBuffer(f.data(), f.size(), "t");
  ASSERT_TRUE(r.ok());
  CaptureFrame fr;
  ASSERT_TRUE((*r)->Next(&fr));
  EXPECT_EQ(fr.caplen, 100u);
  EXPECT_EQ(fr.wirelen, 1500u);  // the wire length stays what the file says
}

TEST(CaptureFileTest, PcapSignedTimestampsAsLibpcap) {
  // Seconds and microseconds past 2^31 read as negative, as libpcap does.
  ExpectSame(
      Pcap(false, false, 65535, 1, {{Payload(60, 1), 60}, {Payload(60, 2), 60}}, 0xfffffff0u));
}

TEST(CaptureFileTest, DamagedPcapStopsWhereLibpcapStops) {
  std::vector<std::pair<Bytes, uint32_t>> recs = {{Payload(60, 1), 60}, {Payload(80, 2), 80}};
  const Bytes good = Pcap(false, false, 65535, 1, recs);
  // Data cut in the second record, and in its header.
  ExpectSame(Bytes(good.begin(), good.end() - 10), true);
  ExpectSame(Bytes(good.begin(), good.begin() + 24 + 16 + 60 + 7), true);
  // A record length beyond libpcap's maximum.
  Bytes big = good;
  big[24 + 16 + 60 + 8] = 0x00;
  big[24 + 16 + 60 + 9] = 0x00;
  big[24 + 16 + 60 + 10] = 0x10;  // 1 MiB
  ExpectSame(big, true);
}

TEST(CaptureFileTest, LeavesOtherFilesToLibpcap) {
  Bytes f = Pcap(false, false, 65535, 1, {{Payload(60, 1), 60}});
  Bytes old = f;
  old[6] = 3;  // version 2.3: libpcap may swap the lengths
  Bytes usb = Pcap(false, false, 65535, 220, {{Payload(60, 1), 60}});  // libpcap rewrites it
  Bytes sll_swapped = Pcap(true, false, 65535, 113, {{Payload(60, 1), 60}});
  Bytes other_magic = f;
  other_magic[0] = 0x34, other_magic[1] = 0xcd;  // 0xa1b2cd34, Kuznetzov's
  for (const Bytes& b : {old, usb, sll_swapped, other_magic}) {
    auto r = CaptureFile::FromBuffer(b.data(), b.size(), "t");
    EXPECT_TRUE(absl::IsUnimplemented(r.status())) << r.status();
  }
  auto sll = Pcap(false, false, 65535, 113, {{Payload(60, 1), 60}});
  ExpectSame(sll);
}

// Every link type the parser decodes (include/skyprobe/link_types.h) is read here, as
// stored; one outside the list is left to libpcap.
TEST(CaptureFileTest, ReadsEveryListedLinkType) {
  for (const LinkTypeInfo& t : kLinkTypeTable) {
    const Bytes f = Pcap(false, false, 65535, t.dlt, {{Payload(60, 1), 60}});
    auto r = CaptureFile::FromBuffer(f.data(), f.size(), "t");
    ASSERT_TRUE(r.ok()) << t.name << " " << t.dlt << ": " << r.status();
    CaptureFrame fr;
    EXPECT_TRUE((*r)->Next(&fr)) << t.dlt;
  }
  const Bytes user0 = Pcap(false, false, 65535, 147, {{Payload(60, 1), 60}});
  EXPECT_TRUE(
      absl::IsUnimplemented(CaptureFile::FromBuffer(user0.data(), user0.size(), "t").status()));
}

// pcapng blocks.
void Block(Writer* w, uint32_t type, const Bytes& body) {
  Writer b;
  b.big = w->big;
  b.Raw(body);
  b.Pad4();
  const uint32_t len = static_cast<uint32_t>(b.out.size() + 12);
  w->U32(type);
  w->U32(len);
  w->Raw(b.out);
  w->U32(len);
}

void Shb(Writer* w) {
  Writer b;
  b.big = w->big;
  b.U32(0x1a2b3c4d);
  b.U16(1);
  b.U16(0);
  b.U64(~0ull);
  Block(w, 0x0a0d0d0a, b.out);
}

// An IDB with if_tsresol `res` (-1: none) and if_tsoffset `off` (0: none).
void Idb(Writer* w, uint16_t linktype, uint32_t snaplen, int res, int64_t off) {
  Writer b;
  b.big = w->big;
  b.U16(linktype);
  b.U16(0);
  b.U32(snaplen);
  b.U16(2);  // if_name
  b.U16(3);
  b.Raw({'e', 't', 'h'});
  b.Pad4();
  if (res >= 0) {
    b.U16(9);
    b.U16(1);
    b.U8(static_cast<uint8_t>(res));
    b.Pad4();
  }
  if (off != 0) {
    b.U16(14);
    b.U16(8);
    b.U64(static_cast<uint64_t>(off));
  }
  b.U16(0);
  b.U16(0);
  Block(w, 1, b.out);
}

void Epb(Writer* w, uint32_t iface, uint64_t ts, const Bytes& data, uint32_t wire) {
  Writer b;
  b.big = w->big;
  b.U32(iface);
  b.U32(static_cast<uint32_t>(ts >> 32));
  b.U32(static_cast<uint32_t>(ts));
  b.U32(static_cast<uint32_t>(data.size()));
  b.U32(wire);
  b.Raw(data);
  b.Pad4();
  b.U16(1);  // opt_comment
  b.U16(2);
  b.Raw({'h', 'i'});
  b.Pad4();
  b.U16(0);
  b.U16(0);
  Block(w, 6, b.out);
}

Bytes Pcapng(bool big) {
  Writer w;
  w.big = big;
  Shb(&w);
  Idb(&w, 1, 0, -1, 0);          // microseconds, snaplen 0 (= maximum)
  Block(&w, 4, Payload(40, 9));  // name resolution block: skipped
  Idb(&w, 1, 0, 9, 0);           // nanoseconds
  Idb(&w, 1, 0, 0x80 | 30, 0);   // 2^-30 s
  Idb(&w, 1, 0, 3, -3600);       // milliseconds, an hour back
  const uint64_t t = 1'700'000'000;
  Epb(&w, 0, t * 1'000'000 + 123'456, Payload(60, 1), 60);
  Epb(&w, 1, t * 1'000'000'000 + 123'456'789, Payload(61, 2), 61);
  Epb(&w, 2, (t << 30) + 987'654'321, Payload(62, 3), 62);
  Epb(&w, 3, t * 1'000 + 999, Payload(63, 4), 1500);
  {
    Writer b;  // simple packet block: interface 0, no time
    b.big = big;
    b.U32(70);
    b.Raw(Payload(70, 5));
    Block(&w, 3, b.out);
  }
  {
    Writer b;  // obsolete packet block
    b.big = big;
    b.U16(1);
    b.U16(0);
    b.U32(static_cast<uint32_t>((t * 1'000'000'000) >> 32));
    b.U32(static_cast<uint32_t>(t * 1'000'000'000));
    b.U32(64);
    b.U32(64);
    b.Raw(Payload(64, 6));
    Block(&w, 2, b.out);
  }
  Block(&w, 5, Payload(28, 7));  // interface statistics: skipped
  // A second section: its own interfaces.
  Shb(&w);
  Idb(&w, 1, 0, 6, 0);
  Epb(&w, 0, t * 1'000'000 + 5, Payload(65, 8), 65);
  return w.out;
}

TEST(CaptureFileTest, PcapngInterfacesClocksSectionsBothOrders) {
  for (bool big : {false, true}) {
    SCOPED_TRACE(big);
    ExpectSame(Pcapng(big));
    const Bytes f = Pcapng(big);
    bool taken = false;
    EXPECT_EQ(ByReader(f, &taken).frames.size(), 7u);
  }
}

TEST(CaptureFileTest, DamagedPcapngStopsWhereLibpcapStops) {
  const Bytes good = Pcapng(false);
  ExpectSame(Bytes(good.begin(), good.end() - 6), true);  // last block cut
  {
    Writer w;  // a packet on an interface never described
    Shb(&w);
    Idb(&w, 1, 0, -1, 0);
    Epb(&w, 0, 1, Payload(60, 1), 60);
    Epb(&w, 3, 2, Payload(60, 2), 60);
    ExpectSame(w.out, true);
  }
  {
    Writer w;  // a second interface of another link type
    Shb(&w);
    Idb(&w, 1, 0, -1, 0);
    Epb(&w, 0, 1, Payload(60, 1), 60);
    Idb(&w, 101, 0, -1, 0);
    Epb(&w, 1, 2, Payload(60, 2), 60);
    ExpectSame(w.out, true);
  }
  {
    Writer w;  // caplen past the block
    Shb(&w);
    Idb(&w, 1, 0, -1, 0);
    Epb(&w, 0, 1, Payload(60, 1), 60);
    Epb(&w, 0, 2, Payload(60, 2), 60);
    w.out[w.out.size() - 84] = 200;  // the second EPB's caplen (low byte)
    ExpectSame(w.out, true);
  }
}

// Random corruption: the reader and libpcap see the same frames and stop
// at the same place, whatever the damage (files libpcap cannot open, or
// that the reader leaves to libpcap, are not compared: the probe refuses the
// former and reads the latter through net_pcap).
TEST(CaptureFileTest, RandomCorruptionsReadAsLibpcapReadsThem) {
  std::mt19937 rng(13);
  std::vector<std::pair<Bytes, uint32_t>> recs;
  for (int i = 0; i < 8; ++i) recs.push_back({Payload(40 + i * 9, i), 40 + i * 9});
  const std::vector<Bytes> bases = {Pcap(false, false, 65535, 1, recs),
                                    Pcap(true, true, 128, 101, recs), Pcapng(false), Pcapng(true)};
  int compared = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    Bytes f = bases[iter % bases.size()];
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      const size_t at = rng() % f.size();
      switch (rng() % 3) {
        case 0:
          f[at] = static_cast<uint8_t>(rng());
          break;
        case 1:
          f[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        default:
          f.resize(at + 1);  // cut
          break;
      }
    }
    const Read want = ByLibpcap(f);
    if (!want.opened) continue;
    bool taken = false;
    const Read got = ByReader(f, &taken);
    if (!taken) continue;
    ++compared;
    ASSERT_EQ(got.frames.size(), want.frames.size()) << "iteration " << iter;
    for (size_t i = 0; i < want.frames.size(); ++i) {
      ASSERT_TRUE(got.frames[i] == want.frames[i]) << "iteration " << iter << " frame " << i;
    }
    ASSERT_EQ(got.error, want.error) << "iteration " << iter;
  }
  // Most corruptions leave a file both read: the comparison is not vacuous.
  EXPECT_GT(compared, 10000);
}

}  // namespace
}  // namespace skyprobe

namespace skyprobe {
namespace {

// A file cut short by another program while it is read: the reads past its
// new end fault (SIGBUS), which used to end the process. Now the reader
// stops at the new end: every frame before the cut as written, then false
// with an error that says the file was cut, whether the cut lies ahead of
// the reader (seen by its size checks) or behind it (seen by the fault).
class CutFileTest : public ::testing::TestWithParam<int> {};

// `bytes` in a file of its own, opened by the mapped reader; removed at the
// end of the scope. `fd` stays open for the test to cut the file.
struct CutFile {
  char path[32] = "/tmp/skyprobe-cut-XXXXXX";
  int fd = mkstemp(path);
  absl::StatusOr<std::unique_ptr<CaptureFile>> file = absl::UnknownError("not written");
  explicit CutFile(const Bytes& bytes) {
    if (fd >= 0 && write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size())) {
      file = CaptureFile::Open(path);
    }
  }
  ~CutFile() {
    if (fd < 0) return;
    close(fd);
    unlink(path);
  }
  CutFile(const CutFile&) = delete;
  CutFile& operator=(const CutFile&) = delete;
  bool Cut(size_t size) const { return ftruncate(fd, static_cast<off_t>(size)) == 0; }
};

TEST_P(CutFileTest, ReadingStopsAtTheNewEnd) {
  // 64k frames of 100 bytes: 7.3 MB, far more than the reader's MiB
  // between size checks.
  std::vector<std::pair<Bytes, uint32_t>> recs;
  for (int i = 0; i < 65536; ++i) recs.push_back({Payload(100, static_cast<uint8_t>(i)), 100});
  CutFile cut(Pcap(false, false, 65535, 1, recs));
  ASSERT_TRUE(cut.file.ok()) << cut.file.status();
  auto& f = cut.file;
  CaptureFrame fr;
  const size_t record = 16 + 100;
  // Read a third of it, then cut it: in the middle of a record a quarter of
  // the way (behind the reader: its pages are gone) or at two thirds (ahead).
  const size_t read_first = 65536 / 3;
  for (size_t i = 0; i < read_first; ++i) ASSERT_TRUE((*f)->Next(&fr)) << i;
  const size_t cut_frames = GetParam() == 0 ? 65536 / 4 : 2 * 65536 / 3;
  const size_t cut_at = 24 + cut_frames * record + 50;
  ASSERT_TRUE(cut.Cut(cut_at));
  size_t n = read_first;
  while ((*f)->Next(&fr)) {
    // Every frame handed over is the one written there.
    ASSERT_EQ(fr.caplen, 100u) << n;
    ASSERT_EQ(Bytes(fr.data, fr.data + fr.caplen), recs[n].first) << n;
    ++n;
  }
  EXPECT_EQ(n, GetParam() == 0 ? read_first : cut_frames);
  EXPECT_NE((*f)->error().find("cut to"), std::string::npos) << (*f)->error();
}

INSTANTIATE_TEST_SUITE_P(BehindAndAhead, CutFileTest, ::testing::Values(0, 1));

// Cut 4 bytes before the next record, in the same page: no fault there (the
// page's tail past the new end reads as zeros), so the reader meets a record
// of zeros: an empty pcap record, a pcapng block of length 0. Either way it
// stops before it, saying the file was cut.
TEST(CutFileTest, ZerosInTheLastPageAreNoRecord) {
  std::vector<std::pair<Bytes, uint32_t>> recs;
  for (int i = 0; i < 8; ++i) recs.push_back({Payload(60, static_cast<uint8_t>(i)), 60});
  for (const Bytes& file : {Pcap(false, false, 65535, 1, recs), Pcapng(false)}) {
    CutFile cut(file);
    ASSERT_TRUE(cut.file.ok()) << cut.file.status();
    auto& f = cut.file;
    CaptureFrame fr;
    ASSERT_TRUE((*f)->Next(&fr));
    ASSERT_TRUE((*f)->Next(&fr));
    const size_t next = (*f)->offset();
    ASSERT_LT(next, 4096u);  // the whole file is in its first page
    ASSERT_TRUE(cut.Cut(next - 4));
    EXPECT_FALSE((*f)->Next(&fr));
    EXPECT_NE((*f)->error().find("the file was cut to " + std::to_string(next - 4) + " bytes"),
              std::string::npos)
        << (*f)->error();
    EXPECT_EQ((*f)->frames(), 2u);
  }
}

}  // namespace
}  // namespace skyprobe
