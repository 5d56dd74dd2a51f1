// usage.cc: --help and --version text. Kept next to the flag table so a new flag and its
// line in the usage change in the same commit.

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "config/config.h"
#include "skyprobe/link_types.h"

#ifndef SKYPROBE_VERSION
#define SKYPROBE_VERSION "0.1.0"
#endif

namespace skyprobe {
namespace {

// "NULL 0, EN10MB (ethernet) 1, RAW 12 or 101, ..." from include/skyprobe/link_types.h, wrapped
// under the description column of --link-type.
std::string LinkTypesHelp() {
  std::vector<std::string> items;
  const char* last_name = "";
  for (const LinkTypeInfo& t : kLinkTypeTable) {
    if (absl::string_view(t.name) == last_name) {  // RAW 12 or 101
      absl::StrAppend(&items.back(), " or ", t.dlt);
      continue;
    }
    last_name = t.name;
    const std::string alias = absl::AsciiStrToLower(t.alias);
    items.push_back(absl::StrCat(t.name, alias.empty() ? "" : " (" + alias + ")", " ", t.dlt));
  }
  constexpr size_t kIndent = 29;  // the description column
  constexpr size_t kWidth = 85;
  std::string out;
  size_t column = kIndent + 7;  // after "file): "
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string item = items[i] + (i + 1 < items.size() ? "," : "");
    if (i > 0 && column + 1 + item.size() > kWidth) {
      absl::StrAppend(&out, "\n", std::string(kIndent, ' '));
      column = kIndent;
    } else if (i > 0) {
      out += ' ';
      ++column;
    }
    out += item;
    column += item.size();
  }
  return out;
}

}  // namespace

std::string VersionText() { return absl::StrCat("skyprobe ", SKYPROBE_VERSION); }

