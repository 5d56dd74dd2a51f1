// main.cc: the skyprobe binary. The only place that turns a Status into an
// exit code and a one-line message.
#include <csignal>
#include <cstdio>

#include <atomic>

#include "app/probe.h"
#include "config/config.h"

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<skyprobe::Config> cfg = skyprobe::LoadConfig(argc, argv);
  if (!cfg.ok()) {
    std::fprintf(stderr, "skyprobe: %s\n", std::string(cfg.status().message()).c_str());
    return 2;
  }
  if (cfg->help) {
    std::fputs(skyprobe::UsageText().c_str(), stdout);
    return 0;
  }
  if (cfg->version) {
    std::printf("%s\n", skyprobe::VersionText().c_str());
    return 0;
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  const absl::Status st = skyprobe::RunProbe(*cfg, &g_stop);
  if (!st.ok()) {
    std::fprintf(stderr, "skyprobe: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  return 0;
}
