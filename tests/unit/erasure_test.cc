// Erasure: immediate (engine and raw-file forensics) and with grace, receipts, legal holds.
#include <gtest/gtest.h>

#include "test_util.h"
#include "vault/testing.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

TEST(ErasureTest, ImmediateErasureDestroysKeysInTheLiveFileAndSignsAReceipt) {
  auto t = TestVault::Make("erase");
  auto& v = *t->vault;
  for (int i = 0; i < 20; ++i) {
    const std::string sid = "subject-" + std::to_string(i);
    ASSERT_TRUE(
        v.PutRecord(t->admin, sid, "account", "profile", json{{"email", sid + "@example.com"}})
            .ok());
    ASSERT_TRUE(v.PutRecord(t->admin, sid, "billing", "inv", json{{"amount", i}}).ok());
    ASSERT_TRUE(v.PutRecord(t->admin, sid, "usage", "u1", json{{"clicks", i}}).ok());
  }
  // Churn so the victim's key rows get copied around by LMDB's copy-on-write.
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(
        v.PutRecord(t->admin, "subject-7", "account", "profile", json{{"round", round}}).ok());
    ASSERT_TRUE(v.RotateEpoch(t->admin).ok());
  }
  auto e = v.RequestErasure(t->dpo, "subject-7", "immediate", "user asked");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->state, "completed");
  const json receipt = json::parse(e->receipt_json);
  ASSERT_TRUE(receipt.is_object());
  std::set<std::string> shredded;
  std::set<std::string> shredded_categories;
  for (const auto& s : receipt["shredded"]) {
    shredded_categories.insert(s["category"]);
    for (const auto& id : s["key_ids"]) shredded.insert(id);
  }
  EXPECT_EQ(shredded_categories, (std::set<std::string>{"_subject", "account", "usage"}));
  ASSERT_EQ(receipt["retained"].size(), 1u);
  EXPECT_EQ(receipt["retained"][0]["category"], "billing");
  EXPECT_EQ(receipt["retained"][0]["legal_basis"], "legal_obligation");

  // Through the engine.
  EXPECT_EQ(v.GetRecord(t->admin, "subject-7", "account", "profile").status().code(), Code::kGone);
  EXPECT_EQ(v.GetRecord(t->admin, "subject-7", "billing", "inv").status().code(), Code::kGone);
  auto billing = v.GetRecord(t->dpo, "subject-7", "billing", "inv", ReadOptions{true});
  ASSERT_TRUE(billing.ok()) << billing.status().ToString();
  EXPECT_EQ(testing::Data(*billing)["amount"], 7);
  EXPECT_EQ(
      v.GetRecord(t->dpo, "subject-7", "account", "profile", ReadOptions{true}).status().code(),
      Code::kGone);
  EXPECT_EQ(v.GetSubject(t->admin, "subject-7")->state, SubjectState::kErased);
  EXPECT_EQ(v.PutRecord(t->admin, "subject-7", "account", "x", json::object()).status().code(),
            Code::kGone);
  EXPECT_EQ(v.RequestErasure(t->dpo, "subject-7", "immediate", "").status().code(), Code::kGone);

  // The receipt verifies offline with the public key alone; any change breaks it.
  const auto pk = v.ReceiptKey();
  EXPECT_EQ(receipt["key_id"], pk.key_id);
  EXPECT_TRUE(Vault::VerifyReceipt(receipt, pk.public_key_base64));
  for (const auto& [field, _] : receipt.items()) {
    if (field == "signature") continue;
    json tampered = receipt;
    tampered[field] = field == "shredded" ? json::array() : json("x");
    EXPECT_FALSE(Vault::VerifyReceipt(tampered, pk.public_key_base64)) << field;
  }
  EXPECT_TRUE(json::parse(v.GetErasure(t->admin, e->erasure_id)->receipt_json) == receipt);

  // Forensics on the live file: every KEK the vault still holds, against every wrapped-key
  // shaped blob anywhere in the data file, free pages included.
  t->vault.reset();
  auto root = t->root->Load();
  auto keyring = Keyring::Open(t->dir + "/data/keyring", std::move(root).value());
  ASSERT_TRUE(keyring.ok());
  const auto recovered =
      testing::RecoverableKeyIds(testing::ReadFile(t->dir + "/data/store/data.mdb") +
                                     testing::ReadFile(t->dir + "/data/keyslots"),
                                 TEST_LiveKeks(**keyring));
  EXPECT_GE(recovered.size(), 19u * 3);  // the other subjects' keys are there: the scan works
  for (const auto& id : shredded)
    EXPECT_EQ(recovered.count(id), 0u) << "recovered shredded key " << id;
}

