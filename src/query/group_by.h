// group_by.h: Aggregate's grouping (probe_service.proto, AggregateRequest):
// the group-by keys compiled into a FlowGrouper the workers run, the groups
// decoded into values, and their order (sort, limit) and merge across
// workers and probes (skyprobectl --group-by with several --probe).
//
// Owner: GroupBy is immutable once compiled and shared with RX lcores (Key()
// runs there between bursts, like a CompiledFilter). The rest are pure
// functions on the caller's thread (a gRPC thread, skyprobectl).
//
//   SKYPROBE_ASSIGN_OR_RETURN(auto g, GroupBy::Compile({"Network.A"}, {.node_tid = "p1"}));
//   SKYPROBE_ASSIGN_OR_RETURN(GroupOrder order, MakeGroupOrder("Bytes", v1::DESCENDING, *g));
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "query/flow_fields.h"
#include "record/capture_points.h"
#include "record/flow_groups.h"
#include "skyprobe/v1/probe_service.pb.h"

namespace skyprobe::query {

// Keys one request may group by, and groups one answer may hold (per worker
// and in all: more is RESOURCE_EXHAUSTED; a limit above it INVALID_ARGUMENT).
inline constexpr size_t kMaxGroupKeys = 8;
inline constexpr uint32_t kMaxGroups = 10000;

// One value of a group's key.
struct GroupValue {
  bool present = false;
  bool is_int = false;
  int64_t i = 0;
  std::string s;

  bool operator==(const GroupValue& o) const {
    return present == o.present && is_int == o.is_int && i == o.i && s == o.s;
  }
};

struct GroupRow {
  std::vector<GroupValue> key;
  GroupSums sums;
};

class GroupBy final : public FlowGrouper {
 public:
  struct Context {
    std::string node_tid;                         // the probe's --node-tid
    std::shared_ptr<const CapturePoints> points;  // may be null
  };
  // INVALID_ARGUMENT naming the problem: no key, more than kMaxGroupKeys,
  // an unknown key, a key given twice, a counter or a time.
  static absl::StatusOr<std::shared_ptr<const GroupBy>> Compile(
      const std::vector<std::string>& keys, Context ctx);

  bool Key(const FlowSnapshot& s, GroupKey* key) const override;
  // The values an encoded key holds (from Key()).
  std::vector<GroupValue> Values(std::string_view key) const;
  const std::vector<const FieldInfo*>& fields() const { return fields_; }

 private:
  std::vector<const FieldInfo*> fields_;
  Context ctx_;
};

// The checks of Compile without a context (skyprobectl checks --group-by
// before any call): the canonical keys, or INVALID_ARGUMENT.
absl::StatusOr<std::vector<const FieldInfo*>> GroupFields(const std::vector<std::string>& keys);

struct GroupOrder {
  int key = -1;  // index into the group-by keys; -1: `counter`
  enum class Counter : uint8_t {
    kFlows,
    kPackets,
    kBytes,
    kAbPackets,
    kAbBytes,
    kBaPackets,
    kBaBytes,
    kStart,
    kLast
  } counter = Counter::kBytes;
  bool descending = true;
};
// "Bytes", "Flows", "ABPackets", ... (Metric. prefix allowed) or one of
// `fields`; INVALID_ARGUMENT otherwise. See AggregateRequest.sort_order.
absl::StatusOr<GroupOrder> MakeGroupOrder(std::string_view sort_by, skyprobe::v1::SortOrder order,
                                          const std::vector<const FieldInfo*>& fields);

// Sorts by `order`, ties by the key values ascending (absent last).
void SortGroups(const GroupOrder& order, std::vector<GroupRow>* rows);

// Adds `more` into `into`, a group's sums joining those of an equal key.
void MergeGroups(std::vector<GroupRow> more, std::vector<GroupRow>* into);

// The protobuf forms.
void GroupToProto(const GroupRow& row, skyprobe::v1::FlowGroup* out);
GroupRow GroupFromProto(const skyprobe::v1::FlowGroup& g);

// A value as text ("" when absent): tables and CSV.
std::string GroupValueText(const GroupValue& v);

}  // namespace skyprobe::query
