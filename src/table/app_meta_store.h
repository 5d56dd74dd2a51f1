// app_meta_store.h: a shard's application metadata and extra layers: what
// the first packets of its flows say (TLS ClientHello, HTTP/1.x request
// head, DNS messages) and Skydive's DHCPv4/VRRP layers, by flow position.
//
// Owner: the shard's RX lcore, like FlowTable (which calls it); nothing here
// is shared. Memory is preallocated at Create(), all of it bounded:
//   - a reference per table position (4 bytes);
//   - `slots` metadata slots (sizeof(AppMeta), 536 bytes), taken by a flow
//     when it first has something to keep and returned when it leaves;
//   - `pending` readers (about 1 KiB each) for ClientHellos and request heads
//     that span several TCP segments, held from the first segment to the
//     last: a flow's stream is followed in sequence order, and a gap, more
//     than kAppMaxSegments segments or kAppPendingMaxNs of waiting ends it.
// A one-segment ClientHello or request (the usual case) is read in place
// and takes no reader. Nothing allocates per packet; running out of slots or
// readers loses that flow's metadata and is counted (TableCounters::app_*).
//
//   store->OnPayload(pos, frame, sub, ab, flow_packets, ts_ns);  // sub.app_hint set
//   store->Fill(pos, &snapshot->app);  store->Release(pos);       // record, removal
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "parse/http_request.h"
#include "parse/parsed_packet.h"
#include "parse/tls_hello.h"
#include "record/app_meta.h"
#include "record/app_meta_box.h"

namespace skyprobe {

struct TableCounters;

struct AppMetaOptions {
  bool metadata = false;     // TLS, HTTP and the DNS summary
  uint8_t extra_layers = 0;  // ExtraLayerBits (record/app_meta.h)
  uint32_t slots = 0;        // flows holding metadata at once
  uint32_t pending = 0;      // ClientHellos/request heads over several segments at once
  int socket_id = -1;
};

// TLS and HTTP are looked for in a flow's first packets only (both
// directions counted): a ClientHello or a request comes right after the
// handshake, and later payloads that happen to start like one are data.
inline constexpr int64_t kAppInspectPackets = 16;
// A ClientHello or request head still incomplete after this many segments,
// or this long after its first one, is given up.
inline constexpr uint32_t kAppMaxSegments = 16;
inline constexpr int64_t kAppPendingMaxNs = 10'000'000'000;

class AppMetaStore {
 public:
  static absl::StatusOr<std::unique_ptr<AppMetaStore>> Create(const AppMetaOptions& opts,
                                                              uint32_t capacity,
                                                              TableCounters* counters);
  ~AppMetaStore();
  AppMetaStore(const AppMetaStore&) = delete;
  AppMetaStore& operator=(const AppMetaStore&) = delete;

  // True when a sub-packet with this hint has something for the store: the
  // per-packet test, inlined in FlowTable::Account. Plain TCP payload
  // matters only while some flow's ClientHello or request is incomplete.
  bool Wants(AppHint hint) const noexcept {
    return hint > AppHint::kTcpPayload || (hint == AppHint::kTcpPayload && pending_live_ != 0);
  }
  // The sub-packet's payload for the flow at `pos`: `ab` its direction,
  // `flow_packets` the flow's packets so far (this one included).
  void OnPayload(uint32_t pos, const uint8_t* frame, const SubPacket& sub, bool ab,
                 int64_t flow_packets, int64_t ts_ns) noexcept;
  // The flow's metadata for a record (the box left empty when it has none:
  // nothing copied, nothing allocated).
  void Fill(uint32_t pos, AppMetaBox* out) const noexcept;
  // The flow at `pos` left the table: its slot or reader is free again.
  void Release(uint32_t pos) noexcept;

  uint32_t pending_live() const { return pending_live_; }
  // Bytes preallocated (reference array, slots, readers).
  uint64_t memory_bytes() const;

 private:
  struct Pending;
  AppMetaStore(const AppMetaOptions& opts, uint32_t capacity, TableCounters* counters);
  absl::Status Init();

  void StartStream(uint32_t pos, const uint8_t* seg, const SubPacket& sub, bool ab,
                   int64_t ts_ns) noexcept;
  void ContinueStream(uint32_t pos, uint32_t idx, const uint8_t* frame, const SubPacket& sub,
                      bool ab) noexcept;
  void OnDns(uint32_t pos, const uint8_t* msg, uint32_t len, int64_t ts_ns) noexcept;
  void OnFirstLayer(uint32_t pos, AppKind kind, const uint8_t* msg, uint32_t len) noexcept;
  // Ends a stream reader: done (the metadata goes to a slot) or not.
  void FinishTls(uint32_t pos, const TlsHello& h) noexcept;
  void FinishHttp(uint32_t pos, const HttpRequestHead& h) noexcept;
  void GiveUp(uint32_t pos, uint32_t idx) noexcept;
  void FreePending(uint32_t idx) noexcept;
  // A free slot for the flow at `pos` (its reference set), or null (counted).
  AppMeta* TakeSlot(uint32_t pos) noexcept;
  uint32_t TakePending(int64_t now_ns) noexcept;

  AppMetaOptions opts_;
  uint32_t capacity_;
  TableCounters* counters_;
  uint32_t* ref_ = nullptr;  // by position: kNone, a slot, a reader, or kNothing
  AppMeta* slots_ = nullptr;
  uint32_t* slot_free_ = nullptr;  // stack of returned slots
  uint32_t slot_free_n_ = 0;
  uint32_t slot_next_ = 0;  // slots from here on were never used (their memory untouched)
  Pending* pending_ = nullptr;
  uint32_t* pending_free_ = nullptr;
  uint32_t pending_free_n_ = 0;
  uint32_t pending_live_ = 0;
  // One-segment reads happen here; only an incomplete one moves to a reader.
  TlsHelloParser tls_parser_;
  TlsHello tls_hello_;
  HttpRequestParser http_parser_;
  HttpRequestHead http_head_;
};

}  // namespace skyprobe
