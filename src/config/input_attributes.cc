// input_attributes.cc: the inputs' own attributes (capture points): "NAME,key=value,..." as
// given to --pcap, --iface, --port and --sflow-listen, the same keys in a YAML list entry,
// and the resolution of a capture point against the probe-wide flags.

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "config/config.h"
#include "config/config_internal.h"
#include "skyprobe/status.h"

namespace skyprobe {
namespace config_internal {
namespace {

constexpr absl::string_view kNodeTid = "node-tid";
constexpr absl::string_view kCaptureId = "capture-id";
constexpr absl::string_view kBpf = "bpf";
// Longest capture ID given by hand: it names a Stats scope and a metrics label.
constexpr size_t kCaptureIdMax = 128;

// The attribute keys an input of `field` takes.
std::vector<absl::string_view> KeysOf(Field field) {
  if (field == Field::kSflowListen) return {kCaptureId};
  return {kNodeTid, kCaptureId, kBpf};
}

absl::Status UnknownKey(Field field, absl::string_view key) {
  if (field == Field::kSflowListen) {
    // Each agent has its own table and its address as NodeTID; the samples
    // are not frames a BPF program could read.
    return absl::InvalidArgumentError(absl::StrCat(
        "attribute '", key,
        "': an sFlow listener takes capture-id= only (each agent's flows carry its address as "
        "NodeTID; a filter does not apply to samples)"));
  }
  const std::vector<absl::string_view> keys = KeysOf(field);
  std::string msg = absl::StrCat("unknown attribute '", key, "'");
  const std::string match = ClosestMatch(key, keys);
  if (!match.empty()) absl::StrAppend(&msg, " (did you mean ", match, "?)");
  absl::StrAppend(&msg, "; an input takes ", absl::StrJoin(keys, ", "));
  return absl::InvalidArgumentError(msg);
}

}  // namespace

absl::Status SetInputAttribute(Field field, absl::string_view key, absl::string_view value,
                               InputAttributes* attrs) {
  // YAML spells keys with '_', flags with '-': both are taken everywhere.
  const std::string k = absl::StrReplaceAll(absl::AsciiStrToLower(key), {{"_", "-"}});
  bool known = false;
  for (absl::string_view allowed : KeysOf(field)) known |= allowed == k;
  if (!known) return UnknownKey(field, key);
  std::optional<std::string>* slot = k == kNodeTid     ? &attrs->node_tid
                                     : k == kCaptureId ? &attrs->capture_id
                                                       : &attrs->bpf;
  if (slot->has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("attribute ", k, " given twice"));
  }
  const absl::string_view v = k == kBpf ? absl::StripAsciiWhitespace(value) : value;
  if (v.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(k, ": empty value", k == kBpf ? " (leave bpf= out to take --bpf)" : ""));
  }
  if (k == kCaptureId) {
    if (v.size() > kCaptureIdMax) {
      return absl::InvalidArgumentError(
          absl::StrCat(k, ": '", v, "' is longer than ", kCaptureIdMax, " bytes"));
    }
    for (const char c : v) {
      if (c < '!' || c > '~') {
        return absl::InvalidArgumentError(
            absl::StrCat(k, ": '", v, "' holds a space or a non-printable byte (printable ASCII",
                         " only: it names Stats scopes and summary lines)"));
      }
    }
  }
  *slot = std::string(v);
  return absl::OkStatus();
}

absl::Status ParseInputSpec(Field field, absl::string_view value, std::string* name,
                            InputAttributes* attrs) {
  size_t comma = value.find(',');
  *name = std::string(value.substr(0, comma));
  while (comma != absl::string_view::npos) {
    absl::string_view rest = value.substr(comma + 1);
    const size_t eq = rest.find('=');
    const size_t next = rest.find(',');
    if (eq == absl::string_view::npos || (next != absl::string_view::npos && next < eq)) {
      const absl::string_view item = rest.substr(0, next);
      return absl::InvalidArgumentError(absl::StrCat(
          "'", item, "' after '", *name, "' is not KEY=VALUE (",
          field == Field::kSflowListen ? "capture-id=ID" : "node-tid=ID, capture-id=ID, bpf=EXPR",
          "); a comma starts the input's attributes, so a name cannot hold one"));
    }
    const absl::string_view key = absl::StripAsciiWhitespace(rest.substr(0, eq));
    // A filter expression may hold commas: bpf= takes the rest of the value.
    const bool is_bpf = absl::EqualsIgnoreCase(key, kBpf);
    const absl::string_view v =
        is_bpf ? rest.substr(eq + 1)
               : rest.substr(eq + 1, next == absl::string_view::npos ? absl::string_view::npos
                                                                     : next - eq - 1);
    SKYPROBE_RETURN_IF_ERROR(Annotate(SetInputAttribute(field, key, v, attrs), *name));
    if (is_bpf) break;
    comma = next == absl::string_view::npos ? next : comma + 1 + next;
  }
  return absl::OkStatus();
}

}  // namespace config_internal

const InputAttributes& InputAttributesAt(const std::vector<InputAttributes>& list, size_t i) {
  static const InputAttributes kNone;
  return i < list.size() ? list[i] : kNone;
}

std::string CaptureIdFromName(const std::string& name) {
  std::string id = name;
  for (char& c : id) {
    if (c < '!' || c > '~') c = '_';
  }
  return id.empty() ? "_" : id;
}

std::vector<std::vector<size_t>> PcapPortFiles(const Config& cfg) {
  std::vector<std::vector<size_t>> ports;
  std::vector<std::optional<std::string>> ids;  // the capture ID of each port
  for (size_t i = 0; i < cfg.pcap_files.size(); ++i) {
    const std::optional<std::string>& id = InputAttributesAt(cfg.pcap_attrs, i).capture_id;
    size_t p = ports.size();
    if (cfg.pcap_queues) {
      for (size_t k = 0; k < ids.size(); ++k) {
        if (ids[k] == id) p = k;
      }
    }
    if (p == ports.size()) {
      ports.emplace_back();
      ids.push_back(id);
    }
    ports[p].push_back(i);
  }
  return ports;
}

CapturePointSpec ResolveCapturePoint(const Config& cfg, const std::string& name,
                                     const InputAttributes& a) {
  CapturePointSpec p;
  p.name = name;
  p.node_tid = a.node_tid.value_or(cfg.node_tid);
  p.capture_id_given = a.capture_id.has_value();
  p.capture_id = a.capture_id ? *a.capture_id : CaptureIdFromName(name);
  p.bpf = a.bpf.value_or(cfg.bpf_filter);
  return p;
}

void UniqueCaptureIds(std::vector<CapturePointSpec>* points) {
  std::set<std::string> taken;
  for (const CapturePointSpec& p : *points) {
    if (p.capture_id_given) taken.insert(p.capture_id);
  }
  for (CapturePointSpec& p : *points) {
    if (p.capture_id_given) continue;
    std::string id = p.capture_id;
    for (int k = 2; taken.count(id) != 0; ++k) id = absl::StrCat(p.capture_id, "#", k);
    p.capture_id = id;
    taken.insert(id);
  }
}

}  // namespace skyprobe
