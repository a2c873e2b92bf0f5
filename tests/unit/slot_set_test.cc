// Key slot sets as bitmap rows (vault/slot_set.h): adding, taking in order and in runs,
// emptying; per-slot rows of stores written before the bitmaps are read and converted, and a
// vault whose free lists hold such rows opens, rotates and zeroes its old slots.
#include "vault/slot_set.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "key_slot_files.h"
#include "test_util.h"
#include "vault/codec.h"
#include "vault/keyslots.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

class SlotSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("slot-set");
    auto s = Store::Open(dir_ + "/store", 1ull << 28, true);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::vector<std::uint64_t> All() {
    std::vector<std::uint64_t> out;
    EXPECT_TRUE(store_
                    ->Read([&](Txn& txn) {
                      return set_.Scan(txn, [&](std::uint64_t s) {
                        out.push_back(s);
                        return true;
                      });
                    })
                    .ok());
    return out;
  }
  std::vector<std::uint64_t> Take(std::size_t n, std::uint64_t min_run) {
    std::vector<std::uint64_t> out;
    EXPECT_TRUE(store_
                    ->Write([&](Txn& txn) -> Status {
                      VAULT_ASSIGN_OR_RETURN(out, set_.Take(txn, n, min_run));
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }
  void Add(std::vector<std::uint64_t> slots) {
    ASSERT_TRUE(store_->Write([&](Txn& txn) { return set_.Add(txn, slots); }).ok());
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
  SlotSet set_{Table::kSlotsFree};
};

TEST_F(SlotSetTest, TakesTheFirstSlotsAndEmptiesRows) {
  Add({9000, 3, 4096, 5, 4095});  // three rows
  EXPECT_EQ(All(), (std::vector<std::uint64_t>{3, 5, 4095, 4096, 9000}));
  EXPECT_EQ(Take(2, 1), (std::vector<std::uint64_t>{3, 5}));
  EXPECT_EQ(Take(10, 1), (std::vector<std::uint64_t>{4095, 4096, 9000}));
  EXPECT_TRUE(All().empty());
  ASSERT_TRUE(store_
                  ->Read([&](Txn& txn) {
                    EXPECT_EQ(txn.Count(Table::kSlotsFree), 0u);  // empty rows are deleted
                    Status st;
                    EXPECT_TRUE(set_.Empty(txn, &st));
                    return st;
                  })
                  .ok());
}

TEST_F(SlotSetTest, TakesOnlyRunsWhenAskedTo) {
  std::vector<std::uint64_t> slots = {1, 3, 5};                    // scattered
  for (std::uint64_t s = 100; s < 140; ++s) slots.push_back(s);    // a run of 40
  for (std::uint64_t s = 4090; s < 4130; ++s) slots.push_back(s);  // a run across two rows
  Add(slots);
  const auto run = Take(50, 32);
  ASSERT_EQ(run.size(), 50u);
  EXPECT_EQ(run.front(), 100u);
  EXPECT_EQ(run[39], 139u);
  EXPECT_EQ(run[40], 4090u);
  EXPECT_EQ(run.back(), 4099u);
  EXPECT_TRUE(Take(100, 32).empty());    // what is left of the run is 30 slots
  EXPECT_EQ(Take(100, 16).size(), 30u);  // 1, 3, 5 stay
  EXPECT_EQ(All(), (std::vector<std::uint64_t>{1, 3, 5}));
}

TEST_F(SlotSetTest, ReadsAndConvertsPerSlotRows) {
  Add({7});
  ASSERT_TRUE(store_
                  ->Write([&](Txn& txn) -> Status {
                    VAULT_RETURN_IF_ERROR(txn.Put(Table::kSlotsFree, BigEndianKey(2), ""));
                    return txn.Put(Table::kSlotsFree, BigEndianKey(9), "");
                  })
                  .ok());
  EXPECT_EQ(All(), (std::vector<std::uint64_t>{2, 9, 7}));  // legacy rows sort first
  EXPECT_EQ(Take(1, 1), (std::vector<std::uint64_t>{2}));   // and its row goes
  ASSERT_TRUE(store_->Write([&](Txn& txn) { return set_.Convert(txn); }).ok());
  EXPECT_EQ(All(), (std::vector<std::uint64_t>{7, 9}));
  ASSERT_TRUE(store_
                  ->Read([&](Txn& txn) {
                    EXPECT_EQ(txn.Count(Table::kSlotsFree), 1u);  // one bitmap row
                    return Status::Ok();
                  })
                  .ok());
}

// A store whose free lists hold one row per slot (as main wrote them before the bitmaps):
// it opens, its freed slots are zeroed, and it rotates and reads every key.
TEST(SlotSetUpgradeTest, AStoreWithPerSlotRowsOpensAndRotates) {
  auto t = TestVault::Make("slot-upgrade");
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(
        t->vault->PutRecord(t->admin, "u" + std::to_string(i), "account", "p", json{{"i", i}})
            .ok());
  }
  ASSERT_TRUE(t->vault->RotateEpoch(t->admin).ok());
  const auto keys = t->vault->Stats()->keys_live;
  t->vault.reset();
  std::uint64_t junk = 0;  // a free slot given bytes and listed as freed, the old way
  {                        // rewrite the free list as per-slot rows
    auto s = Store::Open(t->dir + "/data/store", 1ull << 30, false);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    const SlotSet free(Table::kSlotsFree);
    ASSERT_TRUE((*s)->Write([&](Txn& txn) -> Status {
                      VAULT_ASSIGN_OR_RETURN(auto slots, free.TakeAll(txn));
                      EXPECT_GE(slots.size(), keys);  // the first epoch's slots
                      junk = slots.back();
                      slots.pop_back();
                      for (auto slot : slots) {
                        VAULT_RETURN_IF_ERROR(txn.Put(Table::kSlotsFree, BigEndianKey(slot), ""));
                      }
                      return txn.Put(Table::kSlotsFreed, BigEndianKey(junk), "");
                    })
                    .ok());
    auto file = KeySlots::Open(t->dir + "/data/keyslots", false);
    ASSERT_TRUE(file.ok());
    SlotBytes bytes;
    bytes.fill(0x5a);
    ASSERT_TRUE((*file)->Write(junk, bytes).ok());
  }
  t->Reopen();
  {  // the freed slot was zeroed when the store opened
    const std::string file = testing::ReadFile(t->dir + "/data/keyslots");
    ASSERT_GE(file.size(), (junk + 1) * kSlotBytes);
    EXPECT_GE(file.find_first_not_of('\0', junk * kSlotBytes), (junk + 1) * kSlotBytes);
  }
  auto r = t->vault->RotateEpoch(t->admin);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rewrapped, keys);
  EXPECT_LE(testing::NonZeroKeySlots(t->dir + "/data"),
            keys + 2 * 256);  // live keys and the reserve
  t->Reopen();
  for (int i = 0; i < 50; ++i) {
    auto g = t->vault->GetRecord(t->admin, "u" + std::to_string(i), "account", "p");
    ASSERT_TRUE(g.ok()) << i << ": " << g.status().ToString();
  }
}

}  // namespace
}  // namespace vault
