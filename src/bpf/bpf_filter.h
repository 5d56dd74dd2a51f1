// bpf_filter.h: a tcpdump capture filter ("port 53 or port 80") compiled once by libpcap
// for a port's link type, converted to eBPF and JIT-compiled by DPDK's rte_bpf, then run
// on mbufs (RX lcores) or on byte spans (tests, sFlow samples).
//
// Owner: compiled on the control lcore after EAL init (pcap_compile, rte_malloc); then
// immutable. Any number of RX lcores may call the const Match* / Select / FilterBurst
// methods at once through a `const BpfFilter*`; the object must outlive them (publish a
// new one with RCU, retire the old one after a quiescent period).
//
//   SKYPROBE_ASSIGN_OR_RETURN(auto f, BpfFilter::Compile("port 53", DLT_EN10MB, 262144));
//   uint32_t kept = f->Select(burst, n, kept_mbufs);  // n - kept were filtered out
#pragma once

#include <pcap/pcap.h>  // struct bpf_insn (pcap/bpf.h needs the types pcap.h sets up)

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

struct rte_bpf;
struct rte_mbuf;

namespace skyprobe {

class BpfFilter {
 public:
  // Compiles `expr` with libpcap (optimized, netmask unknown) for link type `dlt_link_type`
  // (DLT_*, as pcap_datalink) and `snaplen`, then rte_bpf_convert -> rte_bpf_load ->
  // rte_bpf_get_jit. Needs EAL (rte_bpf_convert allocates with rte_malloc).
  //
  // An empty (or all-blank) expression is "no filter": the result is a filter whose
  // match_all() is true and whose methods keep every packet without running any code.
  //
  // Errors: InvalidArgument with libpcap's message for an expression libpcap refuses
  // ("can't parse filter expression: syntax error"); the caller prefixes the flag and
  // the expression. Other codes when DPDK cannot convert or load the program.
  // `snaplen` 0 means 262144. `use_jit` false forces the interpreter (tests, benchmarks).
  static absl::StatusOr<std::unique_ptr<BpfFilter>> Compile(const std::string& expr,
                                                            uint32_t dlt_link_type,
                                                            uint32_t snaplen, bool use_jit = true);

  ~BpfFilter();
  BpfFilter(const BpfFilter&) = delete;
  BpfFilter& operator=(const BpfFilter&) = delete;

  // True if the packet passes (the program returned non-zero). BPF's "len" is the mbuf's
  // pkt_len; loads past pkt_len reject, as in libpcap. Multi-segment mbufs are fine.
  bool Match(const rte_mbuf* m) const noexcept {
    if (jit_ != nullptr) return jit_(const_cast<rte_mbuf*>(m)) != 0;
    return MatchSlow(m);
  }

  // Copies the pointers of the matching mbufs of in[0..n) to out[], in order, and returns
  // how many. `out` may equal `in` (in-place compaction). Nothing is freed: the caller
  // still owns all n mbufs (the RX worker frees the whole burst as before).
  uint32_t Select(rte_mbuf* const* in, uint32_t n, rte_mbuf** out) const noexcept;

  // In-place variant: compacts the matching mbufs to the front of pkts[] (order kept),
  // stores the others in rejected[] (if not null; room for n), sets *n_rejected (if not
  // null), and returns the number kept.
  uint32_t FilterBurst(rte_mbuf** pkts, uint32_t n, rte_mbuf** rejected,
                       uint32_t* n_rejected) const noexcept;

  // Bit i set when pkts[i] matches; n <= 64.
  uint64_t MatchMask(rte_mbuf* const* pkts, uint32_t n) const noexcept;

  // Runs the filter over a frame of `caplen` captured bytes out of `wire_len` on the wire,
  // with exactly libpcap's semantics (pcap_offline_filter): the JIT over a stack mbuf
  // wrapping the bytes; when the program reads the packet length ("len", "greater",
  // "less") and caplen != wire_len, or caplen > 65535, libpcap's own bpf_filter instead.
  bool MatchBytes(const uint8_t* data, uint32_t caplen, uint32_t wire_len) const noexcept;

  bool match_all() const { return match_all_; }
  // False when rte_bpf_get_jit gave no code (no JIT for this CPU): rte_bpf_exec is used.
  bool jitted() const { return jit_ != nullptr; }
  // The program reads the packet length (BPF_LEN): "len", "greater", "less".
  bool uses_length() const { return uses_length_; }
  const std::string& expression() const { return expr_; }
  uint32_t link_type() const { return link_type_; }
  uint32_t snaplen() const { return snaplen_; }
  size_t cbpf_instructions() const { return cbpf_.size(); }
  size_t ebpf_instructions() const { return ebpf_instructions_; }

 private:
  using JitFunc = uint64_t (*)(void*);

  BpfFilter() = default;
  bool MatchSlow(const rte_mbuf* m) const noexcept;  // interpreter, or match-all

  JitFunc jit_ = nullptr;
  rte_bpf* bpf_ = nullptr;
  bool match_all_ = false;
  bool uses_length_ = false;
  uint32_t link_type_ = 0;
  uint32_t snaplen_ = 0;
  size_t ebpf_instructions_ = 0;
  std::vector<bpf_insn> cbpf_;  // libpcap's program, for bpf_filter when JIT cannot be exact
  std::string expr_;
};

}  // namespace skyprobe
