// exporter.h: one IPFIX destination's thread: records from the control lcore
// (BatchQueue) into a bounded spool, then out as messages over UDP, TCP or
// into a file (RFC 5655), with templates sent first on every transport
// session (and every refresh period on UDP).
//
// Owner: Start() and Finish() are called by the control lcore; everything
// else runs on the exporter's own thread. Counters are atomics with one
// writer each, read from any thread (stats, the summary).
//
//   auto ex = Exporter::Create(opts, &queue, &counters);  // udp_, tcp_, file_exporter.cc
//   ex->Start();  ...  ex->Finish();  // Finish: send what is left, then join
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "export/ipfix/batch_queue.h"
#include "export/ipfix/entry.h"
#include "export/ipfix/message_packer.h"
#include "record/flow_handler.h"

namespace skyprobe::ipfix {

enum class TransportKind : uint8_t { kUdp, kTcp, kFile };

// Largest messages over TCP and into files (UDP: ExporterOptions::mtu). A
// TCP message is what a reconnect resends whole: kept moderate.
inline constexpr size_t kTcpMessageBytes = 16384;
inline constexpr size_t kFileMessageBytes = 65000;

struct ExporterOptions {
  TransportKind kind = TransportKind::kUdp;
  std::string host;  // udp/tcp: a name or a numeric address (no brackets)
  uint16_t port = 0;
  std::string path;  // file
  std::string name;  // for messages and counters: "udp://127.0.0.1:4739"
  uint32_t observation_domain = 0;
  size_t mtu = 1400;                 // UDP: largest message (the UDP payload)
  uint32_t template_refresh_s = 60;  // UDP
  uint64_t rate = 0;                 // UDP: data records per second, 0 = unpaced
  uint64_t spool_bytes = 64ull << 20;
  // Finish() gives up on what is left after this long without progress
  // (a collector that stays away at exit); what is left is counted lost.
  uint32_t finish_timeout_ms = 10'000;
  // TCP reconnect backoff: doubles from min to max.
  uint32_t backoff_min_ms = 100;
  uint32_t backoff_max_ms = 5'000;
};

// Per destination, beside what every output reports (`output`). The control
// lcore writes queue_lost; the exporter thread the others.
struct ExporterCounters {
  std::atomic<uint64_t> delivered{0};    // flow records sent (UDP), written, surely read (TCP)
  std::atomic<uint64_t> messages{0};     // messages sent or written
  std::atomic<uint64_t> templates{0};    // template records sent (options template included)
  std::atomic<uint64_t> bytes{0};        // message bytes sent or written
  std::atomic<uint64_t> reconnects{0};   // TCP: connections made after a lost one
  std::atomic<uint64_t> errors{0};       // failed sends, writes and connection attempts
  std::atomic<uint64_t> spool_lost{0};   // records dropped by the exporter (spool full, send error,
                                         // left at exit)
  std::atomic<uint64_t> queue_lost{0};   // records dropped by the control lcore (queue full)
  std::atomic<uint64_t> spool_bytes{0};  // gauge: bytes in the spool now (not yet delivered)
  // Records with a string cut to fit kMaxRecordBytes
  // (RecordEncoder::strings_cut): written by the control lcore, whose
  // encoder counts them, at each flush and at close.
  std::atomic<uint64_t> strings_cut{0};
  uint64_t records_lost() const {
    return spool_lost.load(std::memory_order_relaxed) + queue_lost.load(std::memory_order_relaxed);
  }
  // What the probe reports of every output (output_errors = errors,
  // records_lost): the exporter thread, its one writer, copies them here
  // on each turn of its loop (so within a second) and when it ends.
  OutputCounters output;
  void Publish() {
    output.output_errors.store(errors.load(std::memory_order_relaxed), std::memory_order_relaxed);
    output.records_lost.store(records_lost(), std::memory_order_relaxed);
  }
};

class Exporter {
 public:
  // Resolves the destination, opens the socket or the file (errors here stop
  // the probe at start-up; a TCP collector that is down is not an error).
  static absl::StatusOr<std::unique_ptr<Exporter>> Create(const ExporterOptions& o,
                                                          BatchQueue* queue,
                                                          ExporterCounters* counters);
  virtual ~Exporter();

