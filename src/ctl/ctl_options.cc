// ctl_options.cc: a small hand-written parser (same conventions as the
// probe's flags: --flag VALUE or --flag=VALUE, one-line errors).

#include "ctl/ctl_options.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ctl/flow_columns.h"
#include "query/filter_expr.h"
#include "query/flow_fields.h"
#include "query/group_by.h"

namespace v1 = ::skyprobe::v1;

namespace skyprobe::ctl {

absl::StatusOr<std::string> ProbeAddress(const std::string& arg) {
  const std::string port = absl::StrCat(kDefaultProbePort);
  const auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("--probe: '", arg, "' is not HOST, HOST:PORT, [IPV6] or [IPV6]:PORT"));
  };
  if (arg.empty()) return bad();
  // gRPC's own target forms (unix:/path, dns:///host:port, ipv4:...) as given.
  if (arg.find("://") != std::string::npos || absl::StartsWith(arg, "unix:")) return arg;
  std::string host, given_port;
  if (arg[0] == '[') {
    const size_t close = arg.find(']');
    if (close == std::string::npos || close == 1) return bad();
    host = arg.substr(0, close + 1);
    if (close + 1 < arg.size()) {
      if (arg[close + 1] != ':') return bad();
      given_port = arg.substr(close + 2);
      if (given_port.empty()) return bad();
    }
  } else if (std::count(arg.begin(), arg.end(), ':') > 1) {
    host = absl::StrCat("[", arg, "]");  // a bare IPv6 address: no port in it
  } else if (const size_t colon = arg.find(':'); colon != std::string::npos) {
    host = arg.substr(0, colon);
    given_port = arg.substr(colon + 1);
    if (host.empty() || given_port.empty()) return bad();
  } else {
    host = arg;
  }
  if (!given_port.empty()) {
    uint32_t p = 0;
    if (!absl::SimpleAtoi(given_port, &p) || p == 0 || p > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("--probe: '", given_port, "' in '", arg, "' is not a port (1..65535)"));
    }
  }
  return absl::StrCat(host, ":", given_port.empty() ? port : given_port);
}

std::string CtlUsage() {
  return R"usage(usage: skyprobectl COMMAND [--probe HOST[:PORT]]... [options]

Commands:
  flows    live flows of every probe, merged (table; --format csv|json)
  top      the busiest flows now, full screen, redrawn every --interval (sorted by bit rate;
           keys: b bit rate, p packet rate, t total bytes, space pause, q quit); not on a
           terminal, one plain snapshot (rates over --interval)
  watch    live UPDATE/EXPIRE records as they happen, until interrupted
  pcap     raw packets of the matching flows as one capture file (-o FILE); with
           several --probe, every probe's packets merged in time order
  stats    the probes' health: traffic and its rates, drops by reason, outputs
           (two readings --interval apart; --json for machines, --all for every
           counter as "scope name value" lines)
  flush    expire every live flow now

Options:
  --probe HOST[:PORT]   a probe to ask (repeatable; port 50051 unless given;
                        default 127.0.0.1:50051); [IPV6]:PORT for IPv6
  --filter EXPR         e.g. "Network.A = '10.0.0.1' and not Transport.B in (22, 443)"
                        (operators = != < <= > >= =~ in, is [not] null, and or not, parentheses)
  --sort KEY[:asc|desc] order by any key (default: by UUID); ties by UUID
  --group-by KEYS       flows: count the flows by the values of these keys (comma-separated,
                        up to 8: Network.A, Network.B, Transport.A, Transport.B,
                        Application, Link.ID, NodeTID, CaptureID, TrackingID, any string
                        key...): per group the flows and the sums of their counters,
                        computed by each probe's workers and added up across --probe's;
                        --sort Flows|Packets|Bytes|ABPackets|ABBytes|BAPackets|BABytes|
                        Start|Last or a group key (default Bytes, descending), --limit N
                        groups, --format; at most 10000 groups
  --dedup KEY           keep the first flow of each KEY value (e.g. TrackingID: one
                        row per conversation across capture points and probes)
  --capture ID          only the flows of this capture point (CaptureID); repeatable
  --limit N             at most N flows
  --format FMT          flows: table (default: aligned, human units: kB, Mb/s, 2m03s,
                        UTC times), csv (RFC 4180, a header line, raw numbers) or json
                        (JSON lines: the probe's own records, or with --columns one
                        object of those columns per flow, raw numbers)
  --json                the same as --format json
  --columns LIST        flows: the columns, comma-separated: any key (Network.A,
                        Metric.ABBytes, TrackingID...) or NODE, CAPTURE, APP, A, B
                        (address:port), PACKETS, BYTES (A to B/B to A), START, LAST,
                        DURATION, RATE (bits/s over the flow's life)
                        (table default: UUID APP A B PACKETS BYTES START DURATION;
                        csv default: UUID NodeTID LayersPath Application Network.A
                        Network.B Transport.A Transport.B Metric.ABPackets
                        Metric.BAPackets Metric.ABBytes Metric.BABytes Start Last)
  --width N             table: fit lines in N columns by cutting wide addresses in the
                        middle with "…" (default: the terminal's width on a terminal,
                        else no limit; 0: no limit)
  --count N             watch: stop after N records
  --interval SEC        stats: seconds between the two readings the rates come from
                        (default 1; 0: one reading, no rates); top: between refreshes
                        (default 1)
  --all                 stats: every counter, one "scope name value" line each
  -o FILE               pcap: output file ("-" for stdout)
  --uuid UUID           pcap: the flow with this UUID (with --filter: both must match)
  --token-file FILE     send "authorization: Bearer <token from FILE>"
  --tls-ca FILE         use TLS, trusting this CA for the probe's certificate
  --tls-cert FILE       client certificate for mutual TLS (with --tls-key)
  --tls-key FILE
  --tls-server-name N   name expected in the probe's certificate
  --timeout SEC         per request (default 30)

Keys are Skydive's flow keys: UUID, LayersPath, Application, TrackingID, NodeTID, ParentUUID,
Network.A, Network.B, Transport.A, Transport.B, Metric.ABBytes, TCPMetric.ABSynStart, ...
(docs/query.md lists them).
)usage";
}

