#include "app/summary.h"

#include <string_view>

#include "absl/strings/match.h"

namespace skyprobe {

uint64_t Summary::Get(const std::string& name) const {
  for (const auto& [n, v] : values) {
    if (n == name) return v;
  }
  return 0;
}

void PrintSummary(const Summary& s, std::FILE* out) {
  std::fprintf(out, "skyprobe: summary\n");
  for (const auto& [n, v] : s.values) {
    std::fprintf(out, "  %s %llu\n", n.c_str(), static_cast<unsigned long long>(v));
  }
  std::fflush(out);
}

void PrintStatsLine(const Summary& s, std::FILE* out) {
  std::fprintf(out, "skyprobe: stats");
  for (const char* n : {"packets_in", "packets_in_flows", "drops", "flows_live", "flows_created",
                        "flows_expired", "records_out", "ring_stalls", "port_imissed",
                        "loop_gap_p99_ns", "loop_gap_p999_ns", "loop_gap_max_ns"}) {
    std::fprintf(out, " %s=%llu", n, static_cast<unsigned long long>(s.Get(n)));
  }
  // Frames held for defragmentation are in no flow yet: they close the
  // balance packets_in = packets_in_flows + filtered + drops while running.
  // Outputs' write failures, when there are outputs, and what each IPFIX
  // destination delivered.
  for (const auto& [n, v] : s.values) {
    const bool ipfix = n.rfind("output.ipfix:", 0) == 0 &&
                       (absl::EndsWith(n, ".delivered") || absl::EndsWith(n, ".records_lost") ||
                        absl::EndsWith(n, ".reconnects"));
    if (n == "defrag_held" || n == "output_errors" || n == "records_lost" || ipfix)
      std::fprintf(out, " %s=%llu", n.c_str(), static_cast<unsigned long long>(v));
  }
  // Each capture point's traffic and flows ("capture.ID.packets_in=..").
  for (const auto& [n, v] : s.values) {
    if (n.rfind("capture.", 0) != 0) continue;
    const std::string_view name = std::string_view(n).substr(n.rfind('.') + 1);
    if (name == "packets_in" || name == "packets_in_flows" || name == "filtered" ||
        name == "flows_live") {
      std::fprintf(out, " %s=%llu", n.c_str(), static_cast<unsigned long long>(v));
    }
  }
  std::fprintf(out, "\n");
  std::fflush(out);
}

}  // namespace skyprobe