TEST(ErasureTest, GraceCancelRestoresEverything) {
  auto t = TestVault::Make("grace");
  auto& v = *t->vault;
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "p", json{{"a", 1}}).ok());
  auto e = v.RequestErasure(t->dpo, "u", "grace", "");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->state, "scheduled");
  EXPECT_EQ(e->execute_at - e->requested_at, 31 * 86400);
  EXPECT_EQ(v.GetRecord(t->admin, "u", "account", "p").status().code(), Code::kGone);
  EXPECT_EQ(v.RequestErasure(t->dpo, "u", "grace", "").status().code(), Code::kConflict);
  // Thirty days later, the sweeper leaves it alone.
  t->clock->Advance(30 * 86400);
  ASSERT_TRUE(v.Sweep(t->admin).ok());
  auto c = v.CancelErasure(t->dpo, "u");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->state, "cancelled");
  EXPECT_EQ(testing::Data(*v.GetRecord(t->admin, "u", "account", "p"))["a"], 1);
  EXPECT_EQ(v.CancelErasure(t->dpo, "u").status().code(), Code::kNotFound);
  // A second request runs when its grace has passed; then cancel is a conflict.
  ASSERT_TRUE(v.RequestErasure(t->dpo, "u", "grace", "").ok());
  t->clock->Advance(31 * 86400 + 1);
  auto sw = v.Sweep(t->admin);
  ASSERT_TRUE(sw.ok());
  EXPECT_EQ(sw->erasures_executed, 1u);
  EXPECT_EQ(v.GetSubject(t->admin, "u")->state, SubjectState::kErased);
  EXPECT_EQ(v.CancelErasure(t->dpo, "u").status().code(), Code::kConflict);
}

TEST(ErasureTest, LegalHoldBlocksUntilReleased) {
  auto t = TestVault::Make("hold");
  auto& v = *t->vault;
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "p", json{{"a", 1}}).ok());
  auto h = v.PlaceLegalHold(t->dpo, "u", "litigation 2026-17", std::nullopt);
  ASSERT_TRUE(h.ok());
  // Deleting a record would destroy its scope's key: the hold refuses that too.
  EXPECT_EQ(v.DeleteRecord(t->dpo, "u", "account", "p").code(), Code::kLocked);
  auto e = v.RequestErasure(t->dpo, "u", "immediate", "");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->state, "scheduled");
  EXPECT_TRUE(e->blocked_by_hold);
  ASSERT_TRUE(v.Sweep(t->admin).ok());
  auto sum = v.GetSubject(t->admin, "u");
  EXPECT_EQ(sum->state, SubjectState::kErasurePending);
  ASSERT_EQ(sum->legal_holds.size(), 1u);
  EXPECT_EQ(sum->legal_holds[0].reason, "litigation 2026-17");
  EXPECT_TRUE(sum->erasure->blocked_by_hold);
  // Data is still there for the hold (privileged read of a non-surviving category is 410,
  // but the key exists).
  EXPECT_EQ(v.Stats()->keys_shredded, 0u);
  ASSERT_TRUE(v.ReleaseLegalHold(t->dpo, "u", h->hold_id).ok());
  EXPECT_EQ(v.ReleaseLegalHold(t->dpo, "u", h->hold_id).code(), Code::kNotFound);
  auto sw = v.Sweep(t->admin);
  ASSERT_TRUE(sw.ok());
  EXPECT_EQ(sw->erasures_executed, 1u);
  auto done = v.GetErasure(t->admin, e->erasure_id);
  EXPECT_EQ(done->state, "completed");
  EXPECT_EQ(json::parse(done->receipt_json)["delayed_by_legal_hold"], true);
}


// A hold row that cannot be read must hold (fail closed): a read error never lets a deletion
// or an erasure through, and the caller is told.
TEST(ErasureTest, UnreadableLegalHoldBlocksDeletionAndErasure) {
  auto t = TestVault::Make("hold-unreadable");
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "u", "account", "p", json{{"a", 1}}).ok());
  ASSERT_TRUE(t->vault->PlaceLegalHold(t->dpo, "u", "litigation", std::nullopt).ok());
  t->BreakTheHoldRow();
  auto& v = *t->vault;
  EXPECT_EQ(v.DeleteRecord(t->dpo, "u", "account", "p").code(), Code::kDataLoss);
  EXPECT_EQ(v.RequestErasure(t->dpo, "u", "immediate", "").status().code(), Code::kDataLoss);
  EXPECT_EQ(v.GetSubject(t->admin, "u")->state, SubjectState::kActive);
  EXPECT_EQ(v.Stats()->keys_shredded, 0u);
  EXPECT_TRUE(v.GetRecord(t->admin, "u", "account", "p").ok());
}

}  // namespace
}  // namespace vault
