// main.cc: the skyprobe binary. The only place that turns a Status into an
// exit code and a one-line message.
//
// Exit status (docs/configuration.md, "Signals and exit status"):
//   0  the run went through and every output took every record
//   1  the probe could not run or stopped on an error (start-up, accounting)
//   2  the configuration was refused (a flag, the YAML file)
//   3  the run went through but an output failed: records were lost
//      (write errors, counted in output_errors / records_lost)
// With --check: 0 when the machine is ready for the configuration, 1 when
// something is missing (app/machine_check.h).
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <atomic>
#include <cstdint>

#include "app/machine_check.h"
#include "app/probe.h"
#include "config/config.h"

namespace {

std::atomic<bool> g_stop{false};
std::atomic<uint64_t> g_reopen{0};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<uint64_t>::is_always_lock_free,
              "signal handlers need lock-free atomics");

void OnStop(int) { g_stop.store(true); }
void OnHangUp(int) { g_reopen.fetch_add(1); }

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitConfig = 2;
constexpr int kExitOutputFailed = 3;

// The progress line is for a person at a terminal: never in a pipe, a file or
// a journal, never on a terminal that cannot erase a line.
bool WantProgress(const skyprobe::Config& cfg) {
  if (!cfg.progress || cfg.quiet || cfg.pcap_files.empty() || !isatty(STDERR_FILENO)) return false;
  const char* term = std::getenv("TERM");
  return term != nullptr && *term != '\0' && std::strcmp(term, "dumb") != 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<skyprobe::Config> cfg = skyprobe::LoadConfig(argc, argv);
  if (!cfg.ok()) {
    std::fprintf(stderr, "skyprobe: %s\n", std::string(cfg.status().message()).c_str());
    return kExitConfig;
  }
  if (cfg->help) {
    std::fputs(skyprobe::UsageText().c_str(), stdout);
    return kExitOk;
  }
  if (cfg->version) {
    std::printf("%s\n", skyprobe::VersionText().c_str());
    return kExitOk;
  }
  if (cfg->check) {
    // Exit 0: the probe can start with this configuration (warnings cost speed only).
    const bool ready =
        skyprobe::PrintCheck(skyprobe::CheckMachine(*cfg, skyprobe::MachineRoot()), stdout);
    return ready ? kExitOk : kExitError;
  }
  if (const absl::Status s = skyprobe::CheckConfigFiles(*cfg); !s.ok()) {
    std::fprintf(stderr, "skyprobe: %s\n", std::string(s.message()).c_str());
    return kExitConfig;
  }
  // SIGINT/SIGTERM: expire every flow through the outputs and leave.
  // SIGHUP: outputs reopen their files (logrotate). SIGPIPE: ignored, so that
  // a closed pipe is a write error (EPIPE) an output counts, not a kill.
  struct sigaction sa {};
  sa.sa_handler = OnStop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = OnHangUp;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGHUP, &sa, nullptr);
  sa.sa_handler = SIG_IGN;
  sa.sa_flags = 0;
  sigaction(SIGPIPE, &sa, nullptr);
  // Before EAL: the relay is a process forked while this one has one thread.
  std::unique_ptr<skyprobe::TerminalRelay> relay;
  if (WantProgress(*cfg)) relay = skyprobe::TerminalRelay::Start(isatty(STDOUT_FILENO) != 0);
  const absl::Status st = skyprobe::RunProbe(*cfg, &g_stop, &g_reopen, relay.get());
  if (!st.ok()) {
    std::fprintf(stderr, "skyprobe: %s\n", std::string(st.message()).c_str());
  }
  relay.reset();  // every line on the terminal before the exit
  if (!st.ok()) return st.code() == absl::StatusCode::kDataLoss ? kExitOutputFailed : kExitError;
  return kExitOk;
}
