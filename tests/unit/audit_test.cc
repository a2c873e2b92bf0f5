// The audit log: reads listed without waiting for their commit, the chain verifying, tampering
// found.
#include <gtest/gtest.h>

#include <algorithm>

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

}  // namespace
}  // namespace vault
