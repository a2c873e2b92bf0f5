// Rekeys and bound rows: a large scope's rekey runs in steps that let other writes through and
// survives a crash; a record row edited in place or put back from an older copy does not read.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "test_util.h"
#include "vault/rows.h"
#include "vault/testing.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

constexpr int kScope = 20000;
constexpr std::size_t kStep = 1000;

// n records in the subject's account scope, written by many threads (group commit).
void FillScope(Vault& v, const Actor& actor, const std::string& sid = "big", int n = kScope) {
  std::vector<std::thread> writers;
  for (int w = 0; w < 32; ++w) {
    writers.emplace_back([&, w] {
      for (int i = w; i < n; i += 32) {
        ASSERT_TRUE(
            v.PutRecord(actor, sid, "account", "r" + std::to_string(i), json{{"i", i}}).ok());
      }
    });
  }
  for (auto& t : writers) t.join();
}

// Every record of the scope but r0 (the deleted one) reads, with its own data.
void ExpectScopeReads(Vault& v, const Actor& actor, const std::string& when) {
  auto all = v.ListRecords(actor, "big", "account");
  ASSERT_TRUE(all.ok()) << when << ": " << all.status().ToString();
  ASSERT_EQ(all->size(), static_cast<std::size_t>(kScope - 1)) << when;
  for (const auto& r : *all) {
    ASSERT_EQ("{\"i\":" + r.record_id.substr(1) + "}", r.data_json) << when;
  }
}

std::unique_ptr<Vault> OpenWith(TestVault& t, std::function<void(std::uint64_t)> on_step) {
  Options o = t.Opts();
  o.rekey_batch = kStep;
  o.on_rekey_step = std::move(on_step);
  auto v = Vault::Open(o);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? std::move(v).value() : nullptr;
}

TEST(RekeyTest, ALargeScopeRekeysInStepsWhileAnotherSubjectsWriteGoesThrough) {
  auto t = TestVault::Make("rekey-steps");
  FillScope(*t->vault, t->admin);
  const auto shredded_before = t->vault->Stats()->keys_shredded;
  t->vault.reset();
  std::uint64_t steps = 0, put_done_at_step = 0;
  std::unique_ptr<Vault> v;
  v = OpenWith(*t, [&](std::uint64_t step) {
    steps = step;
    if (step == 1) {
      // Another subject's write, issued while the rekey is under way, completes before the
      // rekey's next step: the writer is not held for the whole rekey.
      auto put = std::async(std::launch::async, [&] {
        return v->PutRecord(t->admin, "other", "account", "profile", json{{"x", 1}});
      });
      ASSERT_EQ(put.wait_for(std::chrono::seconds(30)), std::future_status::ready);
      ASSERT_TRUE(put.get().ok());
      put_done_at_step = step;
    }
    if (step % 4 == 1) ExpectScopeReads(*v, t->admin, "after step " + std::to_string(step));
  });
  ASSERT_NE(v, nullptr);
  ASSERT_TRUE(v->DeleteRecord(t->admin, "big", "account", "r0").ok());
  // 19,999 survivors at 1,000 a step: many transactions, none re-encrypting more than a step.
  EXPECT_GE(steps, (kScope - 1) / kStep);
  EXPECT_EQ(put_done_at_step, 1u);
  EXPECT_GT(steps, put_done_at_step) << "the rekey went on after the other write";
  EXPECT_EQ(v->Stats()->keys_shredded, shredded_before + 1) << "the old key is destroyed";
  ExpectScopeReads(*v, t->admin, "after the rekey");
  ASSERT_TRUE(v->GetRecord(t->admin, "other", "account", "profile").ok());
  t->vault = std::move(v);
}

TEST(RekeyTest, ARekeyACrashInterruptedResumesOnOpen) {
  auto t = TestVault::Make("rekey-crash");
  FillScope(*t->vault, t->admin);
  const auto shredded_before = t->vault->Stats()->keys_shredded;
  t->vault.reset();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // dies after the third step, without closing anything
    auto v = OpenWith(*t, [](std::uint64_t step) {
      if (step == 3) ::_exit(42);
    });
    if (v) (void)v->DeleteRecord(t->admin, "big", "account", "r0");
    ::_exit(1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 42) << "the child did not stop mid-rekey";
  std::uint64_t resumed_steps = 0;
  auto v = OpenWith(*t, [&](std::uint64_t step) { resumed_steps = step; });
  ASSERT_NE(v, nullptr);
  EXPECT_GT(resumed_steps, 0u) << "opening resumed the rekey";
  EXPECT_EQ(v->Stats()->keys_shredded, shredded_before + 1) << "and destroyed the old key";
  EXPECT_EQ(v->GetRecord(t->admin, "big", "account", "r0").status().code(), Code::kNotFound);
  ExpectScopeReads(*v, t->admin, "after resuming");
  t->vault = std::move(v);
}

