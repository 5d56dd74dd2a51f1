// EnhancedPredicate (app/enhanced_predicate.h): a filter on CommunityID is
// evaluated on an enhanced copy of each candidate (the original untouched),
// and an evaluation allocates nothing through operator new, records with
// application metadata included (a fresh copy of one allocates its block).
// Allocations are counted by replacing the global operator new and delete
// in this test binary (every form, so that ASan's new/delete pairing holds).

#include "app/enhanced_predicate.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "control/enhancers/community_id.h"
#include "gtest/gtest.h"

namespace {
thread_local long allocations = 0;  // operator new calls on this thread

void* Allocate(std::size_t n) {
  ++allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* AllocateAligned(std::size_t n, std::align_val_t a) {
  ++allocations;
  const std::size_t al = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return Allocate(n); }
void* operator new[](std::size_t n) { return Allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return Allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return Allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t n, std::align_val_t a) { return AllocateAligned(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return AllocateAligned(n, a); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return AllocateAligned(n, a);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return AllocateAligned(n, a);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace skyprobe {
namespace {

// The inner filter: CommunityID equals `want` (reads the enhanced field only).
class CommunityIdIs final : public FlowPredicate {
 public:
  explicit CommunityIdIs(std::string want) : want_(std::move(want)) {}
  bool Matches(const FlowSnapshot& s) const override { return want_ == s.community_id; }

 private:
  std::string want_;
};

FlowSnapshot Tcp(uint16_t port_a, bool with_metadata) {
  FlowSnapshot s;
  s.ip_version = 4;
  const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
  std::memcpy(s.network_a, a, 4);
  std::memcpy(s.network_b, b, 4);
  s.transport = FlowProtocol::kTcp;
  s.transport_a = port_a;
  s.transport_b = 443;
  if (with_metadata) {
    AppMeta* m = s.app.Storage();
    m->kind = AppKind::kTls;
    m->tls.flags = kTlsHasSni;
    m->tls.sni_len = 11;
    std::memcpy(m->tls.sni, "example.com", 11);
  }
  return s;
}

// Community ID of the flow from 10.0.0.1:port to 10.0.0.2:443, computed from
// the spec's tuple, not from a snapshot.
std::string IdOf(uint16_t port_a) {
  const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
  CommunityIdTuple t;
  t.ip_version = 4;
  t.src = a;
  t.dst = b;
  t.proto = kIpProtoTcp;
  t.has_ports = true;
  t.src_port = port_a;
  t.dst_port = 443;
  return CommunityId(0, t);
}

TEST(EnhancedPredicateTest, EvaluatesOnAnEnhancedCopyWithoutAllocating) {
  CommunityIdEnhancer enhancer(0);
  const std::function<void(FlowSnapshot*)> enhance = [&](FlowSnapshot* s) { enhancer.Enhance(s); };
  const std::string want = IdOf(40001);
  ASSERT_EQ(want.size(), kCommunityIdLength);
  const EnhancedPredicate p(std::make_shared<CommunityIdIs>(want), &enhance);
  EXPECT_TRUE(p.costly());
  EXPECT_TRUE(p.reads_enhanced_fields());

  const FlowSnapshot hit = Tcp(40001, true), miss = Tcp(40002, true);
  const FlowSnapshot hit_plain = Tcp(40001, false);
  EXPECT_TRUE(p.Matches(hit));  // the first on this thread may allocate its scratch
  EXPECT_FALSE(p.Matches(miss));
  EXPECT_TRUE(p.Matches(hit_plain));
  EXPECT_EQ(hit.community_id[0], '\0');  // the candidate itself is not enhanced

  const long before = allocations;
  int matched = 0;
  for (int i = 0; i < 1000; ++i) {
    matched += p.Matches(hit) + p.Matches(miss) + p.Matches(hit_plain) + p.Matches(miss);
  }
  EXPECT_EQ(allocations - before, 0);
  EXPECT_EQ(matched, 2000);
  // The counter counts: a fresh copy of a record with metadata allocates.
  const long copies = allocations;
  const auto copy = std::make_unique<FlowSnapshot>(hit);  // the snapshot and its block
  EXPECT_EQ(allocations - copies, 2);
  ASSERT_NE(copy->app.get(), nullptr);
  EXPECT_NE(copy->app.get(), hit.app.get());
}

}  // namespace
}  // namespace skyprobe
