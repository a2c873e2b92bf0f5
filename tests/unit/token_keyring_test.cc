// Epoch KEKs as objects of a real SoftHSM2 token (keyring_token.h): made, retired and
// destroyed in the token, final for every keyring using it, the system keys in a store row,
// and the DEK cache (dek_cache.h).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "crypto/pkcs11.h"
#include "tests/hsm/softhsm.h"
#include "tests/unit/test_util.h"
#include "vault/dek_cache.h"
#include "vault/epoch_token.h"
#include "vault/keyring_token.h"
#include "vault/root_sealer.h"

namespace vault::testing {
namespace {

namespace p11 = crypto::pkcs11;
using json = nlohmann::json;

std::unique_ptr<p11::Session> Session() {
  p11::Result r;
  const auto pin = crypto::SecretBytes::ImportCleartext(crypto::AsBytes(SoftHsmToken::kPin));
  return p11::Session::Open(SoftHsmToken::Module(), SoftHsmToken::kLabel, pin, &r);
}

std::vector<p11::KeyObject> EpochObjects(const std::string& root_label) {
  std::vector<p11::KeyObject> out;
  EXPECT_TRUE(Session()->ListKeys(root_label + ".epoch.", &out).ok());
  return out;
}

std::unique_ptr<TestVault> TokenVault(const SoftHsmToken& token, const std::string& dir,
                                      const std::string& key, const std::string& policy = "") {
  auto t = std::make_unique<TestVault>();
  t->dir = dir;
  t->clock = std::make_shared<ManualClock>(1795381680);
  t->root = RootKeyFromPkcs11(token.Spec(key), /*create_if_missing=*/true).value();
  Options o = t->Opts(policy);
  o.create_if_missing = true;
  auto v = Vault::Open(o);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  if (v.ok()) t->vault = std::move(v).value();
  return t;
}

TEST(TokenKeyring, EpochKeysAreTokenObjectsAndRotationDestroysThem) {
  const std::string dir = MakeTempDir("tkrot");
  VAULT_SOFTHSM_TOKEN(token, dir);
  auto t = TokenVault(token, dir, "tk-rot", PolicyWithHorizon("0d"));
  ASSERT_NE(t->vault, nullptr);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        t->vault->PutRecord(t->admin, "u" + std::to_string(i), "account", "p", json{{"i", i}})
            .ok());
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/data/keyring"));
  auto objects = EpochObjects("tk-rot");
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(objects[0].label, "tk-rot.epoch.1.1795381680");
  bool extractable = true, sensitive = false;
  ASSERT_TRUE(Session()->KeyFlags(objects[0].handle, &extractable, &sensitive).ok());
  EXPECT_FALSE(extractable);
  EXPECT_TRUE(sensitive);

  t->clock->Advance(3600);
  auto r = t->vault->RotateEpoch(t->admin);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->epoch, 2u);
  EXPECT_EQ(r->destroyed_epochs, std::vector<std::uint64_t>{1});  // horizon 0d
  objects = EpochObjects("tk-rot");
  ASSERT_EQ(objects.size(), 1u);  // C_DestroyObject took epoch 1's key
  EXPECT_EQ(objects[0].label, "tk-rot.epoch.2.1795385280");
  t->Reopen();
  for (int i = 0; i < 5; ++i) {
    auto g = t->vault->GetRecord(t->admin, "u" + std::to_string(i), "account", "p");
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ(Data(*g)["i"], i);
  }
  EXPECT_EQ(t->vault->Stats()->epoch, 2u);
}

