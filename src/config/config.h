// config.h: the probe's whole configuration, one validated value.
//
// Owner: built once on the main thread before EAL starts (LoadConfig), then
// read-only; workers get the parts they need copied into their own structs.
//
//   SKYPROBE_ASSIGN_OR_RETURN(Config cfg, LoadConfig(argc, argv));
//   std::vector<std::string> eal = EalArguments(cfg);
//
// The flags, YAML keys and defaults are documented in docs/configuration.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "skyprobe/link_types.h"

namespace skyprobe {

// One --pcap input as probed by LoadConfig (pcap_open_offline on the file).
struct PcapInput {
  std::string path;
  uint32_t link_type = 0;       // effective DLT: --link-type if given, else the file's
  uint32_t file_link_type = 0;  // DLT in the file header (pcap_datalink)
  uint32_t snaplen = 0;         // snapshot length in the file header (pcap_snapshot)
};

enum class KeyMode : uint8_t { kL2 = 0, kL3 = 1 };

// One --ipfix destination: "udp://HOST:PORT", "tcp://HOST:PORT" (HOST a name,
// an IPv4 address or an IPv6 address in brackets) or "file:PATH".
struct IpfixDestination {
  enum class Kind : uint8_t { kUdp, kTcp, kFile };
  Kind kind = Kind::kUdp;
  std::string host;  // without brackets
  uint16_t port = 0;
  std::string path;  // file:
  std::string text;  // as given
};
absl::StatusOr<IpfixDestination> ParseIpfixDestination(const std::string& text);

// Attributes of one input, which is one capture point: given after its name,
// "--pcap FILE,node-tid=T,capture-id=C,bpf=EXPR" (bpf= takes the rest of the
// value, commas included, so it comes last), or as keys of a YAML list entry.
// Unset ones take the probe-wide flags (--node-tid, --bpf); the capture ID
// defaults to the input's name (CaptureIdFromName).
struct InputAttributes {
  std::optional<std::string> node_tid;
  std::optional<std::string> capture_id;
  std::optional<std::string> bpf;
  bool empty() const { return !node_tid && !capture_id && !bpf; }
};

// Attributes of a port EAL probes from --eal ("--port DEVICE,capture-id=...").
struct PortAttributes {
  std::string device;  // DPDK device name: a PCI address ("0000:3b:00.0") or a vdev name
  InputAttributes attrs;
};

// One capture point as the probe runs it: an input with its attributes
// resolved against the probe-wide flags.
struct CapturePointSpec {
  std::string name;        // the input: file path, interface, DPDK device, sFlow address
  std::string node_tid;    // its own, else --node-tid
  std::string capture_id;  // its own, else made from the name (unique: see UniqueCaptureIds)
  bool capture_id_given = false;
  std::string bpf;  // its own, else --bpf ("" keeps every packet)
};

// A capture ID made from an input's name: the name with every byte outside
// '!'..'~' (spaces, control and non-ASCII bytes) replaced by '_', as capture
// IDs name Stats scopes and summary lines ("capture.ID.packets_in").
std::string CaptureIdFromName(const std::string& name);

// Makes the capture IDs of `points` unique: given ones are kept (ValidateConfig
// refuses two equal ones); a default that is already taken gets "#2", "#3"...
// ("demo.pcap", "demo.pcap#2" for the same file given twice).
void UniqueCaptureIds(std::vector<CapturePointSpec>* points);

// An IP network "ADDR/LEN" (a bare address is /32 or /128), address bytes in
// network order with the host bits cleared.
struct IpNetwork {
  uint8_t ip_version = 4;  // 4 or 6
  uint8_t prefix = 32;
  uint8_t addr[16] = {};
  // True when `a` (4 or 16 bytes, per `version`) lies inside the network.
  bool Contains(uint8_t version, const uint8_t* a) const noexcept {
    if (version != ip_version) return false;
    const int full = prefix / 8;
    for (int i = 0; i < full; ++i) {
      if (a[i] != addr[i]) return false;
    }
    const int rest = prefix % 8;
    if (rest == 0) return true;
    const uint8_t mask = static_cast<uint8_t>(0xFF00 >> rest);
    return (a[full] & mask) == addr[full];
  }
};
// "10.0.0.0/8", "2001:db8::/32", "192.0.2.1". Errors say what was wrong.
absl::StatusOr<IpNetwork> ParseIpNetwork(const std::string& text);

// How packets reach the RX workers (both keep the two directions of a flow on
// one worker).
enum class Distribution : uint8_t {
  kAuto = 0,      // rss when every port can give each worker a queue, else dispatch
  kRss = 1,       // one RX queue per worker; symmetric RSS programmed where supported
  kDispatch = 2,  // one RX lcore spreads frames to workers by a symmetric address hash
};

// Where a live interface's frame times come from (--iface-time): the kernel's
// receive time of each frame (net_pcap's live mode: libpcap's TPACKET_V3 ring
// with the kernel's timestamps), or one TSC reading per burst (net_af_packet,
// whose 22.11 PMD drops the ring's timestamps, but which spreads frames over
// one socket per worker by the kernel's fanout). docs/configuration.md, "Live
// capture".
enum class IfaceTime : uint8_t { kKernel = 0, kBurst = 1 };

// What an RX lcore does when it finds no frame (--poll): spin, or spin a
// while and then sleep (idle_backoff.h); auto: adaptive on pcap and AF_PACKET
// ports, busy on NIC ports (a sleep could let a NIC's ring overflow).
enum class PollMode : uint8_t { kAuto = 0, kBusy = 1, kAdaptive = 2 };

// Which of gRPC's own log lines reach the probe's stderr (--grpc-log).
enum class GrpcLogLevel : uint8_t { kOff = 0, kError = 1, kInfo = 2, kDebug = 3 };

// How a sink encodes a record: the JSON line, or a serialized skyprobe.v1.Flow.
enum class RecordFormat : uint8_t { kJson = 0, kProtobuf = 1 };

// How --pcap files are read.
enum class PcapReader : uint8_t {
  kMapped = 0,   // the file mapped, frames handed over without a copy (capture/mapped_file_queue.h)
  kNetPcap = 1,  // DPDK's net_pcap (libpcap reads, each frame copied into an mbuf)
};

// What happens when a shard holds --max-flows flows and a new one arrives.
enum class OverloadPolicy : uint8_t {
  kDropNew = 0,      // the new flow's packets are dropped and counted
  kEvictOldest = 1,  // the least recently seen flow is expired (final record) first
};

struct Config {
  // Inputs. Each pcap file becomes one net_pcap vdev ("--pcap", repeatable).
  std::vector<std::string> pcap_files;
  // Each input's own attributes, in the order of its list (pcap_attrs[i] is
  // pcap_files[i]'s; likewise iface_attrs for ifaces, sflow_attrs for
  // sflow_listen: capture_id only).
  std::vector<InputAttributes> pcap_attrs;
  std::vector<InputAttributes> iface_attrs;
  std::vector<InputAttributes> sflow_attrs;
  // Attributes of ports probed through --eal ("--port DEVICE,...", repeatable).
  std::vector<PortAttributes> port_attrs;
  // Raw EAL arguments for real NICs ("--eal"), split on whitespace.
  std::vector<std::string> eal_args;
  // Force the link type of every pcap input (0 = take it from the file header).
  uint32_t link_type_override = 0;
  // True when --link-type was given; needed because DLT_NULL is 0. Consumers should read
  // pcap_inputs[i].link_type, which already applies the override.
  bool link_type_override_set = false;
  // Filled by LoadConfig / ParseYamlConfig: one entry per pcap_files entry, same order.
  std::vector<PcapInput> pcap_inputs;
  // Live interfaces ("--iface", repeatable): each becomes a vdev reading the kernel's copy of
  // its traffic through AF_PACKET: net_pcap's live mode (one queue, the kernel's time of each
  // frame) or, with --iface-time burst, net_af_packet (one socket per RX worker in a
  // PACKET_FANOUT_HASH group, a time per burst). Not combined with --pcap.
  std::vector<std::string> ifaces;
  IfaceTime iface_time = IfaceTime::kKernel;  // "--iface-time kernel|burst"
  // Replay pacing of the --pcap inputs (all of them together): --pcap-rate N packets per
  // second (0 = off), or --pcap-realtime at the recorded pace times --pcap-speed. Flow
  // times always come from the packets' own timestamps.
  uint32_t pcap_rate = 0;
  bool pcap_realtime = false;
  // "--pcap-reader mapped|net_pcap": mapped unless the file is one only libpcap reads
  // (another magic, a pcap version before 2.4, a link type libpcap rewrites).
  PcapReader pcap_reader = PcapReader::kMapped;
  double pcap_speed = 1.0;
  // sFlow v5 collectors ("--sflow-listen ADDR:PORT", repeatable): UDP sockets whose flow
  // samples' raw packet headers become flows (src/sflow), NodeTID = the agent address.
  // Alone, or beside the other inputs; the probe then runs until SIGINT/SIGTERM.
  std::vector<std::string> sflow_listen;
  // Agents (distinct agent addresses) given a flow table of their own, created on first
  // sight ("--sflow-max-agents"); datagrams of further agents are counted and dropped.
  uint32_t sflow_max_agents = 64;
  // Flows per agent table, preallocated when the agent first appears ("--sflow-max-flows").
  uint32_t sflow_max_flows = 16384;
  // Allow-list ("--sflow-agents CIDR,..."): when not empty, a datagram is accepted only if
  // its sender (UDP source address) and the agent address it names are both inside one of
  // these networks; others are counted (sflow_agent_denied) and dropped.
  std::vector<IpNetwork> sflow_agents;
  // An agent silent for this many seconds is retired: its flows are expired through the
  // handlers and its table goes to the next new agent ("--sflow-agent-idle", 0 = never).
  uint32_t sflow_agent_idle_sec = 600;
  // tcpdump filter expression ("--bpf"), compiled by libpcap for each input's link type
  // (src/bpf); empty keeps every packet. Packets it rejects are counted as filtered.
  std::string bpf_filter;

