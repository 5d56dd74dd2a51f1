// result_set.cc: sort keys are computed once per row (strings are formatted
// once, not per comparison); tokens are web-safe base64 of a small text record.

#include "query/result_set.h"

#include <algorithm>
#include <numeric>
#include <queue>
#include <unordered_set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace skyprobe::query {
namespace {

namespace v1 = ::skyprobe::v1;

struct SortKey {
  bool present = false;
  int64_t number = 0;
  std::string text;
  uint64_t uuid = 0;
};

// Ids printed in hex (UUID, ParentUUID, TrackingID, L3TrackingID) sort by
// their value, as the default UUID order does, not by their text ("f" after
// "10").
bool IsHexId(FieldId id) {
  return id == FieldId::kUuid || id == FieldId::kParentUuid || id == FieldId::kTrackingId ||
         id == FieldId::kL3TrackingId;
}

bool HexIdValue(FieldId id, const FlowSnapshot& s, uint64_t* out) {
  switch (id) {
    case FieldId::kUuid:
      *out = s.uuid;
      return true;
    case FieldId::kParentUuid:
      *out = s.parent_uuid;
      return s.has_parent;
    case FieldId::kTrackingId:
      *out = s.tracking_id;
      return true;
    case FieldId::kL3TrackingId:
      *out = s.l3_tracking_id;
      return true;
    default:
      return false;
  }
}

SortKey KeyOf(const SortSpec& spec, const FlowRow& row) {
  SortKey k;
  k.uuid = row.snap.uuid;
  if (spec.sort_field == nullptr) return k;
  const FlowView v = row.View();
  if (IsHexId(spec.sort_field->id)) {
    uint64_t x = 0;
    k.present = HexIdValue(spec.sort_field->id, row.snap, &x);
    k.number = static_cast<int64_t>(x);  // compared unsigned
  } else if (spec.sort_field->type == FieldType::kInt) {
    k.present = GetIntField(spec.sort_field->id, v, &k.number);
  } else {
    std::string scratch;
    absl::string_view text;
    k.present = GetStringField(spec.sort_field->id, v, &scratch, &text);
    if (k.present) k.text = std::string(text);
  }
  return k;
}

// <0 when `a` comes first.
int Compare(const SortSpec& spec, const SortKey& a, const SortKey& b) {
  if (spec.sort_field != nullptr) {
    if (a.present != b.present) return a.present ? -1 : 1;  // absent last
    if (a.present) {
      int c = 0;
      if (IsHexId(spec.sort_field->id)) {
        const uint64_t x = static_cast<uint64_t>(a.number), y = static_cast<uint64_t>(b.number);
        c = x < y ? -1 : (x > y ? 1 : 0);
      } else if (spec.sort_field->type == FieldType::kInt) {
        c = a.number < b.number ? -1 : (a.number > b.number ? 1 : 0);
      } else {
        c = a.text.compare(b.text);
        c = c < 0 ? -1 : (c > 0 ? 1 : 0);
      }
      if (c != 0) return spec.descending ? -c : c;
    }
  }
  return a.uuid < b.uuid ? -1 : (a.uuid > b.uuid ? 1 : 0);
}

// The dedup value as text ("" with `present` false when the row lacks it).
bool DedupValue(const SortSpec& spec, const FlowRow& row, std::string* out) {
  const FlowView v = row.View();
  out->clear();
  if (spec.dedup_field->type == FieldType::kInt) {
    int64_t x = 0;
    if (!GetIntField(spec.dedup_field->id, v, &x)) return false;
    absl::StrAppend(out, x);
    return true;
  }
  std::string scratch;
  absl::string_view text;
  if (!GetStringField(spec.dedup_field->id, v, &scratch, &text)) return false;
  out->assign(text.data(), text.size());
  return true;
}

std::string EncodeToken(absl::string_view query_id, const SortKey& k) {
  const std::string raw = absl::StrCat("v1\n", query_id, "\n", k.present ? 1 : 0, "\n", k.number,
                                       "\n", k.uuid, "\n", k.text);
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<SortKey> DecodeToken(absl::string_view token, absl::string_view query_id) {
  const absl::Status bad = absl::InvalidArgumentError("page_token: not a token of this probe");
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return bad;
  std::vector<std::string> parts = absl::StrSplit(raw, absl::MaxSplits('\n', 5));
  if (parts.size() != 6 || parts[0] != "v1") return bad;
  if (parts[1] != query_id) {
    return absl::InvalidArgumentError(
        "page_token: belongs to another query (filter, sort_by, sort_order and dedup_by must "
        "stay the same from page to page)");
  }
  SortKey k;
  k.present = parts[2] == "1";
  if (!absl::SimpleAtoi(parts[3], &k.number) || !absl::SimpleAtoi(parts[4], &k.uuid)) return bad;
  k.text = std::move(parts[5]);
  return k;
}

// Position of the first of `n` rows in spec order (row_at(i) is the i-th)
// strictly after the token's position; 0 for an empty token.
template <typename RowAt>
absl::StatusOr<size_t> FirstAfter(const SortSpec& spec, size_t n, RowAt row_at,
                                  absl::string_view token, absl::string_view query_id) {
  if (token.empty()) return 0;
  absl::StatusOr<SortKey> after = DecodeToken(token, query_id);
  if (!after.ok()) return after.status();
  size_t lo = 0, hi = n;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (Compare(spec, KeyOf(spec, row_at(mid)), *after) <= 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

}  // namespace

absl::StatusOr<SortSpec> MakeSortSpec(absl::string_view sort_by, v1::SortOrder order,
                                      absl::string_view dedup_by) {
  SortSpec spec;
  if (!sort_by.empty()) {
    spec.sort_field = FindField(sort_by);
    if (spec.sort_field == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("sort_by: ", UnknownKeyMessage(sort_by)));
    }
  }
  switch (order) {
    case v1::SORT_ORDER_UNSPECIFIED:
    case v1::ASCENDING:
      spec.descending = false;
      break;
    case v1::DESCENDING:
      spec.descending = true;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("sort_order: unknown value ", order));
  }
  if (!dedup_by.empty()) {
    spec.dedup_field = FindField(dedup_by);
    if (spec.dedup_field == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("dedup_by: ", UnknownKeyMessage(dedup_by)));
    }
  }
  return spec;
}