absl::StatusOr<CtlOptions> ParseCtlArgs(int argc, const char* const* argv) {
  CtlOptions o;
  if (argc < 2) return absl::InvalidArgumentError("no command given; see skyprobectl help");
  o.command = argv[1];
  if (o.command == "help" || o.command == "--help" || o.command == "-h") {
    o.command = "help";
    return o;
  }
  if (o.command != "flows" && o.command != "watch" && o.command != "pcap" && o.command != "stats" &&
      o.command != "flush" && o.command != "top") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown command '", o.command, "' (flows, top, watch, pcap, stats, flush)"));
  }
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    std::string value;
    bool has_value = false;
    if (const size_t eq = flag.find('='); absl::StartsWith(flag, "--") && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_value = true;
    }
    auto take = [&]() -> absl::StatusOr<std::string> {
      if (has_value) return value;
      if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat(flag, ": missing value"));
      return std::string(argv[++i]);
    };
    auto number = [&](uint64_t* out) -> absl::Status {
      absl::StatusOr<std::string> v = take();
      if (!v.ok()) return v.status();
      if (!absl::SimpleAtoi(*v, out)) {
        return absl::InvalidArgumentError(absl::StrCat(flag, ": '", *v, "' is not a number"));
      }
      return absl::OkStatus();
    };
    absl::Status st;
    std::string* target = nullptr;
    if (flag == "--json") {
      o.json = true;
      o.format = "json";
      continue;
    }
    if (flag == "--all") {
      o.all = true;
      continue;
    }
    if (flag == "--help" || flag == "-h") {
      o.command = "help";
      return o;
    }
    if (flag == "--format") {
      absl::StatusOr<std::string> v = take();
      if (!v.ok()) return v.status();
      if (*v != "table" && *v != "json" && *v != "csv") {
        return absl::InvalidArgumentError(
            absl::StrCat("--format: '", *v, "' is not table, json or csv"));
      }
      o.format = *v;
      o.json = *v == "json";
      continue;
    }
    if (flag == "--width") {
      uint64_t w = 0;
      if (absl::Status ws = number(&w); !ws.ok()) return ws;
      o.width = static_cast<int64_t>(std::min<uint64_t>(w, 1u << 20));
      continue;
    }
    if (flag == "--limit") {
      st = number(&o.limit);
    } else if (flag == "--count") {
      st = number(&o.count);
    } else if (flag == "--timeout") {
      uint64_t t = 0;
      st = number(&t);
      o.timeout_sec = static_cast<int>(t);
    } else if (flag == "--interval") {
      absl::StatusOr<std::string> v = take();
      if (!v.ok()) return v.status();
      if (!absl::SimpleAtod(*v, &o.interval_sec) || !(o.interval_sec >= 0) ||
          o.interval_sec > 3600) {
        return absl::InvalidArgumentError(
            absl::StrCat("--interval: '", *v, "' is not a number of seconds in 0..3600"));
      }
    } else if (flag == "--probe") {
      absl::StatusOr<std::string> v = take();
      if (!v.ok()) return v.status();
      absl::StatusOr<std::string> addr = ProbeAddress(*v);
      if (!addr.ok()) return addr.status();
      o.probes.push_back(*addr);
    } else if (flag == "--sort") {
      absl::StatusOr<std::string> v = take();
      if (!v.ok()) return v.status();
      std::string key = *v;
      if (const size_t colon = key.rfind(':'); colon != std::string::npos) {
        const std::string dir = key.substr(colon + 1);
        key = key.substr(0, colon);
        if (dir == "desc") {
          o.sort_order = v1::DESCENDING;
        } else if (dir != "asc") {
          return absl::InvalidArgumentError(absl::StrCat("--sort: '", dir, "' is not asc or desc"));
        }
      }
      o.sort_by = key;
    } else if (flag == "--filter") {
      target = &o.filter;
    } else if (flag == "--group-by") {
      absl::StatusOr<std::string> v = take();
      if (!v.ok()) return v.status();
      for (absl::string_view k : absl::StrSplit(*v, ',')) {
        o.group_by.emplace_back(absl::StripAsciiWhitespace(k));
      }
    } else if (flag == "--columns") {
      target = &o.columns;
    } else if (flag == "--dedup") {
      target = &o.dedup_by;
    } else if (flag == "--capture") {
      absl::StatusOr<std::string> v = take();
      if (!v.ok()) return v.status();
      if (v->empty()) return absl::InvalidArgumentError("--capture: empty capture ID");
      o.captures.push_back(*v);
    } else if (flag == "-o" || flag == "--output") {
      target = &o.output;
    } else if (flag == "--uuid") {
      target = &o.uuid;
    } else if (flag == "--token-file") {
      target = &o.token_file;
    } else if (flag == "--tls-ca") {
      target = &o.tls_ca;
    } else if (flag == "--tls-cert") {
      target = &o.tls_cert;
    } else if (flag == "--tls-key") {
      target = &o.tls_key;
    } else if (flag == "--tls-server-name") {
      target = &o.tls_server_name;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown option ", flag, "; see skyprobectl help"));
    }
    if (target != nullptr) {
      absl::StatusOr<std::string> v = take();
      if (!v.ok()) return v.status();
      *target = *v;
    }
    if (!st.ok()) return st;
  }
  if (o.probes.empty()) o.probes.push_back(absl::StrCat("127.0.0.1:", kDefaultProbePort));
  // Check what can be checked here, so a typo costs no round trip.
  if (absl::StatusOr<v1::Filter> f = query::ParseFilterExpression(o.filter); !f.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--filter: ", f.status().message()));
  }
  // --capture ID...: the flows of these capture points, a term of the filter.
  if (!o.captures.empty()) {
    std::string term = "CaptureID in (";
    for (size_t i = 0; i < o.captures.size(); ++i) {
      absl::StrAppend(&term, i == 0 ? "'" : ", '");
      for (const char c : o.captures[i]) {
        if (c == '\'' || c == '\\') term.push_back('\\');
        term.push_back(c);
      }
      term.push_back('\'');
    }
    term.push_back(')');
    o.filter = o.filter.empty() ? term : absl::StrCat("(", o.filter, ") and ", term);
  }
  if (!o.group_by.empty()) {
    if (o.command != "flows") return absl::InvalidArgumentError("--group-by: for flows only");
    if (!o.dedup_by.empty() || !o.columns.empty()) {
      return absl::InvalidArgumentError(
          "--group-by: --dedup and --columns apply to flows, not to groups");
    }
    absl::StatusOr<std::vector<const query::FieldInfo*>> fields = query::GroupFields(o.group_by);
    if (!fields.ok()) {
      std::string m(fields.status().message());
      if (absl::StartsWith(m, "group_by: ")) m = m.substr(10);
      return absl::InvalidArgumentError(absl::StrCat("--group-by: ", m));
    }
    absl::StatusOr<query::GroupOrder> order =
        query::MakeGroupOrder(o.sort_by, o.sort_order, *fields);
    if (!order.ok()) {
      std::string m(order.status().message());
      if (absl::StartsWith(m, "sort_by: ")) m = m.substr(9);
      return absl::InvalidArgumentError(absl::StrCat("--sort: ", m));
    }
    if (o.limit > query::kMaxGroups) {
      return absl::InvalidArgumentError(
          absl::StrCat("--limit: at most ", query::kMaxGroups, " groups"));
    }
  }
  for (const auto& [flag, key] : {std::pair{"--sort", &o.sort_by}, {"--dedup", &o.dedup_by}}) {
    if (!o.group_by.empty()) break;  // checked above
    if (!key->empty() && query::FindField(*key) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": ", query::UnknownKeyMessage(*key)));
    }
  }
  if (!o.columns.empty()) {
    if (absl::StatusOr<std::vector<FlowColumn>> c = ParseColumns(o.columns); !c.ok()) {
      return c.status();
    }
  }
  if (o.command == "top") {
    if (!o.sort_by.empty() || !o.dedup_by.empty()) {
      return absl::InvalidArgumentError(
          "top: --sort and --dedup do not apply (top sorts by rate; keys b, p, t change it)");
    }
    if (!(o.interval_sec >= 0.1)) {
      return absl::InvalidArgumentError("top: --interval is at least 0.1 s");
    }
  }
  if (o.command == "pcap" && o.output.empty()) {
    return absl::InvalidArgumentError("pcap: -o FILE is required");
  }
  if (!o.tls_cert.empty() != !o.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  return o;
}

}  // namespace skyprobe::ctl
