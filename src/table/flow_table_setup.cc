// flow_table_setup.cc: a shard's storage, made once at start-up: the index
// of flow keys and the arrays its positions index (FlowTable::Create).
#include <rte_malloc.h>

#include <algorithm>
#include <cstring>

#include "skyprobe/status.h"
#include "table/flow_table.h"
#include "table/internal/flow_table_util.h"

namespace skyprobe {
namespace {

constexpr uint32_t kWheelSlots = 4096;

}  // namespace

FlowTable::FlowTable(const FlowTableOptions& opts, RecordSink sink) : opts_(opts), sink_(sink) {
  MakeUuidTags();
}

void FlowTable::MakeUuidTags() {
  if (opts_.uuid_tag_suffixes.empty()) return;
  opts_.uuid_tags.assign(opts_.uuid_tag_suffixes.size(), opts_.node_tid);
  for (size_t i = 0; i < opts_.uuid_tag_suffixes.size(); ++i) {
    if (opts_.uuid_tag_suffixes[i].empty()) continue;
    opts_.uuid_tags[i].push_back('\0');  // ends the NodeTID as a C string would
    opts_.uuid_tags[i] += opts_.uuid_tag_suffixes[i];
  }
}

absl::StatusOr<std::unique_ptr<FlowTable>> FlowTable::Create(const FlowTableOptions& opts,
                                                             RecordSink sink) {
  if (opts.max_flows == 0) return absl::InvalidArgumentError("max_flows must be > 0");
  if (opts.tick_ns <= 0 || opts.expire_ns <= 0 || opts.update_ns <= 0) {
    return absl::InvalidArgumentError("timer periods must be > 0");
  }
  if (sink.acquire == nullptr || sink.publish == nullptr) {
    return absl::InvalidArgumentError("flow table needs a record sink");
  }
  std::unique_ptr<FlowTable> t(new FlowTable(opts, sink));
  SKYPROBE_RETURN_IF_ERROR(Annotate(t->Init(), opts.name));
  return t;
}

absl::Status FlowTable::Init() {
  capacity_ = opts_.max_flows;
  // Zeroed memory is a free slot (FlowHot::wheel_slot 0 = not armed): no
  // initialisation pass, so a slot becomes resident only when first used.
  hot_ = static_cast<FlowHot*>(rte_zmalloc_socket("flow_hot", sizeof(FlowHot) * capacity_,
                                                  alignof(FlowHot), opts_.socket_id));
  cold_ = static_cast<FlowCold*>(
      rte_zmalloc_socket("flow_cold", sizeof(FlowCold) * capacity_, 64, opts_.socket_id));
  uuids_ = static_cast<uint64_t*>(
      rte_zmalloc_socket("flow_uuid", sizeof(uint64_t) * capacity_, 64, opts_.socket_id));
  if (hot_ == nullptr || cold_ == nullptr || uuids_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate ", capacity_, " flow records (",
                     (sizeof(FlowHot) + sizeof(FlowCold) + sizeof(uint64_t)) * capacity_ >> 20,
                     " MiB): lower --max-flows or give EAL more memory"));
  }
  // Whole keys, compared whole (what keeps two flows apart when their
  // signatures collide), kept in the records' second lines.
  absl::StatusOr<std::unique_ptr<FlowIndex>> index =
      FlowIndex::Create(capacity_, opts_.socket_id, &hot_[0].key, sizeof(FlowHot));
  if (!index.ok()) return index.status();
  index_ = *std::move(index);
  wheel_ = std::make_unique<TimerWheel>(hot_, opts_.tick_ns, kWheelSlots);
  // The shortest timer a frame can set: its flow's idle expiry, a TCP close
  // hold (at least 1 ns), a datagram's timeout.
  min_timer_ns_ = std::min(opts_.expire_ns, std::max<int64_t>(opts_.tcp_close_hold_ns, 1));
  if (opts_.ip_defrag) min_timer_ns_ = std::min(min_timer_ns_, opts_.ip_defrag_timeout_ns);
  if (opts_.raw_first != 0 || opts_.raw_last != 0) {
    RawPacketArenaOptions ro;
    ro.first = opts_.raw_first;
    ro.last = opts_.raw_last;
    ro.capture_length = opts_.capture_length;
    ro.memory_bytes = opts_.raw_memory_bytes;
    absl::StatusOr<std::unique_ptr<RawPacketArena>> arena = RawPacketArena::Create(ro, capacity_);
    if (!arena.ok()) return arena.status();
    raw_ = *std::move(arena);
    // ExportPcap asks for each matching flow's packets by UUID.
    absl::StatusOr<std::unique_ptr<UuidIndex>> index =
        UuidIndex::Create(capacity_, opts_.socket_id);
    if (!index.ok()) return index.status();
    uuid_index_ = *std::move(index);
  }
  if (opts_.scaled_metrics) {
    scaled_ = static_cast<ScaledMetric*>(
        rte_zmalloc_socket("flow_scaled", sizeof(ScaledMetric) * capacity_, 64, opts_.socket_id));
    if (scaled_ == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot allocate scaled counters for ", capacity_, " flows"));
    }
  }
  if (opts_.node_tid_in_records && opts_.node_tid.size() >= kRecordNodeTidMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("node_tid '", opts_.node_tid, "' too long for records"));
  }
  if (opts_.ip_defrag) {
    if (opts_.ip_defrag_timeout_ns <= 0) {
      return absl::InvalidArgumentError("ip_defrag_timeout must be > 0");
    }
    absl::StatusOr<std::unique_ptr<Defragmenter>> d = Defragmenter::Create(opts_.ip_defrag_max);
    if (!d.ok()) return d.status();
    defrag_ = *std::move(d);
    ip_metric_ = static_cast<IpMetricSlot*>(rte_zmalloc_socket(
        "flow_ip_metric", sizeof(IpMetricSlot) * capacity_, 64, opts_.socket_id));
    if (ip_metric_ == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot allocate IPMetric of ", capacity_, " flows"));
    }
  }
  if (opts_.tcp_stream_metrics) {
    tcp_stream_ = static_cast<TcpStream*>(
        rte_zmalloc_socket("flow_tcp_stream", sizeof(TcpStream) * capacity_, 64, opts_.socket_id));
    if (tcp_stream_ == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot allocate TCP stream trackers for ", capacity_, " flows (",
                       sizeof(TcpStream) * capacity_ >> 20, " MiB)"));
    }
  }
  if (opts_.tcp_health) {
    tcp_health_ = static_cast<TcpHealth*>(
        rte_zmalloc_socket("flow_tcp_health", sizeof(TcpHealth) * capacity_, 64, opts_.socket_id));
    if (tcp_health_ == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot allocate TCP health trackers for ", capacity_, " flows (",
                       sizeof(TcpHealth) * capacity_ >> 20, " MiB)"));
    }
  }
  tcp_track_ = tcp_stream_ != nullptr || tcp_health_ != nullptr;
  if (opts_.keep_expired_ns > 0 && opts_.keep_expired_max > 0) {
    absl::StatusOr<std::unique_ptr<ExpiredFlows>> k = ExpiredFlows::Create(opts_.keep_expired_max);
    if (!k.ok()) return k.status();
    kept_ = *std::move(k);
    if (raw_ != nullptr) {
      SKYPROBE_RETURN_IF_ERROR(
          raw_->EnableParking(opts_.keep_expired_max, &counters_.kept_expired_raw_reclaimed));
    }
  }
  if (opts_.app_metadata || opts_.extra_layers != 0) {
    AppMetaOptions ao;
    ao.metadata = opts_.app_metadata;
    ao.extra_layers = opts_.extra_layers;
    ao.slots = opts_.app_meta_flows != 0 ? opts_.app_meta_flows : opts_.max_flows;
    ao.pending = std::min(opts_.app_meta_pending, ao.slots);
    ao.socket_id = opts_.socket_id;
    absl::StatusOr<std::unique_ptr<AppMetaStore>> a =
        AppMetaStore::Create(ao, capacity_, &counters_);
    if (!a.ok()) return a.status();
    app_ = *std::move(a);
  }
  touched_.reserve(std::min<uint32_t>(capacity_, 1u << 22));
  reporting_.reserve(touched_.capacity());
  return absl::OkStatus();
}

