// The --ipfix sink end to end on loopback: IpfixHandler -> exporter thread
// -> UDP / TCP / file, read back by sockets and files in the test and
// decoded by its own decoder (ipfix_decoder.h). Loss is either none or
// counted: delivered + records_lost always equals the records handed in.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "export/ipfix/ipfix_handler.h"
#include "gtest/gtest.h"
#include "ipfix_decoder.h"
#include "test_snapshots.h"

namespace skyprobe::ipfix {
namespace {

using testing::DecodedRecord;
using testing::IeRegistry;
using testing::Stream;

FlowSnapshot Flow(uint64_t i) {
  FlowSnapshot s = testing::FullSnapshot();
  s.uuid = i;
  s.icmp_version = 0;
  s.has_icmp_raw_type = false;
  return s;
}

// The flowId of every flow record of a stream, in order.
std::vector<uint64_t> FlowIds(const Stream& s) {
  const IeRegistry reg = IeRegistry::Load();
  std::vector<uint64_t> ids;
  for (const DecodedRecord& r : s.records) {
    const std::vector<uint8_t>* v = r.Find(reg, "flowId");
    if (v != nullptr) ids.push_back(DecodedRecord::Uint(*v));
  }
  return ids;
}

uint16_t BoundPort(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

int Listen(uint16_t port, int type) {
  const int fd = socket(AF_INET, type, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  if (type == SOCK_STREAM) listen(fd, 4);
  if (type == SOCK_DGRAM) {
    const int big = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  }
  return fd;
}

IpfixOptions Options(TransportKind kind, uint16_t port, const std::string& path = "") {
  IpfixOptions o;
  o.exporter.kind = kind;
  o.exporter.host = "127.0.0.1";
  o.exporter.port = port;
  o.exporter.path = path;
  o.exporter.name = "test";
  o.exporter.observation_domain = 5;
  o.exporter.finish_timeout_ms = 2000;
  return o;
}

// A TCP collector on a thread that reads every byte of each connection it
// accepts; `graceful_after` bytes into the first one, and when stopped, it
// closes its side as RFC 7011 §10.4.2 says (shutdown, then read until the
// exporter closes).
class TcpCollector {
 public:
  explicit TcpCollector(int listen_fd) : fd_(listen_fd) {
    thread_ = std::thread([this] { Run(); });
  }
  ~TcpCollector() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  size_t graceful_after = SIZE_MAX;
  // `crash_after` bytes into the first connection it stops reading, lets its
  // kernel acknowledge more, then closes with bytes unread (a reset): a
  // collector killed mid-stream.
  size_t crash_after = SIZE_MAX;
  std::vector<std::vector<uint8_t>> connections;  // bytes of each; read after Stop
  std::atomic<int> finished{0};                   // connections ended so far

 private:
  void Run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) != 1) continue;
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::vector<uint8_t> bytes;
      bool closed_ours = false;
      uint8_t buf[65536];
      for (;;) {
        // Stopping closes as RFC 7011 §10.4.2 says, never with bytes unread.
        if (!closed_ours && (stop_ || (connections.empty() && bytes.size() >= graceful_after))) {
          shutdown(c, SHUT_WR);
          closed_ours = true;
        }
        if (connections.empty() && bytes.size() >= crash_after) {
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          break;
        }
        pollfd pc{c, POLLIN, 0};
        if (poll(&pc, 1, 20) != 1) continue;
        const ssize_t n = recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        bytes.insert(bytes.end(), buf, buf + n);
      }
      close(c);
      connections.push_back(std::move(bytes));
      ++finished;
    }
  }
  int fd_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(IpfixExporterTest, FileHoldsEveryRecordAfterItsTemplate) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("ipfix-" + std::to_string(getpid()))).string();
  auto h = IpfixHandler::Create(Options(TransportKind::kFile, 0, path));
  ASSERT_TRUE(h.ok()) << h.status();
  for (uint64_t i = 0; i < 5000; ++i) (*h)->OnRecord(Flow(i));
  ASSERT_TRUE((*h)->Close().ok());
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  std::filesystem::remove(path);
  const Stream s = testing::DecodeStream(bytes.data(), bytes.size());
  ASSERT_EQ(s.error, "");
  const std::vector<uint64_t> ids = FlowIds(s);
  ASSERT_EQ(ids.size(), 5000u);
  for (uint64_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], i);
  EXPECT_EQ((*h)->counters().delivered.load(), 5000u);
  EXPECT_EQ((*h)->counters().records_lost(), 0u);
  EXPECT_EQ((*h)->counters().bytes.load(), bytes.size());
  for (const testing::DecodedMessage& m : s.messages) EXPECT_EQ(m.domain, 5u);
}

