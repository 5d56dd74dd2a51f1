// message_packer.h: records (entries, entry.h) into IPFIX messages (RFC 7011
// §3): the 16-byte header, then sets of consecutive records of one set id,
// never longer than the message size limit.
//
// Owner: the exporter thread of one destination (tests call it directly).
// Pure: the caller gives the export time; the packer keeps the sequence
// number (data records sent before each message in this transport session,
// modulo 2^32; template records do not count).
//
//   MessagePacker m(domain, 1400);
//   m.Begin(&out, now_s);
//   if (!m.Add(set_id, rec, len, is_data)) { m.Finish(); m.Begin(&out, now_s); m.Add(...); }
//   m.Finish();
#pragma once

#include <cstdint>

#include "export/ipfix/entry.h"

namespace skyprobe::ipfix {

inline constexpr size_t kMessageHeader = 16;
inline constexpr size_t kSetHeader = 4;

class MessagePacker {
 public:
  MessagePacker(uint32_t observation_domain, size_t max_message)
      : domain_(observation_domain), max_(max_message) {}

  // A new transport session (a new connection or file): sequence from 0.
  void Reset() { sequence_ = 0; }

  // Starts a message at the end of `out`.
  void Begin(ByteBuffer* out, uint32_t export_time_s);
  // Adds one record; false (nothing added) when it would make the message
  // longer than the limit. A record too long for an empty message never
  // fits: the caller must drop it (the encoder bounds records well below the
  // smallest limit).
  bool Add(uint16_t set_id, const uint8_t* record, uint16_t length, bool data_record);
  // Whether two records, one after the other, would both fit.
  bool FitsPair(uint16_t set1, uint16_t length1, uint16_t set2, uint16_t length2) const;
  // Closes the message (lengths filled in). Returns its size in bytes, 0 if
  // it held no record (then nothing is left in `out`).
  size_t Finish();

  bool open() const { return out_ != nullptr; }
  bool has_records() const { return records_ > 0; }
  // Records of each kind in the message being built.
  uint32_t data_records() const { return data_records_; }
  uint32_t records() const { return records_; }
  uint32_t sequence() const { return sequence_; }
  size_t max_message() const { return max_; }

 private:
  void CloseSet();

  uint32_t domain_;
  size_t max_;
  uint32_t sequence_ = 0;
  ByteBuffer* out_ = nullptr;
  size_t start_ = 0;      // offset of the message in *out_
  size_t set_start_ = 0;  // offset of the open set's header, 0 = none
  uint16_t set_id_ = 0;
  uint32_t records_ = 0;
  uint32_t data_records_ = 0;
};

}  // namespace skyprobe::ipfix
