// query_runner.cc: Skydive's getFlows (filter, sort, dedup, slice) over the
// snapshots the backend hands out, answered as protobuf.

#include "service/query_runner.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "export/flow_proto.h"
#include "export/json_lines.h"
#include "query/compiled_filter.h"
#include "query/result_set.h"

namespace skyprobe {
namespace {

namespace v1 = ::skyprobe::v1;
using query::FlowRow;

// Heap bytes a row's NodeTID and CaptureID may take (strings longer than 15
// bytes live on the heap): the longest of the probe's and its points'.
uint64_t RowHeap(const std::string& node_tid, const CapturePoints* points) {
  const auto heap = [](size_t n) -> uint64_t { return n > 15 ? n + 1 : 0; };
  uint64_t most = heap(node_tid.size());
  if (points != nullptr) {
    for (const uint8_t input : points->Inputs()) {
      const CapturePoint& p = *points->Find(input);
      most = std::max(most, heap(p.node_tid.size()) + heap(p.capture_id.size()));
    }
  }
  return most;
}

// Memory of `n` rows of an answer.
uint64_t RowsCost(size_t n, uint64_t row_heap) { return n * (sizeof(FlowRow) + row_heap); }

// Matching flows, in no order, and how the query sorts them. The rows are
// taken from `lease` (null: unbounded) as the vector grows; out of room, the
// rest of the visit is dropped and the answer is RESOURCE_EXHAUSTED.
absl::Status MatchingRows(const v1::FlowQuery& q, ProbeBackend* backend, query::SortSpec* spec,
                          std::vector<FlowRow>* rows, BudgetLease* lease) {
  const std::string node_tid = backend->NodeTid();
  const std::shared_ptr<const CapturePoints> points = backend->Points();
  const uint64_t row_heap = RowHeap(node_tid, points.get());
  absl::StatusOr<std::shared_ptr<const query::CompiledFilter>> filter =
      query::CompiledFilter::Compile(q.expression(), q.has_filter() ? &q.filter() : nullptr,
                                     {.node_tid = node_tid, .points = points});
  if (!filter.ok()) return filter.status();
  absl::StatusOr<query::SortSpec> s =
      query::MakeSortSpec(q.sort_by(), q.sort_order(), q.dedup_by());
  if (!s.ok()) return s.status();
  *spec = *s;
  std::shared_ptr<const FlowPredicate> predicate;
  if (!(*filter)->MatchesAll()) predicate = *filter;
  BudgetLease unbounded;
  if (lease == nullptr) lease = &unbounded;
  // Growing a vector of ~600-byte rows a million times over copies it again
  // and again: a dump reserves what the table holds (plus a little).
  if (predicate == nullptr) {
    const size_t want = backend->LiveFlowsHint() * 17 / 16 + 64;
    if (!lease->Grow(RowsCost(want, row_heap))) return lease->Exhausted("the answer");
    rows->reserve(want);
  }
  bool full = false;
  absl::Status visited = backend->VisitFlows(predicate, [&](const FlowSnapshot& snap) {
    if (full) return;
    if (rows->size() == rows->capacity()) {
      // Grown by hand, so that what the vector holds is what the lease holds.
      const size_t more = std::max<size_t>(64, rows->capacity());
      if (!lease->Grow(RowsCost(more, row_heap))) {
        full = true;
        return;
      }
      rows->reserve(rows->capacity() + more);
    }
    // A row's copy of the flow's application metadata is a heap block of
    // its own, beyond what RowsCost charged.
    if (!lease->Grow(snap.app.CopyHeapBytes())) {
      full = true;
      return;
    }
    // Built in place: one copy of the ~800-byte snapshot, not two.
    FlowRow& r = rows->emplace_back();
    r.snap = snap;
    r.node_tid = RecordNodeTid(snap, node_tid, points.get());
    r.capture_id = RecordCaptureId(snap, "", points.get());
  });
  if (visited.ok() && full) return lease->Exhausted("the answer");
  return visited;
}

// Matching flows, sorted and deduplicated as the query asks.
absl::Status CollectRows(const v1::FlowQuery& q, ProbeBackend* backend, query::SortSpec* spec,
                         std::vector<FlowRow>* rows, BudgetLease* lease) {
  absl::Status s = MatchingRows(q, backend, spec, rows, lease);
  if (s.ok()) query::SortAndDedup(*spec, rows);
  return s;
}

// rows[i] (or rows[order[i]]) for i in [begin, end).
void AddFlows(const std::vector<FlowRow>& rows, const std::vector<uint32_t>* order, size_t begin,
              size_t end, v1::FlowFormat format, v1::FlowSet* out) {
  JsonContext ctx;
  const bool json = format == v1::JSON_LINES;
  if (!json) out->mutable_flows()->Reserve(static_cast<int>(out->flows_size() + (end - begin)));
  std::string* lines = json ? out->mutable_jsonlines() : nullptr;
  if (json) lines->reserve(lines->size() + (end - begin) * 768);  // a flow is ~600 bytes
  constexpr size_t kAhead = 4;  // rows are ~400 bytes, visited in sort order: fetch ahead
  for (size_t i = begin; i < end; ++i) {
    if (i + kAhead < end) {
      const char* next = reinterpret_cast<const char*>(
          &rows[order != nullptr ? (*order)[i + kAhead] : i + kAhead]);
      for (size_t off = 0; off < sizeof(FlowRow); off += 64) __builtin_prefetch(next + off);
    }
    const FlowRow& r = rows[order != nullptr ? (*order)[i] : i];
    if (ctx.node_tid != r.node_tid) ctx.node_tid = r.node_tid;
    if (ctx.capture_id != r.capture_id) ctx.capture_id = r.capture_id;
    if (json) {
      AppendFlowJson(r.snap, ctx, lines);
    } else {
      ToProto(r.snap, ctx, out->add_flows());
    }
    if (out->start() == 0 || (r.snap.start != 0 && r.snap.start < out->start())) {
      out->set_start(r.snap.start);
    }
    out->set_end(std::max(out->end(), r.snap.last));
  }
}

absl::Status CheckFormat(const v1::FlowQuery& q) {
  if (v1::FlowFormat_IsValid(q.format())) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("format: unknown value ", q.format()));
}

}  // namespace