  // Outputs. JSON lines path, "-" for stdout, empty for none ("--json").
  std::string json_path;
  // Kafka (src/export/kafka_sink.h): bootstrap brokers "HOST:PORT[,...]" ("--kafka", empty:
  // off), the topic ("--kafka-topic"), the payload ("--kafka-format": the JSON line or a
  // serialized skyprobe.v1.Flow), librdkafka properties in order ("--kafka-option KEY=VALUE",
  // repeatable), and how long the exit waits for records in flight ("--kafka-flush-timeout").
  std::string kafka_brokers;
  std::string kafka_topic;
  RecordFormat kafka_format = RecordFormat::kJson;
  std::vector<std::pair<std::string, std::string>> kafka_options;
  uint32_t kafka_flush_timeout_sec = 10;

  // Prometheus endpoint: serve /metrics on ADDR:PORT ("--metrics-listen", empty: off).
  std::string metrics_listen;

  // IPFIX destinations ("--ipfix DEST", repeatable; src/export/ipfix) and their settings:
  // observation domain, largest UDP message, UDP template refresh period, the PEN of
  // skyprobe's enterprise elements (0: IANA elements only), UDP pacing in records per
  // second (0: unpaced), the bytes of records each destination holds for its collector, and
  // uniflow records (each direction its own record, no RFC 5103 reverse elements) instead of
  // biflows, for collectors that ignore the reverse elements (pmacct).
  std::vector<IpfixDestination> ipfix;
  uint32_t ipfix_domain = 0;                 // "--ipfix-domain"
  uint32_t ipfix_mtu = 1400;                 // "--ipfix-mtu", 1200..65507
  uint32_t ipfix_template_refresh_sec = 60;  // "--ipfix-template-refresh", >= 1
  uint32_t ipfix_pen = 0;                    // "--ipfix-pen"
  uint32_t ipfix_rate = 0;                   // "--ipfix-rate"
  uint64_t ipfix_spool_bytes = 64ull << 20;  // "--ipfix-spool-bytes", >= 1M
  bool ipfix_uniflow = false;                // "--ipfix-uniflow"

