// Capture points in the configuration: per-input attributes after the input's name
// (--pcap FILE,node-tid=..,capture-id=..,bpf=..; --iface, --port, --sflow-listen), the same
// keys in YAML (strings or mappings), clear errors for bad keys and values, unique capture
// IDs, and the resolution of each point against the probe-wide flags.

#include <pcap/pcap.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "config/config.h"
#include "config/config_internal.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/config/config_test_util.h"

namespace skyprobe::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class CapturePointsFlagsTest : public ConfigTest {};

TEST_F(CapturePointsFlagsTest, AttributesAfterThePcapName) {
  const std::string a = WritePcap("a.pcap");
  const std::string b = WritePcap("b.pcap");
  absl::StatusOr<Config> cfg =
      Load({"--pcap", a + ",node-tid=tap-1,capture-id=uplink,bpf=tcp port 80", "--pcap=" + b,
            "--node-tid", "probe", "--bpf", "udp"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->pcap_files, ElementsAre(a, b));
  ASSERT_EQ(cfg->pcap_attrs.size(), 2u);
  EXPECT_EQ(cfg->pcap_attrs[0].node_tid, "tap-1");
  EXPECT_EQ(cfg->pcap_attrs[0].capture_id, "uplink");
  EXPECT_EQ(cfg->pcap_attrs[0].bpf, "tcp port 80");
  EXPECT_TRUE(cfg->pcap_attrs[1].empty());
  // Resolved: own attributes win, the others come from the probe-wide flags.
  const CapturePointSpec p0 = ResolveCapturePoint(*cfg, a, cfg->pcap_attrs[0]);
  EXPECT_EQ(p0.node_tid, "tap-1");
  EXPECT_EQ(p0.capture_id, "uplink");
  EXPECT_TRUE(p0.capture_id_given);
  EXPECT_EQ(p0.bpf, "tcp port 80");
  const CapturePointSpec p1 = ResolveCapturePoint(*cfg, b, cfg->pcap_attrs[1]);
  EXPECT_EQ(p1.node_tid, "probe");
  EXPECT_EQ(p1.capture_id, b);
  EXPECT_FALSE(p1.capture_id_given);
  EXPECT_EQ(p1.bpf, "udp");
}

TEST_F(CapturePointsFlagsTest, BpfTakesTheRestOfTheValueAndMayComeAnywhereElse) {
  const std::string a = WritePcap("a.pcap");
  // Whitespace around the expression goes, as for --bpf; commas after bpf= belong to it,
  // so a key written after it is part of the expression (and libpcap refuses it).
  absl::StatusOr<Config> cfg = Load({"--pcap", a + ",capture-id=x,bpf= icmp or udp "});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->pcap_attrs[0].bpf, "icmp or udp");
  cfg = Load({"--pcap", a + ",bpf=icmp,capture-id=x"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(cfg.status().message(), HasSubstr("--pcap " + a + ": bpf \"icmp,capture-id=x\": "));
}

TEST_F(CapturePointsFlagsTest, UnknownRepeatedAndEmptyAttributes) {
  const std::string a = WritePcap("a.pcap");
  EXPECT_EQ(Load({"--pcap", a + ",nod-tid=x"}).status().message(),
            "--pcap: " + a +
                ": unknown attribute 'nod-tid' (did you mean node-tid?); an input takes "
                "node-tid, capture-id, bpf");
  EXPECT_EQ(
      Load({"--pcap", a + ",color=red"}).status().message(),
      "--pcap: " + a + ": unknown attribute 'color'; an input takes node-tid, capture-id, bpf");
  EXPECT_EQ(Load({"--pcap", a + ",capture-id=x,capture_id=y"}).status().message(),
            "--pcap: " + a + ": attribute capture-id given twice");
  EXPECT_EQ(Load({"--pcap", a + ",node-tid="}).status().message(),
            "--pcap: " + a + ": node-tid: empty value");
  EXPECT_EQ(Load({"--pcap", a + ",bpf= "}).status().message(),
            "--pcap: " + a + ": bpf: empty value (leave bpf= out to take --bpf)");
  EXPECT_EQ(Load({"--pcap", a + ",capture-id=up link"}).status().message(),
            "--pcap: " + a +
                ": capture-id: 'up link' holds a space or a non-printable byte (printable "
                "ASCII only: it names Stats scopes and summary lines)");
  EXPECT_THAT(
      std::string(Load({"--pcap", a + ",capture-id=" + std::string(129, 'x')}).status().message()),
      HasSubstr("is longer than 128 bytes"));
  EXPECT_EQ(Load({"--pcap", a + ",tap-1"}).status().message(),
            "--pcap: 'tap-1' after '" + a +
                "' is not KEY=VALUE (node-tid=ID, capture-id=ID, bpf=EXPR); a comma starts the "
                "input's attributes, so a name cannot hold one");
}

// sFlow listeners are capture points named by capture-id=; their flows'
// NodeTID is their agent's and samples are not filtered, so node-tid= and
// bpf= are refused, saying why, rather than ignored.
TEST_F(CapturePointsFlagsTest, SflowListenersTakeACaptureIdOnly) {
  absl::StatusOr<Config> cfg =
      Load({"--sflow-listen", "127.0.0.1:0,capture-id=site-a", "--sflow-listen", "[::1]:0"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->sflow_listen, ElementsAre("127.0.0.1:0", "[::1]:0"));
  ASSERT_EQ(cfg->sflow_attrs.size(), 2u);
  EXPECT_EQ(cfg->sflow_attrs[0].capture_id, "site-a");
  EXPECT_FALSE(cfg->sflow_attrs[1].capture_id.has_value());
  for (const char* attr : {"node-tid=x", "bpf=tcp"}) {
    const std::string key = std::string(attr).substr(0, std::string(attr).find('='));
    EXPECT_EQ(Load({"--sflow-listen", std::string("127.0.0.1:0,") + attr}).status().message(),
              "--sflow-listen: 127.0.0.1:0: attribute '" + key +
                  "': an sFlow listener takes capture-id= only (each agent's flows carry its "
                  "address as NodeTID; a filter does not apply to samples)");
  }
  // Its capture ID is unique among every input's.
  EXPECT_THAT(std::string(Load({"--sflow-listen", "127.0.0.1:0,capture-id=x", "--sflow-listen",
                                "127.0.0.1:1,capture-id=x"})
                              .status()
                              .message()),
              ::testing::HasSubstr("capture-id x is already the capture ID of"));
}

TEST_F(CapturePointsFlagsTest, GivenCaptureIdsAreUnique) {
  const std::string a = WritePcap("a.pcap");
  const std::string b = WritePcap("b.pcap");
  absl::StatusOr<Config> cfg =
      Load({"--pcap", a + ",capture-id=tap", "--pcap", b + ",capture-id=tap"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message(), "--pcap " + b +
                                        ": capture-id tap is already the capture ID of --pcap " +
                                        a + " (each capture point needs its own)");
  // The same file twice is two capture points: fine, with default IDs made unique.
  cfg = Load({"--pcap", a, "--pcap", a});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
}

TEST_F(CapturePointsFlagsTest, DefaultCaptureIdsAreMadeUnique) {
  std::vector<CapturePointSpec> points(5);
  points[0].capture_id = "demo.pcap";
  points[1].capture_id = "demo.pcap";
  points[2].capture_id = "demo.pcap#2";  // given by hand: kept, so the default moves on
  points[2].capture_id_given = true;
  points[3].capture_id = "demo.pcap";
  points[4].capture_id = "eth0";
  UniqueCaptureIds(&points);
  EXPECT_EQ(points[0].capture_id, "demo.pcap");
  EXPECT_EQ(points[1].capture_id, "demo.pcap#3");
  EXPECT_EQ(points[2].capture_id, "demo.pcap#2");
  EXPECT_EQ(points[3].capture_id, "demo.pcap#4");
  EXPECT_EQ(points[4].capture_id, "eth0");
  EXPECT_EQ(CaptureIdFromName("my trace\t\x01.pcap"), "my_trace__.pcap");
  EXPECT_EQ(CaptureIdFromName("0000:3b:00.0"), "0000:3b:00.0");
}

TEST_F(CapturePointsFlagsTest, PerInputBpfIsCheckedForItsLinkType) {
  const std::string eth = WritePcap("eth.pcap", DLT_EN10MB);
  const std::string raw = WritePcap("raw.pcap", DLT_RAW);
  // "vlan" means nothing on raw IP: refused for that input only, naming it.
  ASSERT_TRUE(Load({"--pcap", eth + ",bpf=vlan and icmp", "--pcap", raw}).ok());
  absl::StatusOr<Config> cfg = Load({"--pcap", eth, "--pcap", raw + ",bpf=vlan and icmp"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(cfg.status().message(),
              HasSubstr("--pcap " + raw + ": bpf \"vlan and icmp\": for " + raw + " (RAW): "));
  // The probe-wide --bpf is compiled only for the inputs that take it.
  ASSERT_TRUE(Load({"--pcap", eth, "--pcap", raw + ",bpf=icmp", "--bpf", "vlan and icmp"}).ok());
  EXPECT_EQ(Load({"--pcap", eth + ",bpf=porrt 53"}).status().message(),
            "--pcap " + eth + ": bpf \"porrt 53\": can't parse filter expression: syntax error");
}

TEST_F(CapturePointsFlagsTest, PortAttributesNeedEalAndOnePerDevice) {
  absl::StatusOr<Config> cfg = Load({"--eal", "-l 0-1", "--port", "0000:3b:00.0,capture-id=up",
                                     "--port", "net_pcap0,node-tid=n,bpf=udp"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  ASSERT_EQ(cfg->port_attrs.size(), 2u);
  EXPECT_EQ(cfg->port_attrs[0].device, "0000:3b:00.0");
  EXPECT_EQ(cfg->port_attrs[0].attrs.capture_id, "up");
  EXPECT_EQ(cfg->port_attrs[1].device, "net_pcap0");
  EXPECT_EQ(cfg->port_attrs[1].attrs.node_tid, "n");
  EXPECT_EQ(cfg->port_attrs[1].attrs.bpf, "udp");
  EXPECT_EQ(Load({"--eal", "-l 0-1", "--port", "0000:3b:00.0"}).status().message(),
            "--port: '0000:3b:00.0': no attribute given "
            "(DEVICE,node-tid=ID,capture-id=ID,bpf=EXPR)");
  EXPECT_EQ(Load({"--eal", "-l 0-1", "--port", "x,capture-id=a", "--port", "x,capture-id=b"})
                .status()
                .message(),
            "--port x: given twice (one --port per device)");
  EXPECT_THAT(std::string(Load({"--pcap", WritePcap("a.pcap"), "--port", "net_pcap0,capture-id=a"})
                              .status()
                              .message()),
              HasSubstr("--port: names a port probed through --eal; give a --pcap or --iface "
                        "input's attributes after its name"));
}

// --pcap-queues: the files of one capture point (one capture-id=, or none)
// are the queues of one port; each port one vdev, its files in order.
TEST_F(CapturePointsFlagsTest, PcapQueuesMakesAPortOfEachCapturePoint) {
  const std::string a = WritePcap("a.pcap"), b = WritePcap("b.pcap"), c = WritePcap("c.pcap");
  const std::string d = WritePcap("d.pcap");
  absl::StatusOr<Config> cfg =
      Load({"--pcap", a + ",capture-id=x", "--pcap", b, "--pcap", c + ",capture-id=x", "--pcap", d,
            "--pcap-queues", "--workers", "2"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(PcapPortFiles(*cfg), (std::vector<std::vector<size_t>>{{0, 2}, {1, 3}}));
  const std::vector<std::string> args =
      config_internal::EalArgumentsForCpus(*cfg, "p", {0, 1, 2, 3});
  EXPECT_THAT(args, ::testing::Contains("--vdev=net_pcap0,rx_pcap=" + a + ",rx_pcap=" + c));
  EXPECT_THAT(args, ::testing::Contains("--vdev=net_pcap1,rx_pcap=" + b + ",rx_pcap=" + d));
  // Each point's two queues feed the two workers: no dispatcher (lcores 0-2).
  EXPECT_THAT(args, ::testing::Contains("0-2"));
  // Without --pcap-queues every file is a port of its own.
  cfg = Load({"--pcap", a + ",capture-id=x", "--pcap", b});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(PcapPortFiles(*cfg), (std::vector<std::vector<size_t>>{{0}, {1}}));
  // The queues of one port share its node-tid= and bpf=.
  cfg =
      Load({"--pcap", a + ",capture-id=x,bpf=tcp", "--pcap", c + ",capture-id=x", "--pcap-queues"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message(),
            "--pcap " + c + ": --pcap-queues makes it a queue of the port of " + a +
                " (same capture point): give both the same node-tid= and bpf=");
}

TEST_F(CapturePointsFlagsTest, YamlEntriesAsStringsOrMappings) {
  const std::string a = WritePcap("a.pcap");
  const std::string b = WritePcap("b.pcap");
  const std::string yaml =
      WriteFile("p.yaml", "input:\n  pcap:\n    - " + a + ",capture-id=left\n    - file: " + b +
                              "\n      node_tid: tap-2\n      capture-id: right\n      bpf: icmp\n"
                              "sflow:\n  listen:\n    - { address: \"127.0.0.1:0\" }\n");
  absl::StatusOr<Config> cfg = Load({"--config", yaml});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->pcap_files, ElementsAre(a, b));
  EXPECT_EQ(cfg->pcap_attrs.at(0).capture_id, "left");
  EXPECT_EQ(cfg->pcap_attrs.at(1).node_tid, "tap-2");
  EXPECT_EQ(cfg->pcap_attrs.at(1).capture_id, "right");
  EXPECT_EQ(cfg->pcap_attrs.at(1).bpf, "icmp");
  EXPECT_THAT(cfg->sflow_listen, ElementsAre("127.0.0.1:0"));
  // One mapping alone is a one-input list; a flag replaces the file's list and attributes.
  const std::string one =
      WriteFile("one.yaml", "input:\n  pcap: { file: " + a + ", capture_id: only }\n");
  cfg = Load({"--config", one});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->pcap_attrs.at(0).capture_id, "only");
  cfg = Load({"--config", one, "--pcap", b});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_THAT(cfg->pcap_files, ElementsAre(b));
  EXPECT_TRUE(cfg->pcap_attrs.at(0).empty());
}

TEST_F(CapturePointsFlagsTest, YamlErrorsNameTheEntry) {
  const std::string a = WritePcap("a.pcap");
  const std::string typo = WriteFile(
      "t.yaml", "input:\n  pcap:\n    - " + a + "\n    - { file: " + a + ", capture_idd: x }\n");
  EXPECT_EQ(Load({"--config", typo}).status().message(),
            typo +
                ": input.pcap[2]: unknown attribute 'capture_idd' (did you mean "
                "capture-id?); an input takes node-tid, capture-id, bpf (and file: the "
                "input)");
  const std::string noname = WriteFile("n.yaml", "input:\n  pcap: [{ capture_id: x }]\n");
  EXPECT_EQ(Load({"--config", noname}).status().message(),
            noname + ": input.pcap[1]: no file: key (the input itself)");
  const std::string ports = WriteFile(
      "ports.yaml", "input:\n  eal: \"-l 0-1\"\n  ports: [{ device: 0000:3b:00.0, bpf: tcp }]\n");
  absl::StatusOr<Config> cfg = Load({"--config", ports});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->port_attrs.at(0).device, "0000:3b:00.0");
  EXPECT_EQ(cfg->port_attrs.at(0).attrs.bpf, "tcp");
}

}  // namespace
}  // namespace skyprobe::testing
