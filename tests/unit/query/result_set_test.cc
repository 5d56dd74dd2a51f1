// Sort, dedup, pagination and merge, including Skydive's TestGetFlowsWithFilters
// scenario (filter on NodeTID, sort by Network.A both ways, dedup by NodeTID).

#include "query/result_set.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/compiled_filter.h"
#include "tests/unit/query/test_flows.h"

namespace skyprobe::query {
namespace {

namespace v1 = ::skyprobe::v1;
using ::skyprobe::testing::IcmpFlow;
using ::skyprobe::testing::TcpFlow;
using ::testing::ElementsAre;

FlowRow Row(FlowSnapshot s, std::string node = "probe-1") {
  return FlowRow{s, std::move(node), ""};
}

std::vector<uint64_t> Uuids(const std::vector<FlowRow>& rows) {
  std::vector<uint64_t> out;
  for (const FlowRow& r : rows) out.push_back(r.snap.uuid);
  return out;
}

std::vector<FlowRow> SampleRows() {
  std::vector<FlowRow> rows;
  rows.push_back(Row(TcpFlow(5, "10.0.0.3", "10.0.0.9", 1, 80, 300)));
  rows.push_back(Row(TcpFlow(2, "10.0.0.1", "10.0.0.9", 2, 80, 100)));
  rows.push_back(Row(IcmpFlow(9, "10.0.0.2", "10.0.0.9")));
  rows.push_back(Row(TcpFlow(4, "10.0.0.1", "10.0.0.9", 3, 443, 300)));
  rows.push_back(Row(TcpFlow(7, "10.0.0.10", "10.0.0.9", 4, 22, 50)));
  return rows;
}

SortSpec Spec(const std::string& by, v1::SortOrder order, const std::string& dedup = "") {
  absl::StatusOr<SortSpec> s = MakeSortSpec(by, order, dedup);
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

TEST(ResultSetTest, DefaultOrderIsUuidAscending) {
  std::vector<FlowRow> rows = SampleRows();
  SortAndDedup(Spec("", v1::SORT_ORDER_UNSPECIFIED), &rows);
  EXPECT_THAT(Uuids(rows), ElementsAre(2, 4, 5, 7, 9));
}

TEST(ResultSetTest, UnspecifiedOrderIsAscendingNotSkydivesDescending) {
  std::vector<FlowRow> rows = SampleRows();
  SortAndDedup(Spec("Metric.ABBytes", v1::SORT_ORDER_UNSPECIFIED), &rows);
  EXPECT_THAT(Uuids(rows), ElementsAre(7, 9, 2, 4, 5));  // 50, 98, 100, 300(4), 300(5)
}

TEST(ResultSetTest, DescendingKeepsUuidTieBreakAndAbsentLast) {
  std::vector<FlowRow> rows = SampleRows();
  SortAndDedup(Spec("Transport.B", v1::DESCENDING), &rows);
  EXPECT_THAT(Uuids(rows), ElementsAre(4, 2, 5, 7, 9));  // 443, 80, 80, 22, ICMP (no ports)
  rows = SampleRows();
  SortAndDedup(Spec("Transport.B", v1::ASCENDING), &rows);
  EXPECT_THAT(Uuids(rows), ElementsAre(7, 2, 5, 4, 9));
}

TEST(ResultSetTest, StringsSortBytewise) {
  std::vector<FlowRow> rows = SampleRows();
  SortAndDedup(Spec("Network.A", v1::ASCENDING), &rows);
  // "10.0.0.1" x2, "10.0.0.10", "10.0.0.2", "10.0.0.3" (text order, as Skydive).
  EXPECT_THAT(Uuids(rows), ElementsAre(2, 4, 7, 9, 5));
}

TEST(ResultSetTest, DedupKeepsTheFirstInSortOrder) {
  std::vector<FlowRow> rows = SampleRows();
  SortAndDedup(Spec("Metric.ABBytes", v1::DESCENDING, "Network.A"), &rows);
  // 10.0.0.1: flow 4 (300 bytes) comes before flow 2 (100) and wins.
  EXPECT_THAT(Uuids(rows), ElementsAre(4, 5, 9, 7));
}

TEST(ResultSetTest, SkydiveGetFlowsWithFilters) {
  std::vector<FlowRow> all = SampleRows();
  all.push_back(Row(TcpFlow(11, "10.0.0.5", "10.0.0.9", 5, 80, 1), "probe-2"));
  auto filter = CompiledFilter::Compile("NodeTID = 'probe-1'", nullptr, {});
  ASSERT_TRUE(filter.ok());
  std::vector<FlowRow> rows;
  for (const FlowRow& r : all) {
    if ((*filter)->MatchesView(r.View())) rows.push_back(r);
  }
  ASSERT_EQ(rows.size(), 5u);
  std::vector<FlowRow> asc = rows;
  SortAndDedup(Spec("Network.A", v1::ASCENDING), &asc);
  EXPECT_EQ(asc.front().snap.uuid, 2u);
  std::vector<FlowRow> desc = rows;
  SortAndDedup(Spec("Network.A", v1::DESCENDING), &desc);
  EXPECT_THAT(Uuids(desc), ElementsAre(5, 9, 7, 2, 4));
  SortAndDedup(Spec("Network.A", v1::DESCENDING, "NodeTID"), &desc);
  EXPECT_THAT(Uuids(desc), ElementsAre(5));
}

TEST(ResultSetTest, PaginationWalksEveryRowOnce) {
  const SortSpec spec = Spec("Metric.ABBytes", v1::DESCENDING);
  std::vector<uint64_t> seen;
  std::string token;
  int pages = 0;
  do {
    std::vector<FlowRow> rows = SampleRows();
    SortAndDedup(spec, &rows);
    absl::StatusOr<Page> page = Paginate(spec, std::move(rows), 2, token, "q1");
    ASSERT_TRUE(page.ok()) << page.status();
    for (const FlowRow& r : page->rows) seen.push_back(r.snap.uuid);
    token = page->next_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(seen, ElementsAre(4, 5, 2, 9, 7));
}

TEST(ResultSetTest, PaginationIsKeysetBased) {
  // A flow that disappears between pages does not shift the next page.
  const SortSpec spec = Spec("", v1::ASCENDING);
  std::vector<FlowRow> rows = SampleRows();
  SortAndDedup(spec, &rows);
  absl::StatusOr<Page> first = Paginate(spec, rows, 2, "", "q");
  ASSERT_TRUE(first.ok());
  EXPECT_THAT(Uuids(first->rows), ElementsAre(2, 4));
  rows.erase(rows.begin());  // flow 2 expired
  absl::StatusOr<Page> second = Paginate(spec, rows, 2, first->next_token, "q");
  ASSERT_TRUE(second.ok());
  EXPECT_THAT(Uuids(second->rows), ElementsAre(5, 7));
}

TEST(ResultSetTest, PaginationErrors) {
  const SortSpec spec = Spec("", v1::ASCENDING);
  EXPECT_EQ(Paginate(spec, SampleRows(), kMaxPageSize + 1, "", "q").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Paginate(spec, SampleRows(), 1, "%%%", "q").status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<Page> p = Paginate(spec, SampleRows(), 1, "", "q");
  ASSERT_TRUE(p.ok());
  absl::StatusOr<Page> other = Paginate(spec, SampleRows(), 1, p->next_token, "another");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(other.status().message()), ::testing::HasSubstr("another query"));
  EXPECT_EQ(MakeSortSpec("Foo", v1::ASCENDING, "").status().message(),
            "sort_by: unknown key 'Foo'");
  EXPECT_EQ(MakeSortSpec("", v1::ASCENDING, "Netwrk.A").status().message(),
            "dedup_by: unknown key 'Netwrk.A' (did you mean 'Network.A'?)");
}

TEST(ResultSetTest, MergeSortsAndDedupsAcrossProbes) {
  const SortSpec spec = Spec("Metric.ABBytes", v1::DESCENDING, "TrackingID");
  std::vector<FlowRow> a = {Row(TcpFlow(1, "10.0.0.1", "10.0.0.2", 1, 2, 900)),
                            Row(TcpFlow(3, "10.0.0.1", "10.0.0.2", 1, 2, 100))};
  // Probe b saw conversation 3 too (same TrackingID), with more bytes: its copy wins.
  FlowSnapshot dup = TcpFlow(33, "10.0.0.1", "10.0.0.2", 1, 2, 500);
  dup.tracking_id = a[1].snap.tracking_id;
  std::vector<FlowRow> b = {Row(dup, "probe-2"),
                            Row(TcpFlow(4, "10.0.0.4", "10.0.0.2", 1, 2, 200), "probe-2")};
  std::vector<FlowRow> merged = MergeSorted(spec, {a, b}, 0);
  EXPECT_THAT(Uuids(merged), ElementsAre(1, 33, 4));
  EXPECT_EQ(merged[1].node_tid, "probe-2");
  EXPECT_THAT(Uuids(MergeSorted(spec, {a, b}, 2)), ElementsAre(1, 33));
  std::vector<FlowRow> b_by_uuid = {b[1], b[0]};
  EXPECT_THAT(Uuids(MergeSorted(Spec("", v1::ASCENDING), {a, b_by_uuid}, 0)),
              ElementsAre(1, 3, 4, 33));
}

// One UUID order (issue 15): --sort UUID is the default order, by value, not
// by text ("f" before "10"; a UUID with the top bit set last, not negative).
TEST(ResultSetTest, HexIdsSortByValue) {
  const std::vector<uint64_t> uuids = {0x10, 0xf, 0xffffffffffffff00ULL, 0x2, 0x8000000000000000ULL,
                                       0x100};
  std::vector<FlowRow> rows;
  for (uint64_t u : uuids) {
    FlowSnapshot s = TcpFlow(u, "10.0.0.1", "10.0.0.2", 1, 2, 10);
    s.tracking_id = ~u;  // the reverse order
    s.has_parent = u != 0x2;
    s.parent_uuid = u;
    rows.push_back(Row(s));
  }
  std::vector<uint64_t> expected = uuids;  // the oracle: unsigned order
  std::sort(expected.begin(), expected.end());
  std::vector<FlowRow> by_default = rows;
  SortAndDedup(Spec("", v1::ASCENDING), &by_default);
  EXPECT_EQ(Uuids(by_default), expected);
  std::vector<FlowRow> by_uuid = rows;
  SortAndDedup(Spec("UUID", v1::ASCENDING), &by_uuid);
  EXPECT_EQ(Uuids(by_uuid), expected);
  std::vector<FlowRow> desc = rows;
  SortAndDedup(Spec("UUID", v1::DESCENDING), &desc);
  EXPECT_EQ(Uuids(desc), std::vector<uint64_t>(expected.rbegin(), expected.rend()));
  std::vector<FlowRow> by_tracking = rows;
  SortAndDedup(Spec("TrackingID", v1::ASCENDING), &by_tracking);
  EXPECT_EQ(Uuids(by_tracking), std::vector<uint64_t>(expected.rbegin(), expected.rend()));
  // ParentUUID: by value, the flow without one last.
  std::vector<FlowRow> by_parent = rows;
  SortAndDedup(Spec("ParentUUID", v1::ASCENDING), &by_parent);
  std::vector<uint64_t> parents(expected.begin(), expected.end());
  parents.erase(std::find(parents.begin(), parents.end(), 0x2u));
  parents.push_back(0x2);
  EXPECT_EQ(Uuids(by_parent), parents);
  // Pages of a UUID sort walk every row once, in that order.
  const SortSpec spec = Spec("UUID", v1::ASCENDING);
  std::vector<uint64_t> seen;
  std::string token;
  for (int pages = 0; pages < 10; ++pages) {
    std::vector<FlowRow> page_rows = rows;
    SortAndDedup(spec, &page_rows);
    absl::StatusOr<Page> page = Paginate(spec, std::move(page_rows), 4, token, "q");
    ASSERT_TRUE(page.ok()) << page.status();
    for (const FlowRow& r : page->rows) seen.push_back(r.snap.uuid);
    token = page->next_token;
    if (token.empty()) break;
  }
  EXPECT_EQ(seen, expected);
  // Merged across probes too.
  std::vector<FlowRow> a(by_uuid.begin(), by_uuid.begin() + 3);
  std::vector<FlowRow> b(by_uuid.begin() + 3, by_uuid.end());
  EXPECT_EQ(Uuids(MergeSorted(spec, {b, a}, 0)), expected);
}

TEST(ResultSetTest, QueryIdDependsOnTheQueryNotThePage) {
  v1::FlowQuery q;
  q.set_expression("Start > 1");
  q.set_sort_by("Start");
  const std::string id = QueryId(q);
  q.set_limit(5);
  q.set_page_token("x");
  EXPECT_EQ(QueryId(q), id);
  q.set_dedup_by("NodeTID");
  EXPECT_NE(QueryId(q), id);
}

}  // namespace
}  // namespace skyprobe::query
