// capture_file.h: a pcap or pcapng file mapped in memory, read frame by
// frame without copying: each frame is a pointer into the mapping.
//
// Owner: the lcore that polls the file's queue (one reader); opened on the
// main thread at start-up. No DPDK: mapped_file_queue.h hands the frames to
// the worker as mbufs.
//
//   SKYPROBE_ASSIGN_OR_RETURN(auto f, CaptureFile::Open(path));
//   CaptureFrame fr; while (f->Next(&fr)) Use(fr.data, fr.caplen, fr.ts_us);
//
// What a frame is, is what libpcap (hence net_pcap, the other reader) makes
// of the file, so that both readers give the same records:
//  - pcap: microsecond and nanosecond magics, either byte order; a record
//    longer than the file's snaplen is cut to it (libpcap does so); the
//    timestamp in microseconds, nanoseconds divided by 1000 (truncated), the
//    seconds field signed as libpcap reads it.
//  - pcapng: sections in either byte order, several interfaces of one link
//    type and snaplen (libpcap refuses others, so does this reader: the file
//    ends there with an error), each with its if_tsresol and if_tsoffset;
//    enhanced, simple and obsolete packet blocks; other blocks skipped.
// Open() returns kUnimplemented for a file this reader does not take on
// (another magic, a link type whose data libpcap rewrites): the caller reads
// it through libpcap instead. A damaged record mid-file ends the file:
// Next() returns false and error() says where and why (libpcap stops there
// too, silently). So does a file that another program cuts short while it
// is read (mapping_guard.h keeps the read past its new end from killing the
// process): the reader checks the file's size every MiB, after a fault and
// at an empty record, and stops at the new end with an error that says so.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "skyprobe/compiler.h"

namespace skyprobe {

struct CaptureFrame {
  const uint8_t* data = nullptr;
  uint32_t caplen = 0;  // bytes at data
  uint32_t wirelen = 0;
  uint64_t ts_us = 0;  // microseconds since 1970 as net_pcap computes them (mod 2^64)
};

class CaptureFile {
 public:
  // Maps `path` and reads its header. kUnimplemented: a valid file this
  // reader leaves to libpcap; other errors: the file cannot be read.
  static absl::StatusOr<std::unique_ptr<CaptureFile>> Open(const std::string& path);
  // The same over bytes the caller keeps alive (tests, fuzzing).
  static absl::StatusOr<std::unique_ptr<CaptureFile>> FromBuffer(const uint8_t* data, size_t size,
                                                                 std::string name);
  ~CaptureFile();
  CaptureFile(const CaptureFile&) = delete;
  CaptureFile& operator=(const CaptureFile&) = delete;

  // The next frame; false at the end of the file or at a damaged record
  // (error() is then non-empty).
  bool Next(CaptureFrame* f) noexcept;

  const std::string& error() const { return error_; }
  const std::string& name() const { return name_; }
  size_t offset() const { return pos_; }
  // The same, read from another thread (progress line): a relaxed load of
  // the reader's position (one writer).
  size_t progress() const { return __atomic_load_n(&pos_, __ATOMIC_RELAXED); }
  size_t size() const { return size_; }
  const uint8_t* base() const { return base_; }
  uint64_t frames() const { return frames_; }

 private:
  CaptureFile() = default;
  absl::Status ReadHeader();
  absl::Status ReadSectionHeader(size_t at, bool first);
  bool NextPcap(CaptureFrame* f) noexcept;
  bool NextPcapng(CaptureFrame* f) noexcept;
  bool Fail(const std::string& why) noexcept;
  // Next's rare cases (the end, an empty record, a fault in the mapping),
  // for the record read from `at`.
  bool Unusual(size_t at, bool read) noexcept;
  // The file's size now: where it shrank, the reader stops at the new end
  // (false: it is behind the reader already, and the file failed).
  bool CheckSize() noexcept;
  // Whether the file is now shorter than the reader's end (cut_, cut_size_
  // then say so).
  bool SizeShrank() noexcept;
  // " (the file was cut to ...)" after error_.
  void AppendCutNote();
  static constexpr size_t kSizeCheckEvery = size_t{1} << 20;  // bytes read
  // Fields in the file's byte order (inlined: every record reads four).
  SKYPROBE_ALWAYS_INLINE uint32_t U32(size_t at) const noexcept {
    uint32_t v;
    std::memcpy(&v, base_ + at, 4);
    return swapped_ ? __builtin_bswap32(v) : v;
  }
  SKYPROBE_ALWAYS_INLINE uint16_t U16(size_t at) const noexcept {
    uint16_t v;
    std::memcpy(&v, base_ + at, 2);
    return swapped_ ? __builtin_bswap16(v) : v;
  }
  // pcapng: an interface description block's link type, snaplen and clock.
  bool AddInterface(size_t body, size_t body_len) noexcept;

  struct Interface {
    uint64_t tsresol = 1'000'000;  // ticks per second
    bool tsresol_binary = false;
    int64_t tsoffset = 0;  // seconds added
  };
  static constexpr size_t kMaxInterfaces = 256;

  std::string name_;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  int fd_ = -1;     // a mapped file's, open while mapped (its size is asked)
  int guard_ = -1;  // its mapping_guard slot
  size_t mapped_size_ = 0;
  // Where the next size check is due (never for a buffer), and the guard's
  // note of the lowest page that faulted (SIZE_MAX: none; a buffer's never
  // changes).
  size_t check_at_ = SIZE_MAX;
  const std::atomic<size_t>* fault_at_ = nullptr;
  bool cut_ = false;     // the file was cut short while being read...
  size_t cut_size_ = 0;  // ...to this size
  size_t pos_ = 0;
  bool swapped_ = false;
  bool pcapng_ = false;
  bool nanos_ = false;
  uint32_t snaplen_ = 0;  // as libpcap adjusts it (pcap_snapshot)
  uint32_t linktype_ = 0;
  uint32_t max_caplen_ = 0;
  Interface ifaces_[kMaxInterfaces];
  size_t if_count_ = 0;
  bool first_idb_seen_ = false;
  uint64_t frames_ = 0;
  std::string error_;
};

}  // namespace skyprobe