  // Flow table.
  uint32_t update_sec = 60;           // update handler period ("--update")
  uint32_t expire_sec = 600;          // idle time before expiry ("--expire")
  uint32_t tcp_close_hold_ms = 2000;  // hold after FIN both ways / RST ("--tcp-close-hold-ms")
  uint32_t timer_tick_ms = 100;       // expiry granularity: max lateness ("--timer-tick-ms")
  KeyMode key_mode = KeyMode::kL2;    // "--key-mode L2|L3"
  std::string node_tid;               // NodeTID in every record ("--node-tid")
  uint32_t max_flows = 1u << 20;      // per probe, preallocated ("--max-flows")
  // Flows that ended by themselves (idle, TCP close; not evicted or flushed) stay queryable, raw
  // packets included, for this many seconds ("--keep-expired", 0: off), at most
  // `keep_expired_max` of them for the whole probe ("--keep-expired-max").
  uint32_t keep_expired_sec = 60;
  uint32_t keep_expired_max = 65536;
  OverloadPolicy overload = OverloadPolicy::kEvictOldest;  // "--overload drop-new|evict-oldest"
  uint32_t capture_length = 256;  // snaplen for raw packets, 14..4096 ("--capture-length")
  // Raw packet capture per flow (off when both are 0): the first N packets of each flow
  // ("--raw-packets", not capped at 10 as in Skydive) and the last M ("--raw-packets-last"),
  // copied into slots preallocated within a memory budget for the whole probe, split
  // evenly between the workers ("--raw-packets-memory", bytes).
  uint32_t raw_packets = 0;
  uint32_t raw_packets_last = 0;
  uint64_t raw_packets_memory = 256ull << 20;
  // IPv4/IPv6 defragmentation (src/table/defragmenter.h): fragments belong to the flow of
  // their datagram ("--ip-defrag" / "--no-ip-defrag"). At most `ip_defrag_max` datagrams in
  // reassembly at once for the whole probe, split between the workers and preallocated
  // ("--ip-defrag-max"); a datagram still incomplete `ip_defrag_timeout_ms` after its first
  // fragment arrived is given up ("--ip-defrag-timeout-ms", Skydive's 30 s age-out).
  bool ip_defrag = true;
  uint32_t ip_defrag_max = 65536;
  uint32_t ip_defrag_timeout_ms = 30000;
  // Where flows sit in each shard's hash table is keyed with a secret drawn at start-up
  // (src/table/table_hash.h: hash flooding). "--hash-seed N" derives it from N instead, for
  // reproducible tests and benchmarks. Exported IDs never depend on it.
  uint64_t hash_seed = 0;
  bool hash_seed_set = false;
  // TCP sequence trackers (docs/tcp-metrics.md), 192 bytes per flow slot each: Skydive's
  // 14 stream counters in TCPMetric ("--tcp-stream-metrics") and TCP health as Wireshark
  // flags it, with the handshake latencies ("--tcp-health"). Off: the fields are absent.
  bool tcp_stream_metrics = false;
  bool tcp_health = false;
  // Skydive's extra layers ("--extra-layers DNS,DHCPv4,VRRP"; ExtraLayerBits of
  // record/app_meta.h: VRRP 1, DNS 2, DHCPv4 4): the DNS layer of each flow's latest
  // DNS message, the DHCPv4 and VRRPv2 layers of its first one.
  uint8_t extra_layers = 0;
  // Application metadata from the first packets of each flow: TLS ClientHello (SNI,
  // ALPN, version, JA3, JA4), HTTP/1.x method and Host, DNS query name, type and
  // response code ("--app-metadata" / "--no-app-metadata"; docs/app-metadata.md).
  bool app_metadata = false;
  // Flows holding metadata or an extra layer at once, whole probe, split between the
  // workers ("--app-meta-flows"; 0 = a quarter of --max-flows). A flow that finds no room
  // is counted (app_no_slot) and has none.
  uint32_t app_meta_flows = 0;