// A file is never a reason to lose records: with a spool and a queue far
// smaller than the export, the control side waits for the disk instead.
TEST(IpfixExporterTest, FileBackpressureLosesNothing) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("ipfix-bp-" + std::to_string(getpid()))).string();
  IpfixOptions o = Options(TransportKind::kFile, 0, path);
  o.exporter.spool_bytes = 64 << 10;  // the queue holds four times more
  o.queue_batches = 16;
  o.batch_bytes = 16 << 10;
  auto h = IpfixHandler::Create(o);
  ASSERT_TRUE(h.ok()) << h.status();
  for (uint64_t i = 0; i < 200000; ++i) (*h)->OnRecord(Flow(i));
  ASSERT_TRUE((*h)->Close().ok());
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  std::filesystem::remove(path);
  const Stream s = testing::DecodeStream(bytes.data(), bytes.size());
  ASSERT_EQ(s.error, "");
  const std::vector<uint64_t> ids = FlowIds(s);
  ASSERT_EQ(ids.size(), 200000u);
  for (uint64_t i = 0; i < ids.size(); ++i) ASSERT_EQ(ids[i], i);
  EXPECT_EQ((*h)->counters().records_lost(), 0u);
}

// SIGHUP after logrotate moved the file: the records before are all in the
// moved file, those after in a new file that starts with its templates.
TEST(IpfixExporterTest, FileReopenStartsANewFileWithTemplates) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("ipfix-r-" + std::to_string(getpid()))).string();
  auto h = IpfixHandler::Create(Options(TransportKind::kFile, 0, path));
  ASSERT_TRUE(h.ok()) << h.status();
  for (uint64_t i = 0; i < 1000; ++i) (*h)->OnRecord(Flow(i));
  (*h)->Flush();
  // The exporter has written them once the file stops growing at their size.
  for (int i = 0; i < 1000 && (*h)->counters().delivered.load() < 1000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ((*h)->counters().delivered.load(), 1000u);
  std::filesystem::rename(path, path + ".1");
  (*h)->Reopen();
  for (uint64_t i = 1000; i < 3000; ++i) (*h)->OnRecord(Flow(i));
  ASSERT_TRUE((*h)->Close().ok());
  auto read = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
  };
  const std::vector<uint8_t> old_bytes = read(path + ".1");
  const std::vector<uint8_t> new_bytes = read(path);
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".1");
  const Stream before = testing::DecodeStream(old_bytes.data(), old_bytes.size());
  const Stream after = testing::DecodeStream(new_bytes.data(), new_bytes.size());
  ASSERT_EQ(before.error, "");
  ASSERT_EQ(after.error, "");  // its own templates: readable alone
  const std::vector<uint64_t> a = FlowIds(before), b = FlowIds(after);
  ASSERT_EQ(a.size(), 1000u);
  ASSERT_EQ(b.size(), 2000u);
  EXPECT_EQ(a.back(), 999u);
  EXPECT_EQ(b.front(), 1000u);
  EXPECT_EQ(b.back(), 2999u);
}

TEST(IpfixExporterTest, UnwritableFileIsAStartUpError) {
  auto h = IpfixHandler::Create(Options(TransportKind::kFile, 0, "/nonexistent/dir/x.ipfix"));
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().message(),
            "--ipfix test: cannot open for writing: No such file or directory");
}

