// compiled_filter.cc: the evaluator. A small tree of nodes with decoded
// literals; the common terms (addresses, ids, enum names, integers) compare
// binary values so that a worker lcore can run a filter without allocating.

#include "query/compiled_filter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "query/filter_expr.h"
#include "query/filter_limits.h"
#include "re2/re2.h"
#include "record/flow_format.h"

namespace skyprobe::query {

namespace v1 = ::skyprobe::v1;

enum class NodeKind : uint8_t {
  kTrue,
  kFalse,
  kAnd,
  kOr,
  kNone,    // NOT: none of the children
  kIntCmp,  // integer key <op> value
  kStrEq,   // formatted string key == value
  kIpEq,    // Network.A/B == decoded address
  kMacEq,   // Link.A/B == decoded MAC
  kHexEq,   // UUID-like key == decoded integer
  kRegex,   // formatted key matches
  kNull,    // key absent
};

enum class CmpOp : uint8_t { kEq, kLt, kLe, kGt, kGe };

struct CompiledFilter::Node {
  NodeKind kind = NodeKind::kTrue;
  FieldId field = FieldId::kUuid;
  CmpOp op = CmpOp::kEq;
  int64_t number = 0;  // kIntCmp value; kHexEq value
  uint8_t ip_version = 0;
  uint8_t bytes[16] = {};
  std::string text;            // kStrEq value
  std::unique_ptr<RE2> regex;  // kRegex
  std::vector<std::unique_ptr<Node>> children;
};

namespace {

using Node = CompiledFilter::Node;

std::string& Scratch() {
  thread_local std::string scratch = [] {
    std::string s;
    s.reserve(1024);  // longer than any LayersPath: no allocation once created
    return s;
  }();
  return scratch;
}

absl::StatusOr<const FieldInfo*> Key(absl::string_view kind, const std::string& key) {
  const FieldInfo* f = FindField(key);
  if (f == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(kind, ": ", UnknownKeyMessage(key)));
  }
  return f;
}

absl::Status WrongType(absl::string_view kind, const FieldInfo& f) {
  return absl::InvalidArgumentError(
      absl::StrCat(kind, ": key '", f.name, "' is ",
                   f.type == FieldType::kInt ? "an integer" : "a string", " key"));
}

// A string term. Addresses and ids are decoded, so that any spelling of a
// value matches what the getter prints: an IPv6 address in upper case or not
// in RFC 5952 form, a MAC in upper case, an id in upper-case hex or with
// leading zeros. Other strings compare as text.
std::unique_ptr<Node> StringTerm(const FieldInfo& f, const std::string& value) {
  auto n = std::make_unique<Node>();
  n->field = f.id;
  n->kind = NodeKind::kStrEq;
  n->text = value;
  switch (f.id) {
    case FieldId::kNetworkA:
    case FieldId::kNetworkB: {
      uint8_t buf[16] = {};
      int version = 0;
      if (inet_pton(AF_INET, value.c_str(), buf) == 1) {
        version = 4;
      } else if (inet_pton(AF_INET6, value.c_str(), buf) == 1) {
        version = 6;
      }
      if (version == 0) break;
      n->kind = NodeKind::kIpEq;
      n->ip_version = static_cast<uint8_t>(version);
      std::memcpy(n->bytes, buf, sizeof(buf));
      break;
    }
    case FieldId::kLinkA:
    case FieldId::kLinkB: {
      unsigned m[6];
      char tail;
      if (std::sscanf(value.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4],
                      &m[5], &tail) != 6) {
        break;
      }
      // sscanf's %x also takes a sign or spaces: only hex digits and colons.
      if (!std::all_of(value.begin(), value.end(),
                       [](char c) { return c == ':' || absl::ascii_isxdigit(c); })) {
        break;
      }
      for (int i = 0; i < 6; ++i) n->bytes[i] = static_cast<uint8_t>(m[i]);
      n->kind = NodeKind::kMacEq;
      break;
    }
    case FieldId::kUuid:
    case FieldId::kTrackingId:
    case FieldId::kL3TrackingId:
    case FieldId::kParentUuid: {
      // Hex digits only (SimpleHexAtoi also takes "0x" and spaces); at most
      // 64 bits once leading zeros are dropped.
      if (value.empty() || !std::all_of(value.begin(), value.end(), absl::ascii_isxdigit)) break;
      const size_t first = std::min(value.find_first_not_of('0'), value.size() - 1);
      if (value.size() - first > 16) {
        n->kind = NodeKind::kFalse;  // no id is that big
        break;
      }
      uint64_t v = 0;
      if (!absl::SimpleHexAtoi(value.substr(first), &v)) break;
      n->kind = NodeKind::kHexEq;
      n->number = static_cast<int64_t>(v);
      break;
    }
    default:
      break;
  }
  return n;
}

