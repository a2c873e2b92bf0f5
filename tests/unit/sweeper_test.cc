// The sweeper: retention shreds exactly the expired buckets, holds suspend it, and neither a
// batch of held buckets nor an unreadable hold lets it stall or shred through.
#include <gtest/gtest.h>

#include "test_util.h"
#include "vault/testing.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

TEST(RetentionTest, SweepShredsExactlyTheExpiredData) {
  auto t = TestVault::Make("retention");
  auto& v = *t->vault;
  const UnixSeconds now = t->clock->Now();
  // Invoice from 7 years minus 10 days ago expires in ~10 days; a newer one does not.
  const UnixSeconds old_event = now - 7 * 365 * 86400 + 20 * 86400;
  auto r_old = v.PutRecord(t->admin, "u", "billing", "old", json{{"n", 1}}, old_event);
  ASSERT_TRUE(r_old.ok()) << r_old.status().ToString();
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "billing", "new", json{{"n", 2}}, now).ok());
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "p", json{{"n", 3}}).ok());
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "usage", "ev", json{{"n", 4}}).ok());

  t->clock->Set(r_old->retain_until - 1);
  ASSERT_EQ(v.Sweep(t->admin)->scopes_shredded, 0u);
  EXPECT_TRUE(v.GetRecord(t->admin, "u", "billing", "old").ok());

  t->clock->Set(r_old->retain_until);
  auto sw = v.Sweep(t->admin);
  ASSERT_TRUE(sw.ok()) << sw.status().ToString();
  EXPECT_EQ(sw->scopes_shredded, 1u);
  EXPECT_EQ(sw->records_collected, 1u);
  EXPECT_EQ(v.GetRecord(t->admin, "u", "billing", "old").status().code(), Code::kNotFound);
  EXPECT_TRUE(v.GetRecord(t->admin, "u", "billing", "new").ok());
  EXPECT_TRUE(v.GetRecord(t->admin, "u", "account", "p").ok());
  EXPECT_TRUE(v.GetRecord(t->admin, "u", "usage", "ev").ok());

  // Twelve months on, usage goes too; account (until erasure) stays.
  t->clock->Set(now + 366 * 86400);
  ASSERT_TRUE(v.Sweep(t->admin).ok());
  EXPECT_EQ(v.GetRecord(t->admin, "u", "usage", "ev").status().code(), Code::kNotFound);
  EXPECT_TRUE(v.GetRecord(t->admin, "u", "account", "p").ok());
}

TEST(RetentionTest, LegalHoldSuspendsRetention) {
  auto t = TestVault::Make("retention-hold");
  auto& v = *t->vault;
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "usage", "ev", json{{"n", 4}}).ok());
  ASSERT_TRUE(v.PlaceLegalHold(t->dpo, "u", "audit", std::nullopt).ok());
  t->clock->Advance(400 * 86400);
  ASSERT_TRUE(v.Sweep(t->admin).ok());
  EXPECT_TRUE(v.GetRecord(t->admin, "u", "usage", "ev").ok());
}


// Expired buckets are shredded a batch per transaction; a whole batch of held ones must not
// stop the sweep before the expired buckets behind them.
TEST(RetentionTest, HeldBucketsDoNotStallTheSweepBehindThem) {
  auto t = TestVault::Make("sweep-held-batch");
  t->vault.reset();
  Options o = t->Opts();
  o.shred_batch = 2;
  t->vault = std::move(Vault::Open(o)).value();
  auto& v = *t->vault;
  for (int i = 0; i < 4; ++i) {
    const std::string sid = "held" + std::to_string(i);
    ASSERT_TRUE(v.PutRecord(t->admin, sid, "usage", "ev", json{{"i", i}}).ok());
    ASSERT_TRUE(v.PlaceLegalHold(t->dpo, sid, "litigation", std::nullopt).ok());
  }
  t->clock->Advance(2 * 86400);  // so this bucket expires after the held ones
  ASSERT_TRUE(v.PutRecord(t->admin, "free", "usage", "ev", json{{"i", 9}}).ok());
  t->clock->Advance(400 * 86400);
  auto sw = v.Sweep(t->admin);
  ASSERT_TRUE(sw.ok()) << sw.status().ToString();
  EXPECT_EQ(sw->scopes_shredded, 1u);
  EXPECT_EQ(v.GetRecord(t->admin, "free", "usage", "ev").status().code(), Code::kNotFound);
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(v.GetRecord(t->admin, "held" + std::to_string(i), "usage", "ev").ok()) << i;
  }
}

// A hold row that cannot be read holds: the sweep shreds nothing of its subject (neither by
// retention nor by a due erasure), says so with kDataLoss, and goes on once it is released.
TEST(RetentionTest, UnreadableLegalHoldSuspendsTheSweepAndIsReported) {
  auto t = TestVault::Make("sweep-hold-unreadable");
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "u", "usage", "ev", json{{"n", 1}}).ok());
  auto hold = t->vault->PlaceLegalHold(t->dpo, "u", "audit", std::nullopt);
  ASSERT_TRUE(hold.ok());
  ASSERT_TRUE(t->vault->RequestErasure(t->dpo, "u", "grace", "").ok());
  t->BreakTheHoldRow();
  auto& v = *t->vault;
  t->clock->Advance(400 * 86400);  // past the grace period and the usage retention
  EXPECT_EQ(v.Sweep(t->admin).status().code(), Code::kDataLoss);
  EXPECT_EQ(v.Stats()->keys_shredded, 0u);
  auto sum = v.GetSubject(t->admin, "u");
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->state, SubjectState::kErasurePending);
  EXPECT_TRUE(sum->erasure->blocked_by_hold);
  ASSERT_TRUE(v.ReleaseLegalHold(t->dpo, "u", hold->hold_id).ok());
  auto sw = v.Sweep(t->admin);
  ASSERT_TRUE(sw.ok()) << sw.status().ToString();
  EXPECT_EQ(sw->erasures_executed, 1u);
  EXPECT_EQ(v.GetSubject(t->admin, "u")->state, SubjectState::kErased);
}

}  // namespace
}  // namespace vault
