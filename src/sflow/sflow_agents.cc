// sflow_agents.cc: agent slots, allow-list, sequence tracking, retirement.

#include "sflow/sflow_agents.h"

#include <cstring>

namespace skyprobe::sflow {
namespace {

size_t AddressBytes(uint8_t ip_version) { return ip_version == 4 ? 4 : 16; }

bool InList(const std::vector<IpNetwork>& list, uint8_t ip_version, const uint8_t* addr) {
  for (const IpNetwork& n : list) {
    if (n.Contains(ip_version, addr)) return true;
  }
  return false;
}

}  // namespace

AgentDirectory::AgentDirectory(uint32_t max_agents, std::vector<IpNetwork> allowed, int64_t idle_ns)
    : slots_(max_agents), allowed_(std::move(allowed)), idle_ns_(idle_ns) {}

bool AgentDirectory::SenderAllowed(const PeerAddress& from) const noexcept {
  return allowed_.empty() || from.ip_version == 0 || InList(allowed_, from.ip_version, from.addr);
}

bool AgentDirectory::AgentAllowed(const Datagram& d) const noexcept {
  return allowed_.empty() || InList(allowed_, d.agent_ip_version, d.agent);
}

int AgentDirectory::Find(const Datagram& d) noexcept {
  const size_t len = AddressBytes(d.agent_ip_version);
  const uint32_t n = used_.load(std::memory_order_relaxed);
  // Agents send runs of datagrams: the last one first, then a scan (a few
  // dozen agents, once per datagram, not per packet).
  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t i = k == 0 ? last_found_ : (k <= last_found_ ? k - 1 : k);
    const Slot& s = slots_[i];
    if (s.state != AgentState::kFree && s.ip_version == d.agent_ip_version &&
        std::memcmp(s.addr, d.agent, len) == 0) {
      last_found_ = i;
      return static_cast<int>(i);
    }
  }
  return -1;
}

int AgentDirectory::Claim(const Datagram& d) noexcept {
  const uint32_t n = used_.load(std::memory_order_relaxed);
  uint32_t i = 0;
  while (i < n && slots_[i].state != AgentState::kFree) ++i;
  if (i == slots_.size()) return -1;
  Slot& s = slots_[i];
  // Seqlock write: readers that overlap see an odd or changed version.
  const uint32_t v = s.version.load(std::memory_order_relaxed);
  s.version.store(v + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  s.ip_version = d.agent_ip_version;
  std::memset(s.addr, 0, sizeof(s.addr));
  std::memcpy(s.addr, d.agent, AddressBytes(d.agent_ip_version));
  AgentText(d, s.text);
  s.last_seen_ns = 0;
  s.datagrams = 0;
  s.samples = 0;
  s.drops = 0;
  s.sequence_gaps = 0;
  s.sequence_resets = 0;
  for (SubAgentSequence& q : s.seq) q = SubAgentSequence();
  s.state = AgentState::kActive;
  s.version.store(v + 2, std::memory_order_release);
  in_use_.fetch_add(1, std::memory_order_relaxed);
  if (i == n) used_.store(n + 1, std::memory_order_release);
  last_found_ = i;
  return static_cast<int>(i);
}

void AgentDirectory::SetState(Slot& s, AgentState state) noexcept {
  const uint32_t v = s.version.load(std::memory_order_relaxed);
  s.version.store(v + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  s.state = state;
  s.version.store(v + 2, std::memory_order_release);
}

void AgentDirectory::Release(int slot) noexcept {
  SetState(slots_[slot], AgentState::kFree);
  in_use_.fetch_sub(1, std::memory_order_relaxed);
}

void AgentDirectory::Seen(int slot, const Datagram& d, int64_t now_ns, uint64_t* gaps,
                          uint64_t* resets) noexcept {
  Slot& s = slots_[slot];
  if (s.state == AgentState::kRetiring) SetState(s, AgentState::kActive);
  s.last_seen_ns = now_ns;
  ++s.datagrams;
  SubAgentSequence* q = nullptr;
  SubAgentSequence* oldest = &s.seq[0];
  for (SubAgentSequence& c : s.seq) {
    if (c.used && c.id == d.sub_agent_id) {
      q = &c;
      break;
    }
    if (!c.used || (oldest->used && c.seen_ns < oldest->seen_ns)) oldest = &c;
  }
  if (q == nullptr) {  // first datagram of this sub-agent (or tracking started over)
    *oldest = SubAgentSequence{d.sub_agent_id, d.sequence, now_ns, true};
    return;
  }
  q->seen_ns = now_ns;
  // Modulo 2^32: a forward jump is less than half the number space.
  const uint32_t step = d.sequence - q->last;
  if (step == 0 || step >= (1u << 31)) {
    ++s.sequence_resets;
    ++*resets;
  } else if (step > 1) {
    s.sequence_gaps += step - 1;
    *gaps += step - 1;
  }
  q->last = d.sequence;
}

bool AgentDirectory::CheckIdle(int slot, int64_t now_ns) noexcept {
  Slot& s = slots_[slot];
  if (s.state == AgentState::kActive && idle_ns_ > 0 && now_ns - s.last_seen_ns > idle_ns_) {
    SetState(s, AgentState::kRetiring);
  }
  return s.state == AgentState::kRetiring;
}

void AgentDirectory::Retired(int slot) noexcept {
  SetState(slots_[slot], AgentState::kFree);
  in_use_.fetch_sub(1, std::memory_order_relaxed);
}

bool AgentDirectory::Read(uint32_t slot, AgentReport* out) const noexcept {
  if (slot >= used()) return false;
  const Slot& s = slots_[slot];
  const uint32_t v = s.version.load(std::memory_order_acquire);
  if ((v & 1) != 0) return false;
  const AgentState state = s.state;
  std::memcpy(out->address, s.text, sizeof(out->address));
  out->address[sizeof(out->address) - 1] = '\0';
  out->retiring = state == AgentState::kRetiring;
  out->datagrams = s.datagrams;
  out->samples = s.samples;
  out->drops = s.drops;
  out->sequence_gaps = s.sequence_gaps;
  out->sequence_resets = s.sequence_resets;
  std::atomic_thread_fence(std::memory_order_acquire);
  return state != AgentState::kFree && s.version.load(std::memory_order_relaxed) == v;
}

}  // namespace skyprobe::sflow
