// TlsHelloParser: two layers, each fed what the one above hands it.
//
// The record layer strips the 5-byte headers of the handshake records (a
// ClientHello may span several records, RFC 8446 §5.1) and hands their
// payload to Body. Body walks the handshake message one field at a time: a
// field is an integer of 1 to 4 bytes (read across pieces into acc_), bytes
// to skip or bytes to copy. Positions are offsets in the handshake body, and
// every structure's end is checked against the one that encloses it, so the
// walk never trusts an inner length that runs past an outer one.
#include "parse/tls_hello.h"

#include <algorithm>
#include <cstring>

namespace skyprobe {

enum class TlsHelloParser::State : uint8_t {
  kHsHeader,     // handshake type (1) and length (3)
  kVersion,      // legacy_version
  kSkip,         // bytes up to item_end_ (random, session id, ...), then after_skip_
  kSessionLen,   // legacy_session_id length
  kCipherLen,    // cipher_suites length
  kCipher,       // one cipher suite
  kCompLen,      // legacy_compression_methods length
  kExtsLen,      // extensions block length (absent in old hellos)
  kExtHeader,    // extension type (2) and length (2)
  kExtSkip,      // the rest of the current extension
  kSniListLen,   // server_name_list length
  kSniEntry,     // name_type (1) and length (2)
  kSniName,      // host name bytes
  kAlpnListLen,  // protocol_name_list length
  kAlpnList,     // its bytes, copied
  kList16Len,    // a list of 16-bit values: length (2)
  kList8Len,     // a list of 8-bit values, or supported_versions: length (1)
  kList16Item,   // one 16-bit value
  kList8Item,    // one 8-bit value
};

namespace {

enum ListKind : uint8_t { kGroups, kSigAlgs, kPointFormats, kVersions };

constexpr uint32_t kMaxRecord = (1u << 14) + 2048;  // TLSCiphertext limit (RFC 8446 §5.2)

}  // namespace

void TlsHelloParser::Reset() noexcept {
  status_ = Status::kNeedMore;
  state_ = State::kHsHeader;
  rec_hdr_got_ = 0;
  acc_got_ = 0;
  rec_left_ = 0;
  ext_type_ = 0;
  acc_ = 0;
  consumed_ = 0;
  pos_ = hs_end_ = exts_end_ = ext_end_ = list_end_ = item_end_ = 0;
  list_kind_ = 0;
}

bool TlsHelloParser::Int(const uint8_t*& p, const uint8_t* e, uint8_t size) noexcept {
  while (acc_got_ < size && p < e) {
    acc_ = (acc_ << 8) | *p++;
    ++acc_got_;
    ++pos_;
  }
  return acc_got_ == size;
}

void TlsHelloParser::Next(State next) noexcept {
  state_ = next;
  acc_ = 0;
  acc_got_ = 0;
}

void TlsHelloParser::SkipTo(uint32_t end, State then) noexcept {
  item_end_ = end;
  after_skip_ = then;
  Next(State::kSkip);
}

TlsHelloParser::Status TlsHelloParser::Feed(const uint8_t* data, uint32_t len,
                                            TlsHello* out) noexcept {
  if (status_ != Status::kNeedMore) return status_;
  if (consumed_ == 0 && len > 0) *out = TlsHello();
  const uint8_t* p = data;
  const uint8_t* const e = data + len;
  while (p < e) {
    if (rec_left_ == 0) {
      // A record header, possibly split.
      while (rec_hdr_got_ < 5 && p < e) {
        rec_hdr_[rec_hdr_got_++] = *p++;
        ++consumed_;
        // Judge the first byte at once: most TCP payloads are not TLS.
        if (rec_hdr_got_ == 1 && rec_hdr_[0] != 22) {
          return status_ = consumed_ == 1 ? Status::kNotHello : Status::kMalformed;
        }
      }
      if (rec_hdr_got_ < 5) break;
      const uint32_t rec_len = (static_cast<uint32_t>(rec_hdr_[3]) << 8) | rec_hdr_[4];
      if (rec_hdr_[1] != 3 || rec_len == 0 || rec_len > kMaxRecord) {
        return status_ = consumed_ == 5 ? Status::kNotHello : Status::kMalformed;
      }
      rec_left_ = static_cast<uint16_t>(rec_len);
      rec_hdr_got_ = 0;
      continue;
    }
    const uint32_t n = std::min<uint32_t>(rec_left_, static_cast<uint32_t>(e - p));
    const Status st = Body(p, n, out);
    if (st != Status::kNeedMore) return status_ = st;
    p += n;
    rec_left_ = static_cast<uint16_t>(rec_left_ - n);
    consumed_ += n;
  }
  return status_;
}

TlsHelloParser::Status TlsHelloParser::Body(const uint8_t* p, uint32_t n, TlsHello* out) noexcept {
  const uint8_t* const e = p + n;
  // Every state either moves to another one (break: the loop goes on),
  // consumes at least one byte before coming back to itself, or returns
  // kNeedMore with the piece used up, so the loop ends.
  for (;;) {
    switch (state_) {
      case State::kHsHeader:
        if (!Int(p, e, 4)) return Status::kNeedMore;
        if ((acc_ >> 24) != 1) return Status::kNotHello;
        // Body positions count from after this header.
        hs_end_ = acc_ & 0xFFFFFF;
        pos_ = 0;
        if (hs_end_ < 2 + 32 + 1 + 2 + 1) return Status::kMalformed;
        Next(State::kVersion);
        break;
      case State::kVersion:
        if (!Int(p, e, 2)) return Status::kNeedMore;
        out->legacy_version = static_cast<uint16_t>(acc_);
        SkipTo(pos_ + 32, State::kSessionLen);  // the random
        break;
      case State::kSkip: {
        const uint32_t skip = std::min<uint32_t>(item_end_ - pos_, static_cast<uint32_t>(e - p));
        p += skip;
        pos_ += skip;
        if (pos_ < item_end_) return Status::kNeedMore;
        Next(after_skip_);
        break;
      }
      case State::kSessionLen:
        if (!Fits(1, hs_end_)) return Status::kMalformed;
        if (!Int(p, e, 1)) return Status::kNeedMore;
        if (pos_ + acc_ > hs_end_) return Status::kMalformed;
        SkipTo(pos_ + acc_, State::kCipherLen);
        break;
      case State::kCipherLen:
        if (!Fits(2, hs_end_)) return Status::kMalformed;
        if (!Int(p, e, 2)) return Status::kNeedMore;
        list_end_ = pos_ + acc_;
        if ((acc_ & 1) != 0 || list_end_ > hs_end_) return Status::kMalformed;
        Next(State::kCipher);
        break;
      case State::kCipher:
        if (pos_ == list_end_ && acc_got_ == 0) {
          Next(State::kCompLen);
          break;
        }
        if (!Int(p, e, 2)) return Status::kNeedMore;
        Add16(static_cast<uint16_t>(acc_), out->ciphers, &out->n_ciphers, kTlsMaxCiphers, out);
        Next(State::kCipher);
        break;
      case State::kCompLen:
        if (!Fits(1, hs_end_)) return Status::kMalformed;
        if (!Int(p, e, 1)) return Status::kNeedMore;
        if (pos_ + acc_ > hs_end_) return Status::kMalformed;
        SkipTo(pos_ + acc_, State::kExtsLen);
        break;
      case State::kExtsLen:
        if (pos_ == hs_end_ && acc_got_ == 0) return Status::kDone;  // no extensions at all
        if (!Fits(2, hs_end_)) return Status::kMalformed;
        if (!Int(p, e, 2)) return Status::kNeedMore;
        exts_end_ = pos_ + acc_;
        if (exts_end_ > hs_end_) return Status::kMalformed;
        Next(State::kExtHeader);
        break;
      case State::kExtHeader: {
        if (pos_ == exts_end_ && acc_got_ == 0) return Status::kDone;
        if (!Fits(4, exts_end_)) return Status::kMalformed;
        if (!Int(p, e, 4)) return Status::kNeedMore;
        const auto type = static_cast<uint16_t>(acc_ >> 16);
        ext_end_ = pos_ + (acc_ & 0xFFFF);
        if (ext_end_ > exts_end_) return Status::kMalformed;
        Add16(type, out->extensions, &out->n_extensions, kTlsMaxExtensions, out);
        State next = State::kExtSkip;
        switch (type) {
          case 0:  // server_name
            if (!out->has_sni) next = State::kSniListLen;
            out->has_sni = true;
            break;
          case 16:  // application_layer_protocol_negotiation
            if (!out->has_alpn) next = State::kAlpnListLen;
            out->has_alpn = true;
            break;
          case 10:  // supported_groups
            list_kind_ = kGroups;
            next = State::kList16Len;
            break;
          case 13:  // signature_algorithms
            list_kind_ = kSigAlgs;
            next = State::kList16Len;
            break;
          case 11:  // ec_point_formats
            list_kind_ = kPointFormats;
            next = State::kList8Len;
            break;
          case 43:  // supported_versions (ClientHello form: 1-byte length, 16-bit entries)
            list_kind_ = kVersions;
            next = State::kList8Len;
            break;
          default:
            break;
        }
        if (pos_ == ext_end_) next = State::kExtSkip;  // an empty body: nothing to read
        Next(next);
        break;
      }
      case State::kExtSkip:
        SkipTo(ext_end_, State::kExtHeader);
        break;
      case State::kSniListLen:
        if (!Fits(2, ext_end_)) return Status::kMalformed;
        if (!Int(p, e, 2)) return Status::kNeedMore;
        list_end_ = pos_ + acc_;
        if (list_end_ > ext_end_) return Status::kMalformed;
        Next(State::kSniEntry);
        break;
      case State::kSniEntry:
        if (pos_ == list_end_ && acc_got_ == 0) {
          Next(State::kExtSkip);
          break;
        }
        if (!Fits(3, list_end_)) return Status::kMalformed;
        if (!Int(p, e, 3)) return Status::kNeedMore;
        item_end_ = pos_ + (acc_ & 0xFFFF);
        if (item_end_ > list_end_) return Status::kMalformed;
        // The first host_name (type 0) is the server name; others are skipped.
        if ((acc_ >> 16) == 0 && out->sni_len == 0 && !out->sni_truncated) {
          Next(State::kSniName);
        } else {
          SkipTo(item_end_, State::kSniEntry);
        }
        break;
      case State::kSniName:
        if (!Copy(p, e, item_end_, out->sni, &out->sni_len, kTlsMaxSni, &out->sni_truncated)) {
          return Status::kNeedMore;
        }
        Next(State::kSniEntry);
        break;
      case State::kAlpnListLen:
        if (!Fits(2, ext_end_)) return Status::kMalformed;
        if (!Int(p, e, 2)) return Status::kNeedMore;
        list_end_ = pos_ + acc_;
        if (list_end_ > ext_end_) return Status::kMalformed;
        Next(State::kAlpnList);
        break;
      case State::kAlpnList:
        if (!Copy(p, e, list_end_, reinterpret_cast<char*>(out->alpn), &out->alpn_len, kTlsMaxAlpn,
                  &out->alpn_truncated)) {
          return Status::kNeedMore;
        }
        Next(State::kExtSkip);
        break;
      case State::kList16Len:
        if (!Fits(2, ext_end_)) return Status::kMalformed;
        if (!Int(p, e, 2)) return Status::kNeedMore;
        list_end_ = pos_ + acc_;
        if ((acc_ & 1) != 0 || list_end_ > ext_end_) return Status::kMalformed;
        Next(State::kList16Item);
        break;
      case State::kList8Len:
        if (!Fits(1, ext_end_)) return Status::kMalformed;
        if (!Int(p, e, 1)) return Status::kNeedMore;
        list_end_ = pos_ + acc_;
        if (list_end_ > ext_end_) return Status::kMalformed;
        if (list_kind_ == kVersions) {
          if ((acc_ & 1) != 0) return Status::kMalformed;
          Next(State::kList16Item);
        } else {
          Next(State::kList8Item);
        }
        break;
      case State::kList16Item: {
        if (pos_ == list_end_ && acc_got_ == 0) {
          Next(State::kExtSkip);
          break;
        }
        if (!Int(p, e, 2)) return Status::kNeedMore;
        const auto v = static_cast<uint16_t>(acc_);
        if (list_kind_ == kGroups) {
          Add16(v, out->groups, &out->n_groups, kTlsMaxGroups, out);
        } else if (list_kind_ == kSigAlgs) {
          Add16(v, out->sig_algs, &out->n_sig_algs, kTlsMaxSigAlgs, out);
        } else if (!IsTlsGrease(v) && v > out->max_version) {  // kVersions
          out->max_version = v;
        }
        Next(State::kList16Item);
        break;
      }
      case State::kList8Item:
        if (pos_ == list_end_ && acc_got_ == 0) {
          Next(State::kExtSkip);
          break;
        }
        if (!Int(p, e, 1)) return Status::kNeedMore;
        if (out->n_point_formats < kTlsMaxPointFormats) {
          out->point_formats[out->n_point_formats++] = static_cast<uint8_t>(acc_);
        } else {
          out->lists_truncated = true;
        }
        Next(State::kList8Item);
        break;
    }
  }
}

bool TlsHelloParser::Copy(const uint8_t*& p, const uint8_t* e, uint32_t end, char* dst,
                          uint8_t* len, int cap, bool* truncated) noexcept {
  const uint32_t take = std::min<uint32_t>(end - pos_, static_cast<uint32_t>(e - p));
  const uint32_t room = static_cast<uint32_t>(cap - *len);
  const uint32_t keep = std::min(take, room);
  std::memcpy(dst + *len, p, keep);
  *len = static_cast<uint8_t>(*len + keep);
  if (take > room) *truncated = true;
  p += take;
  pos_ += take;
  return pos_ == end;
}

void TlsHelloParser::Add16(uint16_t v, uint16_t* list, uint8_t* count, int cap,
                           TlsHello* out) noexcept {
  if (IsTlsGrease(v)) return;
  if (*count < cap) {
    list[(*count)++] = v;
  } else {
    out->lists_truncated = true;
  }
}

TlsHelloParser::Status ParseTlsClientHello(const uint8_t* data, uint32_t len,
                                           TlsHello* out) noexcept {
  TlsHelloParser p;
  return p.Feed(data, len, out);
}

}  // namespace skyprobe
