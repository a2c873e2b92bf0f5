// The audit log: reads listed without waiting for their commit, the chain verifying, tampering
// found (edits, reordering, and entries removed from the end).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>

#include "test_util.h"
#include "vault/testing.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

TEST(AuditTest, ReadsAreListedWithoutWaitingForTheirCommit) {
  auto t = TestVault::Make("auditreads");
  auto& v = *t->vault;
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "p", json{{"a", 1}}).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(v.GetRecord(t->admin, "u", "account", "p").ok());
  // Read entries are committed asynchronously, in batches; listing flushes them first.
  auto entries = v.ListAudit(0, 100);
  ASSERT_TRUE(entries.ok());
  int gets = 0;
  for (const auto& e : *entries) gets += e.action == "record.get" ? 1 : 0;
  EXPECT_EQ(gets, 3);
  auto ok = v.VerifyAudit();
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->ok);
}

TEST(AuditTest, ChainVerifiesAndTamperingIsFound) {
  auto t = TestVault::Make("audit");
  auto& v = *t->vault;
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "p", json{{"a", 1}}).ok());
  ASSERT_TRUE(v.GetRecord(t->admin, "u", "account", "p").ok());
  ASSERT_TRUE(v.RequestErasure(t->dpo, "u", "immediate", "").ok());
  t->Reopen();  // flushes the asynchronous read entries
  auto entries = t->vault->ListAudit(0, 100);
  ASSERT_TRUE(entries.ok());
  std::vector<std::string> actions;
  for (const auto& e : *entries) actions.push_back(e.action);
  for (const char* a : {"record.put", "record.get", "erasure.request", "erasure.execute"}) {
    EXPECT_NE(std::find(actions.begin(), actions.end(), a), actions.end()) << a;
  }
  auto ok = t->vault->VerifyAudit();
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->ok);
  EXPECT_EQ(ok->entries, entries->size());
  t->vault.reset();
  ASSERT_TRUE(TEST_EditTable(t->dir + "/data", Table::kAudit, [](TEST_Rows& rows) {
                ASSERT_GE(rows.size(), 3u);
                rows[1].second[17] ^= 1;  // change one letter of entry 2's actor
              }).ok());
  t->Reopen();
  auto bad = t->vault->VerifyAudit();
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->ok);
  EXPECT_EQ(bad->first_bad_seq, 2u);
}

// A vault with a few entries, closed, its audit table edited, reopened and verified.
AuditVerifyResult VerifyAfterEdit(const std::string& tag,
                                  const std::function<void(TEST_Rows&)>& edit,
                                  std::uint64_t* entries_before) {
  auto t = TestVault::Make(tag);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(
        t->vault->PutRecord(t->admin, "u", "account", "p" + std::to_string(i), json{{"i", i}}).ok());
  }
  auto before = t->vault->VerifyAudit();
  EXPECT_TRUE(before.ok() && before->ok);
  *entries_before = before->entries;
  t->vault.reset();
  EXPECT_TRUE(TEST_EditTable(t->dir + "/data", Table::kAudit, edit).ok());
  t->Reopen();
  auto after = t->vault->VerifyAudit();
  EXPECT_TRUE(after.ok());
  return after.ok() ? *after : AuditVerifyResult{};
}

TEST(AuditTest, RemovingTheLastEntriesIsFound) {
  for (std::size_t n : {1u, 3u}) {
    std::uint64_t before = 0;
    const auto r = VerifyAfterEdit(
        "audittrunc", [n](TEST_Rows& rows) { rows.resize(rows.size() - n); }, &before);
    EXPECT_FALSE(r.ok) << n;
    EXPECT_EQ(r.entries, before - n) << n;
    EXPECT_EQ(r.first_bad_seq, before - n + 1) << n;  // the first entry missing
  }
}

TEST(AuditTest, RemovingEveryEntryIsFound) {
  std::uint64_t before = 0;
  const auto r = VerifyAfterEdit("auditempty", [](TEST_Rows& rows) { rows.clear(); }, &before);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.entries, 0u);
  EXPECT_EQ(r.first_bad_seq, 1u);
}

TEST(AuditTest, ReorderedOrRemovedMiddleEntriesAreFound) {
  std::uint64_t before = 0;
  auto r = VerifyAfterEdit(
      "auditswap", [](TEST_Rows& rows) { std::swap(rows[2].second, rows[3].second); }, &before);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 3u);
  r = VerifyAfterEdit(
      "auditgap", [](TEST_Rows& rows) { rows.erase(rows.begin() + 2); }, &before);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 3u);
}

TEST(AuditTest, RefusedEngineCallsAreAudited) {
  auto t = TestVault::Make("auditrefused");
  auto& v = *t->vault;
  const Actor app{"app-1", Role::kApp};
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "p", json{{"a", 1}}).ok());
  EXPECT_EQ(v.DeleteRecord(app, "u", "account", "missing").code(), Code::kNotFound);
  EXPECT_EQ(v.RequestErasure(t->dpo, "nobody", "grace", "").status().code(), Code::kNotFound);
  EXPECT_EQ(v.GetErasure(t->dpo, "00").status().code(), Code::kNotFound);
  v.AuditRefusal(app, "record.get", "u", "billing", Code::kPermissionDenied);
  auto entries = v.ListAudit(0, 1000);
  ASSERT_TRUE(entries.ok());
  std::map<std::string, AuditEntry> last;
  for (const auto& e : *entries) last[e.action] = e;
  const std::string ref = last["record.put"].subject_ref;
  ASSERT_EQ(ref.size(), 32u);
  EXPECT_EQ(last["record.delete"].outcome, "not_found");
  EXPECT_EQ(last["record.delete"].subject_ref, ref);
  EXPECT_EQ(last["erasure.request"].outcome, "not_found");
  EXPECT_EQ(last["erasure.request"].subject_ref, "");
  EXPECT_EQ(last["erasure.get"].outcome, "not_found");
  EXPECT_EQ(last["record.get"].outcome, "permission_denied");
  EXPECT_EQ(last["record.get"].subject_ref, ref);
  EXPECT_EQ(last["record.get"].category, "billing");
  EXPECT_TRUE(v.VerifyAudit()->ok);
}

}  // namespace
}  // namespace vault
