// The Passwords part through the engine: set, verify, import and upgrade, the policy's rules,
// throttling on the manual clock, the gate's refusal, and erasure (forensic: no trace left).
#include <crypt.h>
#include <gtest/gtest.h>

#include <memory>

#include "test_util.h"

namespace vault::testing {
namespace {

const Actor kApp{"test-app", Role::kApp};

std::string Policy(const std::string& passwords) {
  return "version: 1\npasswords: " + passwords + R"(
categories:
  account:
    legal_basis: contract
    purposes: [service]
    retention: until_erasure
)";
}

std::string Bcrypt(const std::string& password) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, setting, sizeof setting), nullptr);
  auto data = std::make_unique<crypt_data>();
  return crypt_rn(password.c_str(), setting, data.get(), sizeof(crypt_data));
}

bool Valid(Vault& v, const std::string& sid, const std::string& pw) {
  auto r = v.VerifyPassword(kApp, sid, pw);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.ok() ? r->retry_after_seconds : 0, 0);
  return r.ok() && r->valid;
}

TEST(Passwords, SetVerifyAndPolicyRules) {
  auto t = TestVault::Make("pw-set", Policy("{min_length: 10}"));
  Vault& v = *t->vault;
  const Status short_pw = v.SetPassword(kApp, "u1", "123456789");
  EXPECT_EQ(short_pw.code(), Code::kPolicyViolation);
  EXPECT_NE(short_pw.message().find("min_length"), std::string::npos);
  EXPECT_EQ(short_pw.message().find("123456789"), std::string::npos);
  // Ten characters, counted as code points, not bytes (NIST: no composition rules).
  const Status set = v.SetPassword(kApp, "u1", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9zzzzz");
  ASSERT_TRUE(set.ok()) << set.ToString();
  EXPECT_TRUE(Valid(v, "u1", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9zzzzz"));
  EXPECT_FALSE(Valid(v, "u1", "eeeeezzzzz"));
  const std::string long_pw(64, 'x');
  ASSERT_TRUE(v.SetPassword(kApp, "u1", long_pw).ok());
  EXPECT_TRUE(Valid(v, "u1", long_pw));
  EXPECT_EQ(v.SetPassword(kApp, "u1", std::string(5000, 'x')).code(), Code::kPolicyViolation);
  auto info = v.PasswordStatus(t->dpo, "u1");
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->set);
  EXPECT_EQ(info->algorithm, "argon2id");
  EXPECT_FALSE(Valid(v, "nobody", long_pw));
  EXPECT_EQ(v.PasswordStatus(t->dpo, "nobody").status().code(), Code::kNotFound);
}

TEST(Passwords, ImportedBcryptIsUpgradedOnFirstSuccess) {
  auto t = TestVault::Make("pw-import", Policy("{min_length: 8}"));
  Vault& v = *t->vault;
  const Status bad = v.ImportPasswordHash(kApp, "u2", "$1$md5$notsupported");
  EXPECT_EQ(bad.code(), Code::kPolicyViolation);
  EXPECT_EQ(bad.message().find("notsupported"), std::string::npos);
  ASSERT_TRUE(v.ImportPasswordHash(kApp, "u2", Bcrypt("legacy pass")).ok());
  EXPECT_EQ(v.PasswordStatus(t->dpo, "u2")->algorithm, "bcrypt");
  EXPECT_FALSE(Valid(v, "u2", "legacy pasS"));
  EXPECT_EQ(v.PasswordStatus(t->dpo, "u2")->algorithm, "bcrypt") << "a failure upgrades nothing";
  EXPECT_TRUE(Valid(v, "u2", "legacy pass"));
  EXPECT_EQ(v.PasswordStatus(t->dpo, "u2")->algorithm, "argon2id");
  EXPECT_TRUE(Valid(v, "u2", "legacy pass"));
}

TEST(Passwords, PepperChangeUpgradesAndHashesSurviveReopen) {
  auto t = TestVault::Make("pw-pepper", Policy("{pepper: false}"));
  ASSERT_TRUE(t->vault->SetPassword(kApp, "u3", "no pepper yet").ok());
  t->vault.reset();
  WriteFile(t->dir + "/policy.yaml", Policy("{pepper: true}"));
  t->Reopen();
  EXPECT_TRUE(Valid(*t->vault, "u3", "no pepper yet"));  // verified unpeppered, re-hashed peppered
  ASSERT_TRUE(t->vault->SetPassword(kApp, "u4", "peppered one").ok());
  t->Reopen();
  EXPECT_TRUE(Valid(*t->vault, "u3", "no pepper yet"));
  EXPECT_TRUE(Valid(*t->vault, "u4", "peppered one"));
  EXPECT_FALSE(Valid(*t->vault, "u4", "peppered two"));
}

TEST(Passwords, ThrottledAfterFailuresUntilTheDelayPasses) {
  auto t = TestVault::Make("pw-throttle", Policy("{min_length: 8}"));
  Vault& v = *t->vault;
  ASSERT_TRUE(v.SetPassword(kApp, "u5", "right password").ok());
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(Valid(v, "u5", "wrong password"));
  auto r = v.VerifyPassword(kApp, "u5", "right password");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->valid);
  EXPECT_GE(r->retry_after_seconds, 1);
  t->clock->Advance(r->retry_after_seconds);
  EXPECT_TRUE(Valid(v, "u5", "right password"));
  EXPECT_TRUE(Valid(v, "u5", "right password"));
}

TEST(Passwords, ErasureLeavesNoHashAndNothingVerifies) {
  auto t = TestVault::Make("pw-erase", Policy("{min_length: 8}"));
  Vault& v = *t->vault;
  const std::string pw = "Erasable-Password-7f3a";
  ASSERT_TRUE(v.SetPassword(kApp, "u6", pw).ok());
  const std::string bc = Bcrypt("Erasable-Bcrypt-9c1d");
  ASSERT_TRUE(v.ImportPasswordHash(kApp, "u7", bc).ok());
  for (const char* sid : {"u6", "u7"}) {
    ASSERT_TRUE(v.RequestErasure(t->dpo, sid, "immediate", "asked").ok());
  }
  EXPECT_FALSE(Valid(v, "u6", pw));
  EXPECT_FALSE(Valid(v, "u7", "Erasable-Bcrypt-9c1d"));
  EXPECT_EQ(v.SetPassword(kApp, "u6", pw).code(), Code::kGone);
  t->vault.reset();
  EXPECT_EQ(FindMarkers(t->dir + "/data", {pw, bc, bc.substr(7, 22), "$argon2id$"}),
            std::vector<std::string>{});
}

TEST(Passwords, FullGateRefusesInsteadOfQueueing) {
  auto t = TestVault::Make("pw-gate", Policy("{min_length: 8}"));
  Options o = t->Opts();
  o.password_concurrency = 1;
  o.password_max_waiting = 0;
  t->vault.reset();
  auto opened = Vault::Open(o);
  ASSERT_TRUE(opened.ok());
  Vault& v = **opened;
  ASSERT_TRUE(v.SetPassword(kApp, "u8", "some password").ok());
  std::atomic<int> unavailable{0}, done{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto r = v.VerifyPassword(kApp, "n" + std::to_string(i), "some password");
      if (!r.ok() && r.status().code() == Code::kUnavailable) ++unavailable;
      ++done;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(done.load(), 4);
  // With one place and no waiting room, overlapping calls are refused; on a slow machine they
  // may not overlap, so this only checks that a refusal is a clean kUnavailable.
  EXPECT_LE(unavailable.load(), 3);
}

}  // namespace
}  // namespace vault::testing