  void Start();
  // Asks the thread to send everything queued, then joins it. Returns the
  // error that stopped a file from being written, if any.
  absl::Status Finish();
  // SIGHUP: a file destination is opened again (after logrotate moved it),
  // templates first; other transports ignore it.
  void RequestReopen() {
    reopen_.store(true, std::memory_order_release);
    queue_->Wake();
  }

 protected:
  Exporter(const ExporterOptions& o, BatchQueue* queue, ExporterCounters* counters);

  // One spooled batch of entries.
  struct Chunk {
    uint64_t begin;  // spool position of bytes[0]
    ByteBuffer bytes;
  };
  // A message handed to the transport and not yet known to be delivered.
  struct InFlight {
    uint64_t stream_end;  // transport-session bytes up to its end
    uint64_t spool_end;   // spool position after its records
    uint32_t flow_records;
  };

  // The transport's share of the loop: send what it can now. Returns the
  // time (steady ms) it wants to be called again at the latest, and may set
  // `fd`/`events` for poll(2) (a socket to watch), or leave fd at -1.
  virtual int64_t Pump(int64_t now_ms, int* fd, short* events) = 0;
  // The thread is finishing and nothing more will come: whether all spooled
  // records have been delivered (a transport with acknowledgements may still
  // wait for them).
  virtual bool Delivered() const { return spool_sent_ == spool_end_ && in_flight_.empty(); }
  // Called once at the end on the thread (close the socket or the file).
  virtual absl::Status Close() = 0;

  // Builds the next message into `out` (appended): the stored announcements
  // still due in this session, then the spool from spool_sent_ (skipping
  // in-line announcements the session already sent with the store), which
  // moves past what the message holds. Returns its size (0: nothing to
  // send) and its flow records and template records. `orphans`: whether it
  // starts with the second half of a uniflow record whose first half went in
  // the previous message (only when the two do not fit one message: UDP
  // with a small --ipfix-mtu and very long records), which is lost with it.
  size_t PackNext(ByteBuffer* out, uint32_t* flow_records, uint32_t* templates,
                  uint32_t* orphans = nullptr);
  // A new transport session: the packer's sequence restarts and every stored
  // announcement is due before the spool's records.
  void NewSession();
  // UDP template refresh: every stored announcement is due again.
  void RefreshAnnouncements();
  // Forgets the spool up to `pos` (delivered or given up).
  void ReleaseSpool(uint64_t pos);
  // Drops every spooled record not yet delivered (counted lost).
  void DropSpool();
  static int64_t NowMs();
  static uint32_t NowSeconds();

  ExporterOptions opts_;
  BatchQueue* queue_;
  ExporterCounters* counters_;
  MessagePacker packer_;
  // Spool: chunks of entries from spool_begin_ to spool_end_ (positions count
  // bytes since start); spool_sent_ is where the next message starts.
  std::deque<Chunk> spool_;
  uint64_t spool_begin_ = 0;
  uint64_t spool_sent_ = 0;
  uint64_t spool_end_ = 0;
  std::deque<InFlight> in_flight_;
  // Set before each Pump: the probe is finishing and every record is in the
  // spool (nothing more will come).
  bool last_ = false;
  std::atomic<bool> reopen_{false};  // RequestReopen, taken by the transport
  // Announcements (templates, type records) in order of arrival.
  std::vector<std::vector<uint8_t>> store_;
  // Session state: stored announcements still to send, and spool positions
  // before which in-line announcements were already sent with them.
  size_t announce_next_ = 0;
  bool announce_pending_ = false;
  uint64_t session_announced_to_ = 0;

 private:
  void Run();
  void DrainQueue();
  void TakeBatch(Batch* b);

  std::thread thread_;
  std::atomic<bool> finishing_{false};
  absl::Status close_status_;
};

}  // namespace skyprobe::ipfix
