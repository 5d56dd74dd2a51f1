// group_by.cc: see group_by.h. A key is encoded value after value: a tag
// byte (0 absent, 1 integer, 2 string), then 8 bytes of an integer, or a
// length byte and the string's text (what a filter compares). A string of
// more than 255 bytes, or a key past GroupKey::kMaxBytes, does not encode.

#include "query/group_by.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace skyprobe::query {
namespace {

namespace v1 = ::skyprobe::v1;

constexpr uint8_t kAbsent = 0;
constexpr uint8_t kInt = 1;
constexpr uint8_t kString = 2;

// Integer keys that name something; the others count or time it.
bool GroupableInt(FieldId id) {
  switch (id) {
    case FieldId::kLinkId:
    case FieldId::kNetworkId:
    case FieldId::kTransportA:
    case FieldId::kTransportB:
    case FieldId::kTransportId:
    case FieldId::kIcmpCode:
    case FieldId::kIcmpId:
      return true;
    default:
      return false;
  }
}

struct CounterName {
  const char* name;
  GroupOrder::Counter counter;
};
constexpr CounterName kCounters[] = {
    {"Flows", GroupOrder::Counter::kFlows},     {"Packets", GroupOrder::Counter::kPackets},
    {"Bytes", GroupOrder::Counter::kBytes},     {"ABPackets", GroupOrder::Counter::kAbPackets},
    {"ABBytes", GroupOrder::Counter::kAbBytes}, {"BAPackets", GroupOrder::Counter::kBaPackets},
    {"BABytes", GroupOrder::Counter::kBaBytes}, {"Start", GroupOrder::Counter::kStart},
    {"Last", GroupOrder::Counter::kLast},
};

int64_t CounterValue(const GroupSums& s, GroupOrder::Counter c) {
  switch (c) {
    case GroupOrder::Counter::kFlows:
      return s.flows;
    case GroupOrder::Counter::kPackets:
      return s.ab_packets + s.ba_packets;
    case GroupOrder::Counter::kBytes:
      return s.ab_bytes + s.ba_bytes;
    case GroupOrder::Counter::kAbPackets:
      return s.ab_packets;
    case GroupOrder::Counter::kAbBytes:
      return s.ab_bytes;
    case GroupOrder::Counter::kBaPackets:
      return s.ba_packets;
    case GroupOrder::Counter::kBaBytes:
      return s.ba_bytes;
    case GroupOrder::Counter::kStart:
      return s.start;
    case GroupOrder::Counter::kLast:
      return s.last;
  }
  return 0;
}

// <0, 0, >0; absent values after present ones.
int CompareValue(const GroupValue& a, const GroupValue& b) {
  if (a.present != b.present) return a.present ? -1 : 1;
  if (!a.present) return 0;
  if (a.is_int != b.is_int) return a.is_int ? -1 : 1;
  if (a.is_int) return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
  return a.s.compare(b.s);
}

int CompareKeys(const std::vector<GroupValue>& a, const std::vector<GroupValue>& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (const int c = CompareValue(a[i], b[i]); c != 0) return c;
  }
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

// A key's values as one string, for merging equal keys.
std::string MergeKey(const std::vector<GroupValue>& key) {
  std::string out;
  for (const GroupValue& v : key) {
    out.push_back(!v.present ? 'n' : (v.is_int ? 'i' : 's'));
    const std::string text = v.is_int ? absl::StrCat(v.i) : v.s;
    absl::StrAppend(&out, text.size(), ":", text);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<const FieldInfo*>> GroupFields(const std::vector<std::string>& keys) {
  if (keys.empty()) return absl::InvalidArgumentError("group_by: no key given");
  if (keys.size() > kMaxGroupKeys) {
    return absl::InvalidArgumentError(
        absl::StrCat("group_by: ", keys.size(), " keys; at most ", kMaxGroupKeys));
  }
  std::vector<const FieldInfo*> fields;
  for (const std::string& k : keys) {
    const FieldInfo* f = FindField(k);
    if (f == nullptr) return absl::InvalidArgumentError("group_by: " + UnknownKeyMessage(k));
    if (f->type == FieldType::kInt && !GroupableInt(f->id)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "group_by: ", f->name,
          " counts or times a flow, which groups add up (Flows, Bytes, Start...): group by a key "
          "that names something (Network.A, Transport.B, Application, Link.ID, TrackingID...)"));
    }
    if (std::find(fields.begin(), fields.end(), f) != fields.end()) {
      return absl::InvalidArgumentError(absl::StrCat("group_by: ", f->name, " given twice"));
    }
    fields.push_back(f);
  }
  return fields;
}

absl::StatusOr<std::shared_ptr<const GroupBy>> GroupBy::Compile(
    const std::vector<std::string>& keys, Context ctx) {
  absl::StatusOr<std::vector<const FieldInfo*>> fields = GroupFields(keys);
  if (!fields.ok()) return fields.status();
  auto g = std::shared_ptr<GroupBy>(new GroupBy());
  g->fields_ = *std::move(fields);
  g->ctx_ = std::move(ctx);
  return std::shared_ptr<const GroupBy>(std::move(g));
}

bool GroupBy::Key(const FlowSnapshot& s, GroupKey* key) const {
  const CapturePoints* points = ctx_.points.get();
  const std::string_view node_tid = RecordNodeTid(s, ctx_.node_tid, points);
  const std::string_view capture_id = RecordCaptureId(s, "", points);
  const FlowView view{&s, absl::string_view(node_tid.data(), node_tid.size()),
                      absl::string_view(capture_id.data(), capture_id.size())};
  uint32_t n = 0;
  for (const FieldInfo* f : fields_) {
    if (f->type == FieldType::kInt) {
      int64_t v = 0;
      if (!GetIntField(f->id, view, &v)) {
        if (n + 1 > GroupKey::kMaxBytes) return false;
        key->bytes[n++] = kAbsent;
        continue;
      }
      if (n + 9 > GroupKey::kMaxBytes) return false;
      key->bytes[n++] = kInt;
      std::memcpy(key->bytes + n, &v, 8);
      n += 8;
      continue;
    }
    absl::string_view v;
    if (!GetStringField(f->id, view, &key->scratch, &v)) {
      if (n + 1 > GroupKey::kMaxBytes) return false;
      key->bytes[n++] = kAbsent;
      continue;
    }
    if (v.size() > 255 || n + 2 + v.size() > GroupKey::kMaxBytes) return false;
    key->bytes[n++] = kString;
    key->bytes[n++] = static_cast<uint8_t>(v.size());
    std::memcpy(key->bytes + n, v.data(), v.size());
    n += static_cast<uint32_t>(v.size());
  }
  key->size = n;
  return true;
}

std::vector<GroupValue> GroupBy::Values(std::string_view key) const {
  std::vector<GroupValue> out(fields_.size());
  size_t at = 0;
  for (GroupValue& v : out) {
    if (at >= key.size()) break;
    const uint8_t tag = static_cast<uint8_t>(key[at++]);
    if (tag == kInt && at + 8 <= key.size()) {
      v.present = v.is_int = true;
      std::memcpy(&v.i, key.data() + at, 8);
      at += 8;
    } else if (tag == kString && at < key.size()) {
      const size_t len = static_cast<uint8_t>(key[at++]);
      v.present = true;
      v.s.assign(key.data() + at, std::min(len, key.size() - at));
      at += len;
    }
  }
  return out;
}

absl::StatusOr<GroupOrder> MakeGroupOrder(std::string_view sort_by, v1::SortOrder order,
                                          const std::vector<const FieldInfo*>& fields) {
  if (!v1::SortOrder_IsValid(order)) {
    return absl::InvalidArgumentError(absl::StrCat("sort_order: unknown value ", order));
  }
  GroupOrder g;
  std::string_view name = sort_by.empty() ? std::string_view("Bytes") : sort_by;
  bool found = false;
  const FieldInfo* f = FindField(absl::string_view(name.data(), name.size()));
  for (size_t i = 0; f != nullptr && i < fields.size(); ++i) {
    if (fields[i] == f) {
      g.key = static_cast<int>(i);
      found = true;
    }
  }
  if (!found) {
    std::string_view counter = name;
    if (absl::StartsWith(absl::string_view(counter.data(), counter.size()), "Metric.")) {
      counter.remove_prefix(7);
    }
    for (const CounterName& c : kCounters) {
      if (counter == c.name) {
        g.counter = c.counter;
        found = true;
      }
    }
  }
  if (!found) {
    std::string keys;
    for (const FieldInfo* k : fields) absl::StrAppend(&keys, ", ", k->name);
    return absl::InvalidArgumentError(absl::StrCat(
        "sort_by: '", Excerpt(absl::string_view(name.data(), name.size())),
        "' is neither a group counter (Flows, Packets, Bytes, ABPackets, ABBytes, BAPackets, "
        "BABytes, Start, Last) nor a group_by key",
        keys.empty() ? "" : " (", keys.empty() ? "" : keys.substr(2), keys.empty() ? "" : ")"));
  }
  g.descending = order == v1::SORT_ORDER_UNSPECIFIED ? g.key < 0 : order == v1::DESCENDING;
  return g;
}

void SortGroups(const GroupOrder& order, std::vector<GroupRow>* rows) {
  std::sort(rows->begin(), rows->end(), [&](const GroupRow& a, const GroupRow& b) {
    int c;
    if (order.key >= 0) {
      const GroupValue& x = a.key[order.key];
      const GroupValue& y = b.key[order.key];
      // Absent values last in either direction, as flows without a sort key.
      if (x.present != y.present) return x.present;
      c = CompareValue(x, y);
    } else {
      const int64_t x = CounterValue(a.sums, order.counter);
      const int64_t y = CounterValue(b.sums, order.counter);
      c = x < y ? -1 : (x > y ? 1 : 0);
    }
    if (c != 0) return order.descending ? c > 0 : c < 0;
    return CompareKeys(a.key, b.key) < 0;
  });
}

void MergeGroups(std::vector<GroupRow> more, std::vector<GroupRow>* into) {
  std::map<std::string, size_t> at;
  for (size_t i = 0; i < into->size(); ++i) at.emplace(MergeKey((*into)[i].key), i);
  for (GroupRow& r : more) {
    auto [it, fresh] = at.emplace(MergeKey(r.key), into->size());
    if (fresh) {
      into->push_back(std::move(r));
    } else {
      (*into)[it->second].sums.Add(r.sums);
    }
  }
}

void GroupToProto(const GroupRow& row, v1::FlowGroup* out) {
  for (const GroupValue& v : row.key) {
    v1::GroupValue* k = out->add_key();
    if (!v.present) continue;
    if (v.is_int) {
      k->set_intvalue(v.i);
    } else {
      k->set_stringvalue(v.s);
    }
  }
  out->set_flows(row.sums.flows);
  out->set_abpackets(row.sums.ab_packets);
  out->set_abbytes(row.sums.ab_bytes);
  out->set_bapackets(row.sums.ba_packets);
  out->set_babytes(row.sums.ba_bytes);
  out->set_start(row.sums.start);
  out->set_last(row.sums.last);
}

GroupRow GroupFromProto(const v1::FlowGroup& g) {
  GroupRow row;
  for (const v1::GroupValue& k : g.key()) {
    GroupValue v;
    if (k.Kind_case() == v1::GroupValue::kIntValue) {
      v.present = v.is_int = true;
      v.i = k.intvalue();
    } else if (k.Kind_case() == v1::GroupValue::kStringValue) {
      v.present = true;
      v.s = k.stringvalue();
    }
    row.key.push_back(std::move(v));
  }
  row.sums.flows = g.flows();
  row.sums.ab_packets = g.abpackets();
  row.sums.ab_bytes = g.abbytes();
  row.sums.ba_packets = g.bapackets();
  row.sums.ba_bytes = g.babytes();
  row.sums.start = g.start();
  row.sums.last = g.last();
  return row;
}

std::string GroupValueText(const GroupValue& v) {
  if (!v.present) return std::string();
  return v.is_int ? absl::StrCat(v.i) : v.s;
}

}  // namespace skyprobe::query
