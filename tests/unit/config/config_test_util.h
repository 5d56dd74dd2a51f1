// config_test_util.h: helpers for the config tests: a private temp dir, small pcap files
// written with libpcap, and LoadConfig from a list of strings.
//
// Owner: test code only.
//
//   ConfigTest::SetUp() gives dir(); std::string p = WritePcap("a.pcap", DLT_EN10MB);
//   absl::StatusOr<Config> cfg = Load({"--pcap", p, "--expire", "30"});
#pragma once

#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "gtest/gtest.h"

namespace skyprobe::testing {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "skyprobe-config-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }

  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  const std::string& dir() const { return dir_; }

  // Writes a pcap with `packets` zero-filled 60-byte packets; returns its path.
  std::string WritePcap(const std::string& name, int dlt = DLT_EN10MB, int snaplen = 65535,
                        int packets = 1) {
    const std::string path = dir_ + "/" + name;
    pcap_t* dead = pcap_open_dead(dlt, snaplen);
    EXPECT_NE(dead, nullptr);
    pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
    EXPECT_NE(dumper, nullptr) << pcap_geterr(dead);
    unsigned char data[60] = {};
    for (int i = 0; i < packets; ++i) {
      pcap_pkthdr hdr = {};
      hdr.ts.tv_sec = 1700000000 + i;
      hdr.caplen = sizeof(data);
      hdr.len = sizeof(data);
      pcap_dump(reinterpret_cast<u_char*>(dumper), &hdr, data);
    }
    pcap_dump_close(dumper);
    pcap_close(dead);
    return path;
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  // LoadConfig on {"skyprobe", args...}.
  static absl::StatusOr<Config> Load(const std::vector<std::string>& args) {
    std::vector<const char*> argv = {"skyprobe"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    return LoadConfig(static_cast<int>(argv.size()), argv.data());
  }

 private:
  std::string dir_;
};

}  // namespace skyprobe::testing
