// kafka_sink.h: the --kafka sink: every record (update and expire) as one
// Kafka message, through librdkafka.
//
// Owner: control lcore only (OnRecord, Poll, Close; librdkafka's delivery
// reports run inside Poll, so on the control lcore too). KafkaCounters are
// read from any thread (Stats, the metrics endpoint) while it runs.
//
//   SKYPROBE_ASSIGN_OR_RETURN(auto kafka, KafkaSink::Open(options, ctx));
//   loop.AddHandler(std::move(kafka));
//
// The value is the record's JSON line without its '\n' (json) or a serialized
// skyprobe.v1.Flow (protobuf); the key is the TrackingID as the JSON writes it
// (lowercase hex), so librdkafka's default partitioner (a hash of the key)
// keeps the records of one flow, in order, on one partition.
//
// Never blocks the control lcore: a record librdkafka's local queue cannot
// take is counted (queue_full) and dropped; delivery reports are counted as
// they come back (delivered, delivery_failed), served at every Flush (about
// once a second) and every 64 records. Close() waits at most
// flush_timeout_ms for what is in flight, then purges the rest and counts it
// as failed. Every record ends up in exactly one of delivered,
// delivery_failed, queue_full or produce_errors; the last three are the
// output's records_lost, client errors (a broker down, authentication) its
// output_errors (OutputCounters, flow_handler.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "export/json_lines.h"
#include "record/flow_handler.h"

struct rd_kafka_s;
struct rd_kafka_topic_s;
struct rd_kafka_message_s;

namespace skyprobe {

enum class KafkaFormat : uint8_t { kJson, kProtobuf };

struct KafkaOptions {
  std::string brokers;  // bootstrap.servers: "host:port[,host:port...]"
  std::string topic;
  KafkaFormat format = KafkaFormat::kJson;
  // librdkafka properties (TLS, SASL, compression, batching), applied in
  // order after skyprobe's own defaults, so they may override them.
  std::vector<std::pair<std::string, std::string>> properties;
  uint32_t flush_timeout_ms = 10000;  // at Close, for what is still in flight
};

// Written by the control lcore only (a relaxed load then store: one writer
// needs no read-modify-write); relaxed loads from any thread.
struct KafkaCounters {
  std::atomic<uint64_t> records{0};          // handed to the sink
  std::atomic<uint64_t> delivered{0};        // acknowledged by the brokers
  std::atomic<uint64_t> delivery_failed{0};  // reported failed, or purged at exit
  std::atomic<uint64_t> queue_full{0};       // refused: librdkafka's local queue was full
  std::atomic<uint64_t> produce_errors{0};   // refused for another reason (too large, ...)

  static void Bump(std::atomic<uint64_t>* c, uint64_t n = 1) {
    c->store(c->load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

class KafkaSink final : public FlowHandler {
 public:
  // Creates the producer (it connects in the background: a broker that is
  // down is not an error here). Bad properties, topic or brokers are
  // INVALID_ARGUMENT naming the flag.
  static absl::StatusOr<std::unique_ptr<KafkaSink>> Open(const KafkaOptions& options,
                                                         JsonContext ctx);
  ~KafkaSink() override;

  void OnRecord(const FlowSnapshot& s) override;
  // Serves delivery reports and client errors without waiting.
  void Flush() override;
  // Bounded flush, then what did not make it is purged and counted; an error
  // (DATA_LOSS) says how many records were lost.
  absl::Status Close() override;

  const KafkaCounters& counters() const { return counters_; }
  const char* output_name() const override { return "kafka"; }
  const OutputCounters* output_counters() const override { return &output_; }

 private:
  KafkaSink(KafkaOptions options, JsonContext ctx);
  static void OnDelivery(rd_kafka_s* rk, const rd_kafka_message_s* msg, void* opaque);
  static void OnError(rd_kafka_s* rk, int err, const char* reason, void* opaque);
  // A record that will never be delivered: its own counter and records_lost.
  void Lost(std::atomic<uint64_t>* why, uint64_t n = 1);

  KafkaOptions options_;
  JsonContext ctx_;
  rd_kafka_s* rk_ = nullptr;
  rd_kafka_topic_s* topic_ = nullptr;
  std::string value_;
  std::string key_;
  uint32_t since_poll_ = 0;
  std::vector<int> reported_;  // error codes already printed once
  KafkaCounters counters_;
  OutputCounters output_;
};

}  // namespace skyprobe
