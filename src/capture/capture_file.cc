#include "capture/capture_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "capture/mapping_guard.h"
#include "skyprobe/link_types.h"

namespace skyprobe {
namespace {

constexpr uint32_t kPcapMagicUs = 0xa1b2c3d4;
constexpr uint32_t kPcapMagicNs = 0xa1b23c4d;
constexpr uint32_t kPcapngShb = 0x0a0d0d0a;
constexpr uint32_t kPcapngByteOrder = 0x1a2b3c4d;
constexpr uint32_t kBlockIdb = 1;
constexpr uint32_t kBlockOpb = 2;  // obsolete packet block
constexpr uint32_t kBlockSpb = 3;
constexpr uint32_t kBlockEpb = 6;
// libpcap's limits for the link types this reader takes (max_snaplen_for_dlt,
// INITIAL_MAX_BLOCKSIZE).
constexpr uint32_t kMaxSnaplen = 262144;
constexpr uint32_t kMaxBlock = 16 * 1024 * 1024;
constexpr uint64_t kUserTsresol = 1'000'000;  // net_pcap asks libpcap for microseconds
constexpr size_t kPrefetchAhead = 1024;       // bytes of the file ahead of the record read

uint32_t Swap32(uint32_t v) { return __builtin_bswap32(v); }

// The fault note of what no fault can reach (bytes in memory, a mapping the
// guard had no room for).
const std::atomic<size_t> g_never_faulted{SIZE_MAX};

// The link types whose frames libpcap hands over as stored: the ones the
// parser decodes (LINKTYPE values as in the file, include/skyprobe/link_types.h), except
// Linux cooked capture in a byte-swapped file (libpcap rewrites CAN headers in it).
bool TakesLinkType(uint32_t lt, bool swapped) {
  const uint32_t type = lt & 0x03ffffff;  // libpcap's LT_LINKTYPE: the FCS bits above
  if (swapped && type == static_cast<uint32_t>(LinkType::kLinuxSll)) return false;
  return IsSupportedLinkType(type);
}

// libpcap's pcap_adjust_snapshot: only 0 and values past INT_MAX are replaced.
uint32_t AdjustSnaplen(uint32_t s) { return (s == 0 || s > INT32_MAX) ? kMaxSnaplen : s; }

}  // namespace

absl::StatusOr<std::unique_ptr<CaptureFile>> CaptureFile::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
    close(fd);
    // A pipe or device cannot be mapped; libpcap reads those.
    return absl::UnimplementedError(absl::StrCat(path, ": not a regular file"));
  }
  void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    close(fd);
    return absl::UnimplementedError(absl::StrCat(path, ": mmap: ", std::strerror(errno)));
  }
  // Read front to back once: the kernel reads ahead of the reader.
  madvise(p, static_cast<size_t>(st.st_size), MADV_SEQUENTIAL);
  std::unique_ptr<CaptureFile> f(new CaptureFile());
  f->fault_at_ = &g_never_faulted;
  f->name_ = path;
  f->base_ = static_cast<const uint8_t*>(p);
  f->size_ = static_cast<size_t>(st.st_size);
  f->mapped_ = true;
  f->fd_ = fd;
  f->mapped_size_ = f->size_;
  f->guard_ = GuardMapping(p, f->size_);
  if (f->guard_ >= 0) {
    f->fault_at_ = MappingFaultNote(f->guard_);
    f->check_at_ = kSizeCheckEvery;
  }
  if (absl::Status s = f->ReadHeader(); !s.ok()) return s;
  return f;
}

absl::StatusOr<std::unique_ptr<CaptureFile>> CaptureFile::FromBuffer(const uint8_t* data,
                                                                     size_t size,
                                                                     std::string name) {
  std::unique_ptr<CaptureFile> f(new CaptureFile());
  f->fault_at_ = &g_never_faulted;
  f->name_ = std::move(name);
  f->base_ = data;
  f->size_ = size;
  if (absl::Status s = f->ReadHeader(); !s.ok()) return s;
  return f;
}

CaptureFile::~CaptureFile() {
  if (!mapped_) return;
  UnguardMapping(guard_);
  munmap(const_cast<uint8_t*>(base_), mapped_size_);
  close(fd_);
}

bool CaptureFile::Fail(const std::string& why) noexcept {
  error_ = absl::StrCat(name_, ": byte ", pos_, " (after ", frames_, " frames): ", why);
  if (cut_) AppendCutNote();
  pos_ = size_;
  return false;
}

void CaptureFile::AppendCutNote() {
  absl::StrAppend(&error_, " (the file was cut to ", cut_size_,
                  " bytes while being read: another program wrote it)");
}

