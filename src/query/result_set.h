// result_set.h: Skydive's FlowSet operations for query answers: sort, dedup,
// keyset pagination, and the k-way merge of sorted answers from several
// probes (skyprobectl's fan-out).
//
// Owner: the thread that builds an answer (a gRPC thread, or skyprobectl);
// no shared state.
//
//   SKYPROBE_ASSIGN_OR_RETURN(SortSpec spec, MakeSortSpec("Network.A", v1::ASCENDING, ""));
//   SortAndDedup(spec, &rows);
//   SKYPROBE_ASSIGN_OR_RETURN(Page page, Paginate(spec, std::move(rows), 100, token, query_id));
//
// Order: by the sort key in the requested direction, ties by UUID ascending,
// so the order is total and a page token (the last row's key and UUID) marks
// an exact position. Rows without the key come last in either direction.
// Dedup keeps the first row (in that order) of each key value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "query/flow_fields.h"
#include "record/flow_snapshot.h"
#include "skyprobe/v1/probe_service.pb.h"

namespace skyprobe::query {

inline constexpr uint32_t kMaxPageSize = 10000;

// A flow of an answer, with its probe's record context.
struct FlowRow {
  FlowSnapshot snap;
  std::string node_tid;
  std::string capture_id;

  FlowView View() const { return FlowView{&snap, node_tid, capture_id}; }
};

struct SortSpec {
  const FieldInfo* sort_field = nullptr;  // null: UUID order
  bool descending = false;
  const FieldInfo* dedup_field = nullptr;  // null: no dedup
};

// INVALID_ARGUMENT for an unknown key ("sort_by: unknown key 'Foo'").
absl::StatusOr<SortSpec> MakeSortSpec(absl::string_view sort_by, skyprobe::v1::SortOrder order,
                                      absl::string_view dedup_by);

// Stable sort by the spec's order, then drop later rows with an already seen
// dedup value.
void SortAndDedup(const SortSpec& spec, std::vector<FlowRow>* rows);

// The same, as indices into `rows` (which stay where they are: a big answer
// is not copied once more to be sorted).
std::vector<uint32_t> SortedOrder(const SortSpec& spec, const std::vector<FlowRow>& rows);

struct Page {
  std::vector<FlowRow> rows;
  std::string next_token;  // empty on the last page
};

// The rows after `token` (empty: from the start), at most `limit` (0: the
// maximum). `query_id` identifies the query (filter, sort, dedup): a token of
// another query is INVALID_ARGUMENT, as are a malformed token and a limit
// above kMaxPageSize. `sorted` must come from SortAndDedup with `spec`.
absl::StatusOr<Page> Paginate(const SortSpec& spec, std::vector<FlowRow> sorted, uint32_t limit,
                              absl::string_view token, absl::string_view query_id);

// Position in `order` (from SortedOrder over `rows`) of the first row after
// `token` (0 for an empty token); the same errors as Paginate for a bad token.
absl::StatusOr<size_t> RowsAfter(const SortSpec& spec, const std::vector<FlowRow>& rows,
                                 const std::vector<uint32_t>& order, absl::string_view token,
                                 absl::string_view query_id);

// The token that continues a listing after `row`.
std::string TokenAfter(const SortSpec& spec, const FlowRow& row, absl::string_view query_id);

// Merges answers each sorted by `spec` into one sorted list, deduplicating on
// the fly (the first row of a value in the merged order wins, as Skydive's
// FlowSet.Merge), and stops after `limit` rows (0: no limit).
std::vector<FlowRow> MergeSorted(const SortSpec& spec, std::vector<std::vector<FlowRow>> inputs,
                                 size_t limit);

// A stable 64-bit fingerprint (FNV-1a) of a query's identity, as text.
std::string QueryId(const skyprobe::v1::FlowQuery& query);

}  // namespace skyprobe::query
