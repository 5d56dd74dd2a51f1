// exporter.cc: the transport-independent half of a destination's thread:
// the queue into the spool, the announcement store, message packing and the
// loop (transports: udp_exporter.cc, tcp_exporter.cc, file_exporter.cc).
#include "export/ipfix/exporter.h"

#include <poll.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>

namespace skyprobe::ipfix {
namespace {

// Flow records among the entries of `data` (data records of a data template;
// the RFC 5610 type records are data records too, but not flows; a uniflow
// record's second half is counted with its first, unless that one is not in
// `data`).
uint32_t FlowRecordsIn(const uint8_t* data, size_t size) {
  uint32_t n = 0;
  for (EntryReader r(data, size); !r.done(); r.Next()) {
    n += r.flow_record() || (r.companion() && r.position() == data);
  }
  return n;
}

}  // namespace

Exporter::Exporter(const ExporterOptions& o, BatchQueue* queue, ExporterCounters* counters)
    : opts_(o),
      queue_(queue),
      counters_(counters),
      packer_(o.observation_domain, o.kind == TransportKind::kUdp   ? o.mtu
                                    : o.kind == TransportKind::kTcp ? kTcpMessageBytes
                                                                    : kFileMessageBytes) {}

Exporter::~Exporter() {
  if (thread_.joinable()) {
    finishing_.store(true);
    queue_->Wake();
    thread_.join();
  }
}

void Exporter::Start() {
  thread_ = std::thread([this] { Run(); });
  std::string name = "ipfix-export";
  pthread_setname_np(thread_.native_handle(), name.c_str());
}

absl::Status Exporter::Finish() {
  if (!thread_.joinable()) return close_status_;
  finishing_.store(true, std::memory_order_release);
  queue_->Wake();
  thread_.join();
  return close_status_;
}

int64_t Exporter::NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint32_t Exporter::NowSeconds() { return static_cast<uint32_t>(std::time(nullptr)); }

void Exporter::Run() {
  int64_t last_progress = NowMs();
  uint64_t last_begin = spool_begin_;
  for (;;) {
    queue_->DrainEvents();
    const bool finishing = finishing_.load(std::memory_order_acquire);
    DrainQueue();
    last_ = finishing && queue_->Empty();
    int fd = -1;
    short events = 0;
    int64_t now = NowMs();
    const int64_t next = Pump(now, &fd, &events);
    now = NowMs();
    if (spool_begin_ != last_begin) {
      last_begin = spool_begin_;
      last_progress = now;
    }
    if (finishing) {
      if (queue_->Empty() && Delivered()) break;
      if (now - last_progress > opts_.finish_timeout_ms) {
        // A collector that stays away: what is left is counted lost.
        DropSpool();
        while (Batch* b = queue_->Pop()) {
          counters_->spool_lost.fetch_add(b->flow_records, std::memory_order_relaxed);
          queue_->Release(b);
        }
        break;
      }
    } else {
      last_progress = now;
    }
    counters_->spool_bytes.store(spool_end_ - spool_begin_, std::memory_order_relaxed);
    counters_->Publish();
    pollfd fds[2] = {{queue_->event_fd(), POLLIN, 0}, {fd, events, 0}};
    const int64_t wait = std::clamp<int64_t>(next - now, 0, 1000);
    poll(fds, fd >= 0 ? 2 : 1, static_cast<int>(wait));
  }
  close_status_ = Close();
  counters_->spool_bytes.store(spool_end_ - spool_begin_, std::memory_order_relaxed);
  counters_->Publish();
}

void Exporter::DrainQueue() {
  // Bounded: the transport gets its turn between rounds, and a batch that
  // does not fit the spool stays in the queue (its producer then waits for a
  // file, or drops and counts for a collector) until the transport has
  // freed room.
  for (int n = 0; n < 64; ++n) {
    const Batch* next = queue_->Peek();
    if (next == nullptr) return;
    if (spool_end_ - spool_begin_ + next->bytes.size() > opts_.spool_bytes &&
        spool_end_ != spool_begin_) {
      return;
    }
    Batch* b = queue_->Pop();
    TakeBatch(b);
    queue_->Release(b);
  }
}

void Exporter::TakeBatch(Batch* b) {
  const bool fits = spool_end_ - spool_begin_ + b->bytes.size() <= opts_.spool_bytes;
  Chunk c{spool_end_, ByteBuffer(fits ? b->bytes.size() : 0)};
  for (EntryReader r(b->bytes.data(), b->bytes.size()); !r.done(); r.Next()) {
    if (r.announce()) {
      // Kept for every later session, and spooled even when the data is
      // dropped: the records that follow need them.
      store_.emplace_back(r.position(), r.position() + r.entry_size());
      if (!fits) c.bytes.Append(r.position(), r.entry_size());
    }
  }
  if (fits) {
    c.bytes.Append(b->bytes.data(), b->bytes.size());
  } else {
    counters_->spool_lost.fetch_add(b->flow_records, std::memory_order_relaxed);
  }
  if (c.bytes.empty()) return;
  spool_end_ += c.bytes.size();
  spool_.push_back(std::move(c));
}

void Exporter::NewSession() {
  packer_.Reset();
  announce_next_ = 0;
  announce_pending_ = !store_.empty();
  // In-line announcements already spooled are in the store: sent with it.
  session_announced_to_ = spool_end_;
}

void Exporter::RefreshAnnouncements() {
  announce_next_ = 0;
  announce_pending_ = !store_.empty();
  session_announced_to_ = spool_end_;
}

size_t Exporter::PackNext(ByteBuffer* out, uint32_t* flow_records, uint32_t* templates,
                          uint32_t* orphans) {
  *flow_records = 0;
  *templates = 0;
  if (orphans != nullptr) *orphans = 0;
  packer_.Begin(out, NowSeconds());
  while (announce_pending_) {
    if (announce_next_ == store_.size()) {
      announce_pending_ = false;
      break;
    }
    const std::vector<uint8_t>& e = store_[announce_next_];
    EntryReader r(e.data(), e.size());
    if (!packer_.Add(r.set_id(), r.record(), r.length(), IsDataSet(r.set_id()))) {
      return packer_.Finish();
    }
    if (r.set_id() == kTemplateSetId || r.set_id() == kOptionsTemplateSetId) ++*templates;
    ++announce_next_;
  }
  // The spool from spool_sent_: find its chunk (few chunks precede it: only
  // those sent and not yet acknowledged).
  size_t ci = 0;
  while (ci < spool_.size() && spool_[ci].begin + spool_[ci].bytes.size() <= spool_sent_) ++ci;
  while (ci < spool_.size()) {
    const Chunk& c = spool_[ci];
    const size_t off = spool_sent_ - c.begin;
    if (off >= c.bytes.size()) {
      ++ci;
      continue;
    }
    EntryReader r(c.bytes.data() + off, c.bytes.size() - off);
    const bool skip = r.announce() && spool_sent_ < session_announced_to_;
    if (!skip) {
      if (r.flow_record() && packer_.has_records()) {
        // A uniflow record's two halves go in one message when they fit
        // one: the record is then delivered or lost whole.
        EntryReader next = r;
        next.Next();
        if (!next.done() && next.companion() &&
            !packer_.FitsPair(r.set_id(), r.length(), next.set_id(), next.length())) {
          break;
        }
      }
      if (!packer_.Add(r.set_id(), r.record(), r.length(), IsDataSet(r.set_id()))) break;
      if (r.flow_record()) ++*flow_records;
      if (r.companion() && packer_.records() == 1 && orphans != nullptr) ++*orphans;
      if (r.set_id() == kTemplateSetId || r.set_id() == kOptionsTemplateSetId) ++*templates;
    }
    spool_sent_ += r.entry_size();
  }
  return packer_.Finish();
}

void Exporter::ReleaseSpool(uint64_t pos) {
  spool_begin_ = std::max(spool_begin_, pos);
  while (!spool_.empty() && spool_.front().begin + spool_.front().bytes.size() <= spool_begin_) {
    spool_.pop_front();
  }
}

void Exporter::DropSpool() {
  uint64_t lost = 0;
  for (const Chunk& c : spool_) {
    const size_t from = spool_begin_ > c.begin ? spool_begin_ - c.begin : 0;
    if (from < c.bytes.size()) lost += FlowRecordsIn(c.bytes.data() + from, c.bytes.size() - from);
  }
  counters_->spool_lost.fetch_add(lost, std::memory_order_relaxed);
  spool_.clear();
  in_flight_.clear();
  spool_begin_ = spool_sent_ = spool_end_;
}

}  // namespace skyprobe::ipfix
