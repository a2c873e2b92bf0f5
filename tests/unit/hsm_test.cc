// PKCS#11 with a real SoftHSM2 token made by each test: the wrapper (keys, AES-GCM, CKR_*
// names, another process's C_DestroyObject) and the root key in the token (seal, rotate).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "crypto/pkcs11.h"
#include "tests/hsm/softhsm.h"
#include "tests/unit/test_util.h"
#include "vault/root_sealer.h"

namespace vault::testing {
namespace {

namespace p11 = crypto::pkcs11;
using json = nlohmann::json;

std::vector<std::uint8_t> B(const std::string& s) { return {s.begin(), s.end()}; }

crypto::SecretBytes Pin(const char* pin = SoftHsmToken::kPin) {
  return crypto::SecretBytes::ImportCleartext(B(pin));
}

std::unique_ptr<p11::Session> OpenSession(const char* pin = SoftHsmToken::kPin,
                                          p11::Result* r = nullptr) {
  p11::Result ignored;
  return p11::Session::Open(SoftHsmToken::Module(), SoftHsmToken::kLabel, Pin(pin),
                            r ? r : &ignored);
}

// Runs this test binary again, in another process, as the helper test below.
int RunHelper(const std::string& label) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("LETHE_HSM_HELPER_DESTROY", label.c_str(), 1);
    ::execl("/proc/self/exe", "hsm_helper", "--gtest_filter=HsmHelper.DestroyKeyNamedByTheParent",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(HsmHelper, DestroyKeyNamedByTheParent) {
  const char* label = std::getenv("LETHE_HSM_HELPER_DESTROY");
  if (label == nullptr) GTEST_SKIP() << "run by Pkcs11.AnotherProcessesDestroyIsSeen";
  auto s = OpenSession();
  ASSERT_NE(s, nullptr);
  std::vector<p11::KeyObject> keys;
  ASSERT_TRUE(s->FindKeys(label, &keys).ok());
  ASSERT_EQ(keys.size(), 1u);
  ASSERT_TRUE(s->Destroy(keys[0].handle).ok());
}

TEST(Pkcs11, KeysAreMadeNonExtractableAndSealInsideTheToken) {
  const std::string dir = MakeTempDir("hsm");
  VAULT_SOFTHSM_TOKEN(token, dir);
  auto s = OpenSession();
  ASSERT_NE(s, nullptr);
  const std::vector<std::uint8_t> id = B("id-1");
  p11::Handle k = 0;
  ASSERT_TRUE(s->GenerateAesKey("k1", id, &k).ok());
  bool extractable = true, sensitive = false;
  ASSERT_TRUE(s->KeyFlags(k, &extractable, &sensitive).ok());
  EXPECT_FALSE(extractable);
  EXPECT_TRUE(sensitive);

  const std::vector<std::uint8_t> iv(p11::kGcmIvBytes, 7);
  std::vector<std::uint8_t> sealed;
  ASSERT_TRUE(s->EncryptGcm(k, iv, B("aad"), B("a secret"), &sealed).ok());
  EXPECT_EQ(sealed.size(), 8 + p11::kGcmTagBytes);
  crypto::SecretBytes plain;
  ASSERT_TRUE(s->DecryptGcm(k, iv, B("aad"), sealed, &plain).ok());
  EXPECT_EQ(std::string(plain.secret_span().begin(), plain.secret_span().end()), "a secret");
  // SoftHSM2 reports a tag that does not verify as CKR_GENERAL_ERROR.
  const p11::Result bad = s->DecryptGcm(k, iv, B("other aad"), sealed, &plain);
  EXPECT_TRUE(bad.not_authentic()) << bad.message();
  sealed[0] ^= 1;
  EXPECT_TRUE(s->DecryptGcm(k, iv, B("aad"), sealed, &plain).not_authentic());

  std::vector<p11::KeyObject> found;
  ASSERT_TRUE(s->FindKeys("k1", &found).ok());
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].id, id);
  ASSERT_TRUE(s->Destroy(k).ok());
  const p11::Result gone = s->DecryptGcm(k, iv, B("aad"), sealed, &plain);
  EXPECT_TRUE(gone.key_gone()) << gone.message();
  ASSERT_TRUE(s->FindKeys("k1", &found).ok());
  EXPECT_TRUE(found.empty());
}

TEST(Pkcs11, ErrorsNameTheirCkrCode) {
  const std::string dir = MakeTempDir("hsm");
  VAULT_SOFTHSM_TOKEN(token, dir);
  p11::Result r;
  EXPECT_EQ(OpenSession("0000", &r), nullptr);
  EXPECT_EQ(r.message(), "C_Login failed: CKR_PIN_INCORRECT");
  EXPECT_TRUE(r.pin_refused());
  EXPECT_EQ(p11::Session::Open(SoftHsmToken::Module(), "no-such-token", Pin(), &r), nullptr);
  EXPECT_NE(r.message().find("CKR_TOKEN_NOT_PRESENT"), std::string::npos) << r.message();
  EXPECT_EQ(p11::Session::Open(dir + "/missing.so", SoftHsmToken::kLabel, Pin(), &r), nullptr);
  EXPECT_NE(r.message().find("dlopen"), std::string::npos) << r.message();
}

// A key another process destroys is gone for a process that still holds its handle: SoftHSM2
// re-reads the token's object files before each operation and finds the object deleted.
TEST(Pkcs11, AnotherProcessesDestroyIsSeen) {
  const std::string dir = MakeTempDir("hsm");
  VAULT_SOFTHSM_TOKEN(token, dir);
  auto s = OpenSession();
  ASSERT_NE(s, nullptr);
  p11::Handle k = 0;
  ASSERT_TRUE(s->GenerateAesKey("shared", B("s"), &k).ok());
  const std::vector<std::uint8_t> iv(p11::kGcmIvBytes, 1);
  std::vector<std::uint8_t> sealed;
  ASSERT_TRUE(s->EncryptGcm(k, iv, {}, B("data"), &sealed).ok());

  ASSERT_EQ(RunHelper("shared"), 0);

  crypto::SecretBytes plain;
  const p11::Result r = s->DecryptGcm(k, iv, {}, sealed, &plain);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.key_gone()) << r.message();
  std::printf("a handle after another process's C_DestroyObject: %s\n", r.message().c_str());
  std::vector<p11::KeyObject> found;
  ASSERT_TRUE(s->FindKeys("shared", &found).ok());
  EXPECT_TRUE(found.empty());
}

