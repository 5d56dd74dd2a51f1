#include "export/ipfix/message_packer.h"

namespace skyprobe::ipfix {

void MessagePacker::Begin(ByteBuffer* out, uint32_t export_time_s) {
  out_ = out;
  start_ = out->size();
  uint8_t* p = out->Ensure(kMessageHeader);
  p = Put16(p, 10);  // version
  p = Put16(p, 0);   // length, at Finish
  p = Put32(p, export_time_s);
  p = Put32(p, sequence_);
  p = Put32(p, domain_);
  out->CommitTo(p);
  set_start_ = 0;
  set_id_ = 0;
  records_ = 0;
  data_records_ = 0;
}

void MessagePacker::CloseSet() {
  if (set_start_ == 0) return;
  const size_t len = out_->size() - set_start_;
  Put16(out_->data() + set_start_ + 2, static_cast<uint16_t>(len));
  set_start_ = 0;
}

bool MessagePacker::Add(uint16_t set_id, const uint8_t* record, uint16_t length, bool data_record) {
  const bool new_set = set_start_ == 0 || set_id != set_id_;
  const size_t need = length + (new_set ? kSetHeader : 0);
  if (out_->size() - start_ + need > max_) return false;
  if (new_set) {
    CloseSet();
    set_start_ = out_->size();
    set_id_ = set_id;
    uint8_t* p = out_->Ensure(kSetHeader);
    p = Put16(p, set_id);
    p = Put16(p, 0);  // length, when the set closes
    out_->CommitTo(p);
  }
  out_->Append(record, length);
  ++records_;
  if (data_record) ++data_records_;
  return true;
}

bool MessagePacker::FitsPair(uint16_t set1, uint16_t length1, uint16_t set2,
                             uint16_t length2) const {
  const bool new1 = set_start_ == 0 || set1 != set_id_;
  const size_t need = length1 + (new1 ? kSetHeader : 0) + length2 + (set2 != set1 ? kSetHeader : 0);
  return out_->size() - start_ + need <= max_;
}

size_t MessagePacker::Finish() {
  if (out_ == nullptr) return 0;
  ByteBuffer* out = out_;
  if (records_ == 0) {
    out->CommitTo(out->data() + start_);
    out_ = nullptr;
    return 0;
  }
  CloseSet();
  out_ = nullptr;
  const size_t len = out->size() - start_;
  Put16(out->data() + start_ + 2, static_cast<uint16_t>(len));
  sequence_ += data_records_;
  return len;
}

}  // namespace skyprobe::ipfix