absl::Status RunQuery(const v1::FlowQuery& q, ProbeBackend* backend, v1::FlowSet* out,
                      BudgetLease* lease) {
  out->Clear();
  if (absl::Status f = CheckFormat(q); !f.ok()) return f;
  if (q.limit() > query::kMaxPageSize) {  // before any work
    return absl::InvalidArgumentError(absl::StrCat(
        "limit: ", q.limit(), " is more than the maximum page of ", query::kMaxPageSize, " flows"));
  }
  query::SortSpec spec;
  std::vector<FlowRow> rows;
  absl::Status s = CollectRows(q, backend, &spec, &rows, lease);
  if (!s.ok()) return s;
  absl::StatusOr<query::Page> page =
      query::Paginate(spec, std::move(rows), q.limit(), q.page_token(), query::QueryId(q));
  if (!page.ok()) return page.status();
  AddFlows(page->rows, nullptr, 0, page->rows.size(), q.format(), out);
  out->set_nextpagetoken(page->next_token);
  return absl::OkStatus();
}

absl::Status CollectAnswer(const v1::FlowQuery& q, ProbeBackend* backend, QueryAnswer* out) {
  if (absl::Status f = CheckFormat(q); !f.ok()) return f;
  absl::Status s = MatchingRows(q, backend, &out->spec, &out->rows, &out->lease);
  if (!s.ok()) return s;
  if (!out->lease.Grow(out->rows.size() * sizeof(uint32_t))) {
    return out->lease.Exhausted("the answer");
  }
  out->order = query::SortedOrder(out->spec, out->rows);
  out->query_id = query::QueryId(q);
  out->format = q.format();
  absl::StatusOr<size_t> first =
      query::RowsAfter(out->spec, out->rows, out->order, q.page_token(), out->query_id);
  if (!first.ok()) return first.status();
  out->first = *first;
  out->end = out->order.size();
  if (q.limit() != 0) out->end = std::min<size_t>(out->end, out->first + q.limit());
  return absl::OkStatus();
}