// UDP: datagrams never above the MTU, sequence numbers counting the data
// records sent before each one, templates first and again after the refresh
// period.
TEST(IpfixExporterTest, UdpMessagesFitTheMtuAndTemplatesAreRefreshed) {
  const int rx = Listen(0, SOCK_DGRAM);
  ASSERT_GE(rx, 0);
  IpfixOptions o = Options(TransportKind::kUdp, BoundPort(rx));
  o.exporter.mtu = 1200;
  o.exporter.template_refresh_s = 1;
  o.encoder.pen = 32473;
  auto h = IpfixHandler::Create(o);
  ASSERT_TRUE(h.ok()) << h.status();
  for (uint64_t i = 0; i < 300; ++i) (*h)->OnRecord(Flow(i));
  (*h)->Flush();
  // Past the refresh period: the next datagrams start with the templates.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  for (uint64_t i = 300; i < 600; ++i) (*h)->OnRecord(Flow(i));
  ASSERT_TRUE((*h)->Close().ok());
  std::vector<uint8_t> all;
  std::vector<size_t> sizes;
  uint8_t buf[65536];
  for (;;) {
    const ssize_t n = recv(rx, buf, sizeof(buf), MSG_DONTWAIT);
    if (n <= 0) break;
    sizes.push_back(static_cast<size_t>(n));
    all.insert(all.end(), buf, buf + n);
  }
  close(rx);
  const Stream s = testing::DecodeStream(all.data(), all.size());
  ASSERT_EQ(s.error, "");
  ASSERT_EQ(s.messages.size(), sizes.size());
  uint32_t seq = 0;
  int template_messages = 0;
  for (size_t i = 0; i < s.messages.size(); ++i) {
    EXPECT_LE(sizes[i], 1200u);
    EXPECT_EQ(s.messages[i].length, sizes[i]);
    EXPECT_EQ(s.messages[i].sequence, seq);
    seq += s.messages[i].data_records;
    template_messages += s.messages[i].template_records > 0;
  }
  EXPECT_GE(template_messages, 2);  // at start, and after the refresh
  // The type options template and the data template, both before the first
  // flow record (the 22 RFC 5610 type records, data records of the options
  // template, may push the data template into the next datagram).
  uint32_t templates_before_flows = 0;
  for (size_t i = 0; i < s.messages.size(); ++i) {
    templates_before_flows += s.messages[i].template_records;
    if (s.messages[i].data_records > s.messages[i].options_records) break;
  }
  EXPECT_EQ(templates_before_flows, 2u);
  const std::vector<uint64_t> ids = FlowIds(s);
  ASSERT_EQ(ids.size(), 600u);
  EXPECT_EQ((*h)->counters().delivered.load(), 600u);
  EXPECT_EQ((*h)->counters().messages.load(), sizes.size());
  EXPECT_EQ((*h)->counters().records_lost(), 0u);
}

// --ipfix-uniflow: a record with packets both ways is two data records, in
// one datagram (never split: delivered or lost whole), counted once.
TEST(IpfixExporterTest, UniflowHalvesShareADatagramAndCountOnce) {
  const int rx = Listen(0, SOCK_DGRAM);
  ASSERT_GE(rx, 0);
  IpfixOptions o = Options(TransportKind::kUdp, BoundPort(rx));
  o.exporter.mtu = 1200;
  o.encoder.uniflow = true;
  o.encoder.pen = 32473;  // longer records: fewer pairs per datagram, more boundaries
  auto h = IpfixHandler::Create(o);
  ASSERT_TRUE(h.ok()) << h.status();
  for (uint64_t i = 0; i < 1000; ++i) {
    FlowSnapshot f = Flow(i);
    f.last_update_metric.ba_packets = 1 + i % 3;
    f.last_update_metric.ba_bytes = 100;
    (*h)->OnRecord(f);
  }
  ASSERT_TRUE((*h)->Close().ok());
  std::vector<uint8_t> all;
  uint8_t buf[65536];
  for (;;) {
    const ssize_t len = recv(rx, buf, sizeof(buf), MSG_DONTWAIT);
    if (len <= 0) break;
    all.insert(all.end(), buf, buf + len);
  }
  close(rx);
  const Stream s = testing::DecodeStream(all.data(), all.size());
  ASSERT_EQ(s.error, "");
  // Records come in message order: each message's data records in turn.
  const IeRegistry reg = IeRegistry::Load();
  std::map<uint64_t, std::set<size_t>> messages;  // flowId -> messages holding it
  std::map<uint64_t, int> halves;
  size_t next = 0;
  for (size_t m = 0; m < s.messages.size(); ++m) {
    for (uint32_t k = 0; k < s.messages[m].data_records; ++k, ++next) {
      ASSERT_LT(next, s.records.size());
      const std::vector<uint8_t>* id = s.records[next].Find(reg, "flowId");
      if (id == nullptr) continue;  // an RFC 5610 type record
      messages[DecodedRecord::Uint(*id)].insert(m);
      ++halves[DecodedRecord::Uint(*id)];
    }
  }
  EXPECT_GT(s.messages.size(), 50u);  // many boundaries to fall on
  ASSERT_EQ(messages.size(), 1000u);
  for (const auto& [id, in] : messages) {
    EXPECT_EQ(halves[id], 2) << id;
    EXPECT_EQ(in.size(), 1u) << id;
  }
  EXPECT_EQ((*h)->counters().delivered.load(), 1000u);
  EXPECT_EQ((*h)->counters().records_lost(), 0u);
}

