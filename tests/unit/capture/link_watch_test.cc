// LinkWatch's reading of an --iface's link from the kernel's operstate
// (Documentation/networking/operstates.rst: RFC 2863's states), and which
// ports it watches. The live changes are integration-live's
// (LiveTest.test_link_changes_are_said_and_counted: a veth pair taken down,
// back up and deleted).
#include "capture/link_watch.h"

#include <string>

#include "gtest/gtest.h"

namespace skyprobe {
namespace {

LinkStatus From(const char* text) {
  const std::string s = text;
  return KernelLinkFrom(&s).status;
}

TEST(LinkWatchTest, OperstatesAsTheKernelWritesThem) {
  EXPECT_EQ(From("up\n"), LinkStatus::kUp);
  // lo, tun and other drivers that report no state: frames flow.
  EXPECT_EQ(From("unknown\n"), LinkStatus::kUp);
  EXPECT_EQ(From("down\n"), LinkStatus::kDown);
  EXPECT_EQ(From("lowerlayerdown\n"), LinkStatus::kDown);  // a veth whose peer is down
  EXPECT_EQ(From("dormant\n"), LinkStatus::kDown);
  EXPECT_EQ(From("notpresent\n"), LinkStatus::kDown);
  EXPECT_EQ(From("testing"), LinkStatus::kDown);
  EXPECT_EQ(KernelLinkFrom(nullptr).status, LinkStatus::kGone);  // no such interface
}

TEST(LinkWatchTest, WatchesLivePortsOnceEachAndNoFile) {
  Ports ports;
  RxQueueSpec file;
  file.is_file = true;
  file.name = "a.pcap";
  ports.queues.push_back(file);
  RxQueueSpec lo;
  lo.port_id = 1;
  lo.is_kernel = true;
  lo.name = "lo";  // always there, operstate "unknown"
  ports.queues.push_back(lo);
  lo.queue_id = 1;  // a second queue of the same port
  ports.queues.push_back(lo);
  const LinkWatch watch(ports, true);
  EXPECT_EQ(watch.size(), 1u);
  struct Collected {
    std::vector<std::pair<std::string, uint64_t>> values;
    void Add(const std::string& n, uint64_t v) { values.emplace_back(n, v); }
  } s;
  watch.AddTo(&s);
  ASSERT_EQ(s.values.size(), 2u);
  EXPECT_EQ(s.values[0], (std::pair<std::string, uint64_t>{"port1_link_up", 1}));
  EXPECT_EQ(s.values[1], (std::pair<std::string, uint64_t>{"port1_link_downs", 0}));
}

}  // namespace
}  // namespace skyprobe
