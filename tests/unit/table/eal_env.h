// eal_env.h: starts EAL once for a test binary that needs DPDK memory
// (rte_hash, rte_ring, mempools) without hugepages, PCI or shared config.
#pragma once

#include <rte_eal.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace skyprobe::testing {

class EalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    std::vector<std::string> args = {"skyprobe_test",
                                     "--no-huge",
                                     "--no-pci",
                                     "--no-shconf",
                                     "--no-telemetry",
                                     "-m",
                                     "512",
                                     "--log-level=*:error",
                                     "-l",
                                     "0"};
    static std::vector<std::string> keep;
    keep = args;
    static std::vector<char*> argv;
    for (auto& a : keep) argv.push_back(a.data());
    ASSERT_GE(rte_eal_init(static_cast<int>(argv.size()), argv.data()), 0) << "rte_eal_init";
  }
  void TearDown() override { rte_eal_cleanup(); }
};

}  // namespace skyprobe::testing
