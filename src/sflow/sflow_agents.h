// sflow_agents.h: the sFlow collector's agents: who may send (the allow-list),
// which table slot each agent holds, its datagram sequence numbers, and when
// a silent agent is retired so that its slot can go to another agent.
//
// Owner: the sFlow source's thread makes every change. Another thread (stats)
// may read one agent with Read(): a slot being given to a new agent is
// detected by its version (a seqlock) and skipped; counters are plain 64-bit
// values with this one writer, read racily like every other counter.
//
//   AgentDirectory dir(64, cfg.sflow_agents, 600 * kNsPerSec);
//   int slot = dir.Find(d);  if (slot < 0) slot = dir.Claim(d);  dir.Seen(slot, d, now);
//
// Why retire agents. Agent addresses come from the datagrams, so anyone who
// can send UDP to the collector can make up agents; without retirement a
// burst of made-up agents takes every --sflow-max-agents slot for good and
// real agents are refused from then on. An agent silent for idle_ns (no
// datagram at all) is retired: the source flushes its table (every flow
// leaves with its final record) and the slot goes to the next new agent.
// The allow-list (--sflow-agents) keeps made-up agents out altogether.
//
// Sequence numbers. sFlow numbers the datagrams of each (agent, sub-agent)
// pair; a jump forward by d > 1 means d - 1 datagrams were lost on the way
// (sequence_gaps). A number that goes back or repeats (agent restart,
// reordering, duplicate) counts one sequence_reset and tracking restarts
// from it. Up to kSubAgents sub-agents per agent are tracked; a further one
// takes the place of the least recently seen, whose tracking starts over.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "config/config.h"
#include "sflow/sflow_decoder.h"
#include "sflow/sflow_socket.h"

namespace skyprobe::sflow {

enum class AgentState : uint8_t {
  kFree = 0,  // no agent: the slot (and its empty table) waits for a new one
  kActive,
  kRetiring,  // silent too long: its table is being flushed
};

// One agent as read from another thread.
struct AgentReport {
  char address[kAgentTextMax] = {};
  bool retiring = false;
  uint64_t datagrams = 0;
  uint64_t samples = 0;  // flow samples in its accepted datagrams
  uint64_t drops = 0;    // its sampled frames dropped (parse errors, table or ring full)
  uint64_t sequence_gaps = 0;
  uint64_t sequence_resets = 0;
};

class AgentDirectory {
 public:
  static constexpr int kSubAgents = 4;

  // `idle_ns` 0: agents are never retired. An empty `allowed` admits anyone.
  AgentDirectory(uint32_t max_agents, std::vector<IpNetwork> allowed, int64_t idle_ns);

  // The allow-list: the datagram's sender (unknown when ip_version is 0, as
  // in tests that feed datagrams directly), then the agent address it names.
  bool SenderAllowed(const PeerAddress& from) const noexcept;
  bool AgentAllowed(const Datagram& d) const noexcept;

  // The slot of the datagram's agent (active or retiring), or -1.
  int Find(const Datagram& d) noexcept;
  // A slot for the datagram's agent, which Find did not know: a free slot
  // (reused) first, else one never used; -1 when every slot is taken. The
  // slot is active with zeroed counters.
  int Claim(const Datagram& d) noexcept;
  // Gives a claimed slot back (its table could not be set up).
  void Release(int slot) noexcept;
  // Counts one datagram of the agent in `slot` (its sub-agent's sequence
  // number, last-seen time) and makes a retiring agent active again. Adds
  // what it found to *gaps and *resets.
  void Seen(int slot, const Datagram& d, int64_t now_ns, uint64_t* gaps, uint64_t* resets) noexcept;
  // Counts the agent's flow samples and the frames of them that were dropped.
  void AddSamples(int slot, uint64_t samples, uint64_t drops) noexcept {
    slots_[slot].samples += samples;
    slots_[slot].drops += drops;
  }

  // Active agents silent for longer than idle_ns become retiring; true when
  // `slot` is retiring now.
  bool CheckIdle(int slot, int64_t now_ns) noexcept;
  // A retiring slot whose table is empty: free for the next new agent.
  void Retired(int slot) noexcept;

  AgentState state(int slot) const { return slots_[slot].state; }
  const char* text(int slot) const { return slots_[slot].text; }
  // Slots used so far (every slot below holds a table, some may be free).
  uint32_t used() const { return used_.load(std::memory_order_acquire); }
  // Active and retiring agents now.
  uint32_t in_use() const { return in_use_.load(std::memory_order_relaxed); }

  // Any thread: the agent in `slot` now; false when the slot holds none or
  // was being rewritten.
  bool Read(uint32_t slot, AgentReport* out) const noexcept;

 private:
  struct SubAgentSequence {
    uint32_t id = 0;
    uint32_t last = 0;
    int64_t seen_ns = 0;
    bool used = false;
  };
  struct Slot {
    std::atomic<uint32_t> version{0};  // odd while the slot changes hands
    AgentState state = AgentState::kFree;
    uint8_t ip_version = 0;
    uint8_t addr[16] = {};
    char text[kAgentTextMax] = {};
    int64_t last_seen_ns = 0;
    uint64_t datagrams = 0;
    uint64_t samples = 0;
    uint64_t drops = 0;
    uint64_t sequence_gaps = 0;
    uint64_t sequence_resets = 0;
    SubAgentSequence seq[kSubAgents];
  };

  void SetState(Slot& s, AgentState state) noexcept;

  std::vector<Slot> slots_;  // max_agents, never reallocated
  std::vector<IpNetwork> allowed_;
  int64_t idle_ns_;
  std::atomic<uint32_t> used_{0};
  std::atomic<uint32_t> in_use_{0};
  uint32_t last_found_ = 0;  // the previous datagram's agent: checked first
};

}  // namespace skyprobe::sflow