std::string UsageText() {
  return R"(NAME
    skyprobe - DPDK network flow probe with Skydive flow semantics

SYNOPSIS
    skyprobe --pcap FILE [--pcap FILE ...] [options]
    skyprobe --iface NAME [--iface NAME ...] [options]
    skyprobe --sflow-listen ADDR:PORT [options]
    skyprobe --eal "EAL ARGS" [options]
    skyprobe --config FILE [options]

    Flags take --flag VALUE or --flag=VALUE. Flags on the command line override the
    --config file, wherever they appear. See docs/configuration.md for the YAML keys.

INPUT
    --config FILE            YAML configuration file (default: none)
    --pcap FILE              replay a pcap file through a net_pcap port; repeatable
                             (default: none; a pcap or --eal is required)
    --iface NAME             capture live on a kernel interface through AF_PACKET
                             (promiscuous); repeatable; runs until SIGINT/SIGTERM
                             (default: none)
    --iface-time MODE        kernel: each frame at the kernel's receive time (net_pcap's
                             live mode, one queue per interface: several workers get
                             their frames from a dispatcher); burst: one time per burst
                             read (net_af_packet, one socket per RX worker in a
                             symmetric PACKET_FANOUT_HASH group) (default: kernel)
    --sflow-listen ADDR:PORT receive sFlow v5 datagrams on a UDP address (numeric,
                             e.g. 0.0.0.0:6343 or [::]:6343; port 0: any free one);
                             their raw packet header samples become flows, NodeTID =
                             agent address, with ScaledMetric (counters x sampling
                             rate); repeatable; alone or beside the other inputs, runs
                             until SIGINT/SIGTERM (default: none)
    --sflow-max-agents N     sFlow agents given a flow table of their own; datagrams
                             of further agents are counted and dropped (default: 64)
    --sflow-max-flows N      flows per sFlow agent table (default: 16384)
    --sflow-agents CIDR,...  accept sFlow datagrams only when their sender and their
                             agent address are in one of these networks, e.g.
                             10.0.0.0/8,2001:db8::/32; others are counted and dropped
                             (default: any)
    --sflow-agent-idle S     retire an sFlow agent silent for S seconds: its flows
                             expire and its table goes to the next new agent
                             (default: 600, 0 = never)
    --pcap-rate N            replay the --pcap inputs at N packets per second in all
                             (default: as fast as possible)
    --pcap-realtime          replay the --pcap inputs at their recorded pace; flow times
                             still come from the packets' timestamps (default: off)
    --pcap-speed X           with --pcap-realtime: X times the recorded pace, e.g. 100
                             or 0.5 (default: 1.0, > 0)
    --eal "ARGS"             raw DPDK EAL arguments for real ports, split on whitespace,
                             e.g. "-l 0-1 -a 0000:3b:00.0" (default: none)
    --port DEVICE,ATTRS      attributes of a port probed through --eal (a PCI address
                             or a vdev name), e.g. 0000:3b:00.0,capture-id=uplink;
                             repeatable (default: none)

    Every input is a capture point: its flows never merge with another point's (same
    TrackingID, other UUID). Attributes follow its name after commas, e.g.
    --pcap tap1.pcap,node-tid=tap-1,capture-id=uplink,bpf=tcp port 80
    node-tid=ID     NodeTID of its flows (default: --node-tid)
    capture-id=ID   CaptureID of its flows (default: the input's name)
    bpf=EXPR        its own filter, instead of --bpf (takes the rest of the value)
    An --sflow-listen takes none (each agent's flows take its address as NodeTID).
    --link-type N|NAME       force the link type of every pcap input (default: from the
                             file): )" +
         LinkTypesHelp() + R"(
    --bpf "EXPR"             keep only the packets a tcpdump filter expression matches,
                             e.g. "port 53 or port 80"; compiled by libpcap for each
                             input's link type; 802.1Q-tagged packets need "vlan and ..."
                             as in tcpdump (default: none, keep every packet)

OUTPUT
    --json PATH|-            write flow records as JSON lines to PATH, - for stdout
                             (default: none)
    --kafka BROKERS          send flow records to Kafka, HOST:PORT[,HOST:PORT...]
                             (default: none); message key: the TrackingID
    --kafka-topic TOPIC      the topic (needed with --kafka)
    --kafka-format FORMAT    json (the --json line) or protobuf (skyprobe.v1.Flow)
                             (default: json)
    --kafka-option KEY=VALUE a librdkafka property (TLS, SASL, compression,
                             batching), repeatable, e.g. compression.type=lz4
    --kafka-flush-timeout SEC
                             at exit, wait at most SEC for records in flight; the
                             rest is counted lost (default: 10, 0..3600)
    --metrics-listen ADDR:PORT
                             serve Prometheus metrics on http://ADDR:PORT/metrics,
                             e.g. 127.0.0.1:9464 (default: none)
    --ipfix DEST             send flow records as IPFIX (RFC 7011, RFC 5103 biflows)
                             to DEST: udp://HOST:PORT, tcp://HOST:PORT ([IPv6]:PORT)
                             or file:PATH (RFC 5655); repeatable (default: none)
    --ipfix-domain N         observation domain id (default: 0)
    --ipfix-mtu BYTES        largest UDP message, never fragmented
                             (default: 1400, 1200..65507)
    --ipfix-template-refresh SEC
                             UDP: send the templates again every SEC seconds
                             (default: 60, 1..86400)
    --ipfix-pen N            also send skyprobe's own elements (TrackingID,
                             L3TrackingID, ParentUUID, RTT, LayersPath,
                             Application, NodeTID, CommunityID) under this
                             Private Enterprise Number, described by RFC 5610
                             type records (default: 0 = IANA elements only)
    --ipfix-rate N           UDP: at most N records per second (default: 0 = unpaced)
    --ipfix-spool-bytes B    records each destination holds while its collector is
                             slow or away (TCP: until acknowledged); suffixes k, M, G
                             (default: 64M, >= 1M); beyond it records are counted lost
    --ipfix-uniflow          each direction of a flow as a record of its own (the
                             B to A one when it has packets), without RFC 5103's
                             reverse elements: for collectors that ignore them
                             (pmacct) (default: biflow records)

