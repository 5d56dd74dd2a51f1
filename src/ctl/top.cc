// top.cc: the terminal side of `skyprobectl top` (see top.h); what is shown
// is top_model.h's.

#include "ctl/top.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ctl/stats_view.h"
#include "ctl/top_model.h"

namespace skyprobe::ctl {
namespace {

namespace v1 = ::skyprobe::v1;

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// One refresh: every probe's flows and Stats; the header from the Stats
// of this refresh and the previous one.
class Sampler {
 public:
  Sampler(const CtlOptions& o, const Client& client) : o_(o), client_(client) {
    query_ = o;
    query_.sort_by = "Last";
    query_.sort_order = v1::DESCENDING;
    query_.dedup_by.clear();
    query_.limit = kTopFlowsPerProbe;
    stats_.resize(o.probes.size());
  }

  // Updates `model` and `header`; the first error is returned (the others'
  // samples are still taken).
  absl::Status Sample(TopModel* model, TopHeader* header) {
    absl::Status first;
    TopHeader h = *header;
    h.packets_per_sec = h.bits_per_sec = h.drops_per_sec = 0;
    h.drops = h.flows_live = h.flows_capacity = 0;
    bool rated = true;
    for (size_t i = 0; i < o_.probes.size(); ++i) {
      const std::string& probe = o_.probes[i];
      std::vector<query::FlowRow> rows;
      absl::Status s = StreamFlows(client_, query_, probe,
                                   [&](query::FlowRow&& r) { rows.push_back(std::move(r)); });
      const double at = Now();
      if (s.ok()) model->AddSample(i, std::move(rows), at);
      v1::StatsReply reply;
      if (s.ok()) {
        grpc::ClientContext ctx;
        client_.Prepare(&ctx, true);
        grpc::Status g = client_.Stub(probe)->Stats(&ctx, v1::StatsRequest(), &reply);
        if (!g.ok()) s = FromGrpc(o_, probe, g);
      }
      if (!s.ok()) {
        if (first.ok()) first = s;
        rated = false;
        continue;
      }
      const bool have_before = stats_[i].entries_size() > 0;
      const StatsView v = MakeStatsView(probe, have_before ? &stats_[i] : nullptr, reply);
      for (const StatsRow& r : v.traffic) {
        if (r.name == "flows_live") h.flows_live += r.value;
        if (!r.has_rate) continue;
        if (r.name == "packets_in") h.packets_per_sec += r.rate;
        if (r.name == "bytes_in") h.bits_per_sec += r.rate * 8;
      }
      h.drops += v.drops;
      h.drops_per_sec += v.drops_rate;
      if (v.seconds <= 0) rated = false;
      for (const v1::StatsEntry& e : reply.entries()) {
        if (absl::StartsWith(e.scope(), "worker") && e.name() == "flows_capacity") {
          h.flows_capacity += e.value();
        }
      }
      stats_[i] = std::move(reply);
    }
    if (!rated) h.packets_per_sec = h.bits_per_sec = h.drops_per_sec = -1;
    h.error = first.ok() ? std::string() : std::string(first.message());
    *header = std::move(h);
    return first;
  }

 private:
  const CtlOptions& o_;
  const Client& client_;
  CtlOptions query_;
  std::vector<v1::StatsReply> stats_;
};

std::vector<FlowColumn> Columns(const CtlOptions& o) {
  if (!o.columns.empty()) {
    absl::StatusOr<std::vector<FlowColumn>> c = ParseColumns(o.columns);
    if (c.ok()) return *c;  // checked by ParseCtlArgs
  }
  std::vector<FlowColumn> c = DefaultTableColumns(o.probes.size() > 1);
  // START is the flows table's; here the screen is for what happens now.
  std::vector<FlowColumn> out;
  for (FlowColumn& f : c) {
    if (f.kind != ColumnKind::kStart) out.push_back(std::move(f));
  }
  return out;
}

std::string Title(const CtlOptions& o, TopSort sort) {
  std::string probes =
      o.probes.size() == 1 ? o.probes[0] : absl::StrCat(o.probes.size(), " probes");
  return absl::StrCat("skyprobectl top  ", probes, "  every ",
                      absl::StrFormat("%.1f", o.interval_sec), " s  sort: ", TopSortName(sort),
                      "  (b bit rate, p packet rate, t total bytes, space pause, q quit)");
}

// Not a terminal: two answers an interval apart, one plain screen.
absl::Status Snapshot(const CtlOptions& o, const Client& client, std::FILE* out) {
  TopModel model(TopSort::kBits);
  TopHeader header;
  Sampler sampler(o, client);
  if (absl::Status s = sampler.Sample(&model, &header); !s.ok()) return s;
  std::this_thread::sleep_for(std::chrono::duration<double>(o.interval_sec));
  if (absl::Status s = sampler.Sample(&model, &header); !s.ok()) return s;
  header.title = Title(o, model.sort());
  const size_t width = o.width >= 0 ? static_cast<size_t>(o.width) : 0;
  const size_t rows = o.limit == 0 ? 0 : static_cast<size_t>(o.limit) + 4;
  const std::string screen = TopScreen(model, header, Columns(o), width, rows);
  std::fwrite(screen.data(), 1, screen.size(), out);
  return absl::OkStatus();
}

// The terminal in single-key mode, restored however we leave.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (!isatty(fd_) || tcgetattr(fd_, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);  // ISIG kept: Ctrl-C is a signal
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    active_ = tcsetattr(fd_, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) tcsetattr(fd_, TCSANOW, &saved_);
  }
  bool active() const { return active_; }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

void Write(std::FILE* out, const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), out);
  std::fflush(out);
}