void AppendRows(const QueryAnswer& answer, size_t begin, size_t end, v1::FlowSet* out) {
  AddFlows(answer.rows, &answer.order, begin, end, answer.format, out);
}

absl::Status GatherPcapPackets(const v1::FlowQuery& q, ProbeBackend* backend, uint64_t max_bytes,
                               PcapPackets* out) {
  if (!q.page_token().empty()) {
    return absl::InvalidArgumentError("page_token: ExportPcap does not paginate");
  }
  query::SortSpec spec;
  std::vector<FlowRow> rows;
  BudgetLease& lease = out->lease;
  const uint64_t before_rows = lease.held();
  absl::Status s = CollectRows(q, backend, &spec, &rows, &lease);
  if (!s.ok()) return s;
  const uint64_t rows_cost = lease.held() - before_rows;
  if (q.limit() != 0 && rows.size() > q.limit()) rows.resize(q.limit());
  out->matched = rows.size();
  for (const FlowRow& r : rows) out->expired_flows += r.snap.event == FlowEvent::kExpire;
  uint64_t bytes = 0;
  struct Keyed {
    uint64_t uuid;
    RawPacketCopy packet;
  };
  std::vector<Keyed> all;
  auto uuids = std::make_shared<std::vector<uint64_t>>();
  uuids->reserve(rows.size());
  for (const FlowRow& r : rows) uuids->push_back(r.snap.uuid);
  std::sort(uuids->begin(), uuids->end());
  uuids->erase(std::unique(uuids->begin(), uuids->end()), uuids->end());
  // Over a limit the workers still finish the pass (their packets are
  // dropped here); the error is returned after it.
  absl::Status over;
  uint64_t last_uuid = 0;
  s = backend->RawPackets(uuids, [&](uint64_t uuid, RawPacketCopy&& p) {
    if (!over.ok()) return;
    if (all.empty() || uuid != last_uuid) ++out->flows;  // a flow's packets come together
    last_uuid = uuid;
    bytes += p.data.size();
    if (bytes > max_bytes) {
      over = absl::ResourceExhaustedError(
          absl::StrCat("the matching flows hold more than ", max_bytes,
                       " bytes of raw packets; narrow the filter or set a limit"));
      return;
    }
    // Twice the record: in `all`, then in out->packets.
    if (!lease.Grow(PacketCost(p) + sizeof(RawPacketCopy))) {
      over = lease.Exhausted("the export");
      return;
    }
    all.push_back({uuid, std::move(p)});
  });
  if (!s.ok()) return s;
  if (!over.ok()) return over;
  std::vector<FlowRow>().swap(rows);
  lease.Shrink(rows_cost);
  std::stable_sort(all.begin(), all.end(), [](const Keyed& a, const Keyed& b) {
    if (a.packet.timestamp_ns != b.packet.timestamp_ns) {
      return a.packet.timestamp_ns < b.packet.timestamp_ns;
    }
    if (a.uuid != b.uuid) return a.uuid < b.uuid;
    return a.packet.index < b.packet.index;
  });
  out->snaplen = 0;
  for (Keyed& k : all) {
    out->snaplen = std::max<uint32_t>(out->snaplen, static_cast<uint32_t>(k.packet.data.size()));
    if (std::find(out->link_types.begin(), out->link_types.end(), k.packet.link_type) ==
        out->link_types.end()) {
      out->link_types.push_back(k.packet.link_type);
    }
    out->packets.push_back(std::move(k.packet));
  }
  lease.Shrink(all.size() * sizeof(RawPacketCopy));  // `all` goes when this returns
  out->snaplen = std::max<uint32_t>(out->snaplen, 262144);
  return absl::OkStatus();
}

}  // namespace skyprobe
