// Root key rotation with a key file and an environment variable: the keyring re-sealed, the
// old key refused afterwards, no data re-encrypted, and each crash point openable.
#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/unit/test_util.h"
#include "vault/keyring_format.h"
#include "vault/root_sealer.h"

namespace vault::testing {
namespace {

using json = nlohmann::json;

std::string KeyringPath(const TestVault& t) { return t.dir + "/data/keyring"; }

// Rotates with the vault closed, as `lethe root rotate` does.
StatusOr<std::string> Rotate(TestVault& t) {
  t.vault.reset();
  std::string what;
  VAULT_RETURN_IF_ERROR(RotateRootKey(*t.root, t.dir + "/data", &what));
  return what;
}

TEST(RootRotation, FileKeyIsReplacedAndTheOldOneNoLongerOpensTheKeyring) {
  auto t = TestVault::Make("rootrot");
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "u", "account", "p", json{{"i", 1}}).ok());
  const std::string old_hex = ReadFile(t->dir + "/root.key");
  auto old_key = t->root->Load();
  ASSERT_TRUE(old_key.ok());

  auto r = Rotate(*t);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(r->find("overwritten"), std::string::npos) << *r;
  EXPECT_FALSE(std::filesystem::exists(t->dir + "/root.key.next"));
  EXPECT_NE(ReadFile(t->dir + "/root.key"), old_hex);

  // The old key no longer opens the keyring; the new one (same file name) does, and the
  // records written before read without any re-encryption.
  auto with_old = Keyring::Open(KeyringPath(*t), std::move(old_key).value());
  ASSERT_FALSE(with_old.ok());
  EXPECT_EQ(with_old.status().code(), Code::kPermissionDenied) << with_old.status().ToString();
  t->Reopen();
  auto g = t->vault->GetRecord(t->admin, "u", "account", "p");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
}

TEST(RootRotation, ACrashBetweenTheSlotsLeavesAKeyringBothKeysOpen) {
  auto t = TestVault::Make("rootcrash");
  ASSERT_TRUE(t->vault->RotateEpoch(t->admin).ok());
  t->vault.reset();
  auto old_key = t->root->Load();
  ASSERT_TRUE(old_key.ok());
  auto keyring = Keyring::Open(KeyringPath(*t), old_key->Clone());
  ASSERT_TRUE(keyring.ok());
  const std::uint64_t current = (*keyring)->current_epoch();
  crypto::SecretBytes next = crypto::SecretBytes::Random(crypto::kKeyBytes);
  const std::string snapshot = t->dir + "/keyring.crash";
  ASSERT_TRUE((*keyring)
                  ->Reseal(RawRootSealer(next.Clone()),
                           [&] {  // the first slot is synced: what a crash here leaves
                             std::filesystem::copy_file(KeyringPath(*t), snapshot);
                           })
                  .ok());
  for (crypto::SecretBytes* key : {&*old_key, &next}) {
    auto k = Keyring::Open(snapshot, key->Clone());
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    EXPECT_EQ((*k)->current_epoch(), current);
    EXPECT_TRUE(crypto::ConstantTimeEquals((*k)->index_key().secret_span(),
                                           (*keyring)->index_key().secret_span()));
  }
  // After both slots: only the new key opens it.
  EXPECT_EQ(Keyring::Open(KeyringPath(*t), old_key->Clone()).status().code(),
            Code::kPermissionDenied);
  EXPECT_TRUE(Keyring::Open(KeyringPath(*t), next.Clone()).ok());
}

TEST(RootRotation, AProcessThatKeptTheOldKeyCannotSealTheKeyringBackUnderIt) {
  auto t = TestVault::Make("rootstale");
  t->vault.reset();
  auto stale = Keyring::Open(KeyringPath(*t), t->root->Load().value());
  ASSERT_TRUE(stale.ok());
  ASSERT_TRUE(Rotate(*t).ok());
  auto s = (*stale)->StartEpoch(1795381700);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kPermissionDenied) << s.status().ToString();
  t->Reopen();  // the keyring still opens under the new key
}

TEST(RootRotation, EnvironmentKeyRotatesToTheNextVariable) {
  auto t = TestVault::Make("rootenv");
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "u", "account", "p", json{{"i", 1}}).ok());
  t->vault.reset();
  const std::string old_hex = ReadFile(t->dir + "/root.key");
  ::setenv("LETHE_TEST_ROOT", old_hex.c_str(), 1);
  ::unsetenv("LETHE_TEST_ROOT_NEXT");
  t->root = RootKeyFromEnv("LETHE_TEST_ROOT");
  auto refused = Rotate(*t);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("LETHE_TEST_ROOT_NEXT"), std::string::npos);

  const std::string next_hex = crypto::ToHex(crypto::RandomArray<32>());
  ::setenv("LETHE_TEST_ROOT_NEXT", next_hex.c_str(), 1);
  ASSERT_TRUE(Rotate(*t).ok());
  ::unsetenv("LETHE_TEST_ROOT_NEXT");
  EXPECT_EQ(Vault::Open(t->Opts()).status().code(), Code::kPermissionDenied);  // old value
  ::setenv("LETHE_TEST_ROOT", next_hex.c_str(), 1);
  t->Reopen();
  EXPECT_TRUE(t->vault->GetRecord(t->admin, "u", "account", "p").ok());
  ::unsetenv("LETHE_TEST_ROOT");
}

// The keyring's slots are still format 1 (keyring_format.h): a slot sealed by SealSlot, the
// format's own writer, opens through the root key provider's sealer.
TEST(RootRotation, FileKeyringsKeepTheirFormat) {
  auto t = TestVault::Make("rootfmt");
  t->vault.reset();
  auto root = t->root->Load();
  ASSERT_TRUE(root.ok());
  const std::string file = ReadFile(KeyringPath(*t));
  RowReader r(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(file.data()), file.size())
          .subspan(keyring_file::kHeaderBytes, keyring_file::kSlotBytes));
  std::uint64_t seq = 0;
  std::span<const std::uint8_t> env;
  ASSERT_TRUE(r.U64(&seq) && r.View(&env));
  crypto::SecretBytes plain;
  ASSERT_TRUE(crypto::OpenSecret(crypto::EnvelopeKind::kKeyring, *root, env,
                                 keyring_file::SlotContext(seq), &plain));
  std::vector<std::uint8_t> slot = keyring_file::SealSlot(*root, seq + 1, plain.secret_span());
  slot.resize(keyring_file::kSlotBytes, 0);
  std::string rewritten = file;
  std::memcpy(rewritten.data() + keyring_file::kHeaderBytes, slot.data(), slot.size());
  WriteFile(KeyringPath(*t), rewritten);
  auto k = Keyring::Open(KeyringPath(*t), SealerOf(*t->root).value());
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ((*k)->seq(), seq + 1);
}

}  // namespace
}  // namespace vault::testing
