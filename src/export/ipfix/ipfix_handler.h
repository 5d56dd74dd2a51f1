// ipfix_handler.h: the --ipfix sink: one destination (udp://, tcp:// or
// file:), fed every record on the control lcore, exported by a thread of its
// own.
//
// Owner: the control lcore calls OnRecord, Flush and Close; the exporter
// thread (exporter.h) does every send and write. OnRecord encodes the record
// into the current batch (RecordEncoder) and hands full batches over a
// bounded queue; it never waits for a collector: with the queue full, a
// network destination's batch is dropped and its records counted lost. A
// file destination waits for room instead (as the JSON sink waits for its
// writes): records are never lost to a slow disk.
//
//   SKYPROBE_ASSIGN_OR_RETURN(auto h, IpfixHandler::Create(opts));
//   loop.AddHandler(std::move(h));
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "export/ipfix/batch_queue.h"
#include "export/ipfix/exporter.h"
#include "export/ipfix/record_encoder.h"
#include "record/flow_handler.h"

namespace skyprobe::ipfix {

struct IpfixOptions {
  ExporterOptions exporter;
  EncoderOptions encoder;
  // The queue to the exporter thread: batches x bytes (16 MiB, reserved but
  // touched only as used): what the control lcore may produce while the
  // thread waits for a CPU; the spool behind it holds what waits for the
  // collector.
  size_t queue_batches = 256;
  size_t batch_bytes = 64 << 10;
};

class IpfixHandler final : public FlowHandler {
 public:
  // Opens the destination (errors: unresolvable host, unwritable file) and
  // starts its thread.
  static absl::StatusOr<std::unique_ptr<IpfixHandler>> Create(const IpfixOptions& o);
  ~IpfixHandler() override;

  void OnRecord(const FlowSnapshot& s) override;
  // Hands the partial batch over (the control loop calls it about once a
  // second: records that trickle in reach the collector within a second).
  void Flush() override;
  // SIGHUP: a file destination starts a new file (logrotate).
  void Reopen() override;
  // Flushes, lets the thread send what is left, joins it. DataLoss when
  // records were lost (counted in records_lost).
  absl::Status Close() override;

  // "ipfix:udp://127.0.0.1:4739": the summary's output.NAME.
  const char* output_name() const override { return label_.c_str(); }
  const OutputCounters* output_counters() const override { return &counters_.output; }

  // "udp://127.0.0.1:4739", "file:/tmp/flows.ipfix".
  const std::string& name() const { return opts_.exporter.name; }
  const ExporterCounters& counters() const { return counters_; }

 private:
  explicit IpfixHandler(const IpfixOptions& o);
  void Submit(bool at_close);
  // A free batch once the queue is full: a file's waits for the disk; at
  // close, a batch waits up to 10 s; otherwise up to a second while the
  // spool has room for the whole queue. Null: the collector is behind.
  Batch* WaitForFreeBatch(bool at_close);

  IpfixOptions opts_;
  std::string label_;
  RecordEncoder encoder_;
  ExporterCounters counters_;
  std::unique_ptr<BatchQueue> queue_;
  std::unique_ptr<Exporter> exporter_;
  Batch* current_ = nullptr;
  bool closed_ = false;
};

}  // namespace skyprobe::ipfix
