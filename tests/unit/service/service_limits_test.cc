// Bounded memory and concurrency of the service (issue 9, item 3), in-process
// over a FakeBackend: each cap on calls in progress, the answer memory budget
// (queries, streams, subscriber queues) and the idle deadline of streams
// whose client does not read. Waits are for events (a counter reaching a
// value), with a generous deadline only so that a broken build fails instead
// of hanging.

#include <chrono>
#include <future>
#include <map>
#include <string>
#include <thread>

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
using ::skyprobe::testing::TcpFlow;
using ::skyprobe::testing::UdpPacket;
using ::testing::HasSubstr;

constexpr auto kPatience = std::chrono::seconds(60);

class ServiceLimitsTest : public ::testing::Test {
 protected:
  void Start(ServiceOptions options) {
    options.listen = "127.0.0.1:0";
    auto server = StartGrpcServer(options, &backend_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::ProbeService::NewStub(channel_);
  }

  void AddFlows(int n) {
    for (int i = 0; i < n; ++i) {
      backend_.AddFlow(TcpFlow(0x1000 + i, "10.0.0.1", "10.0.0.2", 1024 + i % 60000, 443, 100),
                       {UdpPacket(1'000'000'000 + i, 1, 1)});
    }
  }

  std::map<std::string, uint64_t> ServiceStats() {
    grpc::ClientContext ctx;
    v1::StatsReply reply;
    grpc::Status s = stub_->Stats(&ctx, v1::StatsRequest(), &reply);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::map<std::string, uint64_t> out;
    for (const v1::StatsEntry& e : reply.entries()) {
      if (e.scope() == "service") out[e.name()] = e.value();
    }
    return out;
  }

  // Waits until Stats' service counter `name` is `value`; false past kPatience.
  bool AwaitStat(const std::string& name, uint64_t value) {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (ServiceStats()[name] != value) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  bool AwaitWaitingVisits(int n) {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (backend_.visits_waiting() != n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  grpc::Status Query(const v1::FlowQuery& q, v1::FlowSet* out) {
    grpc::ClientContext ctx;
    return stub_->Query(&ctx, q, out);
  }

  // A QueryStream read to its end: the flows it sent and its status.
  std::pair<size_t, grpc::Status> ReadStream(const v1::FlowQuery& q) {
    grpc::ClientContext ctx;
    auto reader = stub_->QueryStream(&ctx, q);
    size_t flows = 0;
    v1::FlowSet set;
    while (reader->Read(&set)) flows += set.flows_size();
    return {flows, reader->Finish()};
  }

  FakeBackend backend_{"probe-1"};
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ProbeService::Stub> stub_;
};

TEST_F(ServiceLimitsTest, QueriesOverTheCapAreRefusedNamingIt) {
  AddFlows(3);
  Start({.max_queries = 1});
  backend_.HoldVisits(true);
  auto first = std::async(std::launch::async, [this] {
    v1::FlowSet set;
    grpc::Status s = Query(v1::FlowQuery(), &set);
    return std::make_pair(s, set.flows_size());
  });
  ASSERT_TRUE(AwaitWaitingVisits(1));
  v1::FlowSet set;
  grpc::Status refused = Query(v1::FlowQuery(), &set);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(refused.error_message(),
            "too many Query calls in progress (1, --grpc-max-queries); retry when one has ended");
  std::map<std::string, uint64_t> stats = ServiceStats();  // Stats is not a query: it answers
  EXPECT_EQ(stats["queries_active"], 1u);
  EXPECT_EQ(stats["refused_busy"], 1u);
  backend_.HoldVisits(false);
  auto [status, flows] = first.get();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(flows, 3);
  EXPECT_TRUE(Query(v1::FlowQuery(), &set).ok());  // the slot came back
  EXPECT_EQ(ServiceStats()["queries_active"], 0u);
}

TEST_F(ServiceLimitsTest, ExportsOverTheCapAreRefusedNamingIt) {
  AddFlows(3);
  Start({.max_exports = 1});
  backend_.HoldVisits(true);
  auto first = std::async(std::launch::async, [this] {
    grpc::ClientContext ctx;
    auto reader = stub_->ExportPcap(&ctx, v1::FlowQuery());
    v1::PcapChunk chunk;
    while (reader->Read(&chunk)) {
    }
    return reader->Finish();
  });
  ASSERT_TRUE(AwaitWaitingVisits(1));
  grpc::ClientContext ctx;
  auto reader = stub_->ExportPcap(&ctx, v1::FlowQuery());
  v1::PcapChunk chunk;
  EXPECT_FALSE(reader->Read(&chunk));
  grpc::Status refused = reader->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(),
              HasSubstr("too many ExportPcap calls in progress (1, --grpc-max-exports)"));
  backend_.HoldVisits(false);
  EXPECT_TRUE(first.get().ok());
}

TEST_F(ServiceLimitsTest, SubscribersOverTheCapAreRefusedUntilOneLeaves) {
  Start({.max_subscribers = 2});
  grpc::ClientContext a_ctx, b_ctx;
  auto a = stub_->Subscribe(&a_ctx, v1::FlowFilter());
  auto b = stub_->Subscribe(&b_ctx, v1::FlowFilter());
  a->WaitForInitialMetadata();
  b->WaitForInitialMetadata();
  {
    grpc::ClientContext ctx;
    auto c = stub_->Subscribe(&ctx, v1::FlowFilter());
    v1::Flow f;
    EXPECT_FALSE(c->Read(&f));
    grpc::Status s = c->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(s.error_message(),
                HasSubstr("too many Subscribe calls in progress (2, --grpc-max-subscribers)"));
  }
  a_ctx.TryCancel();
  v1::Flow f;
  while (a->Read(&f)) {
  }
  a->Finish();
  ASSERT_TRUE(AwaitStat("subscribers", 1));
  grpc::ClientContext d_ctx;
  auto d = stub_->Subscribe(&d_ctx, v1::FlowFilter());
  d->WaitForInitialMetadata();
  backend_.Push(TcpFlow(0x77, "10.0.0.5", "10.0.0.6", 1, 2, 1));
  ASSERT_TRUE(d->Read(&f));
  EXPECT_EQ(f.uuid(), "77");
  b_ctx.TryCancel();
  d_ctx.TryCancel();
}

TEST_F(ServiceLimitsTest, AnswersOverTheMemoryBudgetAreRefused) {
  AddFlows(5000);  // about 3 MB of rows
  Start({.answer_memory = 1 << 20});
  v1::FlowSet set;
  grpc::Status s = Query(v1::FlowQuery(), &set);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(),
              HasSubstr("the answer needs more memory than the service has left for answers in "
                        "flight: the budget is 1048576 bytes (--grpc-answer-memory)"));
  auto [flows, stream] = ReadStream(v1::FlowQuery());
  EXPECT_EQ(stream.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(flows, 0u);
  // A narrower answer fits.
  v1::FlowQuery one;
  one.set_expression("UUID = '1001'");
  ASSERT_TRUE(Query(one, &set).ok());
  EXPECT_EQ(set.flows_size(), 1);
  one.set_expression("Transport.A < 1124");
  auto [some, ok] = ReadStream(one);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(some, 100u);
  EXPECT_EQ(ServiceStats()["refused_memory"], 2u);
  // Everything is given back once the last stream's reactor is done (just
  // after its client saw the end).
  EXPECT_TRUE(AwaitStat("answer_bytes", 0));
}

// A client that opens a big stream and never reads: its write waits on the
// client, the watchdog cuts it at the deadline, its answer and slot are freed.
TEST_F(ServiceLimitsTest, StreamsWhoseClientDoesNotReadAreCutOff) {
  AddFlows(50000);  // some 25 MB of answer: far more than flow control lets through
  Start({.max_streams = 1, .idle_timeout = std::chrono::milliseconds(300)});
  grpc::ClientContext idle_ctx;
  auto idle = stub_->QueryStream(&idle_ctx, v1::FlowQuery());
  v1::FlowSet set;
  ASSERT_TRUE(idle->Read(&set));  // it started; now it reads no more
  ASSERT_GT(ServiceStats()["answer_bytes"], 50000 * sizeof(FlowSnapshot));
  auto [none, busy] = ReadStream(v1::FlowQuery());
  EXPECT_EQ(busy.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(busy.error_message(), HasSubstr("(1, --grpc-max-streams)"));
  ASSERT_TRUE(AwaitStat("idle_cut", 1));
  ASSERT_TRUE(AwaitStat("query_streams_active", 0));
  EXPECT_EQ(ServiceStats()["answer_bytes"], 0u);
  while (idle->Read(&set)) {
  }
  EXPECT_EQ(idle->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // A reader that keeps up is never cut, however long the answer takes.
  auto [all, ok] = ReadStream(v1::FlowQuery());
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(all, 50000u);
  EXPECT_EQ(ServiceStats()["idle_cut"], 1u);
}

// A row's copy of a flow's application metadata is its own heap block
// (record/app_meta_box.h), charged to the budget with the row: 900 rows fit
// in 1 MiB (1024 rows of the grown vector, ~885 KB) without metadata, but
// not with 900 blocks of it (~497 KB more).
void AddFlowsWithMetadata(FakeBackend* backend, bool metadata) {
  for (int i = 0; i < 900; ++i) {
    FlowSnapshot s = TcpFlow(0x1000 + i, "10.0.0.1", "10.0.0.2", 1024 + i, 443, 100);
    if (metadata) {
      AppMeta* m = s.app.Storage();
      m->kind = AppKind::kTls;
      m->tls.flags = 0;
      m->tls.sni_len = m->tls.alpn_len = 0;
    }
    backend->AddFlow(s);
  }
}

TEST_F(ServiceLimitsTest, RowsWithoutApplicationMetadataFit) {
  AddFlowsWithMetadata(&backend_, false);
  Start({.answer_memory = 1 << 20});
  v1::FlowSet set;
  grpc::Status s = Query(v1::FlowQuery(), &set);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(set.flows_size(), 900);
}

TEST_F(ServiceLimitsTest, RowsWithApplicationMetadataAreChargedForIt) {
  AddFlowsWithMetadata(&backend_, true);
  Start({.answer_memory = 1 << 20});
  v1::FlowSet set;
  grpc::Status s = Query(v1::FlowQuery(), &set);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("(--grpc-answer-memory)"));
  auto [flows, stream] = ReadStream(v1::FlowQuery());
  EXPECT_EQ(stream.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ServiceStats()["answer_bytes"], 0u);
}

TEST_F(ServiceLimitsTest, SubscribersWhoDoNotReadAreCutOff) {
  // A queue long enough that the records outlast gRPC's flow-control window
  // (a short queue drains into the window, drops, and finishes on its own).
  Start({.subscriber_queue = 200000, .idle_timeout = std::chrono::milliseconds(300)});
  grpc::ClientContext ctx;
  auto reader = stub_->Subscribe(&ctx, v1::FlowFilter());
  reader->WaitForInitialMetadata();
  // 100000 records, some 30 MB of messages; the client reads none.
  for (int i = 0; i < 100000; ++i) {
    backend_.Push(TcpFlow(0x100 + i, "10.0.0.5", "10.0.0.6", 1, 2, 1));
  }
  ASSERT_TRUE(AwaitStat("idle_cut", 1));
  ASSERT_TRUE(AwaitStat("subscribers", 0));
  EXPECT_EQ(ServiceStats()["answer_bytes"], 0u);
  EXPECT_EQ(backend_.subscriber_count(), 0u);
  v1::Flow f;
  while (reader->Read(&f)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(ServiceLimitsTest, SlowSubscriberOverTheBudgetIsToldWhichLimit) {
  Start({.answer_memory = 1 << 20});  // room for about 1700 queued records of 8192
  grpc::ClientContext ctx;
  auto reader = stub_->Subscribe(&ctx, v1::FlowFilter());
  reader->WaitForInitialMetadata();
  for (int i = 0; i < 20000; ++i)
    backend_.Push(TcpFlow(0x100 + i, "10.0.0.5", "10.0.0.6", 1, 2, 1));
  v1::Flow f;
  int received = 0;
  while (reader->Read(&f)) ++received;
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(),
              HasSubstr("records dropped after the service's memory for answers in flight "
                        "(--grpc-answer-memory) filled"));
  EXPECT_GT(received, 0);
  EXPECT_LT(received, 20000);
}

}  // namespace
}  // namespace skyprobe
