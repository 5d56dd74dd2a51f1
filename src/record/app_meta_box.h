// app_meta_box.h: FlowSnapshot::app, a record's application metadata kept
// out of line, so that it costs a record 8 bytes (a pointer in what was
// padding) rather than sizeof(AppMeta) when the feature is off or the flow
// has none.
//
// Owner: whoever owns the FlowSnapshot holding it; a value type (a copy of a
// snapshot copies its metadata). The storage is allocated the first time a
// box holds metadata and kept when the box is cleared or assigned a record
// without any, so a reused snapshot (a record channel's pool element, a
// query chunk, a scratch copy) allocates once, not per record: the RX lcore
// allocates at most once per pool element and chunk slot, never per packet.
//
//   if (const AppMeta* a = s.app.get()) Use(a->kind);        // readers
//   store->Fill(pos, &s.app);                                 // the table
#pragma once

#include <cstdint>
#include <utility>

#include "record/app_meta.h"

namespace skyprobe {

class AppMetaBox {
 public:
  AppMetaBox() = default;
  ~AppMetaBox() { delete p_; }
  AppMetaBox(const AppMetaBox& o) : p_(o.has_value() ? new AppMeta(*o.p_) : nullptr) {}
  AppMetaBox(AppMetaBox&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  AppMetaBox& operator=(const AppMetaBox& o) {
    if (this == &o) return *this;
    if (o.has_value()) {
      *Storage() = *o.p_;
    } else {
      Clear();
    }
    return *this;
  }
  // Takes the other's metadata; an empty one clears this box but keeps its
  // storage (`*s = FlowSnapshot()` on a reused snapshot frees nothing).
  AppMetaBox& operator=(AppMetaBox&& o) noexcept {
    if (o.has_value()) {
      std::swap(p_, o.p_);
    } else {
      Clear();
    }
    return *this;
  }

  // Heap bytes a copy of a box holding metadata allocates: the block and
  // glibc's chunk header and rounding (a 536-byte request takes a 544-byte
  // chunk; measured, with the deque node a queued record takes, by
  // tests/unit/service/record_cost_test.cc).
  static constexpr uint64_t kCopyHeapBytes = sizeof(AppMeta) + 16;

  // Exchanges the storage itself, whatever it holds (a reset that keeps a
  // box's allocation across a rebuilt record).
  friend void swap(AppMetaBox& a, AppMetaBox& b) noexcept { std::swap(a.p_, b.p_); }

  bool has_value() const { return p_ != nullptr && p_->kind != AppKind::kNone; }
  // What copying this box allocates (a box without metadata copies as empty).
  uint64_t CopyHeapBytes() const { return has_value() ? kCopyHeapBytes : 0; }
  // Null when the record has no metadata.
  const AppMeta* get() const { return has_value() ? p_ : nullptr; }
  // The metadata, or an empty one (kind kNone).
  const AppMeta& value() const { return has_value() ? *p_ : Empty(); }
  // Storage to write metadata into (allocated on first use; its previous
  // contents are stale: the writer sets kind and what kind says is there).
  AppMeta* Storage() {
    if (p_ == nullptr) p_ = new AppMeta();
    return p_;
  }
  void Clear() {
    if (p_ != nullptr) p_->kind = AppKind::kNone;
  }

 private:
  static const AppMeta& Empty() {
    static const AppMeta kEmpty;
    return kEmpty;
  }
  AppMeta* p_ = nullptr;
};

}  // namespace skyprobe