// Paced UDP with a queue and a spool far too small: what cannot wait is
// dropped and counted; the collector gets exactly the records counted sent.
TEST(IpfixExporterTest, UdpOverloadIsCountedAndBothEndsAgree) {
  const int rx = Listen(0, SOCK_DGRAM);
  ASSERT_GE(rx, 0);
  IpfixOptions o = Options(TransportKind::kUdp, BoundPort(rx));
  o.exporter.rate = 5000;
  o.exporter.spool_bytes = 16 << 10;
  o.queue_batches = 2;
  o.batch_bytes = 8 << 10;
  auto h = IpfixHandler::Create(o);
  ASSERT_TRUE(h.ok()) << h.status();
  for (uint64_t i = 0; i < 20000; ++i) (*h)->OnRecord(Flow(i));
  const absl::Status closed = (*h)->Close();
  EXPECT_EQ(closed.code(), absl::StatusCode::kDataLoss) << closed;  // exit status 3
  std::vector<uint8_t> all;
  uint8_t buf[65536];
  for (;;) {
    const ssize_t n = recv(rx, buf, sizeof(buf), MSG_DONTWAIT);
    if (n <= 0) break;
    all.insert(all.end(), buf, buf + n);
  }
  close(rx);
  const Stream s = testing::DecodeStream(all.data(), all.size());
  ASSERT_EQ(s.error, "");
  const uint64_t got = FlowIds(s).size();
  const ExporterCounters& c = (*h)->counters();
  EXPECT_EQ(got, c.delivered.load());
  EXPECT_GT(c.records_lost(), 0u);
  EXPECT_EQ(c.delivered.load() + c.records_lost(), 20000u);
}

// A collector that closes gracefully mid-stream (RFC 7011 §10.4.2), goes
// away and comes back, while records keep coming: every record arrives,
// each exactly once, after a reconnection that sends the templates again.
TEST(IpfixExporterTest, TcpCollectorRestartLosesNothing) {
  int lfd = Listen(0, SOCK_STREAM);
  ASSERT_GE(lfd, 0);
  const uint16_t port = BoundPort(lfd);
  IpfixOptions o = Options(TransportKind::kTcp, port);
  o.exporter.backoff_min_ms = 20;
  o.exporter.finish_timeout_ms = 8000;
  o.batch_bytes = 16 << 10;
  auto h = IpfixHandler::Create(o);
  ASSERT_TRUE(h.ok()) << h.status();
  auto first = std::make_unique<TcpCollector>(lfd);
  first->graceful_after = 200 << 10;
  std::unique_ptr<TcpCollector> second;
  constexpr uint64_t kRecords = 60000;
  int stopped_at = -1;
  for (uint64_t next = 0, round = 0; next < kRecords; ++round) {
    for (uint64_t end = std::min(next + 500, kRecords); next < end; ++next) {
      (*h)->OnRecord(Flow(next));
    }
    (*h)->Flush();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (stopped_at < 0 && first->finished > 0) {
      first->Stop();  // the listener goes: nobody there for a while
      stopped_at = static_cast<int>(round);
    }
    if (stopped_at >= 0 && !second && static_cast<int>(round) > stopped_at + 50) {
      lfd = Listen(port, SOCK_STREAM);
      ASSERT_GE(lfd, 0);
      second = std::make_unique<TcpCollector>(lfd);
    }
  }
  ASSERT_GE(stopped_at, 0) << "the first collector never closed";
  if (!second) second = std::make_unique<TcpCollector>(Listen(port, SOCK_STREAM));
  ASSERT_TRUE((*h)->Close().ok());
  second->Stop();
  std::multiset<uint64_t> seen;
  for (const auto* c : {first.get(), second.get()}) {
    for (const std::vector<uint8_t>& bytes : c->connections) {
      // A connection starts with its templates; a message cut short by the
      // collector's close is not counted (it goes again on the next one).
      const Stream s = testing::DecodeStream(bytes.data(), bytes.size());
      for (uint64_t id : FlowIds(s)) seen.insert(id);
    }
  }
  EXPECT_EQ(seen.size(), kRecords);
  for (uint64_t i = 0; i < kRecords; ++i) ASSERT_EQ(seen.count(i), 1u) << i;
  const ExporterCounters& c = (*h)->counters();
  EXPECT_EQ(c.delivered.load(), kRecords);
  EXPECT_EQ(c.records_lost(), 0u);
  EXPECT_GE(c.reconnects.load(), 1u);
  EXPECT_EQ(c.spool_bytes.load(), 0u);  // every record surely read: the spool is empty
}