bool CaptureFile::SizeShrank() noexcept {
  const int64_t now = MappingFileSize(fd_);
  if (now < 0 || static_cast<size_t>(now) >= size_) return false;
  cut_ = true;
  cut_size_ = static_cast<size_t>(now);
  return true;
}

bool CaptureFile::CheckSize() noexcept {
  check_at_ = (pos_ | (kSizeCheckEvery - 1)) + 1;
  if (!SizeShrank()) return true;
  if (cut_size_ >= pos_) {
    size_ = cut_size_;  // ahead of the reader: the file ends there
    return true;
  }
  return Fail("the reader was past the new end");
}

absl::Status CaptureFile::ReadHeader() {
  if (size_ < 4) return absl::UnimplementedError(absl::StrCat(name_, ": too short"));
  uint32_t magic;
  std::memcpy(&magic, base_, 4);
  if (magic == kPcapngShb) return ReadSectionHeader(0, true);
  if (magic == kPcapMagicUs || magic == kPcapMagicNs) {
    swapped_ = false;
  } else if (Swap32(magic) == kPcapMagicUs || Swap32(magic) == kPcapMagicNs) {
    swapped_ = true;
    magic = Swap32(magic);
  } else {
    return absl::UnimplementedError(absl::StrCat(name_, ": magic ", magic, " left to libpcap"));
  }
  if (size_ < 24) return absl::UnimplementedError(absl::StrCat(name_, ": short header"));
  nanos_ = magic == kPcapMagicNs;
  // Versions before 2.4 may have caplen and len swapped (libpcap guesses).
  if (U16(4) != 2 || U16(6) < 4) {
    return absl::UnimplementedError(absl::StrCat(name_, ": pcap version left to libpcap"));
  }
  linktype_ = U32(20);
  if (!TakesLinkType(linktype_, swapped_)) {
    return absl::UnimplementedError(absl::StrCat(name_, ": link type left to libpcap"));
  }
  snaplen_ = AdjustSnaplen(U32(16));
  pos_ = 24;
  return absl::OkStatus();
}

absl::Status CaptureFile::ReadSectionHeader(size_t at, bool first) {
  // Byte order from the byte-order magic; the first interface's link type
  // decides whether this reader takes the file on.
  if (size_ < at + 28) return absl::UnimplementedError(absl::StrCat(name_, ": short pcapng"));
  uint32_t bom;
  std::memcpy(&bom, base_ + at + 8, 4);
  if (bom == kPcapngByteOrder) {
    swapped_ = false;
  } else if (Swap32(bom) == kPcapngByteOrder) {
    swapped_ = true;
  } else {
    return absl::UnimplementedError(absl::StrCat(name_, ": bad byte-order magic"));
  }
  if (!first) return absl::OkStatus();
  pcapng_ = true;
  // Find the first IDB as libpcap's open does (other blocks before it are skipped).
  size_t p = at;
  while (p + 12 <= size_) {
    const uint32_t type = U32(p);
    const uint32_t len = U32(p + 4);
    if (len < 12 || len % 4 != 0 || len > size_ - p) break;
    if (type == kBlockIdb && len >= 20) {
      linktype_ = U16(p + 8);
      if (!TakesLinkType(linktype_, swapped_)) {
        return absl::UnimplementedError(absl::StrCat(name_, ": link type left to libpcap"));
      }
      snaplen_ = AdjustSnaplen(U32(p + 12));
      pos_ = at;  // Next() reads the section header and IDB again, as blocks
      return absl::OkStatus();
    }
    p += len;
  }
  return absl::UnimplementedError(absl::StrCat(name_, ": no interface block found"));
}

bool CaptureFile::Next(CaptureFrame* f) noexcept {
  if (SKYPROBE_UNLIKELY(pos_ >= check_at_) && !CheckSize()) return false;
  const size_t at = pos_;
  const bool read = pcapng_ ? NextPcapng(f) : NextPcap(f);
  if (SKYPROBE_UNLIKELY(!read || f->caplen == 0 ||
                        fault_at_->load(std::memory_order_relaxed) < pos_)) {
    return Unusual(at, read);
  }
  return true;
}

