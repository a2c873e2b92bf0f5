// Receipts checked offline field by field (Vault::CheckReceipt), and the legal holds that
// delayed an erasure named in its receipt by id and times only.
#include <gtest/gtest.h>

#include "test_util.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

json ImmediateReceipt(TestVault& t, const std::string& subject) {
  EXPECT_TRUE(t.vault->PutRecord(t.admin, subject, "account", "p", json{{"a", 1}}).ok());
  auto e = t.vault->RequestErasure(t.dpo, subject, "immediate", "asked");
  EXPECT_TRUE(e.ok());
  return json::parse(e->receipt_json);
}

TEST(AuditReceiptTest, AValidReceiptPassesAndEachBrokenFieldIsNamed) {
  auto t = TestVault::Make("rcheck");
  const json receipt = ImmediateReceipt(*t, "u");
  const std::string pk = t->vault->ReceiptKey().public_key_base64;
  ReceiptCheck ok = Vault::CheckReceipt(receipt, pk);
  EXPECT_TRUE(ok.ok) << ok.field << " " << ok.problem;

  const auto check = [&](const std::function<void(json&)>& edit) {
    json r = receipt;
    edit(r);
    return Vault::CheckReceipt(r, pk);
  };
  ReceiptCheck c = check([](json& r) { r["completed_at"] = "2026-13-45T00:00:00Z"; });
  EXPECT_EQ(c.field, "completed_at");
  EXPECT_EQ(c.problem, "is not an RFC 3339 UTC time");
  c = check([](json& r) { r.erase("unrecoverable_after"); });
  EXPECT_EQ(c.field, "unrecoverable_after");
  EXPECT_EQ(c.problem, "is missing");
  c = check([](json& r) { r["shredded"][0]["category"] = 7; });
  EXPECT_EQ(c.field, "shredded[0].category");
  c = check([](json& r) { r["retained"] = json::array({{{"category", "billing"}}}); });
  EXPECT_EQ(c.field, "retained[0].until");
  c = check([](json& r) { r["subject_ref"] = "not-hex"; });
  EXPECT_EQ(c.field, "subject_ref");
  c = check([](json& r) { r["mode"] = "grace"; });  // well-formed, but not what was signed
  EXPECT_EQ(c.field, "signature");
  EXPECT_NE(c.problem.find("does not verify"), std::string::npos);
  c = check([](json& r) { r["key_id"] = "0000000000000000"; });
  EXPECT_EQ(c.field, "key_id");
  c = check([](json& r) { r["signature"] = "AAAA"; });
  EXPECT_EQ(c.field, "signature");
  EXPECT_FALSE(Vault::CheckReceipt(json::array(), pk).ok);

  // Another vault's key: the key id names the mismatch before the signature is tried.
  auto other = TestVault::Make("rcheck2");
  c = Vault::CheckReceipt(receipt, other->vault->ReceiptKey().public_key_base64);
  EXPECT_EQ(c.field, "key_id");
  c = Vault::CheckReceipt(receipt, "bm90IGEga2V5");
  EXPECT_EQ(c.field, "public_key");
}

TEST(AuditReceiptTest, HoldsThatDelayedAnErasureAreInItsReceiptWithoutTheirReasons) {
  auto t = TestVault::Make("rholds");
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "u", "account", "p", json{{"a", 1}}).ok());
  const UnixSeconds placed = t->clock->Now();
  auto hold = t->vault->PlaceLegalHold(t->dpo, "u", "litigation-secret-xyz", std::nullopt);
  ASSERT_TRUE(hold.ok());
  auto e = t->vault->RequestErasure(t->dpo, "u", "immediate", "asked");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->state, "scheduled");  // held
  t->clock->Advance(3600);
  // A second hold placed while the first still holds also delays it.
  auto hold2 = t->vault->PlaceLegalHold(t->dpo, "u", "second-reason", std::nullopt);
  ASSERT_TRUE(hold2.ok());
  ASSERT_TRUE(t->vault->Sweep(t->admin).ok());
  t->clock->Advance(3600);
  const UnixSeconds released = t->clock->Now();
  ASSERT_TRUE(t->vault->ReleaseLegalHold(t->dpo, "u", hold->hold_id).ok());
  ASSERT_TRUE(t->vault->Sweep(t->admin).ok());  // still held by the second
  t->clock->Advance(60);
  ASSERT_TRUE(t->vault->ReleaseLegalHold(t->dpo, "u", hold2->hold_id).ok());
  ASSERT_EQ(t->vault->Sweep(t->admin)->erasures_executed, 1u);
  auto done = t->vault->GetErasure(t->dpo, e->erasure_id);
  ASSERT_TRUE(done.ok());
  ASSERT_FALSE(done->receipt_json.empty());
  EXPECT_EQ(done->receipt_json.find("secret"), std::string::npos);
  EXPECT_EQ(done->receipt_json.find("second-reason"), std::string::npos);
  const json receipt = json::parse(done->receipt_json);
  EXPECT_TRUE(receipt["delayed_by_legal_hold"].get<bool>());
  ASSERT_EQ(receipt["delayed_by_holds"].size(), 2u);
  const json& first = receipt["delayed_by_holds"][0];
  EXPECT_EQ(first["hold_id"], hold->hold_id);
  EXPECT_EQ(first["placed_at"], FormatRfc3339(placed));
  EXPECT_EQ(first["released_at"], FormatRfc3339(released));
  EXPECT_EQ(receipt["delayed_by_holds"][1]["hold_id"], hold2->hold_id);
  EXPECT_EQ(receipt["delayed_by_holds"][1]["released_at"], FormatRfc3339(released + 60));
  EXPECT_TRUE(Vault::CheckReceipt(receipt, t->vault->ReceiptKey().public_key_base64).ok);
}

TEST(AuditReceiptTest, AnErasureNoHoldDelayedSaysSo) {
  auto t = TestVault::Make("rnohold");
  const json receipt = ImmediateReceipt(*t, "u");
  EXPECT_FALSE(receipt["delayed_by_legal_hold"].get<bool>());
  EXPECT_TRUE(receipt["delayed_by_holds"].is_array());
  EXPECT_TRUE(receipt["delayed_by_holds"].empty());
}

}  // namespace
}  // namespace vault