  // Enhancers: Community ID v1.
  bool community_id = true;        // "--community-id" / "--no-community-id"
  uint16_t community_id_seed = 0;  // "--community-id-seed"

  // Runtime.
  uint32_t ring_size = 4096;        // worker -> control record ring ("--ring-size")
  uint32_t stats_interval_sec = 0;  // periodic counter line on stderr, 0 = off
  bool quiet = false;               // no summary on stderr ("--quiet")
  // A progress line on stderr while --pcap files are read, when stderr is a terminal and
  // the run is not --quiet ("--progress" / "--no-progress"; app/progress.h).
  bool progress = true;
  // RX workers, one flow-table shard each ("--workers"); 0 = 1 for pcap inputs, every
  // EAL lcore left after control (and the dispatcher) for --eal runs.
  uint32_t workers = 0;
  Distribution distribution = Distribution::kAuto;  // "--distribution auto|rss|dispatch"
  PollMode poll = PollMode::kAuto;                  // "--poll auto|busy|adaptive"
  // The --pcap files of a capture point become the queues of ONE net_pcap port (queue i
  // reads its i-th file) instead of one port each: multi-queue tests without a NIC
  // ("--pcap-queues"). Files without capture-id= are one point; files sharing one, another.
  bool pcap_queues = false;

