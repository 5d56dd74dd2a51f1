// stream_reactors.h: the server-streaming RPCs, Subscribe, QueryStream and ExportPcap,
// as gRPC callback reactors (ServerWriteReactor; each deletes itself in OnDone).
//
// Owner: gRPC threads, plus the control lcore for Subscribe's record callback,
// which only filters, copies the snapshot into a bounded queue and, when the
// stream is idle, starts the next write: it never waits for the client. A
// subscriber whose queue is full loses records; its stream then ends with
// RESOURCE_EXHAUSTED saying how many, after what was queued has been sent.
//
//   return new SubscribeReactor(backend, std::move(filter), node_tid, queue, &counters);
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "export/pcap_writer.h"
#include "query/compiled_filter.h"
#include "service/probe_backend.h"
#include "service/query_runner.h"
#include "skyprobe/v1/probe_service.grpc.pb.h"

namespace skyprobe {

struct ServiceCounters {
  std::atomic<uint64_t> queries{0};
  std::atomic<uint64_t> bad_requests{0};
  std::atomic<uint64_t> unauthenticated{0};
  std::atomic<uint64_t> subscribers{0};         // currently open
  std::atomic<uint64_t> subscriber_records{0};  // sent
  std::atomic<uint64_t> subscriber_dropped{0};  // lost to slow clients
  std::atomic<uint64_t> pcap_exports{0};
  std::atomic<uint64_t> query_streams{0};
};

class SubscribeReactor final : public grpc::ServerWriteReactor<skyprobe::v1::Flow> {
 public:
  SubscribeReactor(ProbeBackend* backend, std::shared_ptr<const query::CompiledFilter> filter,
                   std::string node_tid, size_t queue_capacity, ServiceCounters* counters);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  struct Shared;

  // Sends the next queued record, or finishes, or goes idle.
  void WriteNext();

  ProbeBackend* backend_;
  ServiceCounters* counters_;
  std::string node_tid_;
  std::shared_ptr<Shared> shared_;
  uint64_t subscription_ = 0;
  skyprobe::v1::Flow message_;
};

// Writes a collected answer as FlowSets of at most kFlowsPerMessage flows,
// converting each to protobuf only when it is its turn.
class QueryStreamReactor final : public grpc::ServerWriteReactor<skyprobe::v1::FlowSet> {
 public:
  static constexpr size_t kFlowsPerMessage = 1000;

  // Finishes at once with `status` when it is not OK.
  QueryStreamReactor(QueryAnswer answer, const absl::Status& status);

  void OnWriteDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  void WriteNext();

  QueryAnswer answer_;
  size_t next_ = 0;
  skyprobe::v1::FlowSet message_;
};

class PcapReactor final : public grpc::ServerWriteReactor<skyprobe::v1::PcapChunk> {
 public:
  // Finishes at once with `status` when it is not OK.
  PcapReactor(PcapPackets packets, const absl::Status& status);

  void OnWriteDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  void WriteNext();

  PcapPackets packets_;
  PcapWriter writer_;
  bool header_sent_ = false;
  size_t next_ = 0;
  skyprobe::v1::PcapChunk chunk_;
};

// absl::Status -> grpc::Status, code for code (the enums agree numerically).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace skyprobe
