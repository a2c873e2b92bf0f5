// Opening a vault: a keyring of another store, a wrong root key, an exposed root key file.
#include <gtest/gtest.h>

#include "test_util.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

TEST(BadInputTest, KeyringOfAnotherStoreOrWrongRootKeyIsRefused) {
  auto a = TestVault::Make("a");
  auto b = TestVault::Make("b");
  a->vault.reset();
  b->vault.reset();
  // Wrong root key for a's keyring.
  Options o = a->Opts();
  o.root_key = b->root;
  auto r = Vault::Open(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("another root key"), std::string::npos);
  // b's keyring (with b's root key) next to a's store.
  std::filesystem::copy_file(b->dir + "/data/keyring", a->dir + "/data/keyring",
                             std::filesystem::copy_options::overwrite_existing);
  auto r2 = Vault::Open(o);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("does not belong to this store"), std::string::npos);
}

TEST(BadInputTest, RootKeyFileReadableByOthersIsRefused) {
  auto t = TestVault::Make("perm");
  t->vault.reset();
  std::filesystem::permissions(t->dir + "/root.key", std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  auto r = Vault::Open(t->Opts());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("chmod 600"), std::string::npos);
}

}  // namespace
}  // namespace vault