  // gRPC service (src/service; docs/configuration.md, "Service").
  std::string grpc_listen = "127.0.0.1:50051";  // "--grpc-listen ADDR:PORT|none"
  bool grpc_listen_set = false;    // given explicitly (a pcap replay then starts the service)
  std::string grpc_tls_cert;       // server certificate chain, PEM ("--grpc-tls-cert")
  std::string grpc_tls_key;        // its private key, PEM ("--grpc-tls-key")
  std::string grpc_tls_client_ca;  // CA of client certificates: mutual TLS ("--grpc-tls-client-ca")
  std::string grpc_token_file;     // bearer token clients must send ("--grpc-token-file")
  // Listen on a non-loopback address without TLS or a token, on purpose ("--grpc-insecure");
  // without it such a set-up is refused. Tokens are at least kMinGrpcTokenBytes long.
  bool grpc_insecure = false;
  // Requests in progress at once, per kind; one more is RESOURCE_EXHAUSTED naming the cap:
  // unary Query ("--grpc-max-queries"), QueryStream ("--grpc-max-streams"), Subscribe
  // ("--grpc-max-subscribers"), ExportPcap ("--grpc-max-exports").
  uint32_t grpc_max_queries = 16;
  uint32_t grpc_max_streams = 8;
  uint32_t grpc_max_subscribers = 64;
  uint32_t grpc_max_exports = 4;
  // Bytes all answers in flight may hold together: collected rows, raw packets of exports,
  // records queued for subscribers ("--grpc-answer-memory"); an answer that would pass it
  // is RESOURCE_EXHAUSTED. 1M flows of a full table take about 700 MB.
  uint64_t grpc_answer_memory = 1ull << 30;
  // A stream (QueryStream, ExportPcap, Subscribe) whose client has not taken a message for
  // this long is cut off ("--grpc-idle-timeout", seconds; 0 = never).
  uint32_t grpc_idle_timeout_sec = 30;
  // gRPC's internal log, through the probe's stderr at this level and above
  // ("--grpc-log"; off by default: a library's chatter is no user message).
  GrpcLogLevel grpc_log = GrpcLogLevel::kOff;
  // Keep running (table and service) after the pcap inputs end, until SIGTERM ("--hold").
  bool hold = false;

