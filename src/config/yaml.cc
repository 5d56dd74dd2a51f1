// yaml.cc: the --config file. Walks the document against the list of known keys so a
// misspelt key is an error ("flow.expirre: unknown key"), never silently ignored.

#include <yaml-cpp/yaml.h>

#include <exception>
#include <optional>
#include <string>

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "config/config.h"
#include "config/config_internal.h"
#include "skyprobe/status.h"

namespace skyprobe {
namespace config_internal {
namespace {

class YamlWalker {
 public:
  YamlWalker(const std::string& source, Config* cfg, FieldLabels* labels)
      : source_(source), cfg_(cfg), labels_(labels) {}

  absl::Status WalkMap(const YAML::Node& node, const std::string& prefix) {
    if (!node.IsMap()) {
      return Error(prefix.empty() ? "document" : prefix, "expected a mapping of keys");
    }
    for (const auto& item : node) {
      if (!item.first.IsScalar()) return Error(prefix, "keys must be plain words");
      const std::string key = item.first.Scalar();
      const std::string path = prefix.empty() ? key : absl::StrCat(prefix, ".", key);
      if (const std::optional<Field> field = FindLeaf(path)) {
        SKYPROBE_RETURN_IF_ERROR(SetLeaf(*field, path, item.second));
      } else if (IsSection(path)) {
        SKYPROBE_RETURN_IF_ERROR(WalkMap(item.second, path));
      } else {
        std::string msg = "unknown key";
        const std::string match = ClosestMatch(key, ChildrenOf(prefix));
        if (!match.empty()) absl::StrAppend(&msg, " (did you mean ", match, "?)");
        return Error(path, msg);
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error(absl::string_view path, absl::string_view msg) const {
    return absl::InvalidArgumentError(absl::StrCat(source_, ": ", path, ": ", msg));
  }

  static std::optional<Field> FindLeaf(absl::string_view path) {
    for (size_t i = 0; i < kFieldCount; ++i) {
      if (FieldYamlKey(static_cast<Field>(i)) == path) return static_cast<Field>(i);
    }
    return std::nullopt;
  }

  static bool IsSection(absl::string_view path) {
    const std::string dotted = absl::StrCat(path, ".");
    for (size_t i = 0; i < kFieldCount; ++i) {
      if (absl::StartsWith(FieldYamlKey(static_cast<Field>(i)), dotted)) return true;
    }
    return false;
  }

  // The key names directly below `prefix`, for "did you mean" suggestions.
  static std::vector<absl::string_view> ChildrenOf(absl::string_view prefix) {
    std::vector<absl::string_view> out;
    for (size_t i = 0; i < kFieldCount; ++i) {
      absl::string_view key = FieldYamlKey(static_cast<Field>(i));
      if (!prefix.empty()) {
        if (!absl::ConsumePrefix(&key, prefix) || !absl::ConsumePrefix(&key, ".")) continue;
      }
      out.push_back(key.substr(0, key.find('.')));
    }
    return out;
  }

  absl::Status SetLeaf(Field field, const std::string& path, const YAML::Node& value) {
    const std::string label = absl::StrCat(source_, ": ", path);
    (*labels_)[static_cast<size_t>(field)] = label;
    if (value.IsNull()) return Error(path, "has no value");
    // A list of files or interfaces, or a list of EAL words, may be written as a YAML sequence.
    const bool is_list = field == Field::kPcap || field == Field::kIface ||
                         field == Field::kSflowListen || field == Field::kKafkaOption ||
                         field == Field::kIpfix || field == Field::kPort;
    const bool is_input = is_list && field != Field::kKafkaOption && field != Field::kIpfix;
    // librdkafka properties may also be a mapping ("compression.type: lz4").
    if (value.IsMap() && field == Field::kKafkaOption) {
      ClearList(field, cfg_);
      for (const auto& item : value) {
        if (!item.first.IsScalar() || !item.second.IsScalar()) {
          return Error(path, "expected KEY: VALUE pairs of plain values");
        }
        SKYPROBE_RETURN_IF_ERROR(Annotate(
            SetField(field, absl::StrCat(item.first.Scalar(), "=", item.second.Scalar()), cfg_),
            label));
      }
      return absl::OkStatus();
    }
    // The sFlow allow-list and the extra layers: a sequence, or one
    // comma-separated string.
    if (value.IsSequence() && (field == Field::kSflowAgents || field == Field::kExtraLayers)) {
      std::vector<std::string> items;
      for (const YAML::Node& item : value) {
        if (!item.IsScalar()) return Error(path, "expected a list of plain values");
        items.push_back(item.Scalar());
      }
      return Annotate(SetField(field, absl::StrJoin(items, ","), cfg_), label);
    }
    // An input list: each entry a string ("a.pcap,capture-id=tap-1") or a mapping of its
    // name and attributes ({file: a.pcap, capture_id: tap-1}).
    if (value.IsSequence() && is_input) {
      ClearList(field, cfg_);
      size_t n = 0;
      for (const YAML::Node& item : value) {
        ++n;
        if (item.IsMap()) {
          SKYPROBE_RETURN_IF_ERROR(AddInputMap(field, absl::StrCat(path, "[", n, "]"), item));
        } else if (item.IsScalar()) {
          SKYPROBE_RETURN_IF_ERROR(Annotate(SetField(field, item.Scalar(), cfg_), label));
        } else {
          return Error(path, "expected a list of names or of mappings");
        }
      }
      return absl::OkStatus();
    }
    if (value.IsMap() && is_input) {
      ClearList(field, cfg_);
      return AddInputMap(field, path, value);
    }
    if (value.IsSequence() && (is_list || field == Field::kEal)) {
      std::vector<std::string> items;
      for (const YAML::Node& item : value) {
        if (!item.IsScalar()) return Error(path, "expected a list of plain values");
        items.push_back(item.Scalar());
      }
      if (field == Field::kEal)
        return Annotate(SetField(field, absl::StrJoin(items, " "), cfg_), label);
      ClearList(field, cfg_);
      for (const std::string& item : items) {
        SKYPROBE_RETURN_IF_ERROR(Annotate(SetField(field, item, cfg_), label));
      }
      return absl::OkStatus();
    }
    if (!value.IsScalar()) return Error(path, "expected a single value");
    if (is_list) ClearList(field, cfg_);
    return Annotate(SetField(field, value.Scalar(), cfg_), label);
  }

  // One input written as a mapping: its name under `file` (pcap), `name` (iface), `device`
  // (port) or `address` (sFlow), its attributes under their own keys (node_tid, ...).
  absl::Status AddInputMap(Field field, const std::string& where, const YAML::Node& map) {
    const char* name_key = field == Field::kPcap          ? "file"
                           : field == Field::kIface       ? "name"
                           : field == Field::kSflowListen ? "address"
                                                          : "device";
    std::optional<std::string> name;
    InputAttributes attrs;
    for (const auto& kv : map) {
      if (!kv.first.IsScalar() || !kv.second.IsScalar()) {
        return Error(where, "expected KEY: VALUE pairs of plain values");
      }
      const std::string key = kv.first.Scalar();
      if (key == name_key) {
        name = kv.second.Scalar();
        continue;
      }
      absl::Status s = SetInputAttribute(field, key, kv.second.Scalar(), &attrs);
      if (!s.ok()) {
        if (absl::StrContains(s.message(), "unknown attribute")) {
          return Error(where, absl::StrCat(s.message(), " (and ", name_key, ": the input)"));
        }
        return Error(where, s.message());
      }
    }
    if (!name) return Error(where, absl::StrCat("no ", name_key, ": key (the input itself)"));
    return Annotate(AddInput(field, *name, std::move(attrs), cfg_),
                    absl::StrCat(source_, ": ", where));
  }

  const std::string& source_;
  Config* cfg_;
  FieldLabels* labels_;
};

}  // namespace

absl::Status ApplyYaml(const std::string& yaml_text, const std::string& source_name, Config* cfg,
                       FieldLabels* labels) {
  // yaml-cpp reports errors by exception; none may leave this function.
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    if (root.IsNull()) return absl::OkStatus();  // an empty file sets nothing
    return YamlWalker(source_name, cfg, labels).WalkMap(root, "");
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) {
      return absl::InvalidArgumentError(absl::StrCat(source_name, ": ", e.msg));
    }
    return absl::InvalidArgumentError(absl::StrCat(source_name, ":", e.mark.line + 1, ": ", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ": ", e.what()));
  }
}

}  // namespace config_internal

absl::StatusOr<Config> ParseYamlConfig(const std::string& yaml_text, Config base,
                                       const std::string& source_name) {
  config_internal::FieldLabels labels = config_internal::DefaultLabels();
  SKYPROBE_RETURN_IF_ERROR(config_internal::ApplyYaml(yaml_text, source_name, &base, &labels));
  SKYPROBE_RETURN_IF_ERROR(config_internal::FinishConfig(labels, &base));
  return base;
}

absl::StatusOr<Config> ParseYamlConfig(const std::string& yaml_text, Config base) {
  return ParseYamlConfig(yaml_text, std::move(base), "config");
}

}  // namespace skyprobe
