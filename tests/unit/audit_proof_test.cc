// Audit proof: signed checkpoints of the audit log's head (by count, by time, on close), the
// verifier naming what is wrong and where, retention trimming at a checkpoint, the purpose of
// each entry, and receipts checked field by field (holds that delayed an erasure included).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "test_util.h"
#include "vault/codec.h"
#include "vault/rows.h"
#include "vault/testing.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

// A test vault reopened with the given checkpoint settings (and policy).
std::unique_ptr<TestVault> MakeWithCheckpoints(const std::string& tag, std::uint64_t every_entries,
                                               std::chrono::seconds every,
                                               const std::string& policy_yaml = "") {
  auto t = TestVault::Make(tag, policy_yaml);
  t->vault.reset();
  Options o = t->Opts();
  o.audit_checkpoint_entries = every_entries;
  o.audit_checkpoint_interval = every;
  auto v = Vault::Open(o);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  t->vault = std::move(v).value();
  return t;
}

void Put(TestVault& t, int n, const std::string& prefix = "r") {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(
        t.vault->PutRecord(t.admin, "u", "account", prefix + std::to_string(i), json{{"i", i}})
            .ok());
  }
}

std::map<std::uint64_t, std::string> HashesBySeq(Vault& v) {
  std::map<std::uint64_t, std::string> out;
  auto entries = v.ListAudit(0, 1000);
  EXPECT_TRUE(entries.ok());
  for (const auto& e : *entries) out[e.seq] = e.hash;
  return out;
}

TEST(AuditProofTest, CheckpointsSignTheHeadEveryNEntries) {
  auto t = MakeWithCheckpoints("cpcount", 5, std::chrono::seconds(0));
  Put(*t, 12);
  auto cps = t->vault->ListAuditCheckpoints(0, 100);
  ASSERT_TRUE(cps.ok());
  ASSERT_EQ(cps->size(), 2u);
  EXPECT_EQ((*cps)[0].seq, 5u);
  EXPECT_EQ((*cps)[1].seq, 10u);
  const auto hashes = HashesBySeq(*t->vault);
  const ReceiptPublicKey key = t->vault->ReceiptKey();
  for (const auto& cp : *cps) {
    EXPECT_EQ(cp.head, hashes.at(cp.seq));
    EXPECT_EQ(cp.key_id, key.key_id);
    EXPECT_TRUE(Vault::VerifyAuditCheckpoint(cp, key.public_key_base64));
    EXPECT_EQ(Vault::AuditCheckpointMessage(cp),
              "{\"at\":\"" + FormatRfc3339(cp.at) + "\",\"head\":\"" + cp.head +
                  "\",\"key_id\":\"" + cp.key_id + "\",\"seq\":" + std::to_string(cp.seq) +
                  ",\"type\":\"lethe.audit.checkpoint\"}");
    AuditCheckpoint moved = cp;
    moved.seq += 1;  // the signature binds the seq as well as the head
    EXPECT_FALSE(Vault::VerifyAuditCheckpoint(moved, key.public_key_base64));
  }
  auto page = t->vault->ListAuditCheckpoints(5, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].seq, 10u);
  auto r = t->vault->VerifyAudit();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok) << r->problem;
  EXPECT_EQ(r->checkpoints, 2u);
}

TEST(AuditProofTest, TheSweeperSignsWhenTheIntervalHasPassedAndCloseSignsTheHead) {
  auto t = MakeWithCheckpoints("cptime", 0, std::chrono::seconds(300));
  Put(*t, 1);  // the first commit: no checkpoint yet, so the interval has passed
  Put(*t, 3, "later");
  auto cps = t->vault->ListAuditCheckpoints(0, 100);
  ASSERT_EQ(cps->size(), 1u);
  EXPECT_EQ((*cps)[0].seq, 1u);
  ASSERT_TRUE(t->vault->Sweep(t->admin).ok());
  EXPECT_EQ(t->vault->ListAuditCheckpoints(0, 100)->size(), 1u);  // not yet 300 s
  t->clock->Advance(301);
  ASSERT_TRUE(t->vault->Sweep(t->admin).ok());
  cps = t->vault->ListAuditCheckpoints(0, 100);
  ASSERT_EQ(cps->size(), 2u);
  EXPECT_EQ((*cps)[1].seq, 4u);
  Put(*t, 2, "closing");
  t->Reopen();  // close signs the head: entries 5 and 6
  cps = t->vault->ListAuditCheckpoints(0, 100);
  ASSERT_EQ(cps->size(), 3u);
  EXPECT_EQ((*cps)[2].seq, 6u);
}