bool CaptureFile::Unusual(size_t at, bool read) noexcept {
  if (guard_ < 0) return read;  // bytes in memory: nothing can cut them
  // A read reached a page wholly past the file's new end: it read zeros
  // (mapping_guard.h), and so may this record.
  if (fault_at_->load(std::memory_order_relaxed) < pos_) {
    pos_ = at;
    if (read) --frames_;  // not a record of the file's
    error_.clear();       // what the zeros made of the record, if anything
    if (!CheckSize()) return false;
    // Faulted with no cut to explain it: the kernel could not read the page.
    return Fail(cut_ ? "a read past the file's end" : "a page of the file could not be read");
  }
  if (!read) {
    // A damaged record: the zeros past a new end in the file's last page
    // (no fault there) read as one. The error then says the file was cut.
    if (!cut_ && !error_.empty() && SizeShrank()) AppendCutNote();
    // The end of a file cut short is said.
    if (cut_ && error_.empty()) return Fail("the file ends here now");
    return false;
  }
  // An empty record: the file's own, or the zeros past a new end in the
  // last page of the file (no fault there).
  const size_t end = pos_;
  pos_ = at;
  --frames_;  // until the size says it is the file's
  if (!CheckSize()) return false;
  if (end <= size_) {
    pos_ = end;
    ++frames_;
    return true;
  }
  return Fail("an empty record past the file's end");
}

bool CaptureFile::NextPcap(CaptureFrame* f) noexcept {
  if (pos_ == size_) return false;
  if (size_ - pos_ < 16) {
    return Fail(absl::StrCat("truncated record header (", size_ - pos_, " of 16 bytes)"));
  }
  const uint32_t sec = U32(pos_);
  const uint32_t frac = U32(pos_ + 4);
  uint32_t caplen = U32(pos_ + 8);
  const uint32_t len = U32(pos_ + 12);
  if (caplen > kMaxSnaplen) {
    return Fail(absl::StrCat("record length ", caplen, " beyond the maximum of ", kMaxSnaplen));
  }
  if (size_ - pos_ - 16 < caplen) {
    return Fail(absl::StrCat("truncated record (", caplen, " bytes, ", size_ - pos_ - 16,
                             " left in the file)"));
  }
  f->data = base_ + pos_ + 16;
  pos_ += 16 + size_t{caplen};
  // The records ahead, a few lines on: the hardware prefetcher stops at page
  // boundaries, and every record header read would wait for memory.
  __builtin_prefetch(base_ + pos_ + kPrefetchAhead);
  // libpcap keeps the first snaplen bytes of a longer record.
  if (caplen > snaplen_) caplen = snaplen_;
  f->caplen = caplen;
  f->wirelen = len;
  // libpcap reads both fields as signed 32-bit in a file of the host's byte
  // order, as unsigned in a swapped one (its byte swap gives an unsigned
  // value); net_pcap computes sec * 1e6 + usec in 64-bit unsigned arithmetic.
  const int64_t s64 = swapped_ ? int64_t{sec} : int64_t{static_cast<int32_t>(sec)};
  int64_t usec = swapped_ ? int64_t{frac} : int64_t{static_cast<int32_t>(frac)};
  if (nanos_) usec /= 1000;
  f->ts_us = static_cast<uint64_t>(s64) * 1'000'000 + static_cast<uint64_t>(usec);
  ++frames_;
  return true;
}

bool CaptureFile::AddInterface(size_t body, size_t body_len) noexcept {
  if (if_count_ == kMaxInterfaces) return Fail("more interfaces than this reader keeps");
  Interface itf;
  size_t o = body + 8;
  const size_t end = body + body_len;
  bool tsresol_seen = false;
  bool tsoffset_seen = false;
  while (o < end) {
    if (end - o < 4) return Fail("interface block options past the block's end");
    const uint16_t code = U16(o);
    const uint16_t len = U16(o + 2);
    o += 4;
    // libpcap takes the value (even the end option's) before looking at the code.
    const size_t padded = (size_t{len} + 3) & ~size_t{3};
    if (padded > end - o) return Fail("interface block options past the block's end");
    if (code == 0) {
      if (len != 0) return Fail("end of options with a length");
      break;
    }
    if (code == 9) {
      if (len != 1) return Fail("if_tsresol of length other than 1");
      if (tsresol_seen) return Fail("two if_tsresol options");
      tsresol_seen = true;
      const uint8_t r = base_[o];
      if (r & 0x80) {
        if ((r & 0x7f) > 63) return Fail("if_tsresol too fine");
        itf.tsresol = uint64_t{1} << (r & 0x7f);
        itf.tsresol_binary = true;
      } else {
        if (r > 19) return Fail("if_tsresol too fine");
        itf.tsresol = 1;
        for (uint8_t i = 0; i < r; ++i) itf.tsresol *= 10;
      }
    } else if (code == 14) {
      if (len != 8) return Fail("if_tsoffset of length other than 8");
      if (tsoffset_seen) return Fail("two if_tsoffset options");
      tsoffset_seen = true;
      uint64_t v;
      std::memcpy(&v, base_ + o, 8);
      itf.tsoffset = static_cast<int64_t>(swapped_ ? __builtin_bswap64(v) : v);
    }
    o += padded;
  }
  ifaces_[if_count_++] = itf;
  return true;
}

