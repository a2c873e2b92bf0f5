// Keyring file: sealing, slots, rotation, destruction, wrong root key, corruption.
#include "vault/keyring.h"

#include <gtest/gtest.h>

#include <fstream>

#include "crypto/primitives.h"
#include "test_util.h"
#include "vault/keyslots.h"
#include "vault/testing.h"

namespace vault {
namespace {

using crypto::SecretBytes;

class KeyringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("keyring");
    path_ = dir_ + "/keyring";
    root_ = SecretBytes::Random(32);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, path_;
  SecretBytes root_;
};

TEST_F(KeyringTest, CreateOpenWrapUnwrap) {
  auto k = Keyring::Create(path_, root_.Clone(), 1000);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ((*k)->current_epoch(), 1u);
  auto dek = SecretBytes::Random(32);
  crypto::KeyId id = crypto::RandomArray<16>();
  std::uint64_t epoch = 0;
  auto wrapped = (*k)->WrapDek(dek, id, &epoch);
  EXPECT_EQ(epoch, 1u);

  auto k2 = Keyring::Open(path_, root_.Clone());
  ASSERT_TRUE(k2.ok()) << k2.status().ToString();
  SecretBytes out;
  ASSERT_TRUE((*k2)->UnwrapDek(wrapped, 1, &out).ok());
  EXPECT_TRUE(out.Equals(dek));
  EXPECT_TRUE((*k2)->index_key().Equals((*k)->index_key()));
  EXPECT_TRUE((*k2)->signing_key().Equals((*k)->signing_key()));
  EXPECT_FALSE((*k2)->UnwrapDek(wrapped, 2, &out).ok());
}

TEST_F(KeyringTest, FileIsPrivateAndHoldsNoKeyInClear) {
  auto k = Keyring::Create(path_, root_.Clone(), 1000);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(std::filesystem::status(path_).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const std::string bytes = testing::ReadFile(path_);
  auto kek = TEST_LiveKeks(**k);
  for (const crypto::SecretBytes* key : {&(*k)->index_key(), &(*k)->audit_key(),
                                         static_cast<const crypto::SecretBytes*>(&kek.at(1))}) {
    const std::string raw(reinterpret_cast<const char*>(key->secret_data()), key->size());
    EXPECT_EQ(bytes.find(raw), std::string::npos);
  }
}

TEST_F(KeyringTest, WrongRootKeyIsNamed) {
  ASSERT_TRUE(Keyring::Create(path_, root_.Clone(), 1000).ok());
  auto k = Keyring::Open(path_, SecretBytes::Random(32));
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), Code::kPermissionDenied);
  EXPECT_NE(k.status().message().find("another root key"), std::string::npos);
}

TEST_F(KeyringTest, RotationAndDestructionPersistAndOldKeksAreGoneFromTheFile) {
  auto k = std::move(Keyring::Create(path_, root_.Clone(), 1000)).value();
  auto dek = SecretBytes::Random(32);
  crypto::KeyId id{};
  std::uint64_t e1 = 0;
  auto w1 = k->WrapDek(dek, id, &e1);
  const auto old_kek = TEST_LiveKeks(*k).at(1).Clone();
  ASSERT_EQ(*k->StartEpoch(2000), 2u);
  ASSERT_TRUE(k->DestroyEpochs({1}, 3000).ok());
  EXPECT_TRUE(k->DestroyEpochs({2}, 3000).code() == Code::kInternal);  // current: refused

  auto k2 = std::move(Keyring::Open(path_, root_.Clone())).value();
  EXPECT_EQ(k2->current_epoch(), 2u);
  SecretBytes out;
  Status s = k2->UnwrapDek(w1, 1, &out);
  EXPECT_EQ(s.code(), Code::kDataLoss);
  auto epochs = k2->Epochs();
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_TRUE(epochs[0].destroyed);
  EXPECT_EQ(epochs[0].destroyed_at, 3000);
  EXPECT_EQ(epochs[0].retired_at, 2000);
  // Neither slot of the file can be opened to recover epoch 1's KEK: search the raw file
  // for it, and for the wrapped DEK opened by it.
  const std::string bytes = testing::ReadFile(path_);
  EXPECT_EQ(bytes.find(std::string(reinterpret_cast<const char*>(old_kek.secret_data()), 32)),
            std::string::npos);
}

