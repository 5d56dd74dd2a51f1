// AppMetaStore: what each hint leads to, the stream readers and the slots.
#include "table/app_meta_store.h"

#include <rte_malloc.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#include "table/flow_table.h"
#include "table/tls_fingerprint.h"

namespace skyprobe {
namespace {

// AppMetaStore::ref_ values: 0 nothing yet; a slot index + 1; a reader
// index with kPendingBit; kNothing once the flow was looked at and has
// nothing to keep (a payload that was not a ClientHello after all, a reader
// given up, no slot free): it is not looked at again.
constexpr uint32_t kNone = 0;
constexpr uint32_t kPendingBit = 0x80000000u;
constexpr uint32_t kNothing = 0xFFFFFFFFu;

inline bool IsSlot(uint32_t ref) { return ref != kNone && (ref & kPendingBit) == 0; }
inline bool IsPending(uint32_t ref) { return ref != kNothing && (ref & kPendingBit) != 0; }

}  // namespace

static_assert(sizeof(AppMeta) + sizeof(uint32_t) <= 544,
              "config/eal_args.cc reserves 544 bytes per metadata slot (kAppSlotBytes)");

struct AppMetaStore::Pending {
  uint32_t pos = 0;
  uint32_t next_seq = 0;  // the stream's next byte
  int64_t started_ns = 0;
  AppKind kind = AppKind::kNone;  // kTls or kHttp
  bool ab = false;                // the direction the stream goes
  uint8_t segments = 0;
  TlsHelloParser tls;
  TlsHello hello;
  HttpRequestParser http;
  HttpRequestHead head;
};

AppMetaStore::AppMetaStore(const AppMetaOptions& opts, uint32_t capacity, TableCounters* counters)
    : opts_(opts), capacity_(capacity), counters_(counters) {}

absl::StatusOr<std::unique_ptr<AppMetaStore>> AppMetaStore::Create(const AppMetaOptions& opts,
                                                                   uint32_t capacity,
                                                                   TableCounters* counters) {
  if (opts.slots == 0) return absl::InvalidArgumentError("application metadata needs slots");
  std::unique_ptr<AppMetaStore> s(new AppMetaStore(opts, capacity, counters));
  absl::Status st = s->Init();
  if (!st.ok()) return st;
  return s;
}

absl::Status AppMetaStore::Init() {
  static_assert(sizeof(Pending) + sizeof(uint32_t) <= 1408,
                "config/eal_args.cc reserves 1408 bytes per reader (kAppReaderBytes)");
  const int socket = opts_.socket_id;
  // Zeroed and never initialised in bulk: a reference of 0 is "nothing",
  // and slots are constructed when first taken, so untouched memory stays
  // unused until the traffic needs it.
  ref_ = static_cast<uint32_t*>(
      rte_zmalloc_socket("app_ref", sizeof(uint32_t) * capacity_, 64, socket));
  slots_ = static_cast<AppMeta*>(
      rte_zmalloc_socket("app_slots", sizeof(AppMeta) * opts_.slots, 64, socket));
  slot_free_ = static_cast<uint32_t*>(
      rte_zmalloc_socket("app_slot_free", sizeof(uint32_t) * opts_.slots, 64, socket));
  const uint32_t pending = std::max<uint32_t>(opts_.pending, 1);
  pending_ = static_cast<Pending*>(
      rte_zmalloc_socket("app_pending", sizeof(Pending) * pending, 64, socket));
  pending_free_ = static_cast<uint32_t*>(
      rte_zmalloc_socket("app_pending_free", sizeof(uint32_t) * pending, 64, socket));
  if (ref_ == nullptr || slots_ == nullptr || slot_free_ == nullptr || pending_ == nullptr ||
      pending_free_ == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot allocate application metadata for ",
                                                     opts_.slots, " flows (", memory_bytes() >> 20,
                                                     " MiB): lower --app-meta-flows"));
  }
  for (uint32_t i = 0; i < pending; ++i) {
    new (&pending_[i]) Pending();
    pending_free_[i] = pending - 1 - i;  // index 0 on top
  }
  pending_free_n_ = pending;
  return absl::OkStatus();
}

AppMetaStore::~AppMetaStore() {
  rte_free(ref_);
  rte_free(slots_);
  rte_free(slot_free_);
  rte_free(pending_);
  rte_free(pending_free_);
}