std::vector<uint32_t> SortedOrder(const SortSpec& spec, const std::vector<FlowRow>& rows) {
  std::vector<uint32_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0u);
  if (spec.sort_field == nullptr) {
    // UUID order (the default): (UUID, index) pairs sort in place, no
    // SortKey and no indirection per comparison; the index keeps it stable.
    std::vector<std::pair<uint64_t, uint32_t>> keyed(rows.size());
    for (uint32_t i = 0; i < rows.size(); ++i) keyed[i] = {rows[i].snap.uuid, i};
    std::sort(keyed.begin(), keyed.end());
    for (size_t i = 0; i < keyed.size(); ++i) order[i] = keyed[i].second;
  } else {
    std::vector<SortKey> keys;
    keys.reserve(rows.size());
    for (const FlowRow& r : rows) keys.push_back(KeyOf(spec, r));
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return Compare(spec, keys[a], keys[b]) < 0; });
  }
  if (spec.dedup_field == nullptr) return order;
  std::unordered_set<std::string> seen;
  std::string value;
  size_t kept = 0;
  for (uint32_t i : order) {
    if (DedupValue(spec, rows[i], &value) && !seen.insert(value).second) continue;
    order[kept++] = i;
  }
  order.resize(kept);
  return order;
}

void SortAndDedup(const SortSpec& spec, std::vector<FlowRow>* rows) {
  const std::vector<uint32_t> order = SortedOrder(spec, *rows);
  std::vector<FlowRow> out;
  out.reserve(order.size());
  for (uint32_t i : order) out.push_back(std::move((*rows)[i]));
  *rows = std::move(out);
}

absl::StatusOr<Page> Paginate(const SortSpec& spec, std::vector<FlowRow> sorted, uint32_t limit,
                              absl::string_view token, absl::string_view query_id) {
  if (limit > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit: ", limit, " is more than the maximum page of ", kMaxPageSize,
                     " flows; use page_token to get the rest"));
  }
  if (limit == 0) limit = kMaxPageSize;
  absl::StatusOr<size_t> first = FirstAfter(
      spec, sorted.size(), [&](size_t i) -> const FlowRow& { return sorted[i]; }, token, query_id);
  if (!first.ok()) return first.status();
  const size_t begin = *first;
  Page page;
  const size_t end = std::min(sorted.size(), begin + limit);
  page.rows.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) page.rows.push_back(std::move(sorted[i]));
  if (end < sorted.size() && !page.rows.empty()) {
    page.next_token = TokenAfter(spec, page.rows.back(), query_id);
  }
  return page;
}

std::string TokenAfter(const SortSpec& spec, const FlowRow& row, absl::string_view query_id) {
  return EncodeToken(query_id, KeyOf(spec, row));
}

absl::StatusOr<size_t> RowsAfter(const SortSpec& spec, const std::vector<FlowRow>& rows,
                                 const std::vector<uint32_t>& order, absl::string_view token,
                                 absl::string_view query_id) {
  return FirstAfter(
      spec, order.size(), [&](size_t i) -> const FlowRow& { return rows[order[i]]; }, token,
      query_id);
}

std::vector<FlowRow> MergeSorted(const SortSpec& spec, std::vector<std::vector<FlowRow>> inputs,
                                 size_t limit) {
  struct Head {
    SortKey key;
    size_t input;
    size_t index;
  };
  auto later = [&](const Head& a, const Head& b) {
    const int c = Compare(spec, a.key, b.key);
    return c > 0 || (c == 0 && a.input > b.input);  // equal keys: the earlier input first
  };
  std::priority_queue<Head, std::vector<Head>, decltype(later)> heap(later);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].empty()) heap.push({KeyOf(spec, inputs[i][0]), i, 0});
  }
  std::vector<FlowRow> out;
  std::unordered_set<std::string> seen;
  std::string value;
  while (!heap.empty() && (limit == 0 || out.size() < limit)) {
    Head h = heap.top();
    heap.pop();
    FlowRow& row = inputs[h.input][h.index];
    if (spec.dedup_field == nullptr || !DedupValue(spec, row, &value) ||
        seen.insert(value).second) {
      out.push_back(std::move(row));
    }
    if (h.index + 1 < inputs[h.input].size()) {
      heap.push({KeyOf(spec, inputs[h.input][h.index + 1]), h.input, h.index + 1});
    }
  }
  return out;
}

std::string QueryId(const v1::FlowQuery& query) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&](absl::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
    h ^= 0xff;  // field separator
    h *= 0x100000001b3ULL;
  };
  mix(query.expression());
  mix(query.filter().SerializeAsString());
  mix(query.sort_by());
  mix(absl::StrCat(query.sort_order() == v1::DESCENDING ? 1 : 0));
  mix(query.dedup_by());
  return absl::StrCat(absl::Hex(h));
}

}  // namespace skyprobe::query
