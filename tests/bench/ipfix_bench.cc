// ipfix_bench.cc: the IPFIX export's cost per record (src/export/ipfix).
//
//   build/tests/bench/ipfix_bench --benchmark_counters_tabular=true
//
// A mix of records as a probe emits them: IPv4 TCP, IPv6 UDP, IPv4 ICMP, in
// turn, every one with MACs and an input, uuids changing.
//   BM_Encode/P: RecordEncoder::Append alone (entries into a buffer reused
//     every 1000 records); P = 1 with --ipfix-pen (strings), 0 without, 2
//     with --app-metadata too (the TCP flow a TLS ClientHello's, the UDP
//     flow a DNS response's).
//   BM_EncodeToFile/P: encoder + message packer + write(2) of 1 MiB chunks to
//     a file, on one thread: "records per second of the encoder into a file".
//   BM_HandlerToFile/P: the probe's path: IpfixHandler::OnRecord on this
//     thread (the control lcore's share), the exporter thread writing the
//     file; timed until every record is written (Close).
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "export/ipfix/ipfix_handler.h"
#include "export/ipfix/message_packer.h"
#include "export/ipfix/record_encoder.h"
#include "record/app_meta.h"
#include "tests/unit/query/test_flows.h"

namespace skyprobe::ipfix {
namespace {

// --app-metadata's view of the first two: a TLS ClientHello (SNI, ALPN, the
// fingerprints) on the TCP flow, a DNS response on the UDP one.
void AddApp(std::vector<FlowSnapshot>* v) {
  AppMeta* tls = (*v)[0].app.Storage();
  tls->kind = AppKind::kTls;
  tls->tls.version = 0x0304;
  tls->tls.flags = kTlsHasSni | kTlsHasAlpn | kTlsFingerprints;
  const char sni[] = "www.example.com";
  tls->tls.sni_len = sizeof(sni) - 1;
  std::memcpy(tls->tls.sni, sni, sizeof(sni) - 1);
  const uint8_t alpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  tls->tls.alpn_len = sizeof(alpn);
  std::memcpy(tls->tls.alpn, alpn, sizeof(alpn));
  std::memcpy(tls->tls.ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1", sizeof(tls->tls.ja4));
  // "www.example.com A IN", answered NOERROR (RFC 1035 4.1, the question only).
  const uint8_t msg[] = {0x12, 0x34, 0x81, 0x80, 0,   1,   0,   0,   0,   0,   0,
                         0,    3,    'w',  'w',  'w', 7,   'e', 'x', 'a', 'm', 'p',
                         'l',  'e',  3,    'c',  'o', 'm', 0,   0,   1,   0,   1};
  AppMeta* dns = (*v)[1].app.Storage();
  dns->kind = AppKind::kDns;
  std::memcpy(dns->dns.msg, msg, sizeof(msg));
  dns->dns.len = dns->dns.full_len = sizeof(msg);
  dns->dns.flags = kDnsSummary | kDnsHasRcode;
}

std::vector<FlowSnapshot> Mix(bool app = false) {
  std::vector<FlowSnapshot> v = {
      testing::TcpFlow(0x1234567890abcdef, "10.0.0.1", "192.168.10.20", 40000, 443, 123456),
      testing::UdpFlow(0x2234567890abcdef, "2001:db8::1", "2001:db8::53", 5353, 53, 80),
      testing::IcmpFlow(0x3234567890abcdef, "10.0.0.3", "10.0.0.4")};
  for (FlowSnapshot& s : v) {
    s.input = 1;
    s.event = FlowEvent::kExpire;
    s.expire_reason = ExpireReason::kIdle;
    s.has_last_update_metric = true;
    s.last_update_metric = s.metric;
    std::strcpy(s.community_id, "1:Gtsx5OozooeGFAFpbwPzYTPgCIs=");
  }
  v[0].tcp_flags_ab = 0x1b;
  v[0].tcp_flags_ba = 0x13;
  if (app) AddApp(&v);
  return v;
}

// P: 0 IANA elements only, 1 with --ipfix-pen, 2 with --app-metadata too.
EncoderOptions Encoder(const benchmark::State& state) {
  EncoderOptions o;
  o.pen = state.range(0) != 0 ? 32473 : 0;
  o.node_tid = "probe-1";
  o.app_metadata = state.range(0) == 2;
  return o;
}

void BM_Encode(benchmark::State& state) {
  std::vector<FlowSnapshot> mix = Mix(state.range(0) == 2);
  RecordEncoder enc(Encoder(state));
  ByteBuffer out(1 << 20);
  int64_t n = 0;
  for (auto _ : state) {
    if (n % 1000 == 0) out.clear();
    FlowSnapshot& s = mix[n % 3];
    s.uuid += 1;
    enc.Append(s, &out);
    benchmark::DoNotOptimize(out.data());
    ++n;
  }
  state.counters["records_per_s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Encode)->Arg(0)->Arg(1)->Arg(2)->MinTime(2.0);

std::string TempPath() {
  return (std::filesystem::temp_directory_path() /
          ("ipfix_bench-" + std::to_string(getpid()) + ".ipfix"))
      .string();
}

void BM_EncodeToFile(benchmark::State& state) {
  std::vector<FlowSnapshot> mix = Mix();
  RecordEncoder enc(Encoder(state));
  MessagePacker packer(0, kFileMessageBytes);
  const std::string path = TempPath();
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ByteBuffer entries(1 << 16);
  ByteBuffer file(2 << 20);
  int64_t n = 0;
  uint64_t bytes = 0;
  auto write_out = [&] {
    if (write(fd, file.data(), file.size()) != static_cast<ssize_t>(file.size())) {
      state.SkipWithError("write failed");
    }
    bytes += file.size();
    file.clear();
  };
  for (auto _ : state) {
    FlowSnapshot& s = mix[n % 3];
    s.uuid += 1;
    enc.Append(s, &entries);
    if (++n % 256 == 0) {
      // Entries to messages, as the exporter thread does per batch.
      packer.Begin(&file, 1700000000);
      for (EntryReader r(entries.data(), entries.size()); !r.done(); r.Next()) {
        if (!packer.Add(r.set_id(), r.record(), r.length(), IsDataSet(r.set_id()))) {
          packer.Finish();
          packer.Begin(&file, 1700000000);
          packer.Add(r.set_id(), r.record(), r.length(), IsDataSet(r.set_id()));
        }
      }
      packer.Finish();
      entries.clear();
      if (file.size() >= (1 << 20)) write_out();
    }
  }
  write_out();
  close(fd);
  std::filesystem::remove(path);
  state.counters["records_per_s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
  state.counters["bytes_per_record"] = static_cast<double>(bytes) / static_cast<double>(n);
}
BENCHMARK(BM_EncodeToFile)->Arg(0)->Arg(1)->MinTime(2.0);

void BM_HandlerToFile(benchmark::State& state) {
  std::vector<FlowSnapshot> mix = Mix();
  const std::string path = TempPath();
  int64_t total = 0;
  for (auto _ : state) {
    IpfixOptions o;
    o.exporter.kind = TransportKind::kFile;
    o.exporter.path = path;
    o.exporter.name = "bench";
    o.encoder = Encoder(state);
    auto h = IpfixHandler::Create(o);
    if (!h.ok()) {
      state.SkipWithError("cannot open the file");
      break;
    }
    constexpr int kRecords = 1'000'000;
    for (int i = 0; i < kRecords; ++i) {
      FlowSnapshot& s = mix[i % 3];
      s.uuid += 1;
      (*h)->OnRecord(s);
    }
    const absl::Status closed = (*h)->Close();
    if (!closed.ok() || (*h)->counters().delivered.load() != kRecords) {
      state.SkipWithError("records lost");  // a file destination never loses any
    }
    total += kRecords;
  }
  std::filesystem::remove(path);
  state.counters["records_per_s"] =
      benchmark::Counter(static_cast<double>(total), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_HandlerToFile)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace skyprobe::ipfix

BENCHMARK_MAIN();