TEST_F(KeyringTest, SurvivesOneCorruptSlotButNotTwo) {
  auto k = std::move(Keyring::Create(path_, root_.Clone(), 1000)).value();
  ASSERT_TRUE(k->StartEpoch(2000).ok());
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 + 100);
    f.write("garbage!", 8);
  }
  auto k2 = Keyring::Open(path_, root_.Clone());
  ASSERT_TRUE(k2.ok()) << k2.status().ToString();
  EXPECT_EQ((*k2)->current_epoch(), 2u);
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 + 256 * 1024 + 100);
    f.write("garbage!", 8);
  }
  auto k3 = Keyring::Open(path_, root_.Clone());
  ASSERT_FALSE(k3.ok());
  EXPECT_EQ(k3.status().code(), Code::kDataLoss);
}

TEST_F(KeyringTest, NotAKeyringFile) {
  testing::WriteFile(path_, "hello");
  auto k = Keyring::Open(path_, root_.Clone());
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.status().message().find("not a Vault keyring"), std::string::npos);
}

}  // namespace
}  // namespace vault

namespace vault {
namespace {

TEST(KeyringReloadTest, RefusesAKeyringWithOtherSystemKeys) {
  const std::string dir = testing::MakeTempDir("keyring-reload");
  auto root = crypto::SecretBytes::Random(32);
  auto mine = Keyring::Create(dir + "/keyring", root.Clone(), 1000);
  auto other = Keyring::Create(dir + "/other", root.Clone(), 1000);
  ASSERT_TRUE(mine.ok() && other.ok());
  const crypto::Digest before = (*mine)->index_mac().Mac("x");
  ASSERT_TRUE((*mine)->Reload().ok());           // the same file: fine
  ASSERT_TRUE((*other)->StartEpoch(2000).ok());  // a newer sequence number than mine
  std::filesystem::copy_file(dir + "/other", dir + "/keyring",
                             std::filesystem::copy_options::overwrite_existing);
  // Threads use the system keys without the lock: they must never be swapped underneath.
  EXPECT_EQ((*mine)->Reload().code(), Code::kDataLoss);
  EXPECT_EQ((*mine)->index_mac().Mac("x"), before);
  std::filesystem::remove_all(dir);
}

TEST(KeySlotsTest, ReadsSlotsAnotherHandleWroteAndZeroedThroughTheMapping) {
  const std::string dir = testing::MakeTempDir("keyslots");
  auto reader = KeySlots::Open(dir + "/keyslots", true);
  auto writer = KeySlots::Open(dir + "/keyslots", false);  // as another process would
  ASSERT_TRUE(reader.ok() && writer.ok());
  SlotBytes out{};
  EXPECT_EQ((*reader)->Read(3, &out).code(), Code::kDataLoss);  // past the end of the file
  SlotBytes a{};
  a.fill(0xA5);
  ASSERT_TRUE((*writer)->Write(3, a).ok());
  ASSERT_TRUE((*reader)->Read(3, &out).ok());  // learns the new length with fstat
  EXPECT_EQ(out, a);
  ASSERT_TRUE((*writer)->Zero(3).ok());
  ASSERT_TRUE((*reader)->Read(3, &out).ok());
  EXPECT_EQ(out, SlotBytes{});  // the zeroing shows at once: one page cache
  // Past the written slot lies zeroed room (vault/file_room.h): zeros, which no key decodes
  // from; past the room, nothing.
  ASSERT_TRUE((*reader)->Read(4, &out).ok());
  EXPECT_EQ(out, SlotBytes{});
  const auto end = std::filesystem::file_size(dir + "/keyslots") / kSlotBytes;
  EXPECT_EQ((*reader)->Read(end, &out).code(), Code::kDataLoss);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vault