// Two keyrings over one token stand for two servers. The epoch one destroys is gone for the
// other at once, though it still holds the epoch's handle: every unwrap goes to the token,
// which checks the object exists. Only a DEK cache answers without it, until its TTL or the
// next reload.
TEST(TokenKeyring, ADestructionThroughOneKeyringIsFinalForAnother) {
  const std::string dir = MakeTempDir("tkfinal");
  VAULT_SOFTHSM_TOKEN(token, dir);
  auto root = RootKeyFromPkcs11(token.Spec("tk-final"), true).value();
  auto sealer = SealerOf(*root).value();
  const EpochToken et = *EpochTokenOf(*root);
  TokenKeyring::Settings no_cache;
  no_cache.dek_cache_ttl = std::chrono::seconds(0);
  no_cache.sessions = 1;
  auto a = TokenKeyring::Open(et, sealer, std::nullopt, 1000, no_cache).value();
  const std::string row = a->SealedRow(*sealer).value();
  auto b = TokenKeyring::Open(et, sealer, row, 1000, no_cache).value();
  TokenKeyring::Settings cached = no_cache;
  cached.dek_cache_ttl = std::chrono::seconds(600);
  auto c = TokenKeyring::Open(et, sealer, row, 1000, cached).value();
  EXPECT_TRUE(b->index_key().Equals(a->index_key()));

  const auto dek = crypto::SecretBytes::Random(crypto::kKeyBytes);
  std::uint64_t epoch = 0;
  const auto wrapped = a->WrapDek(dek, crypto::KeyId{}, &epoch);
  ASSERT_FALSE(wrapped.empty());
  EXPECT_EQ(epoch, 1u);
  crypto::SecretBytes out;
  ASSERT_TRUE(b->UnwrapDek(wrapped, 1, &out).ok());
  EXPECT_TRUE(out.Equals(dek));
  ASSERT_TRUE(c->UnwrapDek(wrapped, 1, &out).ok());
  EXPECT_EQ(c->cached_deks(), 1u);

  ASSERT_EQ(a->StartEpoch(2000).value(), 2u);
  ASSERT_TRUE(a->DestroyEpochs({1}, 3000).ok());
  EXPECT_EQ(a->UnwrapDek(wrapped, 1, &out).code(), Code::kDataLoss);
  const Status s = b->UnwrapDek(wrapped, 1, &out);  // b never reloaded
  EXPECT_EQ(s.code(), Code::kDataLoss) << s.ToString();
  EXPECT_NE(s.message().find("destroyed"), std::string::npos) << s.ToString();
  // The cache still answers (what its TTL adds to the horizon), until the keyring reloads.
  EXPECT_TRUE(c->UnwrapDek(wrapped, 1, &out).ok());
  ASSERT_TRUE(c->Reload().ok());
  EXPECT_EQ(c->cached_deks(), 0u);
  EXPECT_EQ(c->UnwrapDek(wrapped, 1, &out).code(), Code::kDataLoss);
  // The epoch list is the token's: b sees epoch 2 current and epoch 1 destroyed after reload.
  ASSERT_TRUE(b->Reload().ok());
  EXPECT_EQ(b->current_epoch(), 2u);
  EXPECT_EQ(b->seq(), a->seq());
  const auto epochs = b->Epochs();
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_TRUE(epochs[0].destroyed);
  EXPECT_EQ(epochs[1].created_at, 2000);
  const auto w2 = b->WrapDek(dek, crypto::KeyId{}, &epoch);
  EXPECT_EQ(epoch, 2u);
  ASSERT_TRUE(a->UnwrapDek(w2, 2, &out).ok());
  // A keyring opened later takes the token's newest epoch as current.
  ASSERT_TRUE(a->StartEpoch(4000).ok());
  ASSERT_TRUE(a->DestroyEpochs({2}, 5000).ok());
  EXPECT_EQ(TokenKeyring::Open(et, sealer, row, 6000, no_cache).value()->current_epoch(), 3u);
}

TEST(DekCache, EntriesExpireAreBoundedAndDropByEpoch) {
  const auto dek = crypto::SecretBytes::Random(crypto::kKeyBytes);
  const std::vector<std::uint8_t> w1{1}, w2{2}, w3{3};
  DekCache cache(std::chrono::seconds(1), 2);
  cache.Put(1, w1, dek);
  cache.Put(1, w2, dek);
  cache.Put(2, w3, dek);  // over the bound: the oldest goes
  crypto::SecretBytes out;
  EXPECT_FALSE(cache.Get(1, w1, &out));
  EXPECT_TRUE(cache.Get(1, w2, &out));
  EXPECT_TRUE(out.Equals(dek));
  EXPECT_FALSE(cache.Get(2, w2, &out));  // keyed by epoch and envelope
  cache.DropEpoch(1);
  EXPECT_FALSE(cache.Get(1, w2, &out));
  EXPECT_TRUE(cache.Get(2, w3, &out));
  std::this_thread::sleep_for(std::chrono::milliseconds(1700));
  EXPECT_EQ(cache.size(), 0u);  // the evictor zeroed it without a lookup
  DekCache off(std::chrono::seconds(0), 10);
  off.Put(1, w1, dek);
  EXPECT_FALSE(off.Get(1, w1, &out));
}

}  // namespace
}  // namespace vault::testing