FLOW TABLE
    --update SEC             update handler period (default: 60, >= 1)
    --expire SEC             idle time before a flow expires (default: 600, >= 1)
    --tcp-close-hold-ms MS   hold a TCP flow after FIN both ways or RST (default: 2000)
    --timer-tick-ms MS       expiry timer granularity, the most a flow expires late
                             (default: 100, 1..10000)
    --key-mode L2|L3         flow key with or without MAC addresses (default: L2)
    --node-tid ID            NodeTID written into every flow (default: empty)
    --max-flows N            flows held at once, preallocated; suffixes k, M (x1024)
                             (default: 1048576 = 1M, 1..268435456)
    --overload POLICY        when the table is full: drop-new or evict-oldest
                             (default: evict-oldest)
    --hash-seed N            place flows in the flow table with a hash keyed from N
                             instead of a random secret (reproducible tests and
                             benchmarks; flow IDs never depend on it)
                             (default: random at start-up)
    --keep-expired SEC       expired flows stay queryable (raw packets too) for SEC
                             seconds (default: 60, 0: off, at most 86400)
    --keep-expired-max N     at most N of them for the whole probe, oldest go first;
                             suffixes k, M (default: 65536 = 64k, 1..16777216)
    --capture-length N       bytes kept per raw packet, 0 or 14..4096; 0 means 256
                             (default: 256)
    --raw-packets N          keep the first N packets of each flow (raw packet
                             capture, read with skyprobectl pcap); suffixes k, M
                             (default: 0 = off, 0..65536; not capped at 10)
    --raw-packets-last M     also keep the last M packets of each flow
                             (default: 0 = off, 0..65536)
    --raw-packets-memory B   memory for raw packets, whole probe, split between
                             workers; suffixes k, M, G (default: 256M); packets
                             that do not fit are counted (raw_packets_dropped)
    --ip-defrag              fragments of an IPv4/IPv6 datagram count in the flow
                             of the datagram, keyed on the first fragment's L4
                             header (default: on)
    --no-ip-defrag           each fragment is keyed on its own headers (a
                             ".../Fragment" flow for the non-first fragments)
    --ip-defrag-max N        datagrams in reassembly at once, whole probe, split
                             between workers; suffixes k, M (default: 65536,
                             1..16777216); the oldest is given up when full
    --ip-defrag-timeout-ms MS
                             give up a datagram still incomplete MS ms after its
                             first fragment (default: 30000, 1..3600000)
    --tcp-stream-metrics     Skydive's TCP stream counters in TCPMetric
                             (ABSegmentOutOfOrder ... BASawEnd), from a
                             sequence tracker per flow (default: off)
    --no-tcp-stream-metrics  leave them out of the records
    --tcp-health             TCP health as Wireshark flags it, per direction
                             (ABRetransmissions ... BAZeroWindows) and the
                             handshake latencies (default: off)
    --no-tcp-health          leave them out of the records

    --extra-layers LIST      Skydive's extra layers, comma-separated: DNS (the
                             latest DNS message of each flow), DHCPv4, VRRP (the
                             first one), or ALL (default: none)
    --app-metadata           TLS ClientHello (SNI, ALPN, version, JA3, JA4), HTTP
                             method and Host, DNS query name, type and response
                             code from the first packets of each flow (default: off)
    --no-app-metadata        do not look for them
    --app-meta-flows N       flows holding metadata or an extra layer at once,
                             whole probe, split between workers; suffixes k, M
                             (default: 0 = a quarter of --max-flows); flows that
                             find no room are counted (app_no_slot)

