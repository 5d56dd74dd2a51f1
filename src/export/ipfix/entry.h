// entry.h: the stream of IPFIX records between the encoder (control lcore)
// and the message packer (exporter thread), and the byte buffer both use.
//
// Owner: a ByteBuffer belongs to one thread at a time (the encoder fills a
// batch, the exporter reads it after the queue hands it over).
//
// An entry is one record, not yet in a message: a 4-byte header in host
// order {set id, length | kAnnounce}, then the record's bytes in network
// order. Set id 2: a template record, 3: an options template record, >= 256:
// a data record of that template. kAnnounce marks what a collector needs
// before any data (templates and RFC 5610 type records): the exporter keeps
// those and sends them again on each new connection and template refresh.
// kCompanion marks the second data record of one flow record (uniflow
// export: its B to A half, right after the A to B one): it is not counted as
// a flow record, and the exporter keeps it in the message of its first half.
//
//   ByteBuffer b;  uint8_t* p = BeginEntry(&b, 300, 64);  p = Put16(p, 42);  EndEntry(&b, p);
//   for (EntryReader r(b.data(), b.size()); !r.done(); r.Next()) Use(r.set_id(), r.record());
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

namespace skyprobe::ipfix {

inline constexpr uint16_t kTemplateSetId = 2;
inline constexpr uint16_t kOptionsTemplateSetId = 3;
inline constexpr uint16_t kAnnounce = 0x8000;
inline constexpr uint16_t kCompanion = 0x4000;
inline constexpr uint16_t kEntryLengthMask = 0x3FFF;
inline constexpr size_t kEntryHeader = 4;
// Data sets: the RFC 5610 type records' options template, then the flow
// record templates (record_encoder.h), numbered in order of first use.
inline constexpr uint16_t kTypeInfoTemplateId = 256;
inline constexpr uint16_t kFirstDataTemplateId = 257;
inline bool IsDataSet(uint16_t set_id) { return set_id >= kTypeInfoTemplateId; }
inline bool IsFlowSet(uint16_t set_id) { return set_id >= kFirstDataTemplateId; }

// A growable byte buffer that never zero-fills (std::vector would, on
// resize): records are written through a pointer into reserved room.
class ByteBuffer {
 public:
  ByteBuffer() = default;
  explicit ByteBuffer(size_t capacity) { Reserve(capacity); }
  ByteBuffer(ByteBuffer&&) = default;
  ByteBuffer& operator=(ByteBuffer&&) = default;

  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  void clear() { size_ = 0; }

  // Room for `n` more bytes at end(); the buffer grows by doubling.
  uint8_t* Ensure(size_t n) {
    if (size_ + n > capacity_) Reserve(std::max(capacity_ * 2, size_ + n));
    return data_.get() + size_;
  }
  void Reserve(size_t capacity) {
    if (capacity <= capacity_) return;
    std::unique_ptr<uint8_t[]> bigger(new uint8_t[capacity]);
    if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = capacity;
  }
  uint8_t* end() { return data_.get() + size_; }
  // After writing up to `p` (between end() and end() + the room ensured).
  void CommitTo(const uint8_t* p) { size_ = static_cast<size_t>(p - data_.get()); }
  void Append(const void* bytes, size_t n) {
    std::memcpy(Ensure(n), bytes, n);
    size_ += n;
  }
  // Drops the first `n` bytes (moves the rest down).
  void Consume(size_t n) {
    if (n >= size_) {
      size_ = 0;
      return;
    }
    std::memmove(data_.get(), data_.get() + n, size_ - n);
    size_ -= n;
  }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Big-endian stores; each returns the position after what it wrote.
inline uint8_t* Put8(uint8_t* p, uint8_t v) {
  *p = v;
  return p + 1;
}
inline uint8_t* Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
  return p + 2;
}
inline uint8_t* Put32(uint8_t* p, uint32_t v) {
  const uint32_t be = __builtin_bswap32(v);
  std::memcpy(p, &be, 4);
  return p + 4;
}
inline uint8_t* Put64(uint8_t* p, uint64_t v) {
  const uint64_t be = __builtin_bswap64(v);
  std::memcpy(p, &be, 8);
  return p + 8;
}
inline uint8_t* PutBytes(uint8_t* p, const void* bytes, size_t n) {
  if (n != 0) std::memcpy(p, bytes, n);  // an empty string's data may be null
  return p + n;
}
inline uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// Starts an entry of at most `max_len` record bytes; returns where the
// record goes. EndEntry(b, p) closes it at `p`.
inline uint8_t* BeginEntry(ByteBuffer* b, uint16_t set_id, size_t max_len, bool announce = false,
                           bool companion = false) {
  uint8_t* h = b->Ensure(kEntryHeader + max_len);
  std::memcpy(h, &set_id, 2);
  const uint16_t flags = (announce ? kAnnounce : 0) | (companion ? kCompanion : 0);
  std::memcpy(h + 2, &flags, 2);
  return h + kEntryHeader;
}
inline void EndEntry(ByteBuffer* b, uint8_t* p) {
  uint8_t* h = b->end();
  uint16_t flags;
  std::memcpy(&flags, h + 2, 2);
  const auto len = static_cast<uint16_t>(p - (h + kEntryHeader));
  flags = static_cast<uint16_t>(flags | len);
  std::memcpy(h + 2, &flags, 2);
  b->CommitTo(p);
}

// Walks the entries of a buffer.
class EntryReader {
 public:
  EntryReader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool done() const { return p_ + kEntryHeader > end_; }
  uint16_t set_id() const {
    uint16_t v;
    std::memcpy(&v, p_, 2);
    return v;
  }
  bool announce() const { return (flags() & kAnnounce) != 0; }
  bool companion() const { return (flags() & kCompanion) != 0; }
  // A flow record's (first) data record: what the exporter counts.
  bool flow_record() const { return IsFlowSet(set_id()) && !companion(); }
  uint16_t length() const { return flags() & kEntryLengthMask; }
  const uint8_t* record() const { return p_ + kEntryHeader; }
  size_t entry_size() const { return kEntryHeader + length(); }
  const uint8_t* position() const { return p_; }
  void Next() { p_ += entry_size(); }

 private:
  uint16_t flags() const {
    uint16_t v;
    std::memcpy(&v, p_ + 2, 2);
    return v;
  }
  const uint8_t* p_;
  const uint8_t* end_;
};

}  // namespace skyprobe::ipfix