uint64_t AppMetaStore::memory_bytes() const {
  return uint64_t{sizeof(uint32_t)} * capacity_ +
         uint64_t{sizeof(AppMeta) + sizeof(uint32_t)} * opts_.slots +
         uint64_t{sizeof(Pending) + sizeof(uint32_t)} * std::max<uint32_t>(opts_.pending, 1);
}

AppMeta* AppMetaStore::TakeSlot(uint32_t pos) noexcept {
  uint32_t idx;
  if (slot_free_n_ != 0) {
    idx = slot_free_[--slot_free_n_];
  } else if (slot_next_ < opts_.slots) {
    idx = slot_next_++;
  } else {
    ++counters_->app_no_slot;
    ref_[pos] = kNothing;
    return nullptr;
  }
  ++counters_->app_flows;
  ref_[pos] = idx + 1;
  return new (&slots_[idx]) AppMeta();
}

uint32_t AppMetaStore::TakePending(int64_t now_ns) noexcept {
  if (pending_free_n_ == 0) {
    // A reader whose stream stalled past its time is given up for the new one.
    const uint32_t n = std::max<uint32_t>(opts_.pending, 1);
    for (uint32_t i = 0; i < n; ++i) {
      if (pending_[i].kind != AppKind::kNone &&
          now_ns - pending_[i].started_ns > kAppPendingMaxNs) {
        GiveUp(pending_[i].pos, i);
        break;
      }
    }
    if (pending_free_n_ == 0) return kNothing;
  }
  ++pending_live_;
  return pending_free_[--pending_free_n_];
}

void AppMetaStore::FreePending(uint32_t idx) noexcept {
  pending_[idx].kind = AppKind::kNone;
  pending_free_[pending_free_n_++] = idx;
  --pending_live_;
}

void AppMetaStore::GiveUp(uint32_t pos, uint32_t idx) noexcept {
  ++counters_->app_gave_up;
  FreePending(idx);
  ref_[pos] = kNothing;
}

void AppMetaStore::OnPayload(uint32_t pos, const uint8_t* frame, const SubPacket& sub, bool ab,
                             int64_t flow_packets, int64_t ts_ns) noexcept {
  const uint32_t ref = ref_[pos];
  const uint8_t* payload = frame + sub.app_off;
  switch (sub.app_hint) {
    case AppHint::kNone:
      return;
    case AppHint::kTcpPayload:
    case AppHint::kTlsClientHello:
    case AppHint::kHttpRequest:
      if (IsPending(ref)) {
        ContinueStream(pos, ref & ~kPendingBit, frame, sub, ab);
      } else if (ref == kNone && sub.app_hint != AppHint::kTcpPayload && opts_.metadata &&
                 flow_packets <= kAppInspectPackets) {
        StartStream(pos, payload, sub, ab, ts_ns);
      }
      return;
    case AppHint::kDns:
    case AppHint::kDnsTcp:
      if ((opts_.metadata || (opts_.extra_layers & kExtraLayerDns) != 0) && !IsPending(ref)) {
        OnDns(pos, payload, sub.app_len, ts_ns);
      }
      return;
    case AppHint::kDhcpv4:
      if ((opts_.extra_layers & kExtraLayerDhcpv4) != 0 && ref == kNone) {
        OnFirstLayer(pos, AppKind::kDhcpv4, payload, sub.app_len);
      }
      return;
    case AppHint::kVrrp:
      if ((opts_.extra_layers & kExtraLayerVrrp) != 0 && ref == kNone) {
        OnFirstLayer(pos, AppKind::kVrrp, payload, sub.app_len);
      }
      return;
  }
}