// Closed, edited with edit (audit table), reopened and verified.
AuditVerifyResult VerifyAfter(TestVault& t, Table table,
                              const std::function<void(TEST_Rows&)>& edit) {
  t.vault.reset();
  EXPECT_TRUE(TEST_EditTable(t.dir + "/data", table, edit).ok());
  t.Reopen();
  auto r = t.vault->VerifyAudit();
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : AuditVerifyResult{};
}

TEST(AuditProofTest, TheVerifierSaysWhatIsWrongAndWhere) {
  auto t = MakeWithCheckpoints("cpwhat", 4, std::chrono::seconds(0));
  Put(*t, 9);
  auto r = VerifyAfter(*t, Table::kAudit, [](TEST_Rows& rows) { rows[4].second[20] ^= 1; });
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 5u);
  EXPECT_NE(r.problem.find("entry 5 does not match its hash: it was edited"), std::string::npos)
      << r.problem;
  r = VerifyAfter(*t, Table::kAudit, [](TEST_Rows& rows) { rows[4].second[20] ^= 1; });  // undo
  EXPECT_TRUE(r.ok) << r.problem;

  r = VerifyAfter(*t, Table::kAudit,
                  [](TEST_Rows& rows) { std::swap(rows[5].second, rows[6].second); });
  EXPECT_EQ(r.first_bad_seq, 6u);
  EXPECT_NE(r.problem.find("out of order: the entry stored at seq 7 belongs at seq 6"),
            std::string::npos)
      << r.problem;
  r = VerifyAfter(*t, Table::kAudit,
                  [](TEST_Rows& rows) { std::swap(rows[5].second, rows[6].second); });
  EXPECT_TRUE(r.ok) << r.problem;
}

TEST(AuditProofTest, AMissingEntryAndACheckpointPastTheHeadAreFound) {
  auto t = MakeWithCheckpoints("cpgap", 4, std::chrono::seconds(0));
  Put(*t, 9);
  auto r = VerifyAfter(*t, Table::kAudit, [](TEST_Rows& rows) { rows.erase(rows.begin() + 2); });
  EXPECT_EQ(r.first_bad_seq, 3u);
  EXPECT_NE(r.problem.find("entry 3 is missing (the next stored entry is 4)"), std::string::npos)
      << r.problem;

  // Someone holding the store cuts the last entries and rewrites the stored head to match:
  // the chain alone still verifies, the checkpoint signed at close does not fit it.
  auto u = MakeWithCheckpoints("cpcut", 1000, std::chrono::seconds(0));
  Put(*u, 6);
  const auto hashes = HashesBySeq(*u->vault);
  u->vault.reset();  // signs the head, seq 6
  ASSERT_TRUE(TEST_EditTable(u->dir + "/data", Table::kAudit, [](TEST_Rows& rows) {
                rows.resize(4);
              }).ok());
  ASSERT_TRUE(TEST_EditTable(u->dir + "/data", Table::kMeta, [&](TEST_Rows& rows) {
                for (auto& [k, v] : rows) {
                  if (k == "audit_seq") v = BigEndianKey(4);
                  if (k == "audit_head") v = Bytes(*crypto::FromHex(hashes.at(4)));
                }
              }).ok());
  u->Reopen();
  r = *u->vault->VerifyAudit();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 5u);
  EXPECT_NE(r.problem.find("a signed checkpoint covers seq 6 but the log ends at seq 4"),
            std::string::npos)
      << r.problem;
}

TEST(AuditProofTest, AForgedOrMovedCheckpointIsFound) {
  auto t = MakeWithCheckpoints("cpforge", 4, std::chrono::seconds(0));
  Put(*t, 6);
  auto r = VerifyAfter(*t, Table::kAuditCheckpoints, [](TEST_Rows& rows) {
    rows[0].second[rows[0].second.size() - 1] ^= 1;  // the signature's last byte
  });
  EXPECT_EQ(r.first_bad_seq, 4u);
  EXPECT_NE(r.problem.find("checkpoint at seq 4 has a bad signature"), std::string::npos)
      << r.problem;
}

std::string PolicyWithAuditRetention(const std::string& retention) {
  std::string yaml = Policy::DefaultYaml();
  const std::string from = "audit: {retention: 90d}";
  yaml.replace(yaml.find(from), from.size(), "audit: {retention: " + retention + "}");
  return yaml;
}