ENHANCERS
    --community-id           add the Community ID v1 hash to flows (default: on)
    --no-community-id        do not add it
    --community-id-seed N    Community ID seed, 0..65535 (default: 0)

RUNTIME
    --ring-size N            worker to control ring entries, a power of two in
                             64..1048576 (default: 4096)
    --stats-interval SEC     print counters on stderr every SEC seconds, 0 = off
                             (default: 0)
    --quiet                  no summary on stderr at exit (default: off)
    --no-progress            no progress line while --pcap files are read (default:
                             --progress, one on stderr when it is a terminal, never
                             otherwise)
    --workers N              RX workers, one flow-table shard each (default: 0 = auto:
                             1 for pcap inputs (one per CPU but control's, at most 8, for
                             one file of 256 MiB or more), every spare EAL lcore with
                             --eal)
    --distribution MODE      auto, rss (one RX queue per worker, symmetric RSS; for one
                             --pcap file, each worker reads it and keeps its share) or
                             dispatch (one RX lcore spreads frames by a symmetric
                             address hash) (default: auto)
    --poll MODE              when an RX lcore finds no frame: busy (spin), adaptive
                             (spin a while, then sleep up to 0.5 ms: a burst waits at
                             most that) or auto: adaptive on --pcap and --iface,
                             busy on NIC ports (default: auto)
    --pcap-reader READER     mapped (the file mapped, frames handed to the workers without
                             a copy; files only libpcap reads fall back to net_pcap) or
                             net_pcap (DPDK's pcap PMD) (default: mapped)
    --pcap-queues            make the --pcap files the queues of one net_pcap port
                             instead of one port each (multi-queue tests)
    --hold                   keep running with the flow table (and the gRPC service)
                             after the --pcap inputs end, until SIGTERM (default: off)

SERVICE (gRPC; skyprobectl is its client)
    --grpc-listen ADDR:PORT  where the service listens, or none (default:
                             127.0.0.1:50051; started for live ports and --hold runs,
                             and for a pcap replay only when given)
    --grpc-tls-cert FILE     server certificate chain (PEM): TLS only
    --grpc-tls-key FILE      its private key (PEM)
    --grpc-tls-client-ca FILE  require client certificates signed by this CA
    --grpc-token-file FILE   require "authorization: Bearer <token in FILE>" (at least
                             16 bytes)
    --grpc-insecure          allow a non-loopback --grpc-listen without TLS or token
    --grpc-max-queries N     Query calls at once (default: 16)
    --grpc-max-streams N     QueryStream calls at once (default: 8)
    --grpc-max-subscribers N  open Subscribe streams (default: 64)
    --grpc-max-exports N     ExportPcap calls at once (default: 4)
    --grpc-answer-memory BYTES  memory all answers in flight may hold (default: 1G)
    --grpc-idle-timeout SEC  cut off a stream whose client took nothing for SEC
                             seconds (default: 30, 0 = never)
    --grpc-log LEVEL         gRPC's own log lines, on stderr as "skyprobe: grpc
                             LEVEL ...": off, error, info or debug (default: off)
    --check                  inspect this machine for the given configuration
                             (hugepages, IOMMU/vfio, NIC drivers, lcores, NUMA,
                             memory locking, AF_PACKET rights), print what is ready
                             and what is missing with the command that fixes it, and
                             exit: 0 if the probe can start, 1 if not
    --help, -h               print this text and exit
    --version                print the version and exit

EXAMPLES
    Replay a capture and print its flows as JSON lines on stdout:
        skyprobe --pcap trace.pcap --json - --expire 30

    Watch a real port (lcore 0 control, lcore 1 RX), settings from a YAML file:
        skyprobe --config /etc/skyprobe.yaml \
                 --eal "-l 0-1 -a 0000:3b:00.0 --socket-mem 4096" \
                 --json /var/log/skyprobe/flows.json --max-flows 16M
)";
}

}  // namespace skyprobe
