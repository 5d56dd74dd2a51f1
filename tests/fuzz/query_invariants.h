// query_invariants.h: one fuzz input through the service's request handling
// (a FlowQuery as received: decoded by the server's own decoder, then Query,
// QueryStream and ExportPcap's work against a small table), and what must
// hold.
//
// Owner: test code only (the libFuzzer target grpc_query_fuzz and
// service_unit's seed replay share it). Needs gRPC initialised (grpc_init).
//
//   std::string why;
//   if (!QueryRequestFuzzInput(data, size, &why)) __builtin_trap();
//
// What must hold, whatever the bytes:
// - they decode, or the request carries a reason naming FlowQuery (and the
//   service would answer INVALID_ARGUMENT with it);
// - each answer is OK or INVALID_ARGUMENT (the table is far under the
//   memory budget), never anything else;
// - an OK page holds at most `limit` flows of the table, each once; its
//   token, fed back with the same query, is accepted and continues without
//   repeating a flow;
// - a stream's answer holds at most `limit` flows from its position, and
//   converts to messages; an export's packets are in time order and write
//   as a capture file;
// - once every answer is gone the budget holds nothing (no leaked charge).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "export/pcap_writer.h"
#include "filter_invariants.h"
#include "service/answer_budget.h"
#include "service/query_runner.h"
#include "skyprobe/v1/probe_service.grpc.pb.h"
#include "tests/unit/service/fake_backend.h"

namespace skyprobe::testing {

// The sample flows, two of them with raw packets of two link types.
inline FakeBackend* FuzzBackend() {
  static FakeBackend* backend = [] {
    auto* b = new FakeBackend("fuzz");
    for (const FlowSnapshot& s : FuzzSampleFlows()) {
      std::vector<RawPacketCopy> packets;
      if (s.uuid == 0x11) packets = {UdpPacket(2'000'000'000, 1, 1), UdpPacket(1'000'000, 2, 1)};
      if (s.uuid == 0x14) packets = {RawIpPacket(1'500'000'000, 1)};
      b->AddFlow(s, std::move(packets));
    }
    return b;
  }();
  return backend;
}

inline bool QueryRequestFuzzInput(const uint8_t* data, size_t size, std::string* why) {
  namespace v1 = ::skyprobe::v1;
  auto fail = [why](const std::string& what) {
    *why = what;
    return false;
  };
  auto allowed = [](const absl::Status& s) {
    return s.ok() || s.code() == absl::StatusCode::kInvalidArgument;
  };
  v1::FlowQuery q;
  {
    grpc::Slice slice(data, size);
    grpc::ByteBuffer buffer(&slice, 1);
    const grpc::Status decoded = grpc::SerializationTraits<v1::FlowQuery>::Deserialize(&buffer, &q);
    if (!decoded.ok()) return fail("the request decoder failed instead of noting why");
  }
  const std::string undecoded = v1::RequestDecodeError(q);
  if (!undecoded.empty()) {
    if (undecoded.find("not a valid skyprobe.v1.FlowQuery") == std::string::npos) {
      return fail("decode error names no FlowQuery: " + undecoded);
    }
    return true;
  }
  FakeBackend* backend = FuzzBackend();
  const size_t table = FuzzSampleFlows().size();
  AnswerBudget budget(64ull << 20);
  {
    BudgetLease lease(&budget);
    v1::FlowSet page;
    const absl::Status s = RunQuery(q, backend, &page, &lease);
    if (!allowed(s)) return fail("Query answered " + s.ToString());
    if (s.ok()) {
      const uint32_t limit = q.limit() == 0 ? query::kMaxPageSize : q.limit();
      if (page.flows_size() > static_cast<int>(std::min<size_t>(limit, table))) {
        return fail("a page longer than the limit or the table");
      }
      std::set<std::string> seen;
      for (const v1::Flow& f : page.flows()) {
        if (!seen.insert(f.uuid()).second) return fail("a flow twice in a page");
      }
      if (!page.nextpagetoken().empty()) {
        v1::FlowQuery next = q;
        next.set_page_token(page.nextpagetoken());
        v1::FlowSet more;
        const absl::Status n = RunQuery(next, backend, &more, &lease);
        if (!n.ok()) return fail("the service refuses its own page token: " + n.ToString());
        for (const v1::Flow& f : more.flows()) {
          if (seen.count(f.uuid()) != 0) return fail("the next page repeats a flow");
        }
      }
    }
  }
  {
    QueryAnswer answer;
    answer.lease = BudgetLease(&budget);
    const absl::Status s = CollectAnswer(q, backend, &answer);
    if (!allowed(s)) return fail("QueryStream answered " + s.ToString());
    if (s.ok()) {
      if (answer.first > answer.end || answer.end > answer.order.size()) {
        return fail("stream bounds outside the answer");
      }
      if (q.limit() != 0 && answer.end - answer.first > q.limit()) {
        return fail("stream longer than the limit");
      }
      v1::FlowSet set;
      AppendRows(answer, answer.first, answer.end, &set);
    }
  }
  {
    PcapPackets packets;
    packets.lease = BudgetLease(&budget);
    const absl::Status s = GatherPcapPackets(q, backend, 1 << 20, &packets);
    if (!allowed(s)) return fail("ExportPcap answered " + s.ToString());
    if (s.ok()) {
      for (size_t i = 1; i < packets.packets.size(); ++i) {
        if (packets.packets[i].timestamp_ns < packets.packets[i - 1].timestamp_ns) {
          return fail("export packets out of time order");
        }
      }
      PcapWriter writer(packets.link_types, packets.snaplen);
      std::string file;
      writer.AppendHeader(&file);
      for (const RawPacketCopy& p : packets.packets) writer.AppendPacket(p, &file);
    }
  }
  if (budget.used() != 0) return fail("the answer budget still holds bytes after the answers");
  return true;
}

}  // namespace skyprobe::testing
