// bpf_filter.cc: libpcap compiles, DPDK converts, verifies and JIT-compiles. The classic
// program is kept too: libpcap's bpf_filter is the exact reference for the rare byte spans
// the mbuf view cannot describe (a wire length other than the captured length).

#include "bpf/bpf_filter.h"

#include <pcap/pcap.h>
#include <rte_bpf.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "skyprobe/status.h"

namespace skyprobe {
namespace {

constexpr uint32_t kDefaultSnaplen = 262144;  // tcpdump's MAXIMUM_SNAPLEN
constexpr uint32_t kExecChunk = 64;           // interpreter burst, on the stack

// libpcap resources released on every path out of Compile.
struct PcapCompiled {
  pcap_t* handle = nullptr;
  bpf_program prog = {};
  bool compiled = false;
  ~PcapCompiled() {
    if (compiled) pcap_freecode(&prog);
    if (handle != nullptr) pcap_close(handle);
  }
};

bool ReadsLength(const bpf_insn& insn) {
  return insn.code == (BPF_LD | BPF_W | BPF_LEN) || insn.code == (BPF_LDX | BPF_W | BPF_LEN);
}

// libpcap's protochain loops with a jump whose offset wraps around (only libpcap's own
// interpreter accepts it); eBPF, and DPDK's converter, allow forward jumps only.
bool JumpsBackwards(const std::vector<bpf_insn>& prog) {
  for (size_t i = 0; i < prog.size(); ++i) {
    if (prog[i].code == (BPF_JMP | BPF_JA) && i + 1 + prog[i].k >= prog.size()) return true;
  }
  return false;
}

// Works around two DPDK 22.11 defects, copying the converted program into `out`:
//  1. rte_bpf_convert sets the index register of "ld[bhw] [x + k]" from the BPF_X bit of
//     the opcode, which BPF_IND loads do not carry; that bit is BPF_H's value, so
//     "ldh [x + k]" comes out right but "ldb [x + k]" and "ld [x + k]" index by A (r0):
//     "tcp[13] & 2 != 0" reads the wrong byte. Classic indexed loads always use X, which the
//     converter keeps in r7.
//  2. The x86 JIT encodes "jset rN, #imm" with a one-byte immediate when imm fits in int8,
//     but opcode F7 /0 takes four: the instruction swallows the next bytes (wrong verdicts
//     or a crash). Such a jump becomes "mov32 r9, #imm; jset rN, r9" (the converter never
//     uses r9), and every jump offset is recomputed for the inserted instructions.
// The differential test against libpcap covers both.
bool IsJump(const ebpf_insn& ins) {
  const uint8_t op = BPF_OP(ins.code);
  return BPF_CLASS(ins.code) == BPF_JMP && op != EBPF_CALL && op != EBPF_EXIT;
}

bool IsSmallJsetImm(const ebpf_insn& ins) {
  return ins.code == (BPF_JMP | BPF_JSET | BPF_K) && ins.imm >= INT8_MIN && ins.imm <= INT8_MAX;
}

absl::Status RepairConverted(const rte_bpf_prm& prm, std::vector<ebpf_insn>* out) {
  const uint32_t n = prm.nb_ins;
  // start[i]: where old instruction i's code begins (an inserted mov, or itself).
  std::vector<int64_t> start(n + 1);
  int64_t pos = 0;
  for (uint32_t i = 0; i < n; ++i) {
    start[i] = pos;
    pos += IsSmallJsetImm(prm.ins[i]) ? 2 : 1;
  }
  start[n] = pos;
  out->clear();
  out->reserve(static_cast<size_t>(pos));
  for (uint32_t i = 0; i < n; ++i) {
    ebpf_insn ins = prm.ins[i];
    if (BPF_CLASS(ins.code) == BPF_LD && BPF_MODE(ins.code) == BPF_IND) ins.src_reg = EBPF_REG_7;
    if (IsSmallJsetImm(ins)) {
      ebpf_insn mov = {};
      mov.code = BPF_ALU | EBPF_MOV | BPF_K;
      mov.dst_reg = EBPF_REG_9;
      mov.imm = ins.imm;
      out->push_back(mov);
      ins.code = BPF_JMP | BPF_JSET | BPF_X;
      ins.src_reg = EBPF_REG_9;
      ins.imm = 0;
    }
    if (IsJump(ins)) {
      const int64_t target = static_cast<int64_t>(i) + 1 + ins.off;
      if (target < 0 || target > n) return absl::InternalError("converted jump out of range");
      const int64_t here = static_cast<int64_t>(out->size());
      const int64_t off = start[target] - here - 1;
      if (off < INT16_MIN || off > INT16_MAX) return absl::InternalError("jump too far");
      ins.off = static_cast<int16_t>(off);
    }
    out->push_back(ins);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<BpfFilter>> BpfFilter::Compile(const std::string& expr,
                                                              uint32_t dlt_link_type,
                                                              uint32_t snaplen, bool use_jit) {
  std::unique_ptr<BpfFilter> f(new BpfFilter());
  f->expr_ = std::string(absl::StripAsciiWhitespace(expr));
  f->link_type_ = dlt_link_type;
  f->snaplen_ = snaplen != 0 ? snaplen : kDefaultSnaplen;
  if (f->expr_.empty()) {
    f->match_all_ = true;
    return f;
  }

  PcapCompiled pc;
  pc.handle = pcap_open_dead(static_cast<int>(dlt_link_type), static_cast<int>(f->snaplen_));
  if (pc.handle == nullptr) {
    return absl::InternalError(absl::StrCat("pcap_open_dead(", dlt_link_type, ") failed"));
  }
  if (pcap_compile(pc.handle, &pc.prog, f->expr_.c_str(), /*optimize=*/1, PCAP_NETMASK_UNKNOWN) !=
      0) {
    return absl::InvalidArgumentError(pcap_geterr(pc.handle));
  }
  pc.compiled = true;
  f->cbpf_.assign(pc.prog.bf_insns, pc.prog.bf_insns + pc.prog.bf_len);
  for (const bpf_insn& insn : f->cbpf_) f->uses_length_ |= ReadsLength(insn);

  if (JumpsBackwards(f->cbpf_)) {
    return absl::UnimplementedError(
        "libpcap compiled a backward jump (protochain), which DPDK's BPF cannot run");
  }
  rte_bpf_prm* prm = rte_bpf_convert(&pc.prog);
  if (prm == nullptr) return ErrnoToStatus(-rte_errno, "rte_bpf_convert");
  std::vector<ebpf_insn> repaired;
  rte_bpf_prm params = *prm;
  const absl::Status repair = RepairConverted(*prm, &repaired);
  rte_free(prm);
  SKYPROBE_RETURN_IF_ERROR(Annotate(repair, "rte_bpf_convert"));
  params.ins = repaired.data();
  params.nb_ins = static_cast<uint32_t>(repaired.size());
  f->ebpf_instructions_ = params.nb_ins;
  // rte_bpf_load verifies the program and copies it.
  f->bpf_ = rte_bpf_load(&params);
  if (f->bpf_ == nullptr) return ErrnoToStatus(-rte_errno, "rte_bpf_load");

  if (use_jit) {
    rte_bpf_jit jit = {};
    if (rte_bpf_get_jit(f->bpf_, &jit) == 0 && jit.func != nullptr) f->jit_ = jit.func;
  }
  return f;
}

BpfFilter::~BpfFilter() {
  if (bpf_ != nullptr) rte_bpf_destroy(bpf_);
}

bool BpfFilter::MatchSlow(const rte_mbuf* m) const noexcept {
  if (bpf_ == nullptr) return true;  // match_all_
  return rte_bpf_exec(bpf_, const_cast<rte_mbuf*>(m)) != 0;
}

uint32_t BpfFilter::Select(rte_mbuf* const* in, uint32_t n, rte_mbuf** out) const noexcept {
  if (match_all_) {
    // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, moved as such
    if (out != in) std::memmove(out, in, n * sizeof(*out));
    return n;
  }
  uint32_t kept = 0;
  if (jit_ != nullptr) {
    // Branch-free compaction: always store, advance on a match. Safe in place (kept <= i).
    const JitFunc jit = jit_;
    for (uint32_t i = 0; i < n; ++i) {
      rte_mbuf* m = in[i];
      out[kept] = m;
      kept += jit(m) != 0 ? 1 : 0;
    }
    return kept;
  }
  uint64_t rc[kExecChunk];
  void* ctx[kExecChunk];
  for (uint32_t base = 0; base < n; base += kExecChunk) {
    const uint32_t len = n - base < kExecChunk ? n - base : kExecChunk;
    for (uint32_t i = 0; i < len; ++i) ctx[i] = in[base + i];
    rte_bpf_exec_burst(bpf_, ctx, rc, len);
    for (uint32_t i = 0; i < len; ++i) {
      out[kept] = in[base + i];
      kept += rc[i] != 0 ? 1 : 0;
    }
  }
  return kept;
}

uint32_t BpfFilter::FilterBurst(rte_mbuf** pkts, uint32_t n, rte_mbuf** rejected,
                                uint32_t* n_rejected) const noexcept {
  uint32_t kept = 0;
  uint32_t dropped = 0;
  for (uint32_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    if (Match(m)) {
      pkts[kept++] = m;
    } else {
      if (rejected != nullptr) rejected[dropped] = m;
      ++dropped;
    }
  }
  if (n_rejected != nullptr) *n_rejected = dropped;
  return kept;
}

uint64_t BpfFilter::MatchMask(rte_mbuf* const* pkts, uint32_t n) const noexcept {
  if (n > 64) n = 64;
  if (match_all_) return n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
  uint64_t mask = 0;
  for (uint32_t i = 0; i < n; ++i) mask |= uint64_t{Match(pkts[i]) ? 1u : 0u} << i;
  return mask;
}

bool BpfFilter::MatchBytes(const uint8_t* data, uint32_t caplen, uint32_t wire_len) const noexcept {
  if (match_all_) return true;
  // An mbuf has one length for both (pkt_len) and 16-bit segments: libpcap decides when
  // that view would change the answer.
  if ((uses_length_ && caplen != wire_len) || caplen > std::numeric_limits<uint16_t>::max()) {
    return bpf_filter(cbpf_.data(), data, wire_len, caplen) != 0;
  }
  // A one-segment mbuf around the bytes; the program only reads it (ld_abs/ld_ind take
  // buf_addr + data_off, data_len and pkt_len; next ends the chain).
  rte_mbuf m;
  std::memset(&m, 0, sizeof(m));
  m.buf_addr = const_cast<uint8_t*>(data);
  m.buf_len = static_cast<uint16_t>(caplen);
  m.data_off = 0;
  m.data_len = static_cast<uint16_t>(caplen);
  m.pkt_len = caplen;
  m.nb_segs = 1;
  m.next = nullptr;
  return Match(&m);
}

}  // namespace skyprobe