std::unique_ptr<Node> IntCmp(const FieldInfo& f, CmpOp op, int64_t value) {
  auto n = std::make_unique<Node>();
  n->kind = NodeKind::kIntCmp;
  n->field = f.id;
  n->op = op;
  n->number = value;
  return n;
}

// Recursive: `f` must be within the limits (CheckFilterLimits, or parsed from
// text), so the depth is at most kMaxFilterDepth.
absl::StatusOr<std::unique_ptr<Node>> Build(const v1::Filter& f) {
  auto node = std::make_unique<Node>();
  switch (f.Kind_case()) {
    case v1::Filter::KIND_NOT_SET:
      return node;  // matches everything, as Skydive's empty Filter
    case v1::Filter::kBoolFilter: {
      const v1::BoolFilter& b = f.boolfilter();
      switch (b.op()) {
        case v1::BoolFilter::AND:
          node->kind = NodeKind::kAnd;
          break;
        case v1::BoolFilter::OR:
          node->kind = NodeKind::kOr;
          break;
        case v1::BoolFilter::NOT:
          node->kind = NodeKind::kNone;
          break;
        default:
          return absl::InvalidArgumentError(absl::StrCat("BoolFilter: unknown Op ", b.op()));
      }
      for (const v1::Filter& m : b.filters()) {
        absl::StatusOr<std::unique_ptr<Node>> child = Build(m);
        if (!child.ok()) return child.status();
        node->children.push_back(*std::move(child));
      }
      return node;
    }
    case v1::Filter::kTermStringFilter: {
      const auto& t = f.termstringfilter();
      absl::StatusOr<const FieldInfo*> k = Key("TermStringFilter", t.key());
      if (!k.ok()) return k.status();
      if ((*k)->type != FieldType::kString) return WrongType("TermStringFilter", **k);
      return StringTerm(**k, t.value());
    }
    case v1::Filter::kTermBoolFilter: {
      absl::StatusOr<const FieldInfo*> k = Key("TermBoolFilter", f.termboolfilter().key());
      if (!k.ok()) return k.status();
      return WrongType("TermBoolFilter", **k);  // no Flow key is boolean
    }
    case v1::Filter::kRegexFilter: {
      const auto& r = f.regexfilter();
      absl::StatusOr<const FieldInfo*> k = Key("RegexFilter", r.key());
      if (!k.ok()) return k.status();
      node->kind = NodeKind::kRegex;
      node->field = (*k)->id;
      node->regex = std::make_unique<RE2>(r.value(), FilterRegexOptions());
      if (!node->regex->ok()) {
        return absl::InvalidArgumentError(absl::StrCat("RegexFilter: bad regular expression '",
                                                       Excerpt(r.value()),
                                                       "': ", Excerpt(node->regex->error())));
      }
      return node;
    }
    case v1::Filter::kNullFilter: {
      absl::StatusOr<const FieldInfo*> k = Key("NullFilter", f.nullfilter().key());
      if (!k.ok()) return k.status();
      node->kind = NodeKind::kNull;
      node->field = (*k)->id;
      return node;
    }
    default:
      break;
  }
  // The integer kinds share one shape: Key and Value.
  struct IntKind {
    absl::string_view name;
    CmpOp op;
    const std::string* key;
    int64_t value;
  };
  IntKind k;
  switch (f.Kind_case()) {
    case v1::Filter::kTermInt64Filter:
      k = {"TermInt64Filter", CmpOp::kEq, &f.termint64filter().key(), f.termint64filter().value()};
      break;
    case v1::Filter::kGtInt64Filter:
      k = {"GtInt64Filter", CmpOp::kGt, &f.gtint64filter().key(), f.gtint64filter().value()};
      break;
    case v1::Filter::kLtInt64Filter:
      k = {"LtInt64Filter", CmpOp::kLt, &f.ltint64filter().key(), f.ltint64filter().value()};
      break;
    case v1::Filter::kGteInt64Filter:
      k = {"GteInt64Filter", CmpOp::kGe, &f.gteint64filter().key(), f.gteint64filter().value()};
      break;
    case v1::Filter::kLteInt64Filter:
      k = {"LteInt64Filter", CmpOp::kLe, &f.lteint64filter().key(), f.lteint64filter().value()};
      break;
    default:
      return absl::InvalidArgumentError("filter: unknown filter kind");
  }
  absl::StatusOr<const FieldInfo*> field = Key(k.name, *k.key);
  if (!field.ok()) return field.status();
  if ((*field)->type != FieldType::kInt) return WrongType(k.name, **field);
  return IntCmp(**field, k.op, k.value);
}

