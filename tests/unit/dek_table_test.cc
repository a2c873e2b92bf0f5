// The DEK table: deleting a record rekeys its scope and leaves no wrapped copy of the old key.
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>

#include "test_util.h"
#include "vault/testing.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

TEST(DekTableTest, DeletingARecordLeavesNoWrappedCopyOfItsOldKey) {
  auto t = TestVault::Make("dek-delete");
  auto& v = *t->vault;
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "profile", json{{"a", 1}}).ok());
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "prefs", json{{"b", 2}}).ok());
  auto keyring = Keyring::Open(t->dir + "/data/keyring", std::move(t->root->Load()).value());
  ASSERT_TRUE(keyring.ok());
  // Every DEK an attacker holding the live KEKs can unwrap from the live files.
  auto recoverable = [&] {
    return testing::RecoverableKeyIds(testing::ReadFile(t->dir + "/data/store/data.mdb") +
                                          testing::ReadFile(t->dir + "/data/keyslots"),
                                      TEST_LiveKeks(**keyring));
  };
  const auto before = recoverable();
  // The subject scope's key and the account scope's, and the fresh keys reserved past the
  // slots' high-water mark (vault/key_reserve.h), which seal nothing until taken.
  ASSERT_GE(before.size(), 2u);
  ASSERT_TRUE(v.DeleteRecord(t->admin, "u", "account", "profile").ok());
  const auto after = recoverable();
  std::vector<std::string> gone, fresh;
  std::set_difference(before.begin(), before.end(), after.begin(), after.end(),
                      std::back_inserter(gone));
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                      std::back_inserter(fresh));
  EXPECT_EQ(gone.size(), 1u);   // the scope's old key: its slot was zeroed
  EXPECT_LE(fresh.size(), 1u);  // the key the survivor was moved to, unless it was reserved
  EXPECT_EQ(v.Stats()->keys_live, 2u);
  EXPECT_EQ(v.Stats()->keys_shredded, 1u);
  auto prefs = v.GetRecord(t->admin, "u", "account", "prefs");
  ASSERT_TRUE(prefs.ok()) << prefs.status().ToString();
  EXPECT_EQ(testing::Data(*prefs)["b"], 2);
}

}  // namespace
}  // namespace vault