void FlowTable::LeaveToProcessExit() noexcept {
  // rte_free clears every byte it frees, to keep the EAL heap zeroed for
  // later rte_zmalloc calls: freeing a table's arrays writes all of them,
  // even the pages the table never touched. The exit takes the memory back
  // without writing it.
  if (index_ != nullptr) index_->LeaveToProcessExit();
  hot_ = nullptr;
  cold_ = nullptr;
  uuids_ = nullptr;
  scaled_ = nullptr;
  ip_metric_ = nullptr;
  tcp_stream_ = nullptr;
  tcp_health_ = nullptr;
}

FlowTable::~FlowTable() {
  rte_free(hot_);
  rte_free(cold_);
  rte_free(uuids_);
  rte_free(scaled_);
  rte_free(ip_metric_);
  rte_free(tcp_stream_);
  rte_free(tcp_health_);
}

absl::Status FlowTable::SetNodeTid(const std::string& node_tid) {
  if (live_ != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(opts_.name, ": ", live_, " flows still live, NodeTID kept"));
  }
  if (opts_.node_tid_in_records && node_tid.size() >= kRecordNodeTidMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("node_tid '", node_tid, "' too long for records"));
  }
  opts_.node_tid = node_tid;
  MakeUuidTags();
  return absl::OkStatus();
}

}  // namespace skyprobe
