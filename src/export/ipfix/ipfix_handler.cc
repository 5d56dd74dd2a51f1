#include "export/ipfix/ipfix_handler.h"

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "skyprobe/status.h"

namespace skyprobe::ipfix {

absl::StatusOr<std::unique_ptr<IpfixHandler>> IpfixHandler::Create(const IpfixOptions& o) {
  std::unique_ptr<IpfixHandler> h(new IpfixHandler(o));
  SKYPROBE_ASSIGN_OR_RETURN(h->queue_, BatchQueue::Create(o.queue_batches, o.batch_bytes));
  SKYPROBE_ASSIGN_OR_RETURN(h->exporter_,
                            Exporter::Create(o.exporter, h->queue_.get(), &h->counters_));
  h->current_ = h->queue_->TakeFree();
  h->encoder_.AppendPreamble(&h->current_->bytes);
  h->exporter_->Start();
  return h;
}

IpfixHandler::IpfixHandler(const IpfixOptions& o)
    : opts_(o), label_("ipfix:" + o.exporter.name), encoder_(o.encoder) {}

IpfixHandler::~IpfixHandler() { (void)Close(); }

void IpfixHandler::OnRecord(const FlowSnapshot& s) {
  if (closed_) return;
  encoder_.Append(s, &current_->bytes);
  ++current_->flow_records;
  if (current_->bytes.size() >= opts_.batch_bytes) Submit(false);
}

void IpfixHandler::Flush() {
  if (closed_) return;
  counters_.strings_cut.store(encoder_.strings_cut(), std::memory_order_relaxed);
  if (!current_->bytes.empty()) Submit(false);
}

void IpfixHandler::Submit(bool at_close) {
  Batch* next = queue_->TakeFree();
  if (next == nullptr) next = WaitForFreeBatch(at_close);
  if (next == nullptr) {
    // The exporter is behind (a slow or paced collector): drop the batch's
    // records, counted, but keep its announcements, which later records need.
    counters_.queue_lost.fetch_add(current_->flow_records, std::memory_order_relaxed);
    ByteBuffer kept;
    for (EntryReader r(current_->bytes.data(), current_->bytes.size()); !r.done(); r.Next()) {
      if (r.announce()) kept.Append(r.position(), r.entry_size());
    }
    current_->bytes.clear();
    if (!kept.empty()) current_->bytes.Append(kept.data(), kept.size());
    current_->flow_records = 0;
    return;
  }
  queue_->Push(current_);
  current_ = next;
}

Batch* IpfixHandler::WaitForFreeBatch(bool at_close) {
  // A file is written as fast as the disk goes: wait for it rather than lose
  // records (the workers then wait for this lcore, and count it). At exit,
  // every destination waits a little: its thread empties the queue into its
  // spool whatever the collector does. Otherwise a collector's thread only
  // moves batches from the queue into its spool: one short of CPU (the lcores
  // poll the cores it shares) must not lose records that its spool would
  // have kept, so the wait goes on while the spool has room for the whole
  // queue.
  const bool file = opts_.exporter.kind == TransportKind::kFile;
  const uint64_t queue_bytes = uint64_t{opts_.queue_batches} * opts_.batch_bytes;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(at_close ? 10 : 1);
  for (;;) {
    if (Batch* next = queue_->TakeFree()) return next;
    if (!file) {
      if (std::chrono::steady_clock::now() >= give_up) return nullptr;
      if (!at_close && counters_.spool_bytes.load(std::memory_order_relaxed) + queue_bytes >
                           opts_.exporter.spool_bytes) {
        return nullptr;
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void IpfixHandler::Reopen() {
  if (!closed_) exporter_->RequestReopen();
}

absl::Status IpfixHandler::Close() {
  if (closed_ || exporter_ == nullptr) return absl::OkStatus();
  counters_.strings_cut.store(encoder_.strings_cut(), std::memory_order_relaxed);
  if (!current_->bytes.empty()) Submit(true);
  closed_ = true;
  absl::Status st = exporter_->Finish();
  const uint64_t lost = counters_.records_lost();
  if (st.ok() && lost > 0) {
    st = absl::DataLossError(absl::StrCat("--ipfix ", opts_.exporter.name, ": ", lost,
                                          " record(s) lost (see output.", label_, ".*)"));
  }
  return st;
}

}  // namespace skyprobe::ipfix