  // Set by LoadConfig for --help / --version: main prints UsageText() / VersionText() and
  // exits 0. Nothing else in the Config is meaningful then (it is not validated).
  bool help = false;
  bool version = false;
  // --check: main inspects the machine for this (validated) configuration, prints what is
  // ready and what is missing, and exits (app/machine_check.h).
  bool check = false;
  // The --config file that was read, empty if none (for the start-up banner).
  std::string config_path;
};

// list[i] (Config::pcap_attrs, iface_attrs), or no attributes when the list
// is shorter (a Config built by hand).
const InputAttributes& InputAttributesAt(const std::vector<InputAttributes>& list, size_t i);

// The --pcap files of each net_pcap port, port by port (indices into pcap_files): one file
// each; with --pcap-queues the files of one capture point (the same capture-id=, or none)
// as the queues of one port, in the order of their first file.
std::vector<std::vector<size_t>> PcapPortFiles(const Config& cfg);

// The capture point of an input named `name` with attributes `a`.
CapturePointSpec ResolveCapturePoint(const Config& cfg, const std::string& name,
                                     const InputAttributes& a);

// A UDP listen address: "ADDR:PORT" with a numeric IPv4 address, or "[IPV6]:PORT".
struct ListenAddress {
  std::string host;  // without brackets
  uint16_t port = 0;
  bool ipv6 = false;
};
absl::StatusOr<ListenAddress> ParseListenAddress(const std::string& text);

// Shortest bearer token the service takes (--grpc-token-file), in bytes.
inline constexpr size_t kMinGrpcTokenBytes = 16;

// True when the host of a --grpc-listen HOST:PORT is a loopback address (127.0.0.0/8,
// ::1, ::ffff:127.x.y.z) or "localhost": only this machine can connect. Anything else,
// 0.0.0.0, [::] and names included, is reachable from elsewhere.
bool IsLoopbackListen(const std::string& listen);

// True when the probe reads DPDK ports (--pcap, --iface or --eal), not only sFlow.
inline bool HasPortInputs(const Config& cfg) {
  return !cfg.pcap_files.empty() || !cfg.ifaces.empty() || !cfg.eal_args.empty();
}

// Parses argv (flags override the YAML file given by --config) and validates.
// Errors name the flag or YAML key: "--expire: 'abc' is not a number".
absl::StatusOr<Config> LoadConfig(int argc, const char* const* argv);

// Same, from a YAML document only (tests and --config). Keys not in the document keep
// their value from `base`. Pcap inputs are probed and the result validated. Errors are
// prefixed with `source_name` ("config.yaml: flow.expire: must be >= 1, got 0").
absl::StatusOr<Config> ParseYamlConfig(const std::string& yaml_text, Config base);
absl::StatusOr<Config> ParseYamlConfig(const std::string& yaml_text, Config base,
                                       const std::string& source_name);

// Checks ranges and combinations; the single place values are validated.
absl::Status ValidateConfig(const Config& cfg);

// Memory (MB) the probe's pools and flow tables take for this configuration: what a pcap
// run gets from EAL (-m), and the hugepage memory a NIC run needs at the least. A replay
// counts the flows its files can hold (ReplayFlowBound), not the whole --max-flows.
uint64_t ProbeMemoryMegabytes(const Config& cfg);

// A replay of files (no live port: no --eal, --iface or sFlow) can never hold more flows
// in a shard than its frames can open: each frame takes at least 16 bytes of its file (a
// pcap record header; a pcapng simple packet block) and opens at most
// kReplayFlowsPerFrame flows (the outer one and its tunnels: parse's kMaxSubPackets).
// Returns that bound, or 0 for a probe with a live input (or a file it cannot stat),
// which keeps the whole --max-flows.
inline constexpr uint64_t kReplayFlowsPerFrame = 4;
uint64_t ReplayFlowBound(const Config& cfg);

// The usage text printed by --help.
std::string UsageText();

// "skyprobe 0.1.0", printed by --version.
std::string VersionText();

// The EAL argv (program name first) for a validated Config: pcap inputs become net_pcap
// vdevs; without --eal a no-hugepage, no-PCI set-up is derived. `prefix` is the
// --file-prefix; empty means "skyprobe-<pid>" so several probes can run side by side.
std::vector<std::string> EalArguments(const Config& cfg, const std::string& prefix = "");

// True when frames must go through a dispatcher lcore for `queues` RX queues:
// forced by --distribution dispatch, or several workers without a queue each.
// (Ports that can do symmetric RSS refine this at start-up.)
bool NeedsDispatcher(const Config& cfg, uint32_t queues);

// True when several workers can each read the one --pcap file themselves,
// taking the frames the dispatcher would give them (file shares, no
// dispatcher lcore): one file, the mapped reader, no pacing, no live input,
// --distribution auto or rss. (A file only libpcap reads falls back at
// start-up to one lcore reading it: one worker, or workers behind a dispatcher.)
bool FileSharesPlanned(const Config& cfg);

// net_af_packet ring geometry for --iface: 2 KB frames hold a 1500-byte-MTU frame (longer
// ones are cut to kAfPacketFrameSize - 66 bytes, the TPACKET_V2 header and alignment), and
// 4096 of them per queue absorb bursts before the kernel drops or rolls frames over.
inline constexpr uint32_t kAfPacketFrameSize = 2048;
inline constexpr uint32_t kAfPacketFrameCount = 4096;

// AF_PACKET sockets (queues) of each --iface: one per RX worker, or one feeding the
// dispatcher with --distribution dispatch or --iface-time kernel (net_pcap's live mode has
// one queue per interface).
uint16_t AfPacketQueues(const Config& cfg);

// net_pcap's snaplen in live mode (RTE_ETHER_MAX_JUMBO_FRAME_LEN in 22.11's
// drivers/net/pcap): longer frames (GRO/TSO aggregates) arrive cut to it.
inline constexpr uint32_t kPcapLiveSnaplen = 0x3F00;

// IsSupportedLinkType(dlt) and the list of link types: include/skyprobe/link_types.h.
// "EN10MB", "RAW", ...; libpcap's name for others; "DLT <n>" when unknown.
std::string LinkTypeName(uint32_t dlt);
// "NULL (0), EN10MB (1), ..." for error messages and the usage text.
std::string SupportedLinkTypesText();

}  // namespace skyprobe