bool Eval(const Node& n, const FlowView& v) {
  const FlowSnapshot& s = *v.snap;
  switch (n.kind) {
    case NodeKind::kTrue:
      return true;
    case NodeKind::kFalse:
      return false;
    case NodeKind::kAnd:
      for (const auto& c : n.children) {
        if (!Eval(*c, v)) return false;
      }
      return true;
    case NodeKind::kOr:
      for (const auto& c : n.children) {
        if (Eval(*c, v)) return true;
      }
      return false;
    case NodeKind::kNone:
      for (const auto& c : n.children) {
        if (Eval(*c, v)) return false;
      }
      return true;
    case NodeKind::kIntCmp: {
      int64_t x = 0;
      if (!GetIntField(n.field, v, &x)) return false;
      switch (n.op) {
        case CmpOp::kEq:
          return x == n.number;
        case CmpOp::kLt:
          return x < n.number;
        case CmpOp::kLe:
          return x <= n.number;
        case CmpOp::kGt:
          return x > n.number;
        case CmpOp::kGe:
          return x >= n.number;
      }
      return false;
    }
    case NodeKind::kIpEq: {
      if (s.ip_version != n.ip_version) return false;
      const uint8_t* a = n.field == FieldId::kNetworkA ? s.network_a : s.network_b;
      return std::memcmp(a, n.bytes, n.ip_version == 4 ? 4 : 16) == 0;
    }
    case NodeKind::kMacEq: {
      if (!s.has_link) return false;
      const uint8_t* m = n.field == FieldId::kLinkA ? s.link_a : s.link_b;
      return std::memcmp(m, n.bytes, 6) == 0;
    }
    case NodeKind::kHexEq: {
      if (!HasField(n.field, v)) return false;
      uint64_t x = 0;
      switch (n.field) {
        case FieldId::kUuid:
          x = s.uuid;
          break;
        case FieldId::kTrackingId:
          x = s.tracking_id;
          break;
        case FieldId::kL3TrackingId:
          x = s.l3_tracking_id;
          break;
        default:
          x = s.parent_uuid;
          break;
      }
      return x == static_cast<uint64_t>(n.number);
    }
    case NodeKind::kStrEq: {
      absl::string_view text;
      return GetStringField(n.field, v, &Scratch(), &text) && text == n.text;
    }
    case NodeKind::kRegex: {
      absl::string_view text;
      std::string& scratch = Scratch();
      int64_t x = 0;
      if (GetIntField(n.field, v, &x)) {
        scratch.clear();
        AppendInt(x, &scratch);
        text = scratch;
      } else if (!GetStringField(n.field, v, &scratch, &text)) {
        return false;
      }
      return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *n.regex);
    }
    case NodeKind::kNull:
      return !HasField(n.field, v);
  }
  return false;
}

}  // namespace

