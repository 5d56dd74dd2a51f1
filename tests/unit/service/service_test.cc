// The gRPC service in-process on a port-0 server over a FakeBackend: queries
// (filters, sort, dedup, pagination), bad requests, subscriptions (including a
// client that cancels), pcap export read back with libpcap, stats, flush.

#include <pcap/pcap.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/grpc_server.h"
#include "skyprobe/v1/probe_service.grpc.pb.h"
#include "tests/unit/query/test_flows.h"
#include "tests/unit/service/fake_backend.h"

namespace skyprobe {
namespace {

namespace v1 = ::skyprobe::v1;
using ::skyprobe::testing::FakeBackend;
using ::skyprobe::testing::IcmpFlow;
using ::skyprobe::testing::RawIpPacket;
using ::skyprobe::testing::TcpFlow;
using ::skyprobe::testing::UdpFlow;
using ::skyprobe::testing::UdpPacket;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_.AddFlow(TcpFlow(0x11, "10.0.0.1", "10.0.0.2", 40000, 443, 1500),
                     {UdpPacket(1'000'000'000, 1, 1), UdpPacket(3'000'000'500, 2, 1)});
    backend_.AddFlow(TcpFlow(0x12, "10.0.0.1", "10.0.0.3", 40001, 22, 500),
                     {UdpPacket(2'000'000'000, 1, 2)});
    backend_.AddFlow(UdpFlow(0x13, "10.0.0.4", "10.0.0.1", 5353, 53, 80));
    backend_.AddFlow(IcmpFlow(0x14, "10.0.0.9", "10.0.0.1"), {RawIpPacket(2'500'000'000, 1)});
    Start(ServiceOptions{.listen = "127.0.0.1:0"});
  }

  void Start(const ServiceOptions& options) {
    auto server = StartGrpcServer(options, &backend_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::ProbeService::NewStub(channel_);
  }

  grpc::Status Query(const v1::FlowQuery& q, v1::FlowSet* out) {
    grpc::ClientContext ctx;
    return stub_->Query(&ctx, q, out);
  }

  std::vector<std::string> QueryUuids(const v1::FlowQuery& q) {
    v1::FlowSet set;
    grpc::Status s = Query(q, &set);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> out;
    for (const v1::Flow& f : set.flows()) out.push_back(f.uuid());
    return out;
  }

  FakeBackend backend_{"probe-1"};
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ProbeService::Stub> stub_;
};

TEST_F(ServiceTest, QueryFiltersSortsAndDedups) {
  v1::FlowQuery q;
  EXPECT_THAT(QueryUuids(q), ElementsAre("11", "12", "13", "14"));
  q.set_expression("Network.A = '10.0.0.1'");
  EXPECT_THAT(QueryUuids(q), ElementsAre("11", "12"));
  q.set_expression("Metric.ABBytes >= 80 and not Transport.B in (22, 443)");
  EXPECT_THAT(QueryUuids(q), ElementsAre("13", "14"));
  q.set_expression("NodeTID = 'probe-1'");
  q.set_sort_by("Metric.ABBytes");
  q.set_sort_order(v1::DESCENDING);
  EXPECT_THAT(QueryUuids(q), ElementsAre("11", "12", "14", "13"));
  q.set_dedup_by("Network.A");
  EXPECT_THAT(QueryUuids(q), ElementsAre("11", "14", "13"));
  q.set_dedup_by("NodeTID");
  EXPECT_THAT(QueryUuids(q), ElementsAre("11"));
}

TEST_F(ServiceTest, QueryAnswerCarriesFlowsAsToProtoMakesThem) {
  v1::FlowQuery q;
  q.set_expression("UUID = '11'");
  v1::FlowSet set;
  ASSERT_TRUE(Query(q, &set).ok());
  ASSERT_EQ(set.flows_size(), 1);
  const v1::Flow& f = set.flows(0);
  EXPECT_EQ(f.network().a(), "10.0.0.1");
  EXPECT_EQ(f.transport().b(), 443);
  EXPECT_EQ(f.nodetid(), "probe-1");
  EXPECT_EQ(set.start(), f.start());
  EXPECT_EQ(set.end(), f.last());
  EXPECT_EQ(set.nextpagetoken(), "");
}

TEST_F(ServiceTest, StructuredFilter) {
  v1::FlowQuery q;
  auto* t = q.mutable_filter()->mutable_gtint64filter();
  t->set_key("Metric.ABBytes");
  t->set_value(400);
  EXPECT_THAT(QueryUuids(q), ElementsAre("11", "12"));
  q.set_expression("Transport.B = 22");  // both must match
  EXPECT_THAT(QueryUuids(q), ElementsAre("12"));
}

TEST_F(ServiceTest, Pagination) {
  v1::FlowQuery q;
  q.set_sort_by("Start");
  q.set_limit(3);
  v1::FlowSet first;
  ASSERT_TRUE(Query(q, &first).ok());
  ASSERT_EQ(first.flows_size(), 3);
  ASSERT_NE(first.nextpagetoken(), "");
  q.set_page_token(first.nextpagetoken());
  v1::FlowSet second;
  ASSERT_TRUE(Query(q, &second).ok());
  ASSERT_EQ(second.flows_size(), 1);
  EXPECT_EQ(second.flows(0).uuid(), "14");
  EXPECT_EQ(second.nextpagetoken(), "");
  q.set_sort_by("Last");  // another query
  v1::FlowSet other;
  grpc::Status s = Query(q, &other);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("page_token"));
}

// QueryStream: one scan, then messages of at most 1000 flows in the query's
// order; each message's token resumes after it (with Query too); the limit
// caps the whole stream, not a page.
TEST_F(ServiceTest, QueryStreamSendsTheWholeAnswerInMessages) {
  for (uint64_t i = 0; i < 2500; ++i) {
    backend_.AddFlow(UdpFlow(0x1000 + i, "10.1.0.1", "10.1.0.2", static_cast<uint16_t>(i), 53,
                             static_cast<int64_t>(i)));
  }
  auto stream = [&](const v1::FlowQuery& q, std::vector<v1::FlowSet>* sets) {
    grpc::ClientContext ctx;
    auto reader = stub_->QueryStream(&ctx, q);
    v1::FlowSet set;
    while (reader->Read(&set)) sets->push_back(set);
    return reader->Finish();
  };
  v1::FlowQuery q;
  q.set_expression("Network.A = '10.1.0.1'");
  q.set_sort_by("Metric.ABBytes");
  q.set_sort_order(v1::DESCENDING);
  std::vector<v1::FlowSet> sets;
  ASSERT_TRUE(stream(q, &sets).ok());
  ASSERT_EQ(sets.size(), 3u);
  EXPECT_EQ(sets[0].flows_size(), 1000);
  EXPECT_EQ(sets[1].flows_size(), 1000);
  EXPECT_EQ(sets[2].flows_size(), 500);
  int64_t expect = 2499;
  for (const v1::FlowSet& set : sets) {
    for (const v1::Flow& f : set.flows()) EXPECT_EQ(f.metric().abbytes(), expect--);
  }
  EXPECT_EQ(expect, -1);
  EXPECT_EQ(sets[2].nextpagetoken(), "");
  // The first message's token continues with the flow after it, in a page too.
  ASSERT_NE(sets[0].nextpagetoken(), "");
  v1::FlowQuery next = q;
  next.set_page_token(sets[0].nextpagetoken());
  next.set_limit(2);
  v1::FlowSet page;
  ASSERT_TRUE(Query(next, &page).ok());
  ASSERT_EQ(page.flows_size(), 2);
  EXPECT_EQ(page.flows(0).metric().abbytes(), 1499);
  // Limit is the total, past the page maximum; the last message still
  // carries a token, because flows follow.
  next.set_limit(1200);
  std::vector<v1::FlowSet> rest;
  ASSERT_TRUE(stream(next, &rest).ok());
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].flows(0).metric().abbytes(), 1499);
  EXPECT_EQ(rest[1].flows_size(), 200);
  EXPECT_EQ(rest[1].flows(199).metric().abbytes(), 300);
  EXPECT_NE(rest[1].nextpagetoken(), "");
  // JSON_LINES: the same flows in the same order, as the probe's JSON lines.
  v1::FlowQuery j = q;
  j.set_format(v1::JSON_LINES);
  j.set_limit(1500);
  std::vector<v1::FlowSet> json;
  ASSERT_TRUE(stream(j, &json).ok());
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0].flows_size(), 0);
  std::string all = json[0].jsonlines() + json[1].jsonlines();
  EXPECT_EQ(std::count(all.begin(), all.end(), '\n'), 1500);
  EXPECT_THAT(all.substr(0, all.find('\n')), HasSubstr("\"ABBytes\":2499"));
  EXPECT_THAT(all, HasSubstr("\"NodeTID\":\"probe-1\""));
  j.set_format(static_cast<v1::FlowFormat>(7));
  EXPECT_EQ(stream(j, &json).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // No match: OK and nothing. A bad request: INVALID_ARGUMENT, no message.
  q.set_expression("Transport.B = 9");
  std::vector<v1::FlowSet> none;
  EXPECT_TRUE(stream(q, &none).ok());
  EXPECT_TRUE(none.empty());
  q.set_expression("Nope = 1");
  grpc::Status bad = stream(q, &none);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("Nope"));
  EXPECT_TRUE(none.empty());
  q.set_expression("");
  q.set_page_token("garbage");
  EXPECT_EQ(stream(q, &none).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, BadRequestsAreInvalidArgumentNamingTheProblem) {
  auto expect_bad = [&](const v1::FlowQuery& q, const std::string& message) {
    v1::FlowSet set;
    grpc::Status s = Query(q, &set);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << message;
    EXPECT_THAT(s.error_message(), HasSubstr(message));
  };
  v1::FlowQuery q;
  q.set_expression("Network.Z = '1'");
  expect_bad(q, "unknown key 'Network.Z'");
  q.set_expression("Transport.B = 'ssh'");
  expect_bad(q, "Transport.B is an integer key");
  q.set_expression("LayersPath =~ '(['");
  expect_bad(q, "bad regular expression");
  q.Clear();
  q.mutable_filter()->mutable_termint64filter()->set_key("Network.A");
  expect_bad(q, "TermInt64Filter: key 'Network.A' is a string key");
  q.Clear();
  q.set_limit(10001);
  expect_bad(q, "maximum page of 10000");
  q.Clear();
  q.set_sort_by("Bytes");
  expect_bad(q, "sort_by: unknown key 'Bytes'");
}

TEST_F(ServiceTest, SubscribeReceivesMatchingRecordsAndCancelLeavesServerHealthy) {
  grpc::ClientContext ctx;
  v1::FlowFilter filter;
  filter.set_expression("Transport.B = 443");
  auto reader = stub_->Subscribe(&ctx, filter);
  reader->WaitForInitialMetadata();  // the server subscribes before sending headers
  ASSERT_EQ(backend_.subscriber_count(), 1u);
  backend_.Push(TcpFlow(0x21, "10.0.0.5", "10.0.0.6", 1, 22, 1));  // filtered out
  backend_.Push(TcpFlow(0x22, "10.0.0.5", "10.0.0.6", 1, 443, 1));
  backend_.Push(TcpFlow(0x23, "10.0.0.5", "10.0.0.6", 2, 443, 1));
  v1::Flow f;
  ASSERT_TRUE(reader->Read(&f));
  EXPECT_EQ(f.uuid(), "22");
  EXPECT_EQ(f.nodetid(), "probe-1");
  ASSERT_TRUE(reader->Read(&f));
  EXPECT_EQ(f.uuid(), "23");
  ctx.TryCancel();
  while (reader->Read(&f)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  for (int i = 0; i < 1000 && backend_.subscriber_count() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(backend_.subscriber_count(), 0u);
  backend_.Push(TcpFlow(0x24, "10.0.0.5", "10.0.0.6", 3, 443, 1));  // nobody listens
  v1::FlowQuery q;
  EXPECT_EQ(QueryUuids(q).size(), 4u);
}

TEST_F(ServiceTest, SlowSubscriberLosesRecordsAndIsToldSo) {
  server_->Shutdown();
  Start(ServiceOptions{.listen = "127.0.0.1:0", .subscriber_queue = 4});
  grpc::ClientContext ctx;
  auto reader = stub_->Subscribe(&ctx, v1::FlowFilter());
  reader->WaitForInitialMetadata();  // the server subscribes before sending headers
  // The client reads nothing while 5000 large-ish records arrive: the queue
  // (4) and gRPC's flow-control window fill, the rest is dropped.
  for (int i = 0; i < 5000; ++i) backend_.Push(TcpFlow(0x100 + i, "10.0.0.5", "10.0.0.6", 1, 2, 1));
  v1::Flow f;
  int received = 0;
  while (reader->Read(&f)) ++received;
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("records dropped"));
  EXPECT_GT(received, 0);
  EXPECT_LT(received, 5000);
}

TEST_F(ServiceTest, ExportPcapIsOneFileLibpcapReads) {
  v1::FlowQuery q;
  q.set_expression("Transport.Protocol = 'TCP'");
  grpc::ClientContext ctx;
  auto reader = stub_->ExportPcap(&ctx, q);
  std::string file;
  v1::PcapChunk chunk;
  while (reader->Read(&chunk)) file += chunk.data();
  ASSERT_TRUE(reader->Finish().ok());
  char path[] = "/tmp/skyprobe_pcap_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, file.data(), file.size()), static_cast<ssize_t>(file.size()));
  close(fd);
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
  ASSERT_NE(p, nullptr) << err;
  EXPECT_EQ(pcap_datalink(p), 1);
  std::vector<int64_t> stamps;
  uint64_t bytes = 0;
  pcap_pkthdr* h;
  const u_char* data;
  while (pcap_next_ex(p, &h, &data) == 1) {
    stamps.push_back(int64_t{h->ts.tv_sec} * 1'000'000'000 + h->ts.tv_usec);
    bytes += h->caplen;
  }
  pcap_close(p);
  unlink(path);
  // Three packets of two flows, in time order, nanoseconds kept.
  EXPECT_THAT(stamps, ElementsAre(1'000'000'000, 2'000'000'000, 3'000'000'500));
  EXPECT_EQ(bytes, 3 * UdpPacket(0, 0, 0).data.size());
}

TEST_F(ServiceTest, ExportPcapWithTwoLinkTypesIsPcapng) {
  v1::FlowQuery q;
  q.set_expression("UUID = '12' or UUID = '14'");
  grpc::ClientContext ctx;
  auto reader = stub_->ExportPcap(&ctx, q);
  std::string file;
  v1::PcapChunk chunk;
  while (reader->Read(&chunk)) file += chunk.data();
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_GE(file.size(), 4u);
  EXPECT_EQ(file.substr(0, 4), std::string("\x0a\x0d\x0d\x0a", 4));
  // libpcap refuses pcapng files whose interfaces differ in link type, so
  // the oracle is tshark (installed by scripts/setup.sh --tests).
  char path[] = "/tmp/skyprobe_pcapng_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_EQ(write(fd, file.data(), file.size()), static_cast<ssize_t>(file.size()));
  close(fd);
  const std::string cmd =
      absl::StrCat("tshark -r ", path, " -T fields -e frame.protocols 2>/dev/null");
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[256];
  while (fgets(buf, sizeof(buf), pipe) != nullptr) out += buf;
  const int rc = pclose(pipe);
  unlink(path);
  ASSERT_EQ(rc, 0) << "tshark is needed to read pcapng with two link types: " << out;
  // The raw-IPv4 packet (2.5 s) and the Ethernet one (2 s), in time order.
  EXPECT_EQ(out, "eth:ethertype:ip:udp:dns\nip:udp:dns\n");
}

TEST_F(ServiceTest, StatsAndFlush) {
  grpc::ClientContext ctx;
  v1::StatsReply stats;
  ASSERT_TRUE(stub_->Stats(&ctx, v1::StatsRequest(), &stats).ok());
  EXPECT_EQ(stats.node_tid(), "probe-1");
  bool found = false;
  for (const v1::StatsEntry& e : stats.entries()) {
    if (e.scope() == "total" && e.name() == "flows") found = e.value() == 4;
  }
  EXPECT_TRUE(found);
  grpc::ClientContext ctx2;
  v1::FlushReply reply;
  ASSERT_TRUE(stub_->Flush(&ctx2, v1::FlushRequest(), &reply).ok());
  EXPECT_EQ(backend_.flush_count(), 1);
}

}  // namespace
}  // namespace skyprobe
