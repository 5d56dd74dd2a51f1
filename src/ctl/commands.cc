// commands.cc: flows (one QueryStream per probe, then Skydive's merge: sort,
// dedup on the fly), watch, pcap, stats and flush.

#include "ctl/commands.h"

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "ctl/capture_merge.h"
#include "ctl/client.h"
#include "ctl/flow_columns.h"
#include "ctl/flow_from_proto.h"
#include "ctl/group_view.h"
#include "ctl/stats_view.h"
#include "ctl/text_table.h"
#include "ctl/top.h"
#include "export/json_lines.h"
#include "query/result_set.h"
#include "record/flow_format.h"
#include "skyprobe/v1/probe_service.grpc.pb.h"

namespace skyprobe::ctl {
namespace {

namespace v1 = ::skyprobe::v1;
using query::FlowRow;

void PrintJson(const FlowRow& r, std::FILE* out) {
  std::string line;
  AppendFlowJson(r.snap, JsonContext{r.node_tid, r.capture_id}, &line);
  std::fwrite(line.data(), 1, line.size(), out);
}

// One probe's whole answer as JSON lines rendered by the probe, to `out`.
absl::Status StreamJsonLines(const Client& client, const CtlOptions& o, const std::string& probe,
                             std::FILE* out) {
  auto stub = client.Stub(probe);
  v1::FlowQuery q = MakeQuery(o);
  q.set_format(v1::JSON_LINES);
  grpc::ClientContext ctx;
  client.Prepare(&ctx, false);
  auto reader = stub->QueryStream(&ctx, q);
  v1::FlowSet set;
  while (reader->Read(&set)) {
    std::fwrite(set.jsonlines().data(), 1, set.jsonlines().size(), out);
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return FromGrpc(o, probe, s);
  return absl::OkStatus();
}

absl::Status Flows(const CtlOptions& o, const Client& client, std::FILE* out) {
  if (!o.group_by.empty()) return GroupFlows(o, client, out);
  absl::StatusOr<query::SortSpec> spec = query::MakeSortSpec(o.sort_by, o.sort_order, o.dedup_by);
  if (!spec.ok()) return spec.status();
  if (o.probes.size() == 1 && o.format == "json" && o.columns.empty()) {
    // The probe's order is the answer's, and its JSON lines are ours: print
    // them as the stream arrives, as the probe rendered them.
    return StreamJsonLines(client, o, o.probes[0], out);
  }
  std::vector<FlowColumn> columns;
  if (!o.columns.empty()) {
    absl::StatusOr<std::vector<FlowColumn>> c = ParseColumns(o.columns);
    if (!c.ok()) return c.status();
    columns = *std::move(c);
  }
  // Each probe's answer is sorted and deduplicated by its probe; the merge
  // keeps the order and deduplicates across probes, as Skydive's analyzer
  // merges. A probe's first `limit` flows are enough even with dedup: each of
  // its flows the merge drops is a value already printed, so a flow of the
  // merged first `limit` is never past its probe's `limit`-th.
  std::vector<std::vector<FlowRow>> answers(o.probes.size());
  for (size_t i = 0; i < o.probes.size(); ++i) {
    absl::Status s = StreamFlows(client, o, o.probes[i],
                                 [&](FlowRow&& r) { answers[i].push_back(std::move(r)); });
    if (!s.ok()) return s;
  }
  const std::vector<FlowRow> rows = query::MergeSorted(*spec, std::move(answers), o.limit);
  std::string text;
  if (o.format == "json") {
    if (columns.empty()) {
      for (const FlowRow& r : rows) PrintJson(r, out);
      return absl::OkStatus();
    }
    text = FlowsJsonColumns(columns, rows);
  } else if (o.format == "csv") {
    text = FlowsCsv(columns.empty() ? DefaultCsvColumns() : columns, rows);
  } else {
    if (columns.empty()) columns = DefaultTableColumns(o.probes.size() > 1);
    const size_t width = o.width >= 0 ? static_cast<size_t>(o.width) : TerminalWidth(fileno(out));
    text = FlowsTable(columns, rows, width);
  }
  std::fwrite(text.data(), 1, text.size(), out);
  return absl::OkStatus();
}

absl::Status Watch(const CtlOptions& o, const Client& client, std::FILE* out) {
  std::mutex mu;
  uint64_t printed = 0;
  absl::Status first_error;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  for (size_t i = 0; i < o.probes.size(); ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    client.Prepare(contexts.back().get(), false);
  }
  auto cancel_all = [&] {
    for (auto& c : contexts) c->TryCancel();
  };
  std::vector<std::thread> readers;
  for (size_t i = 0; i < o.probes.size(); ++i) {
    readers.emplace_back([&, i] {
      auto stub = client.Stub(o.probes[i]);
      v1::FlowFilter filter;
      filter.set_expression(o.filter);
      auto reader = stub->Subscribe(contexts[i].get(), filter);
      v1::Flow f;
      while (reader->Read(&f)) {
        FlowRow row;
        if (!FlowFromProto(f, &row).ok()) continue;
        std::lock_guard<std::mutex> lock(mu);
        if (o.count != 0 && printed >= o.count) break;
        if (o.json) {
          PrintJson(row, out);
        } else {
          std::string uuid;
          AppendHex(row.snap.uuid, &uuid);
          std::fprintf(out, "%-6s %-16s %-10s %s -> %s  %lld/%lld pkts  %lld/%lld bytes\n",
                       std::string(FlowEventName(row.snap.event)).c_str(), uuid.c_str(),
                       std::string(ApplicationName(row.snap)).c_str(),
                       EndpointText(row.snap, true).c_str(), EndpointText(row.snap, false).c_str(),
                       static_cast<long long>(row.snap.metric.ab_packets),
                       static_cast<long long>(row.snap.metric.ba_packets),
                       static_cast<long long>(row.snap.metric.ab_bytes),
                       static_cast<long long>(row.snap.metric.ba_bytes));
        }
        std::fflush(out);
        if (o.count != 0 && ++printed >= o.count) {
          cancel_all();
          break;
        }
      }
      grpc::Status s = reader->Finish();
      std::lock_guard<std::mutex> lock(mu);
      const bool done = o.count != 0 && printed >= o.count;
      if (s.ok() && !done) {
        // A subscription ends with OK only when the probe stops normally.
        std::fprintf(stderr, "skyprobectl: %s: probe stopped\n", o.probes[i].c_str());
      }
      if (!s.ok() && !done && first_error.ok()) {
        first_error = FromGrpc(o, o.probes[i], s);
        cancel_all();  // one probe failing ends the watch: say so rather than go quiet
      }
    });
  }
  for (std::thread& t : readers) t.join();
  return first_error;
}

// What the probes said about an export (ExportPcap's first chunk).
struct CaptureCounts {
  uint64_t flows = 0;
  uint64_t expired_flows = 0;
  uint64_t packets = 0;
};

// One probe's ExportPcap answer, whole.
absl::Status FetchCapture(const Client& client, const CtlOptions& o, const std::string& probe,
                          std::string* file, CaptureCounts* counts) {
  v1::FlowQuery q = MakeQuery(o);
  if (!o.uuid.empty()) {
    const std::string term = absl::StrCat("UUID = '", o.uuid, "'");
    q.set_expression(o.filter.empty() ? term : absl::StrCat("(", o.filter, ") and ", term));
  }
  auto stub = client.Stub(probe);
  grpc::ClientContext ctx;
  client.Prepare(&ctx, false);
  auto reader = stub->ExportPcap(&ctx, q);
  v1::PcapChunk chunk;
  bool first = true;
  while (reader->Read(&chunk)) {
    if (first) {
      counts->flows += chunk.flows();
      counts->expired_flows += chunk.expired_flows();
      counts->packets += chunk.packets();
      first = false;
    }
    *file += chunk.data();
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return FromGrpc(o, probe, s);
  return absl::OkStatus();
}

// Why an export holds no packet, in one line.
absl::Status EmptyCapture(const CtlOptions& o, const CaptureCounts& c) {
  if (c.flows == 0) {
    return absl::NotFoundError(absl::StrCat(
        o.uuid.empty() ? "no flow matched" : absl::StrCat("no flow has UUID ", o.uuid),
        " (a flow that ended stays for the probe's --keep-expired seconds, 60 by default)"));
  }
  return absl::NotFoundError(absl::StrCat(
      c.flows, c.flows == 1 ? " flow" : " flows", " matched",
      c.expired_flows != 0 ? absl::StrCat(" (", c.expired_flows, " expired)") : "",
      " but no raw packet of them was kept: the probe keeps packets with --raw-packets N or "
      "--raw-packets-last M (an expired flow's may have gone to live flows)"));
}

absl::Status Pcap(const CtlOptions& o, const Client& client) {
  std::string file;
  CaptureCounts counts;
  if (o.probes.size() == 1) {
    absl::Status s = FetchCapture(client, o, o.probes[0], &file, &counts);
    if (!s.ok()) return s;
  } else {
    // Several probes: their packets in one file, in time order.
    std::vector<RawPacketCopy> packets;
    for (const std::string& probe : o.probes) {
      std::string one;
      absl::Status s = FetchCapture(client, o, probe, &one, &counts);
      if (s.ok()) s = ReadProbeCapture(one, &packets);
      if (!s.ok()) return absl::Status(s.code(), absl::StrCat(probe, ": ", s.message()));
    }
    file = MergedCapture(std::move(packets));
  }
  // Nothing to write is said, not an empty file with exit status 0.
  if (counts.packets == 0) return EmptyCapture(o, counts);
  // Written only once complete: a failed export leaves no truncated file.
  if (o.output == "-") {
    std::fwrite(file.data(), 1, file.size(), stdout);
    return absl::OkStatus();
  }
  std::ofstream f(o.output, std::ios::binary | std::ios::trunc);
  f.write(file.data(), static_cast<std::streamsize>(file.size()));
  if (!f) return absl::UnavailableError(absl::StrCat("-o ", o.output, ": cannot write"));
  return absl::OkStatus();
}

absl::Status Stats(const CtlOptions& o, const Client& client, std::FILE* out) {
  // Every probe read, then (for rates) every probe read again an interval later.
  const bool rates = !o.all && o.interval_sec > 0;
  std::vector<v1::StatsReply> first(o.probes.size()), second(o.probes.size());
  for (int round = 0; round < (rates ? 2 : 1); ++round) {
    if (round == 1) std::this_thread::sleep_for(std::chrono::duration<double>(o.interval_sec));
    for (size_t i = 0; i < o.probes.size(); ++i) {
      grpc::ClientContext ctx;
      client.Prepare(&ctx, true);
      v1::StatsReply* reply = round == 0 ? &first[i] : &second[i];
      grpc::Status s = client.Stub(o.probes[i])->Stats(&ctx, v1::StatsRequest(), reply);
      if (!s.ok()) return FromGrpc(o, o.probes[i], s);
    }
  }
  for (size_t i = 0; i < o.probes.size(); ++i) {
    const std::string& probe = o.probes[i];
    if (o.all) {
      for (const v1::StatsEntry& e : first[i].entries()) {
        if (o.probes.size() > 1) std::fprintf(out, "%s ", probe.c_str());
        std::fprintf(out, "%s %s %llu\n", e.scope().c_str(), e.name().c_str(),
                     static_cast<unsigned long long>(e.value()));
      }
      continue;
    }
    const StatsView v = rates ? MakeStatsView(probe, &first[i], second[i])
                              : MakeStatsView(probe, nullptr, first[i]);
    const std::string text = o.json ? StatsJson(v) : StatsTable(v);
    std::fputs(text.c_str(), out);
  }
  return absl::OkStatus();
}

absl::Status Flush(const CtlOptions& o, const Client& client) {
  for (const std::string& probe : o.probes) {
    grpc::ClientContext ctx;
    client.Prepare(&ctx, true);
    v1::FlushReply reply;
    grpc::Status s = client.Stub(probe)->Flush(&ctx, v1::FlushRequest(), &reply);
    if (!s.ok()) return FromGrpc(o, probe, s);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunCommand(const CtlOptions& o, std::FILE* out) {
  absl::StatusOr<Client> client = Client::Make(o);
  if (!client.ok()) return client.status();
  if (o.command == "flows") return Flows(o, *client, out);
  if (o.command == "watch") return Watch(o, *client, out);
  if (o.command == "pcap") return Pcap(o, *client);
  if (o.command == "stats") return Stats(o, *client, out);
  if (o.command == "flush") return Flush(o, *client);
  if (o.command == "top") return RunTop(o, *client, out);
  return absl::InvalidArgumentError(absl::StrCat("unknown command ", o.command));
}

}  // namespace skyprobe::ctl