namespace {

// The UUIDs a flow matching `n` must have (sorted, unique), or nullopt when
// `n` does not pin the UUID: `UUID = x` pins {x}, an AND pins what its
// narrowest pinned child pins, an OR the union when every child pins.
std::optional<std::vector<uint64_t>> UuidHint(const Node& n) {
  switch (n.kind) {
    case NodeKind::kHexEq:
      if (n.field != FieldId::kUuid) return std::nullopt;
      return std::vector<uint64_t>{static_cast<uint64_t>(n.number)};
    case NodeKind::kFalse:
      return std::vector<uint64_t>{};
    case NodeKind::kAnd: {
      std::optional<std::vector<uint64_t>> best;
      for (const auto& c : n.children) {
        std::optional<std::vector<uint64_t>> h = UuidHint(*c);
        if (h && (!best || h->size() < best->size())) best = std::move(h);
      }
      return best;
    }
    case NodeKind::kOr: {
      std::vector<uint64_t> all;
      for (const auto& c : n.children) {
        std::optional<std::vector<uint64_t>> h = UuidHint(*c);
        if (!h) return std::nullopt;
        all.insert(all.end(), h->begin(), h->end());
      }
      if (n.children.empty()) return std::nullopt;
      std::sort(all.begin(), all.end());
      all.erase(std::unique(all.begin(), all.end()), all.end());
      return all;
    }
    default:
      return std::nullopt;
  }
}

// An upper estimate of what evaluating `n` costs on one flow, in ns on the
// machine of BENCHMARKS.md ("Filter cost", filter_bench), saturating at
// kCostly: a regular expression is kCostly by itself (RE2 is linear in the
// text but its constant depends on the pattern, up to the NFA's program size
// when the DFA's memory runs out).
constexpr uint32_t kCostly = 1u << 30;

uint32_t CostOf(const Node& n) {
  uint64_t c = 0;
  switch (n.kind) {
    case NodeKind::kTrue:
    case NodeKind::kFalse:
      return 0;
    case NodeKind::kAnd:
    case NodeKind::kOr:
    case NodeKind::kNone:
      c = 1;
      for (const auto& child : n.children) {
        c += CostOf(*child);
        if (c >= kCostly) return kCostly;
      }
      return static_cast<uint32_t>(c);
    case NodeKind::kIntCmp:
    case NodeKind::kIpEq:
    case NodeKind::kMacEq:
    case NodeKind::kHexEq:
    case NodeKind::kNull:
      return 8;
    case NodeKind::kStrEq:
      return 40;  // the key is formatted as text first
    case NodeKind::kRegex:
      return kCostly;
  }
  return kCostly;
}

// Filters estimated above this are evaluated by the requester, not in the
// shards (FlowPredicate::costly): about 0.5 us a flow, beside the ~0.3 us
// of its snapshot; a busy worker's slice of query work is 1 us a loop.
constexpr uint32_t kShardCostMax = 512;

// Whether a condition under `n` reads `id` (filters nest at most 64 deep).
bool ReadsField(const Node& n, FieldId id) {
  switch (n.kind) {
    case NodeKind::kTrue:
    case NodeKind::kFalse:
      return false;
    case NodeKind::kAnd:
    case NodeKind::kOr:
    case NodeKind::kNone:
      return std::any_of(n.children.begin(), n.children.end(),
                         [id](const std::unique_ptr<Node>& c) { return ReadsField(*c, id); });
    default:
      return n.field == id;
  }
}

}  // namespace

CompiledFilter::CompiledFilter(std::unique_ptr<Node> root, FilterContext ctx)
    : root_(std::move(root)), ctx_(std::move(ctx)) {
  costly_ = CostOf(*root_) > kShardCostMax;
  reads_enhanced_fields_ = ReadsField(*root_, FieldId::kCommunityId);
  std::optional<std::vector<uint64_t>> hint = UuidHint(*root_);
  // An empty hint would read "any": a filter no UUID can match keeps none,
  // and Matches() says no to every flow anyway.
  if (hint && !hint->empty()) uuid_hint_ = std::move(*hint);
}

CompiledFilter::~CompiledFilter() = default;

absl::StatusOr<std::shared_ptr<const CompiledFilter>> CompiledFilter::Compile(
    absl::string_view expression, const v1::Filter* filter, FilterContext ctx) {
  std::vector<std::unique_ptr<Node>> parts;
  absl::StatusOr<v1::Filter> parsed = ParseFilterExpression(expression);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("filter expression: ", parsed.status().message()));
  }
  // The structured filter is checked before anything walks it recursively.
  if (filter != nullptr) {
    if (absl::Status s = CheckFilterLimits(*filter); !s.ok()) return s;
  }
  const v1::Filter* inputs[] = {&*parsed, filter};
  for (const v1::Filter* f : inputs) {
    if (f == nullptr || f->Kind_case() == v1::Filter::KIND_NOT_SET) continue;
    absl::StatusOr<std::unique_ptr<Node>> n = Build(*f);
    if (!n.ok()) return n.status();
    parts.push_back(*std::move(n));
  }
  std::unique_ptr<Node> root;
  if (parts.empty()) {
    root = std::make_unique<Node>();  // kTrue
  } else if (parts.size() == 1) {
    root = std::move(parts[0]);
  } else {
    root = std::make_unique<Node>();
    root->kind = NodeKind::kAnd;
    root->children = std::move(parts);
  }
  return std::shared_ptr<const CompiledFilter>(new CompiledFilter(std::move(root), std::move(ctx)));
}

bool CompiledFilter::Matches(const FlowSnapshot& s) const {
  const CapturePoints* points = ctx_.points.get();
  const std::string_view node_tid = RecordNodeTid(s, ctx_.node_tid, points);
  const std::string_view capture_id = RecordCaptureId(s, ctx_.capture_id, points);
  return Eval(*root_, FlowView{&s, absl::string_view(node_tid.data(), node_tid.size()),
                               absl::string_view(capture_id.data(), capture_id.size())});
}

bool CompiledFilter::MatchesView(const FlowView& v) const { return Eval(*root_, v); }

bool CompiledFilter::MatchesAll() const { return root_->kind == NodeKind::kTrue; }

}  // namespace skyprobe::query