// A collector killed with bytes its kernel acknowledged but it never read:
// they are sent again on the next connection (some records the collector
// did read may then arrive twice; none is missing).
TEST(IpfixExporterTest, TcpCollectorKilledWithUnreadBytesLosesNothing) {
  int lfd = Listen(0, SOCK_STREAM);
  ASSERT_GE(lfd, 0);
  const uint16_t port = BoundPort(lfd);
  IpfixOptions o = Options(TransportKind::kTcp, port);
  o.exporter.backoff_min_ms = 20;
  o.exporter.finish_timeout_ms = 8000;
  auto h = IpfixHandler::Create(o);
  ASSERT_TRUE(h.ok()) << h.status();
  auto first = std::make_unique<TcpCollector>(lfd);
  first->crash_after = 300 << 10;
  constexpr uint64_t kRecords = 60000;
  // At a pace the exporter thread keeps up with (the queue never fills).
  for (uint64_t i = 0; i < kRecords; ++i) {
    (*h)->OnRecord(Flow(i));
    if (i % 1000 == 999) {
      (*h)->Flush();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  (*h)->Flush();
  for (int i = 0; i < 1000 && first->finished == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  first->Stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto second = std::make_unique<TcpCollector>(Listen(port, SOCK_STREAM));
  ASSERT_TRUE((*h)->Close().ok());
  second->Stop();
  ASSERT_GE(first->connections.size(), 1u);
  const Stream crashed =
      testing::DecodeStream(first->connections[0].data(), first->connections[0].size());
  EXPECT_LT(FlowIds(crashed).size(), kRecords);  // it did die before the end
  std::multiset<uint64_t> seen;
  for (const auto* c : {first.get(), second.get()}) {
    for (const std::vector<uint8_t>& bytes : c->connections) {
      const Stream s = testing::DecodeStream(bytes.data(), bytes.size());
      for (uint64_t id : FlowIds(s)) seen.insert(id);
    }
  }
  const ExporterCounters& c = (*h)->counters();
  ASSERT_EQ(c.queue_lost.load(), 0u);
  for (uint64_t i = 0; i < kRecords; ++i) ASSERT_GE(seen.count(i), 1u) << i;
  EXPECT_EQ(c.delivered.load(), kRecords);
  EXPECT_EQ(c.records_lost(), 0u);
  EXPECT_GE(c.reconnects.load(), 1u);
}

// Nobody listening at all: the spool fills (the spool_bytes gauge shows it,
// never above --ipfix-spool-bytes), what it cannot hold is counted lost at
// once, the rest when the exporter gives up at exit.
TEST(IpfixExporterTest, TcpWithoutCollectorCountsEveryRecordLost) {
  const int probe = Listen(0, SOCK_STREAM);
  const uint16_t port = BoundPort(probe);
  close(probe);  // a port where nothing listens
  IpfixOptions o = Options(TransportKind::kTcp, port);
  o.exporter.spool_bytes = 256 << 10;
  o.exporter.finish_timeout_ms = 300;
  auto h = IpfixHandler::Create(o);
  ASSERT_TRUE(h.ok()) << h.status();
  for (uint64_t i = 0; i < 20000; ++i) (*h)->OnRecord(Flow(i));
  (*h)->Flush();
  // The thread publishes the gauge on each turn of its loop (at least once a
  // second) and moves at most 64 batches from the queue into the spool a
  // turn, so the gauge climbs over several turns: wait for it to pass half
  // the spool (the records are far more than the spool holds).
  for (int i = 0; i < 1000 && (*h)->counters().spool_bytes.load() <= (128u << 10); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT((*h)->counters().spool_bytes.load(), 128u << 10);
  EXPECT_LE((*h)->counters().spool_bytes.load(), 256u << 10);
  const absl::Status closed = (*h)->Close();
  EXPECT_EQ(closed.message(), "--ipfix test: 20000 record(s) lost (see output.ipfix:test.*)");
  const ExporterCounters& c = (*h)->counters();
  EXPECT_EQ(c.delivered.load(), 0u);
  EXPECT_EQ(c.output.records_lost.load(), 20000u);  // what the summary shows
  EXPECT_EQ(c.output.output_errors.load(), c.errors.load());
  EXPECT_EQ(c.records_lost(), 20000u);
  EXPECT_GT(c.errors.load(), 0u);       // refused connections
  EXPECT_EQ(c.spool_bytes.load(), 0u);  // given up: nothing held any more
}

}  // namespace
}  // namespace skyprobe::ipfix
