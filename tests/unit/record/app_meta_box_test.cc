// FlowSnapshot::app (record/app_meta_box.h): metadata out of line, a value
// that copies with its snapshot, storage kept across reuse.
#include <gtest/gtest.h>

#include <cstring>
#include <utility>

#include "record/flow_snapshot.h"

namespace skyprobe {
namespace {

void SetSni(FlowSnapshot* s, const char* sni) {
  AppMeta* m = s->app.Storage();
  m->kind = AppKind::kTls;
  m->tls.sni_len = static_cast<uint8_t>(std::strlen(sni));
  std::memcpy(m->tls.sni, sni, m->tls.sni_len);
}

std::string Sni(const FlowSnapshot& s) {
  const AppMeta* m = s.app.get();
  if (m == nullptr || m->kind != AppKind::kTls) return "";
  return std::string(m->tls.sni, m->tls.sni_len);
}

TEST(AppMetaBoxTest, EmptyUntilWrittenAndReadsAsNone) {
  FlowSnapshot s;
  EXPECT_FALSE(s.app.has_value());
  EXPECT_EQ(s.app.get(), nullptr);
  EXPECT_EQ(s.app.value().kind, AppKind::kNone);
  s.app.Storage();  // storage without metadata is still no metadata
  EXPECT_FALSE(s.app.has_value());
}

TEST(AppMetaBoxTest, ACopyHoldsItsOwnMetadata) {
  FlowSnapshot a;
  SetSni(&a, "a.example");
  FlowSnapshot b = a;
  SetSni(&b, "b.example");
  EXPECT_EQ(Sni(a), "a.example");
  EXPECT_EQ(Sni(b), "b.example");
  EXPECT_NE(a.app.get(), b.app.get());
  FlowSnapshot c;
  c = b;  // copy-assign into an empty box
  EXPECT_EQ(Sni(c), "b.example");
  FlowSnapshot none;
  c = none;  // a record without metadata: c has none
  EXPECT_FALSE(c.app.has_value());
  EXPECT_EQ(Sni(b), "b.example");
}

TEST(AppMetaBoxTest, AReusedSnapshotKeepsItsStorage) {
  // What the table does to a record channel's pool element or a query chunk
  // slot: `*s = FlowSnapshot()` then fill. The storage stays: no allocation
  // per record once a slot has held metadata.
  FlowSnapshot s;
  SetSni(&s, "first.example");
  const AppMeta* storage = s.app.get();
  s = FlowSnapshot();
  EXPECT_FALSE(s.app.has_value());
  SetSni(&s, "second.example");
  EXPECT_EQ(s.app.get(), storage);
  EXPECT_EQ(Sni(s), "second.example");
}

TEST(AppMetaBoxTest, MoveTakesTheMetadata) {
  FlowSnapshot a;
  SetSni(&a, "a.example");
  FlowSnapshot b = std::move(a);
  EXPECT_EQ(Sni(b), "a.example");
  FlowSnapshot c;
  c = std::move(b);
  EXPECT_EQ(Sni(c), "a.example");
}

}  // namespace
}  // namespace skyprobe
