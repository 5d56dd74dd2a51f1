// tls_hello.h: an incremental parser of a TLS ClientHello: the server name
// (SNI), the ALPN list, the offered versions, and the raw inputs of the JA3
// and JA4 client fingerprints (cipher suites, extensions, groups, point
// formats, signature algorithms), GREASE values (RFC 8701) left out.
//
// Owner: RX lcore (one parser per ClientHello in progress). Plain data, no
// allocation, no pointer kept: the client's TCP stream is fed in order, in
// pieces of any size (TCP segments), from its first byte; the parser keeps
// only its fixed state between pieces, so a ClientHello split over several
// segments or several TLS records costs nothing more than one in one piece.
//
//   TlsHelloParser p;                       // starts reset
//   TlsHelloParser::Status st = p.Feed(seg, seg_len, &hello);  // per in-order segment
//   if (st == TlsHelloParser::Status::kDone) Use(hello);
#pragma once

#include <cstdint>

namespace skyprobe {

// Entries kept per list; a ClientHello with more in any list still gives its
// SNI, ALPN and versions, but no fingerprints (TlsHello::lists_truncated).
// Browsers send 15-20 ciphers and extensions, OpenSSL 3 about 30 ciphers;
// old clients and scanners up to about 100 ciphers.
inline constexpr int kTlsMaxCiphers = 128;
inline constexpr int kTlsMaxExtensions = 48;
inline constexpr int kTlsMaxGroups = 32;
inline constexpr int kTlsMaxPointFormats = 8;
inline constexpr int kTlsMaxSigAlgs = 48;
// Bytes kept of the server name and of the ALPN list (longer: truncated flags).
inline constexpr int kTlsMaxSni = 255;
inline constexpr int kTlsMaxAlpn = 128;

// RFC 8701 GREASE values: 0x0A0A, 0x1A1A, ..., 0xFAFA.
inline bool IsTlsGrease(uint16_t v) { return (v & 0x0F0F) == 0x0A0A && (v >> 8) == (v & 0xFF); }

// What a ClientHello says, as far as the flow record and the fingerprints need.
struct TlsHello {
  uint16_t legacy_version = 0;   // ClientHello.legacy_version (JA3's SSLVersion)
  uint16_t max_version = 0;      // highest non-GREASE supported_versions entry, 0 if none
  bool has_sni = false;          // a server_name extension is present (JA4 "d")
  bool sni_truncated = false;    // the host name was longer than kTlsMaxSni
  bool has_alpn = false;         // an ALPN extension is present
  bool alpn_truncated = false;   // its list was longer than kTlsMaxAlpn bytes
  bool lists_truncated = false;  // a list below had more entries than kept
  uint8_t sni_len = 0;
  uint8_t alpn_len = 0;
  char sni[kTlsMaxSni];              // first host_name of server_name, as on the wire
  uint8_t alpn[kTlsMaxAlpn];         // protocol_name_list as on the wire (1-byte lengths)
  uint16_t ciphers[kTlsMaxCiphers];  // the lists: wire order, GREASE left out
  uint16_t extensions[kTlsMaxExtensions];
  uint16_t groups[kTlsMaxGroups];
  uint16_t sig_algs[kTlsMaxSigAlgs];
  uint8_t point_formats[kTlsMaxPointFormats];
  uint8_t n_ciphers = 0;
  uint8_t n_extensions = 0;
  uint8_t n_groups = 0;
  uint8_t n_sig_algs = 0;
  uint8_t n_point_formats = 0;

  // The version a client offers: max_version if the extension is there,
  // else legacy_version.
  uint16_t OfferedVersion() const { return max_version != 0 ? max_version : legacy_version; }
};

class TlsHelloParser {
 public:
  enum class Status : uint8_t {
    kNeedMore,   // everything so far is a ClientHello: feed the next bytes
    kDone,       // the ClientHello is complete (later bytes are not read)
    kNotHello,   // the stream does not start with a ClientHello record
    kMalformed,  // a length runs past its enclosing structure
  };

  TlsHelloParser() { Reset(); }
  void Reset() noexcept;

  // Feeds the next `len` bytes of the stream. `out` must be the same object
  // on every call of one ClientHello (the parser writes into it as it goes;
  // it resets it on the first byte). After kDone, kNotHello or kMalformed,
  // further calls return that same status and read nothing.
  Status Feed(const uint8_t* data, uint32_t len, TlsHello* out) noexcept;

  // Bytes of the stream fed so far (for tests and give-up limits).
  uint32_t consumed() const { return consumed_; }

 private:
  // One field of the handshake body at a time; see tls_hello.cc.
  enum class State : uint8_t;
  Status Body(const uint8_t* p, uint32_t n, TlsHello* out) noexcept;
  // Reads a big-endian integer of `size` bytes across pieces; true when whole.
  bool Int(const uint8_t*& p, const uint8_t* e, uint8_t size) noexcept;
  // A field of `size` bytes starting here (or already started) ends by `end`.
  bool Fits(uint32_t size, uint32_t end) const noexcept {
    return acc_got_ != 0 || pos_ + size <= end;
  }
  // Copies bytes up to `end` into dst (at most `cap` kept); true when there.
  bool Copy(const uint8_t*& p, const uint8_t* e, uint32_t end, char* dst, uint8_t* len, int cap,
            bool* truncated) noexcept;
  void Add16(uint16_t v, uint16_t* list, uint8_t* count, int cap, TlsHello* out) noexcept;
  void Next(State next) noexcept;
  void SkipTo(uint32_t end, State then) noexcept;

  Status status_;
  State state_;
  State after_skip_;
  uint8_t rec_hdr_got_;  // bytes of the current record header read
  uint8_t acc_got_;      // bytes of the current integer read
  uint8_t rec_hdr_[5];
  uint16_t rec_left_;  // bytes left in the current record's payload
  uint16_t ext_type_;
  uint32_t acc_;       // the integer being read
  uint32_t consumed_;  // stream bytes fed
  // Offsets in the handshake body (bytes after its 4-byte header): where it
  // is now and where the enclosing structures end.
  uint32_t pos_;
  uint32_t hs_end_;
  uint32_t exts_end_;
  uint32_t ext_end_;
  uint32_t list_end_;
  uint32_t item_end_;
  uint8_t list_kind_;  // which list the list states fill
};

// The one-piece case: a whole ClientHello (record header first) in `data`.
TlsHelloParser::Status ParseTlsClientHello(const uint8_t* data, uint32_t len,
                                           TlsHello* out) noexcept;

}  // namespace skyprobe