TEST(AuditProofTest, RetentionTrimsAtACheckpointAndTheRestStillVerifies) {
  auto t =
      MakeWithCheckpoints("cptrim", 5, std::chrono::seconds(0), PolicyWithAuditRetention("1d"));
  Put(*t, 12);  // checkpoints at 5 and 10
  t->clock->Advance(2 * 86400);
  Put(*t, 2, "fresh");  // 13, 14
  auto sweep = t->vault->Sweep(t->admin);
  ASSERT_TRUE(sweep.ok());
  EXPECT_EQ(sweep->audit_entries_trimmed, 10u);  // up to the newest expired checkpoint
  auto entries = t->vault->ListAudit(0, 1000);
  ASSERT_TRUE(entries.ok());
  ASSERT_FALSE(entries->empty());
  EXPECT_EQ(entries->front().seq, 11u);
  EXPECT_EQ(entries->back().action, "audit.trim");
  auto cps = t->vault->ListAuditCheckpoints(0, 100);
  ASSERT_FALSE(cps->empty());
  EXPECT_EQ(cps->front().seq, 10u);  // the anchor stays
  auto r = t->vault->VerifyAudit();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok) << r->problem;
  EXPECT_EQ(r->from_seq, 11u);
  EXPECT_EQ(r->entries, entries->size());
  // A second sweep trims nothing more: the entries after 10 are younger than a day.
  EXPECT_EQ(t->vault->Sweep(t->admin)->audit_entries_trimmed, 0u);

  // The retained chain starts at the anchor: an edit of entry 11 is found, and so is a forged
  // anchor.
  auto bad = VerifyAfter(*t, Table::kAudit, [](TEST_Rows& rows) { rows[0].second[20] ^= 1; });
  EXPECT_EQ(bad.first_bad_seq, 11u) << bad.problem;
  VerifyAfter(*t, Table::kAudit, [](TEST_Rows& rows) { rows[0].second[20] ^= 1; });
  bad = VerifyAfter(*t, Table::kAuditCheckpoints, [](TEST_Rows& rows) {
    rows[0].second[10] ^= 1;  // the anchor's head
  });
  EXPECT_EQ(bad.first_bad_seq, 10u);
  EXPECT_NE(bad.problem.find("retained chain's start"), std::string::npos) << bad.problem;
}

TEST(AuditProofTest, EntriesRecordThePurposesTheAppUsed) {
  auto t = TestVault::Make("purpose");
  const Actor app{"app-7", Role::kApp, {"service", "billing"}};
  ASSERT_TRUE(t->vault->PutRecord(app, "u", "account", "p", json{{"a", 1}}).ok());
  ASSERT_TRUE(t->vault->PutRecord(app, "u", "billing", "b", json{{"a", 1}}).ok());
  ASSERT_TRUE(t->vault->GetSubject(app, "u").ok());
  ASSERT_TRUE(t->vault->GetRecord(t->dpo, "u", "account", "p").ok());
  auto entries = t->vault->ListAudit(0, 100);
  ASSERT_TRUE(entries.ok());
  std::map<std::string, std::string> purpose;  // action/category -> purpose
  for (const auto& e : *entries) purpose[e.action + "/" + e.category] = e.purpose;
  EXPECT_EQ(purpose["record.put/account"], "service");
  EXPECT_EQ(purpose["record.put/billing"], "billing");
  EXPECT_EQ(purpose["subject.get/"], "service,billing");
  EXPECT_EQ(purpose["record.get/account"], "");  // dpo: no purposes
  EXPECT_TRUE(t->vault->VerifyAudit()->ok);
  // The purpose is chained: changing it breaks the entry.
  auto r = VerifyAfter(*t, Table::kAudit, [](TEST_Rows& rows) { rows[0].second.back() ^= 1; });
  EXPECT_EQ(r.first_bad_seq, 1u) << r.problem;
}

TEST(AuditProofTest, RefusedHoldTokenCallsAndBackupsAreAudited) {
  auto t = TestVault::Make("gaps");
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "u", "account", "p", json{{"a", 1}}).ok());
  EXPECT_EQ(t->vault->ReleaseLegalHold(t->dpo, "u", "0123456789abcdef").code(), Code::kNotFound);
  EXPECT_EQ(t->vault->RevokeToken(t->admin, "0123456789abcdef").code(), Code::kNotFound);
  ASSERT_TRUE(t->vault->Backup(t->dir + "/backup").ok());
  auto entries = t->vault->ListAudit(0, 100);
  ASSERT_TRUE(entries.ok());
  std::map<std::string, AuditEntry> last;
  for (const auto& e : *entries) last[e.action] = e;
  EXPECT_EQ(last["hold.release"].outcome, "not_found");
  EXPECT_EQ(last["hold.release"].subject_ref, last["record.put"].subject_ref);
  EXPECT_EQ(last["token.revoke"].outcome, "not_found");
  EXPECT_EQ(last["backup.create"].outcome, "ok");
  EXPECT_EQ(last["backup.create"].actor, "cli");
}

}  // namespace
}  // namespace vault