void AppMetaStore::StartStream(uint32_t pos, const uint8_t* seg, const SubPacket& sub, bool ab,
                               int64_t ts_ns) noexcept {
  const bool tls = sub.app_hint == AppHint::kTlsClientHello;
  bool more = false;
  if (tls) {
    tls_parser_.Reset();
    switch (tls_parser_.Feed(seg, sub.app_len, &tls_hello_)) {
      case TlsHelloParser::Status::kDone:
        FinishTls(pos, tls_hello_);
        return;
      case TlsHelloParser::Status::kNeedMore:
        more = true;
        break;
      case TlsHelloParser::Status::kMalformed:
        ++counters_->app_tls_malformed;
        ref_[pos] = kNothing;
        return;
      case TlsHelloParser::Status::kNotHello:
        ref_[pos] = kNothing;
        return;
    }
  } else {
    http_parser_.Reset();
    switch (http_parser_.Feed(seg, sub.app_len, &http_head_)) {
      case HttpRequestParser::Status::kDone:
        FinishHttp(pos, http_head_);
        return;
      case HttpRequestParser::Status::kNeedMore:
        more = true;
        break;
      case HttpRequestParser::Status::kNotHttp:
        ref_[pos] = kNothing;
        return;
    }
  }
  if (!more) return;
  // The rest comes in later segments: follow the stream with a reader.
  const uint32_t idx = TakePending(ts_ns);
  if (idx == kNothing) {
    ++counters_->app_pending_full;
    ref_[pos] = kNothing;
    return;
  }
  Pending& p = pending_[idx];
  p.pos = pos;
  // Data on a SYN (TCP Fast Open) starts one after its sequence number.
  p.next_seq = sub.tcp_seq + ((sub.tcp_flags & kTcpSyn) ? 1u : 0u) + sub.app_len;
  p.started_ns = ts_ns;
  p.ab = ab;
  p.segments = 1;
  if (tls) {
    p.kind = AppKind::kTls;
    p.tls = tls_parser_;
    p.hello = tls_hello_;
  } else {
    p.kind = AppKind::kHttp;
    p.http = http_parser_;
    p.head = http_head_;
  }
  ref_[pos] = idx | kPendingBit;
}

void AppMetaStore::ContinueStream(uint32_t pos, uint32_t idx, const uint8_t* frame,
                                  const SubPacket& sub, bool ab) noexcept {
  Pending& p = pending_[idx];
  if (p.ab != ab) return;  // the other side's data (a server speaking first is no client)
  const uint32_t seq = sub.tcp_seq + ((sub.tcp_flags & kTcpSyn) ? 1u : 0u);
  const auto ahead = static_cast<int32_t>(seq - p.next_seq);
  if (ahead > 0) {  // a segment is missing (lost, or coming out of order)
    GiveUp(pos, idx);
    return;
  }
  const uint32_t behind = static_cast<uint32_t>(-static_cast<int64_t>(ahead));
  if (behind >= sub.app_len) return;  // all of it seen already (a retransmission)
  const uint8_t* data = frame + sub.app_off + behind;
  const uint32_t len = sub.app_len - behind;
  p.next_seq += len;
  ++p.segments;
  if (p.kind == AppKind::kTls) {
    switch (p.tls.Feed(data, len, &p.hello)) {
      case TlsHelloParser::Status::kDone:
        FreePending(idx);
        FinishTls(pos, p.hello);  // the reader's fields stay intact until reused
        return;
      case TlsHelloParser::Status::kNeedMore:
        break;
      case TlsHelloParser::Status::kMalformed:
      case TlsHelloParser::Status::kNotHello:
        ++counters_->app_tls_malformed;
        FreePending(idx);
        ref_[pos] = kNothing;
        return;
    }
  } else {
    switch (p.http.Feed(data, len, &p.head)) {
      case HttpRequestParser::Status::kDone:
        FreePending(idx);
        FinishHttp(pos, p.head);
        return;
      case HttpRequestParser::Status::kNeedMore:
        break;
      case HttpRequestParser::Status::kNotHttp:
        FreePending(idx);
        ref_[pos] = kNothing;
        return;
    }
  }
  if (p.segments >= kAppMaxSegments) GiveUp(pos, idx);
}

void AppMetaStore::FinishTls(uint32_t pos, const TlsHello& h) noexcept {
  AppMeta* m = TakeSlot(pos);
  if (m == nullptr) return;
  m->kind = AppKind::kTls;
  AppTls& t = m->tls;
  t.legacy_version = h.legacy_version;
  t.version = h.OfferedVersion();
  t.flags = static_cast<uint8_t>(
      (h.has_sni ? kTlsHasSni : 0) | (h.sni_truncated ? kTlsSniTruncated : 0) |
      (h.has_alpn ? kTlsHasAlpn : 0) | (h.alpn_truncated ? kTlsAlpnTruncated : 0));
  t.sni_len = h.sni_len;
  std::memcpy(t.sni, h.sni, h.sni_len);
  t.alpn_len = h.alpn_len;
  std::memcpy(t.alpn, h.alpn, h.alpn_len);
  if (h.lists_truncated) {
    ++counters_->app_tls_unfingerprinted;
    return;
  }
  // Once per flow, when its ClientHello is complete: the raw lists are not
  // kept, so the fingerprints are taken now (tls_fingerprint.h).
  Ja3Digest(h, t.ja3);
  Ja4(h, t.ja4);
  t.flags |= kTlsFingerprints;
}

