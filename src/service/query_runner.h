// query_runner.h: the work behind Query, QueryStream and ExportPcap, apart from gRPC so
// that it can be tested and reused (a future REST front end).
//
// Owner: called on a gRPC thread; blocks on the backend (VisitFlows,
// RawPackets). No state of its own.
//
//   v1::FlowSet set;
//   BudgetLease lease(&budget);  // or none: no bound
//   absl::Status s = RunQuery(request, backend, &set, &lease);
//
// Memory: the rows an answer collects (all the matches, before sorting) and
// the packets of an export are taken from `lease` as they come; when it has
// no more room the answer stops growing and the call returns
// RESOURCE_EXHAUSTED (BudgetLease::Exhausted). A null lease bounds nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "query/result_set.h"
#include "service/answer_budget.h"
#include "service/probe_backend.h"
#include "skyprobe/v1/probe_service.pb.h"

namespace skyprobe {

// Filter, sort, dedup and one page of the live flows (probe_service.proto,
// FlowQuery). Bad requests are INVALID_ARGUMENT naming the problem.
absl::Status RunQuery(const skyprobe::v1::FlowQuery& query, ProbeBackend* backend,
                      skyprobe::v1::FlowSet* out, BudgetLease* lease = nullptr);

// QueryStream's answer: every matching flow from one scan (`rows`, as the
// workers gave them), `order` the sorted and deduplicated indices into it;
// the stream sends order[first, end) (after the page token, up to the limit).
struct QueryAnswer {
  query::SortSpec spec;
  std::string query_id;
  std::vector<query::FlowRow> rows;
  std::vector<uint32_t> order;
  skyprobe::v1::FlowFormat format = skyprobe::v1::FLOWS;
  size_t first = 0;
  size_t end = 0;
  BudgetLease lease;  // what rows and order hold of the answer budget
};
// `out->lease` is the lease the answer takes from.
absl::Status CollectAnswer(const skyprobe::v1::FlowQuery& query, ProbeBackend* backend,
                           QueryAnswer* out);

// Appends the flows order[begin, end) of `answer` to `out` (Start/End
// widened) as Flow messages.
void AppendRows(const QueryAnswer& answer, size_t begin, size_t end, skyprobe::v1::FlowSet* out);

// The raw packets of the flows matching `query` (filter, dedup; limit caps
// the number of flows, 0: all), in time order, with the link types they use.
// More than `max_bytes` of packet data is RESOURCE_EXHAUSTED, as is more than
// `out->lease` can hold.
struct PcapPackets {
  std::vector<RawPacketCopy> packets;
  std::vector<uint32_t> link_types;
  uint32_t snaplen = 0;
  uint64_t flows = 0;          // matching flows found with at least one packet
  uint64_t matched = 0;        // flows the query matched (after its limit)
  uint64_t expired_flows = 0;  // of those, recently expired ones (--keep-expired)
  BudgetLease lease;  // what the packets hold of the answer budget (the rows are given back)
};
// Bytes a packet is charged in `lease` (its data and its record).
inline uint64_t PacketCost(const RawPacketCopy& p) { return sizeof(RawPacketCopy) + p.data.size(); }
absl::Status GatherPcapPackets(const skyprobe::v1::FlowQuery& query, ProbeBackend* backend,
                               uint64_t max_bytes, PcapPackets* out);

}  // namespace skyprobe
