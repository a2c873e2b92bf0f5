// The compliance report (vault/report.h) on a manual clock: keys and subjects per category,
// shreds overdue until the sweeper runs, held ones apart, erasures against their statutory
// deadline, epoch KEKs past their horizon.
#include <gtest/gtest.h>

#include <algorithm>

#include "test_util.h"

namespace vault {
namespace {

using testing::TestVault;

constexpr std::int64_t kDay = 86400;

TEST(ReportTest, CountsSubjectsAndKeysPerCategory) {
  auto t = TestVault::Make("report-counts");
  Vault& v = *t->vault;
  ASSERT_TRUE(v.PutRecord(t->admin, "alice", "account", "p", {{"x", 1}}).ok());
  ASSERT_TRUE(v.PutRecord(t->admin, "alice", "account", "q", {{"x", 2}}).ok());
  ASSERT_TRUE(v.PutRecord(t->admin, "bob", "account", "p", {{"x", 3}}).ok());
  ASSERT_TRUE(v.PutRecord(t->admin, "bob", "usage", "u", {{"x", 4}}).ok());
  auto r = v.Report();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->generated_at, t->clock->Now());
  EXPECT_EQ(r->categories.at("account").subjects, 2u);
  EXPECT_EQ(r->categories.at("account").keys_alive, 2u);  // one live key per scope
  EXPECT_EQ(r->categories.at("usage").subjects, 1u);
  EXPECT_EQ(r->categories.at("billing").subjects, 0u);
  EXPECT_EQ(r->ShredsOverdue(), 0u);
  EXPECT_FALSE(r->AnythingOverdue());
  EXPECT_GE(r->oldest_epoch, 1u);
}

// A consent withdrawal schedules the shred of the categories resting on it (marketing: 30d in
// the default policy): pending until then, overdue after it until the sweeper runs it.
TEST(ReportTest, AConsentWithdrawalIsPendingThenOverdueUntilTheSweeperRuns) {
  auto t = TestVault::Make("report-consent");
  Vault& v = *t->vault;
  ASSERT_TRUE(v.RecordConsent(t->admin, "carol", "marketing", ConsentChange{true, "form", {}}).ok());
  ASSERT_TRUE(v.PutRecord(t->admin, "carol", "marketing", "m", {{"x", 1}}).ok());
  ASSERT_TRUE(v.RecordConsent(t->admin, "carol", "marketing", ConsentChange{false, "link", {}}).ok());
  auto r = v.Report();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->pending.at("consent_withdrawals").pending, 1u);
  EXPECT_EQ(r->pending.at("consent_withdrawals").overdue, 0u);
  EXPECT_FALSE(r->AnythingOverdue());
  r = v.Report(t->clock->Now() + 31 * kDay);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->pending.at("consent_withdrawals").overdue, 1u);
  EXPECT_TRUE(r->AnythingOverdue());
}

TEST(ReportTest, AShredPastRetentionIsOverdueUntilTheSweeperRuns) {
  auto t = TestVault::Make("report-shreds");
  Vault& v = *t->vault;
  ASSERT_TRUE(v.PutRecord(t->admin, "carol", "usage", "u", {{"x", 1}}).ok());
  ASSERT_TRUE(v.PutRecord(t->admin, "dave", "usage", "u", {{"x", 1}}).ok());
  ASSERT_TRUE(v.PlaceLegalHold(t->dpo, "dave", "litigation", std::nullopt).ok());
  t->clock->Advance(400 * kDay);  // past usage's 12 months
  auto r = v.Report();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->categories.at("usage").shreds_overdue, 1u);  // carol's
  EXPECT_EQ(r->categories.at("usage").shreds_held, 1u);     // dave's, held
  EXPECT_EQ(r->legal_holds, 1u);
  EXPECT_EQ(r->subjects_held, 1u);
  EXPECT_TRUE(r->AnythingOverdue());
  ASSERT_TRUE(v.Sweep(t->admin).ok());
  r = v.Report();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->categories.at("usage").shreds_overdue, 0u);
  EXPECT_EQ(r->categories.at("usage").shreds_held, 1u);
  EXPECT_EQ(r->ShredsOverdue(), 0u);
}

TEST(ReportTest, AnErasureIsOverdueOneCalendarMonthAfterItsRequest) {
  auto t = TestVault::Make("report-erasure");
  Vault& v = *t->vault;
  ASSERT_TRUE(v.PutRecord(t->admin, "erin", "account", "p", {{"x", 1}}).ok());
  ASSERT_TRUE(v.PlaceLegalHold(t->dpo, "erin", "litigation", std::nullopt).ok());
  auto e = v.RequestErasure(t->dpo, "erin", "grace", "user request");
  ASSERT_TRUE(e.ok());
  const UnixSeconds deadline = Duration{1, Duration::Unit::kMonths}.AddTo(e->requested_at);
  auto r = v.Report();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->erasures_pending.size(), 1u);
  EXPECT_EQ(r->erasures_pending[0].erasure_id, e->erasure_id);
  EXPECT_EQ(r->erasures_pending[0].deadline, deadline);
  EXPECT_FALSE(r->erasures_pending[0].overdue);
  // The default grace (31 days) ends after a 30-day month: the report says so.
  EXPECT_EQ(r->erasures_pending[0].scheduled_late, e->execute_at > deadline);
  t->clock->Set(deadline);
  EXPECT_EQ(v.Report()->ErasuresOverdue(), 0u);
  t->clock->Set(std::max(deadline, e->execute_at) + 1);
  ASSERT_TRUE(v.Sweep(t->admin).ok());  // due, but the hold keeps it from running
  r = v.Report();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->erasures_pending.size(), 1u);
  EXPECT_TRUE(r->erasures_pending[0].overdue);
  EXPECT_TRUE(r->erasures_pending[0].blocked_by_hold);
  EXPECT_TRUE(r->AnythingOverdue());
  // As of an earlier time (--at), it was not yet overdue.
  EXPECT_FALSE(v.Report(deadline - kDay)->erasures_pending[0].overdue);
}

TEST(ReportTest, AnEpochKeyPastItsHorizonIsOverdueUntilDestroyed) {
  auto t = TestVault::Make("report-epochs");
  Vault& v = *t->vault;
  ASSERT_TRUE(v.RotateEpoch(t->admin).ok());  // epoch 1 retires now
  auto r = v.Report();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->oldest_epoch, 1u);
  EXPECT_EQ(r->epochs_overdue, 0u);
  t->clock->Set(r->oldest_epoch_dies_at + 1);
  r = v.Report();
  EXPECT_EQ(r->epochs_overdue, 1u);
  EXPECT_TRUE(r->AnythingOverdue());
  ASSERT_TRUE(v.Sweep(t->admin).ok());
  r = v.Report();
  EXPECT_EQ(r->epochs_overdue, 0u);
  EXPECT_GT(r->oldest_epoch, 1u);
}

}  // namespace
}  // namespace vault