TEST(RekeyTest, AnErasureDuringARekeyDestroysTheRetiringKeyToo) {
  auto t = TestVault::Make("rekey-erasure");
  FillScope(*t->vault, t->admin, "e", 600);
  t->vault.reset();
  Options o = t->Opts();
  o.rekey_batch = 100;
  std::unique_ptr<Vault> v;
  json receipt;
  o.on_rekey_step = [&](std::uint64_t step) {
    if (step != 1) return;
    auto e = v->RequestErasure(t->dpo, "e", "immediate", "rekey test");
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    receipt = json::parse(e->receipt_json);
  };
  auto opened = Vault::Open(o);
  ASSERT_TRUE(opened.ok());
  v = std::move(opened).value();
  ASSERT_TRUE(v->DeleteRecord(t->admin, "e", "account", "r0").ok());
  ASSERT_FALSE(receipt.is_null()) << "the rekey took more than one step";
  // The scope's live key and the retiring one are both in the receipt, and nothing of the
  // subject is left under any key (the rekey does not move survivors to a new one).
  std::size_t account_keys = 0;
  for (const auto& s : receipt["shredded"]) {
    if (s["category"] == "account") account_keys = s["key_ids"].size();
  }
  EXPECT_EQ(account_keys, 2u);
  EXPECT_EQ(v->Stats()->keys_live, 0u);
  t->vault = std::move(v);
}

// Offsets in a RecordRow (rows.h): version at 0, retain_until at 33.
constexpr std::size_t kVersionAt = 0, kRetainUntilAt = 33;

void AddToField(std::string* row, std::size_t at, std::int64_t delta) {
  std::int64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>((*row)[at + i]);
  v += delta;
  for (int i = 0; i < 8; ++i) (*row)[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

class EditedRowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    t_ = TestVault::Make("edited-row");
    ASSERT_TRUE(t_->vault->PutRecord(t_->admin, "u", "billing", "inv", json{{"n", 1}},
                                     1767225600 /* 2026-01-01 */)
                    .ok());
    t_->vault.reset();
  }
  // Reads the one billing record after edit changed its raw row.
  Status ReadAfter(const std::function<void(std::string*)>& edit) {
    EXPECT_TRUE(TEST_EditTable(t_->dir + "/data", Table::kRecords, [&](TEST_Rows& rows) {
                  ASSERT_EQ(rows.size(), 1u);
                  edit(&rows[0].second);
                }).ok());
    t_->Reopen();
    return t_->vault->GetRecord(t_->admin, "u", "billing", "inv").status();
  }
  std::unique_ptr<TestVault> t_;
};

TEST_F(EditedRowTest, TheUneditedRowReads) {
  EXPECT_TRUE(ReadAfter([](std::string*) {}).ok());
}

TEST_F(EditedRowTest, ExtendingRetainUntilInPlaceFailsAuthentication) {
  const Status s = ReadAfter([](std::string* row) { AddToField(row, kRetainUntilAt, 86400); });
  EXPECT_EQ(s.code(), Code::kDataLoss) << s.ToString();
}

TEST_F(EditedRowTest, ChangingTheVersionInPlaceFailsAuthentication) {
  const Status s = ReadAfter([](std::string* row) { AddToField(row, kVersionAt, 5); });
  EXPECT_EQ(s.code(), Code::kDataLoss) << s.ToString();
}

TEST_F(EditedRowTest, DroppingTheFormatByteFailsAuthentication) {
  // Read as format 1, the row's envelope would be checked against the row key alone.
  const Status s = ReadAfter([](std::string* row) { row->pop_back(); });
  EXPECT_EQ(s.code(), Code::kDataLoss) << s.ToString();
}

TEST(RolledBackRowTest, AnOlderVersionPutBackDoesNotRead) {
  auto t = TestVault::Make("rolled-back-row");
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "u", "account", "profile", json{{"v", 1}}).ok());
  t->vault.reset();
  std::string old_row;
  ASSERT_TRUE(TEST_EditTable(t->dir + "/data", Table::kRecords, [&](TEST_Rows& rows) {
                ASSERT_EQ(rows.size(), 1u);
                old_row = rows[0].second;
              }).ok());
  t->Reopen();
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "u", "account", "profile", json{{"v", 2}}).ok());
  t->vault.reset();
  ASSERT_TRUE(TEST_EditTable(t->dir + "/data", Table::kRecords, [&](TEST_Rows& rows) {
                ASSERT_EQ(rows.size(), 1u);
                rows[0].second = old_row;
              }).ok());
  t->Reopen();
  // Version 1's key was destroyed when version 2 replaced it: nothing opens the old row.
  auto r = t->vault->GetRecord(t->admin, "u", "account", "profile");
  EXPECT_FALSE(r.ok());
}

TEST(RecordRowFormatTest, RowsWithoutAFormatByteAreFormatOneAndBindOnlyTheirKey) {
  RecordRow row;
  row.version = 3;
  row.retain_until = 86400;
  row.envelope = {1, 2, 3};
  const std::string bound = EncodeRecord(row);
  RecordRow back;
  ASSERT_TRUE(DecodeRecord(bound, &back));
  EXPECT_EQ(back.format, kRecordFormatBound);
  EXPECT_EQ(RecordContext("k", back), RecordContext("k", row));
  // The same row as written before format 2: no trailing byte.
  ASSERT_TRUE(DecodeRecord(std::string_view(bound).substr(0, bound.size() - 1), &back));
  EXPECT_EQ(back.format, kRecordFormatKeyOnly);
  RecordRow other_version = back;
  other_version.version = 9;
  EXPECT_EQ(RecordContext("k", back), RecordContext("k", other_version));  // key only
  EXPECT_NE(RecordContext("k", back), RecordContext("k", row));
  // A format byte this build does not know is refused.
  EXPECT_FALSE(DecodeRecord(bound.substr(0, bound.size() - 1) + "\x07", &back));
}

}  // namespace
}  // namespace vault