bool CaptureFile::NextPcapng(CaptureFrame* f) noexcept {
  for (;;) {
    if (pos_ == size_) return false;
    if (size_ - pos_ < 8) return Fail("truncated block header");
    uint32_t type;
    std::memcpy(&type, base_ + pos_, 4);
    if (type == kPcapngShb) {
      // A new section: its own byte order may not differ (libpcap refuses that).
      if (size_ - pos_ < 12) return Fail("truncated section header");
      uint32_t bom;
      std::memcpy(&bom, base_ + pos_ + 8, 4);
      const bool same = swapped_ ? Swap32(bom) == kPcapngByteOrder : bom == kPcapngByteOrder;
      if (!same) {
        if (Swap32(bom) == kPcapngByteOrder || bom == kPcapngByteOrder) {
          return Fail("sections of different byte orders");
        }
        return Fail("section with a bad byte-order magic");
      }
    } else {
      type = U32(pos_);
    }
    const uint32_t len = U32(pos_ + 4);
    if (len < 12) return Fail(absl::StrCat("block length ", len, " below 12"));
    if (len % 4 != 0) return Fail(absl::StrCat("block length ", len, " not a multiple of 4"));
    if (len > kMaxBlock) return Fail(absl::StrCat("block length ", len, " beyond 16 MiB"));
    if (len > size_ - pos_) return Fail(absl::StrCat("truncated block of ", len, " bytes"));
    // libpcap's open reads the first section header without its trailer.
    if (pos_ != 0 && U32(pos_ + len - 4) != len) {
      return Fail("block lengths in header and trailer differ");
    }
    const size_t body = pos_ + 8;
    const size_t body_len = len - 12;
    const size_t block = pos_;
    uint32_t iface = 0;
    uint32_t caplen = 0;
    uint32_t wirelen = 0;
    uint64_t t = 0;
    size_t data = 0;
    switch (type) {
      case kPcapngShb:
        if (body_len < 16) return Fail("section header block too short");
        if (U16(body + 4) != 1) return Fail("unknown pcapng major version");
        if_count_ = 0;  // a section has its own interfaces
        pos_ += len;
        continue;
      case kBlockIdb: {
        if (body_len < 8) return Fail("interface block too short");
        const uint32_t lt = U16(body);
        if (lt != linktype_) return Fail("an interface of another link type than the first");
        if (AdjustSnaplen(U32(body + 4)) != snaplen_) {
          return Fail("an interface of another snaplen than the first");
        }
        if (!AddInterface(body, body_len)) return false;
        pos_ += len;
        continue;
      }
      case kBlockEpb:
      case kBlockOpb:
        if (body_len < 20) return Fail("packet block too short");
        iface = type == kBlockEpb ? U32(body) : U16(body);
        t = uint64_t{U32(body + 4)} << 32 | U32(body + 8);
        caplen = U32(body + 12);
        wirelen = U32(body + 16);
        data = body + 20;
        break;
      case kBlockSpb:
        if (body_len < 4) return Fail("simple packet block too short");
        wirelen = U32(body);
        caplen = wirelen < snaplen_ ? wirelen : snaplen_;
        data = body + 4;
        break;
      default:
        pos_ += len;  // statistics, name resolution, custom blocks...
        continue;
    }
    if (iface >= if_count_) return Fail(absl::StrCat("a packet of undescribed interface ", iface));
    if (caplen > snaplen_) return Fail(absl::StrCat("packet length ", caplen, " beyond snaplen"));
    if (caplen > block + len - 4 - data) return Fail("packet data past the block's end");
    // libpcap's conversion to microseconds, its wrap-arounds included.
    const Interface& itf = ifaces_[iface];
    uint64_t sec = t / itf.tsresol;
    uint64_t frac = t % itf.tsresol;
    if (itf.tsresol != kUserTsresol) {
      if (itf.tsresol_binary) {
        frac = frac * kUserTsresol / itf.tsresol;
      } else if (itf.tsresol > kUserTsresol) {
        frac /= itf.tsresol / kUserTsresol;
      } else {
        frac *= kUserTsresol / itf.tsresol;
      }
    }
    sec += static_cast<uint64_t>(itf.tsoffset);
    f->data = base_ + data;
    __builtin_prefetch(base_ + pos_ + len + kPrefetchAhead);
    f->caplen = caplen;
    f->wirelen = wirelen;
    f->ts_us = sec * 1'000'000 + frac;
    pos_ += len;
    ++frames_;
    return true;
  }
}

}  // namespace skyprobe