// The screen drawn over the previous one: each line cleared to its end, the
// rest of the screen cleared below.
std::string Frame(const std::string& screen) {
  std::string f = "\x1b[H";
  size_t at = 0;
  for (size_t nl; (nl = screen.find('\n', at)) != std::string::npos; at = nl + 1) {
    absl::StrAppend(&f, screen.substr(at, nl - at), "\x1b[K\r\n");
  }
  f += "\x1b[J";
  return f;
}

}  // namespace

absl::Status RunTop(const CtlOptions& o, const Client& client, std::FILE* out) {
  const int out_fd = fileno(out);
  if (!isatty(out_fd)) return Snapshot(o, client, out);
  RawTerminal keys(STDIN_FILENO);
  struct sigaction sa {};
  sa.sa_handler = OnSignal;  // no SA_RESTART: poll() returns on the signal
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  Write(out, "\x1b[?1049h\x1b[?25l");  // the alternate screen, no cursor
  TopModel model(TopSort::kBits);
  TopHeader header;
  Sampler sampler(o, client);
  const std::vector<FlowColumn> columns = Columns(o);
  double next = 0;
  while (!g_stop.load()) {
    const double now = Now();
    if (now >= next) {
      if (!header.paused) sampler.Sample(&model, &header).IgnoreError();  // shown in the header
      next = now + o.interval_sec;
    }
    winsize ws{};
    size_t width = 80, height = 24;
    if (ioctl(out_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
      width = ws.ws_col;
      height = ws.ws_row;
    }
    if (o.width >= 0) width = static_cast<size_t>(o.width);
    if (o.limit != 0) height = std::min<size_t>(height, o.limit + 4);
    header.title = Title(o, model.sort());
    Write(out, Frame(TopScreen(model, header, columns, width, height - 1)));
    // Keys until the next refresh.
    bool redraw = false;
    while (!redraw && !g_stop.load()) {
      const double left = next - Now();
      if (left <= 0) break;
      pollfd p{STDIN_FILENO, POLLIN, 0};
      const int n = poll(&p, keys.active() ? 1 : 0, static_cast<int>(std::ceil(left * 1000)));
      if (n <= 0) continue;  // timeout, or a signal
      char c = 0;
      if (read(STDIN_FILENO, &c, 1) != 1) {
        // End of input (stdin closed): no more keys, refresh on time only.
        std::this_thread::sleep_for(std::chrono::duration<double>(std::max(0.0, next - Now())));
        break;
      }
      switch (c) {
        case 'q':
        case 'Q':
          g_stop.store(true);
          break;
        case 'b':
          model.set_sort(TopSort::kBits);
          redraw = true;
          break;
        case 'p':
          model.set_sort(TopSort::kPackets);
          redraw = true;
          break;
        case 't':
          model.set_sort(TopSort::kBytes);
          redraw = true;
          break;
        case ' ':
          header.paused = !header.paused;
          redraw = true;
          break;
        default:
          break;
      }
    }
  }
  Write(out, "\x1b[?25h\x1b[?1049l");
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  g_stop.store(false);
  return absl::OkStatus();
}

}  // namespace skyprobe::ctl
