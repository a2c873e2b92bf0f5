// Epoch rotation: rewrapping, destruction past the horizon, the sweeper rotating, resuming an
// interrupted rotation, and writes during one.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "test_util.h"
#include "vault/testing.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

const std::string kShortHorizonPolicy = testing::PolicyWithHorizon("0d");

TEST(RotationTest, RewrapsEveryKeyAndDestroysEpochsPastTheHorizon) {
  auto t = TestVault::Make("rotate", kShortHorizonPolicy);
  auto& v = *t->vault;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(
        v.PutRecord(t->admin, "u" + std::to_string(i), "account", "p", json{{"i", i}}).ok());
  }
  const auto keys = v.Stats()->keys_live;
  std::uint64_t last_done = 0;
  auto r = v.RotateEpoch(t->admin, [&](std::uint64_t done, std::uint64_t) { last_done = done; });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->epoch, 2u);
  EXPECT_EQ(r->rewrapped, keys);
  EXPECT_EQ(last_done, keys);
  EXPECT_EQ(r->destroyed_epochs, std::vector<std::uint64_t>{1});  // horizon 0d
  t->Reopen();
  for (int i = 0; i < 50; ++i) {
    auto g = t->vault->GetRecord(t->admin, "u" + std::to_string(i), "account", "p");
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ(testing::Data(*g)["i"], i);
  }
  EXPECT_EQ(t->vault->Stats()->epoch, 2u);
}

TEST(RotationTest, SweeperRotatesWhenTheEpochIsOld) {
  auto t = TestVault::Make("auto-rotate");
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "u", "account", "p", json{{"i", 1}}).ok());
  ASSERT_FALSE(t->vault->Sweep(t->admin)->epoch_rotated);
  t->clock->Advance(86400);
  auto sw = t->vault->Sweep(t->admin);
  ASSERT_TRUE(sw.ok());
  EXPECT_TRUE(sw->epoch_rotated);
  EXPECT_TRUE(sw->destroyed_epochs.empty());  // horizon 31d
  t->clock->Advance(32 * 86400);
  sw = t->vault->Sweep(t->admin);
  EXPECT_EQ(sw->destroyed_epochs, std::vector<std::uint64_t>{1});
  EXPECT_TRUE(t->vault->GetRecord(t->admin, "u", "account", "p").ok());
}

// A crash between starting an epoch and finishing the rewrap: the keyring is ahead of the
// store and the pending flag is set. Opening the store finishes the job.
TEST(RotationTest, InterruptedRotationIsResumedOnOpen) {
  auto t = TestVault::Make("resume");
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(
        t->vault->PutRecord(t->admin, "u" + std::to_string(i), "account", "p", json{{"i", i}})
            .ok());
  }
  t->vault.reset();
  {
    auto keyring = Keyring::Open(t->dir + "/data/keyring", std::move(t->root->Load()).value());
    ASSERT_TRUE(keyring.ok());
    ASSERT_EQ(*(*keyring)->StartEpoch(t->clock->Now()), 2u);
  }
  ASSERT_TRUE(TEST_MarkRewrapPending(t->dir + "/data").ok());

  t->Reopen();
  EXPECT_EQ(t->vault->Stats()->epoch, 2u);
  // Every key now sits under epoch 2: destroying epoch 1 loses nothing.
  t->clock->Advance(40 * 86400);
  auto sw = t->vault->Sweep(t->admin);
  ASSERT_TRUE(sw.ok()) << sw.status().ToString();
  EXPECT_NE(std::find(sw->destroyed_epochs.begin(), sw->destroyed_epochs.end(), 1u),
            sw->destroyed_epochs.end());
  for (int i = 0; i < 30; ++i) {
    auto g = t->vault->GetRecord(t->admin, "u" + std::to_string(i), "account", "p");
    ASSERT_TRUE(g.ok()) << g.status().ToString();
  }
}

// Writes keep going while a rotation rewraps in steps; every DEK created meanwhile must end
// up under the new epoch, so destroying the old one (horizon 0d) loses nothing.
TEST(RotationTest, WritesDuringARotationSurviveTheOldEpochsDestruction) {
  auto t = TestVault::Make("rotate-live", kShortHorizonPolicy);
  t->vault.reset();
  Options o = t->Opts();
  o.rewrap_batch = 7;  // many small steps, so writes interleave with them
  t->vault = std::move(Vault::Open(o)).value();
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(
        t->vault->PutRecord(t->admin, "pre" + std::to_string(i), "account", "p", json{{"i", i}})
            .ok());
  }
  std::atomic<bool> rotating{true};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; rotating || i < 20; ++i) {
      if (t->vault->PutRecord(t->admin, "live" + std::to_string(i), "account", "p", json{{"i", i}})
              .ok())
        ++written;
    }
  });
  for (int r = 0; r < 3; ++r) {
    auto rot = t->vault->RotateEpoch(t->admin);
    ASSERT_TRUE(rot.ok()) << rot.status().ToString();
    EXPECT_FALSE(rot->destroyed_epochs.empty());
  }
  rotating = false;
  writer.join();
  t->Reopen();
  auto st = t->vault->Stats();
  EXPECT_EQ(st->epoch, 4u);
  for (int i = 0; i < 60; ++i) {
    EXPECT_TRUE(t->vault->GetRecord(t->admin, "pre" + std::to_string(i), "account", "p").ok()) << i;
  }
  for (int i = 0; i < written; ++i) {
    auto g = t->vault->GetRecord(t->admin, "live" + std::to_string(i), "account", "p");
    EXPECT_TRUE(g.ok()) << i << ": " << g.status().ToString();
  }
}

// On PostgreSQL a step's transaction can lose a race with another server's and run again.
// The rerun must start where the step began: keys rewrapped by the rolled-back attempt are
// still under the old epoch, and destroying it (horizon 0d) would lose them. (The first
// version advanced its cursor inside the attempt: the records of the skipped steps failed
// with data loss here.)
TEST(RotationTest, AStepRunAgainAfterAConflictSkipsNoKey) {
  auto t = TestVault::Make("rotate-conflict", kShortHorizonPolicy);
  t->vault.reset();
  Options o = t->Opts();
  o.rewrap_batch = 5;
  t->vault = std::move(Vault::Open(o)).value();
  for (int i = 0; i < 23; ++i) {
    ASSERT_TRUE(
        t->vault->PutRecord(t->admin, "u" + std::to_string(i), "account", "p", json{{"i", i}})
            .ok());
  }
  // After the transaction that starts the epoch, the first rewrap step's transaction is
  // rolled back twice before it commits.
  Store::TEST_ConflictTransacts(1, 2);
  auto rot = t->vault->RotateEpoch(t->admin);
  Store::TEST_ConflictTransacts(0, 0);
  ASSERT_TRUE(rot.ok()) << rot.status().ToString();
  EXPECT_EQ(rot->destroyed_epochs, std::vector<std::uint64_t>{1});
  t->Reopen();
  for (int i = 0; i < 23; ++i) {
    auto g = t->vault->GetRecord(t->admin, "u" + std::to_string(i), "account", "p");
    EXPECT_TRUE(g.ok()) << i << ": " << g.status().ToString();
  }
}

}  // namespace
}  // namespace vault
