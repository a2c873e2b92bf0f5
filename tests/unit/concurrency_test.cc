// Concurrent writers: group commits, and failing writes that undo nothing else.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "test_util.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

TEST(ConcurrencyTest, ConcurrentWritersShareCommitsAndAllLand) {
  auto t = TestVault::Make("concurrent");
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int th = 0; th < 8; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < 50; ++i) {
        if (!t->vault
                 ->PutRecord(t->admin, "s" + std::to_string(th), "account", "r" + std::to_string(i),
                             json{{"i", i}})
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  for (int th = 0; th < 8; ++th) {
    EXPECT_EQ(t->vault->ListRecords(t->admin, "s" + std::to_string(th), "account")->size(), 50u);
  }
}

// Failing writes share batches with good ones: each failure must leave no trace (a unique
// clash fails after the record row was written) and must not undo the good writes.
TEST(ConcurrencyTest, FailingWritesInABatchUndoNothingElse) {
  auto t = TestVault::Make("batch-failures");
  ASSERT_TRUE(
      t->vault->PutRecord(t->admin, "owner", "account", "p", json{{"email", "taken@x.io"}}).ok());
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "erased", "account", "p", json{{"a", 1}}).ok());
  ASSERT_TRUE(t->vault->RequestErasure(t->dpo, "erased", "immediate", "").ok());
  const auto before = t->vault->Stats()->records;
  std::atomic<int> good{0}, clashes{0}, gone{0}, other{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < 8; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < 40; ++i) {
        Status s;
        switch ((th + i) % 3) {
          case 0:
            s = t->vault
                    ->PutRecord(t->admin, "w" + std::to_string(th), "account",
                                "r" + std::to_string(i), json{{"i", i}})
                    .status();
            if (s.ok())
              ++good;
            else
              ++other;
            break;
          case 1:
            s = t->vault
                    ->PutRecord(t->admin, "thief" + std::to_string(th * 100 + i), "account", "p",
                                json{{"email", "TAKEN@x.io "}})
                    .status();
            if (s.code() == Code::kConflict)
              ++clashes;
            else
              ++other;
            break;
          default:
            s = t->vault->PutRecord(t->admin, "erased", "account", "x", json{{"i", i}}).status();
            if (s.code() == Code::kGone)
              ++gone;
            else
              ++other;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(other, 0);
  EXPECT_GT(clashes, 0);
  EXPECT_GT(gone, 0);
  // Exactly the good writes landed: no clashing record (nor its subject's key) was kept.
  EXPECT_EQ(t->vault->Stats()->records, before + static_cast<std::uint64_t>(good.load()));
  EXPECT_EQ(t->vault->Stats()->subjects, 2u + 8u);  // owner, erased, w0..w7: no thief
  EXPECT_EQ(t->vault->GetRecord(t->admin, "thief1", "account", "p").status().code(),
            Code::kNotFound);
  EXPECT_EQ(testing::Data(*t->vault->GetRecord(t->admin, "owner", "account", "p"))["email"],
            "taken@x.io");
  // Every put, landed or refused, left exactly one entry, and the chain is whole: the audit
  // tail kept across a batch is reset when a failure re-runs the batch's prefix.
  auto entries = t->vault->ListAudit(0, 1000);
  ASSERT_TRUE(entries.ok());
  int puts = 0;
  for (const auto& e : *entries) puts += e.action == "record.put" ? 1 : 0;
  EXPECT_EQ(puts, 2 + 8 * 40);
  auto chain = t->vault->VerifyAudit();
  ASSERT_TRUE(chain.ok());
  EXPECT_TRUE(chain->ok) << "first bad entry " << chain->first_bad_seq.value_or(0);
  EXPECT_EQ(chain->entries, entries->size());
}

}  // namespace
}  // namespace vault