void AppMetaStore::FinishHttp(uint32_t pos, const HttpRequestHead& h) noexcept {
  AppMeta* m = TakeSlot(pos);
  if (m == nullptr) return;
  m->kind = AppKind::kHttp;
  AppHttp& a = m->http;
  a.method = h.method;
  a.flags = static_cast<uint8_t>((h.has_host ? kHttpHasHost : 0) |
                                 (h.host_truncated ? kHttpHostTruncated : 0));
  a.host_len = h.host_len;
  std::memcpy(a.host, h.host, h.host_len);
}

void AppMetaStore::OnDns(uint32_t pos, const uint8_t* msg, uint32_t len, int64_t ts_ns) noexcept {
  const uint32_t ref = ref_[pos];
  AppMeta* m;
  if (ref == kNone) {
    m = TakeSlot(pos);
    if (m == nullptr) return;
    m->kind = AppKind::kDns;
  } else if (IsSlot(ref) && slots_[ref - 1].kind == AppKind::kDns) {
    m = &slots_[ref - 1];
  } else {
    return;  // the flow holds something else (or nothing, for good)
  }
  AppDns& d = m->dns;
  // The latest message replaces the previous one, as Skydive's DNS layer;
  // the response code stays that of the latest response.
  const uint32_t keep = std::min<uint32_t>(len, kAppMessageMax);
  std::memcpy(d.msg, msg, keep);
  d.len = static_cast<uint16_t>(keep);
  d.full_len = static_cast<uint16_t>(len);
  d.time_ms = ts_ns / 1'000'000;
  const bool layer = (opts_.extra_layers & kExtraLayerDns) != 0;
  d.flags = static_cast<uint8_t>((d.flags & kDnsHasRcode) | (opts_.metadata ? kDnsSummary : 0) |
                                 (layer ? kDnsLayer : 0));
  if ((msg[2] & 0x80) != 0) {  // QR: a response
    d.rcode = msg[3] & 0x0F;
    d.flags |= kDnsHasRcode;
  }
  if (layer && len > static_cast<uint32_t>(kAppMessageMax)) ++counters_->app_message_too_long;
}

void AppMetaStore::OnFirstLayer(uint32_t pos, AppKind kind, const uint8_t* msg,
                                uint32_t len) noexcept {
  AppMeta* m = TakeSlot(pos);
  if (m == nullptr) return;
  m->kind = kind;
  const uint32_t keep = std::min<uint32_t>(len, kAppMessageMax);
  std::memcpy(m->raw.data, msg, keep);
  m->raw.len = static_cast<uint16_t>(keep);
  m->raw.full_len = static_cast<uint16_t>(len);
  if (len > static_cast<uint32_t>(kAppMessageMax)) ++counters_->app_message_too_long;
}

void AppMetaStore::Fill(uint32_t pos, AppMetaBox* box) const noexcept {
  const uint32_t ref = ref_[pos];
  if (!IsSlot(ref)) {
    box->Clear();
    return;
  }
  const AppMeta& m = slots_[ref - 1];
  // Allocated once per reused snapshot (a pool element, a query chunk slot).
  AppMeta* out = box->Storage();
  out->kind = m.kind;
  // Only the part in use: a short DNS message copies tens of bytes, not 512.
  switch (m.kind) {
    case AppKind::kTls:
      out->tls = m.tls;
      break;
    case AppKind::kHttp:
      std::memcpy(&out->http, &m.http, offsetof(AppHttp, host) + m.http.host_len);
      break;
    case AppKind::kDns:
      std::memcpy(&out->dns, &m.dns, offsetof(AppDns, msg) + m.dns.len);
      break;
    case AppKind::kDhcpv4:
    case AppKind::kVrrp:
      std::memcpy(&out->raw, &m.raw, offsetof(AppRaw, data) + m.raw.len);
      break;
    case AppKind::kNone:
      break;
  }
}

void AppMetaStore::Release(uint32_t pos) noexcept {
  const uint32_t ref = ref_[pos];
  if (ref == kNone) return;
  if (IsSlot(ref)) {
    slot_free_[slot_free_n_++] = ref - 1;
  } else if (IsPending(ref)) {
    FreePending(ref & ~kPendingBit);
  }
  ref_[pos] = kNone;
}

}  // namespace skyprobe