std::unique_ptr<TestVault> TokenVault(const SoftHsmToken& token, const std::string& dir,
                                      const std::string& key) {
  auto t = std::make_unique<TestVault>();
  t->dir = dir;
  t->clock = std::make_shared<ManualClock>(1795381680);
  auto root = RootKeyFromPkcs11(token.Spec(key), /*create_if_missing=*/true);
  EXPECT_TRUE(root.ok()) << root.status().ToString();
  t->root = *root;
  Options o = t->Opts();
  o.create_if_missing = true;
  auto v = Vault::Open(o);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  if (v.ok()) t->vault = std::move(v).value();
  return t;
}

TEST(TokenRootKey, SealsTheKeyringInsideTheTokenAndNeverLeavesIt) {
  const std::string dir = MakeTempDir("hsmroot");
  VAULT_SOFTHSM_TOKEN(token, dir);
  auto t = TokenVault(token, dir, "root-seal");
  ASSERT_NE(t->vault, nullptr);
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "u", "account", "p", json{{"i", 1}}).ok());
  EXPECT_EQ(t->root->Load().status().code(), Code::kConflict);
  auto s = OpenSession();
  std::vector<p11::KeyObject> keys;
  ASSERT_TRUE(s->FindKeys("root-seal", &keys).ok());
  ASSERT_EQ(keys.size(), 1u);
  bool extractable = true, sensitive = false;
  ASSERT_TRUE(s->KeyFlags(keys[0].handle, &extractable, &sensitive).ok());
  EXPECT_FALSE(extractable);
  EXPECT_TRUE(sensitive);

  // Reopened without create: the same key opens it; a provider of another key label does not.
  t->root = RootKeyFromPkcs11(token.Spec("root-seal")).value();
  t->Reopen();
  EXPECT_TRUE(t->vault->GetRecord(t->admin, "u", "account", "p").ok());
  t->vault.reset();
  // No keyring file: the system keys are a store row sealed under the token's root key.
  EXPECT_FALSE(std::filesystem::exists(dir + "/data/keyring"));
  t->root = RootKeyFromPkcs11(token.Spec("other"), true).value();
  auto other = Vault::Open(t->Opts());
  EXPECT_EQ(other.status().code(), Code::kPermissionDenied) << other.status().ToString();
  EXPECT_EQ(SealerOf(*RootKeyFromPkcs11(token.Spec("absent")).value()).status().code(),
            Code::kNotFound);
  EXPECT_EQ(RootKeyFromPkcs11("module=x;token=y;key=z;pin=1234").status().code(),
            Code::kInvalidArgument);
}

TEST(TokenRootKey, RotateDestroysTheOldKeyObject) {
  const std::string dir = MakeTempDir("hsmrot");
  VAULT_SOFTHSM_TOKEN(token, dir);
  auto t = TokenVault(token, dir, "root-rotate");
  ASSERT_NE(t->vault, nullptr);
  ASSERT_TRUE(t->vault->PutRecord(t->admin, "u", "account", "p", json{{"i", 1}}).ok());
  auto s = OpenSession();
  std::vector<p11::KeyObject> before;
  ASSERT_TRUE(s->FindKeys("root-rotate", &before).ok());
  ASSERT_EQ(before.size(), 1u);
  // A sealer made before the rotation holds the old key's handle.
  auto stale = SealerOf(*t->root);
  ASSERT_TRUE(stale.ok());

  t->vault.reset();
  std::string what;
  ASSERT_TRUE(RotateRootKey(*t->root, dir + "/data", &what).ok());
  EXPECT_NE(what.find("C_DestroyObject"), std::string::npos) << what;
  std::vector<p11::KeyObject> after, next;
  ASSERT_TRUE(s->FindKeys("root-rotate", &after).ok());
  ASSERT_TRUE(s->FindKeys("root-rotate.next", &next).ok());
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after[0].id, before[0].id);
  EXPECT_TRUE(next.empty());
  // The old key object is gone: the sealer that held its handle seals nothing any more.
  EXPECT_FALSE((*stale)->Seal(B("x"), B("aad")).ok());
  t->Reopen();
  EXPECT_TRUE(t->vault->GetRecord(t->admin, "u", "account", "p").ok());
}

}  // namespace
}  // namespace vault::testing
