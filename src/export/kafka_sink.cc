#include "export/kafka_sink.h"

#include <librdkafka/rdkafka.h>
#include <syslog.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "export/flow_proto.h"
#include "record/flow_format.h"
#include "skyprobe/v1/flow.pb.h"

namespace skyprobe {
namespace {

// Delivery reports are served every this many records (and at every Flush):
// often enough that the local queue drains, rarely enough to cost nothing.
constexpr uint32_t kPollEvery = 64;
constexpr int kPurgeServeMs = 1000;

// librdkafka logs from its own threads. Connection failures while a broker is
// down would print a line per reconnect: only critical messages go to stderr,
// unless the user asked for librdkafka's debug output (--kafka-option debug=).
void LogQuiet(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  if (level <= LOG_CRIT) std::fprintf(stderr, "skyprobe: --kafka: %s: %s\n", fac, buf);
}

void LogAll(const rd_kafka_t*, int, const char* fac, const char* buf) {
  std::fprintf(stderr, "skyprobe: --kafka: %s: %s\n", fac, buf);
}

absl::Status SetProperty(rd_kafka_conf_t* conf, const std::string& key, const std::string& value,
                         const char* what) {
  char err[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", key, "=", value, ": ", err));
  }
  return absl::OkStatus();
}

}  // namespace

KafkaSink::KafkaSink(KafkaOptions options, JsonContext ctx)
    : options_(std::move(options)), ctx_(std::move(ctx)) {
  value_.reserve(4096);
}

absl::StatusOr<std::unique_ptr<KafkaSink>> KafkaSink::Open(const KafkaOptions& options,
                                                           JsonContext ctx) {
  std::unique_ptr<KafkaSink> sink(new KafkaSink(options, std::move(ctx)));
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // Our defaults first, the user's properties after them (they win).
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", options.brokers},
      {"client.id", "skyprobe"},
      // Retries never duplicate or reorder a partition's records.
      {"enable.idempotence", "true"},
  };
  bool debug = false;
  for (const auto& [k, v] : options.properties) {
    props.emplace_back(k, v);
    if (k == "debug" && !v.empty()) debug = true;
  }
  for (const auto& [k, v] : props) {
    const char* what = &k == &props[0].first ? "--kafka" : "--kafka-option";
    absl::Status st = SetProperty(conf, k, v, what);
    if (!st.ok()) {
      rd_kafka_conf_destroy(conf);
      return st;
    }
  }
  rd_kafka_conf_set_opaque(conf, sink.get());
  rd_kafka_conf_set_dr_msg_cb(conf, &KafkaSink::OnDelivery);
  rd_kafka_conf_set_error_cb(conf, &KafkaSink::OnError);
  rd_kafka_conf_set_log_cb(conf, debug ? &LogAll : &LogQuiet);
  char err[512];
  sink->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (sink->rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);  // only freed by rd_kafka_new on success
    return absl::InvalidArgumentError(absl::StrCat("--kafka ", options.brokers, ": ", err));
  }
  sink->topic_ = rd_kafka_topic_new(sink->rk_, options.topic.c_str(), nullptr);
  if (sink->topic_ == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("--kafka-topic ", options.topic, ": ",
                                                   rd_kafka_err2str(rd_kafka_last_error())));
  }
  return sink;
}

KafkaSink::~KafkaSink() {
  if (rk_ != nullptr) (void)Close();
}

void KafkaSink::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* self = static_cast<KafkaSink*>(opaque);
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    KafkaCounters::Bump(&self->counters_.delivered);
  } else {
    self->Lost(&self->counters_.delivery_failed);
  }
}

void KafkaSink::Lost(std::atomic<uint64_t>* why, uint64_t n) {
  KafkaCounters::Bump(why, n);
  output_.AddLost(n);
}

void KafkaSink::OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* self = static_cast<KafkaSink*>(opaque);
  self->output_.AddErrors(1);
  // Each kind once: a broker that stays down reports every reconnect.
  if (std::find(self->reported_.begin(), self->reported_.end(), err) != self->reported_.end()) {
    return;
  }
  self->reported_.push_back(err);
  std::fprintf(stderr, "skyprobe: --kafka: %s (%s); further errors of this kind are counted\n",
               reason, rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
}

void KafkaSink::OnRecord(const FlowSnapshot& s) {
  KafkaCounters::Bump(&counters_.records);
  value_.clear();
  if (options_.format == KafkaFormat::kJson) {
    AppendFlowJson(s, ctx_, &value_);
    value_.pop_back();  // the line's '\n': a message is one object
  } else {
    skyprobe::v1::Flow msg;
    ToProto(s, ctx_, &msg);
    msg.SerializeToString(&value_);
  }
  key_.clear();
  AppendHex(s.tracking_id, &key_);
  for (int attempt = 0;; ++attempt) {
    // F_COPY: librdkafka keeps its own copy, value_ is reused at once.
    if (rd_kafka_produce(topic_, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, value_.data(),
                         value_.size(), key_.data(), key_.size(), nullptr) == 0) {
      break;
    }
    const rd_kafka_resp_err_t err = rd_kafka_last_error();
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && attempt == 0) {
      // Delivery reports waiting to be served hold queue slots: serve them
      // (no waiting) and try once more before counting the record lost.
      rd_kafka_poll(rk_, 0);
      continue;
    }
    Lost(err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? &counters_.queue_full : &counters_.produce_errors);
    break;
  }
  if (++since_poll_ >= kPollEvery) Flush();
}

void KafkaSink::Flush() {
  since_poll_ = 0;
  if (rk_ != nullptr) rd_kafka_poll(rk_, 0);
}

absl::Status KafkaSink::Close() {
  if (rk_ == nullptr) return absl::OkStatus();
  // Bounded: what is still queued or in flight after the timeout is purged;
  // its delivery reports (ERR__PURGE_*) count it as failed.
  rd_kafka_flush(rk_, static_cast<int>(options_.flush_timeout_ms));
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  // The purge's reports are queued at once; serving them takes no waiting
  // for a broker, the bound is only a guard.
  rd_kafka_flush(rk_, kPurgeServeMs);
  // Anything without a report by now never will have one here: count it.
  const uint64_t records = counters_.records.load(std::memory_order_relaxed);
  const uint64_t settled = counters_.delivered.load(std::memory_order_relaxed) +
                           output_.records_lost.load(std::memory_order_relaxed);
  if (records > settled) Lost(&counters_.delivery_failed, records - settled);
  rd_kafka_topic_destroy(topic_);
  topic_ = nullptr;
  rd_kafka_destroy(rk_);
  rk_ = nullptr;
  const uint64_t lost = output_.records_lost.load(std::memory_order_relaxed);
  if (lost > 0) {
    return absl::DataLossError(absl::StrCat(
        "--kafka ", options_.brokers, " topic ", options_.topic, ": ", lost, " of ", records,
        " record(s) not delivered (", counters_.queue_full.load(std::memory_order_relaxed),
        " refused: local queue full, ", counters_.produce_errors.load(std::memory_order_relaxed),
        " refused: other errors, ", counters_.delivery_failed.load(std::memory_order_relaxed),
        " failed or still in flight after --kafka-flush-timeout)"));
  }
  return absl::OkStatus();
}

}  // namespace skyprobe
