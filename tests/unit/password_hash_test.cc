// Password hash formats (crypto/password_hash.h) against vectors made at test time by the
// real tools (libargon2, libxcrypt, `openssl passwd`, Python's hashlib), and the throttle
// and gate of vault/password_limits.h.
#include "crypto/password_hash.h"

#include <argon2.h>
#include <crypt.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "vault/password_limits.h"

namespace vault::crypto {
namespace {

// The cheapest Argon2id the vault would ever produce is the policy floor; tests of the
// format itself use small costs to stay fast.
const Argon2Cost kCheap{1024, 1, 1};

std::string RunCommand(const std::string& cmd) {
  std::unique_ptr<FILE, int (*)(FILE*)> p(::popen(cmd.c_str(), "r"), ::pclose);
  if (!p) return "";
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p.get()) != nullptr) out += buf;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string Crypt(const std::string& password, const char* prefix, unsigned long cost) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn(prefix, cost, nullptr, 0, setting, sizeof setting), nullptr);
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(password.c_str(), setting, data.get(), sizeof(crypt_data));
  EXPECT_NE(out, nullptr);
  return out ? out : "";
}

bool Verifies(const std::string& encoded, const std::string& password) {
  const auto parse = ParsePasswordHash(encoded);
  EXPECT_TRUE(parse.hash.has_value()) << parse.problem;
  return parse.hash && VerifyPasswordHash(*parse.hash, encoded, AsBytes(password));
}

TEST(PasswordHash, Argon2idRoundTripAndCost) {
  const auto encoded = HashArgon2id(AsBytes("correct horse"), kCheap);
  ASSERT_TRUE(encoded.has_value());
  EXPECT_TRUE(encoded->starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
  EXPECT_TRUE(Verifies(*encoded, "correct horse"));
  EXPECT_FALSE(Verifies(*encoded, "correct horsf"));
  const auto parsed = ParsePasswordHash(*encoded).hash;
  EXPECT_TRUE(MeetsArgon2idCost(*parsed, kCheap));
  EXPECT_FALSE(MeetsArgon2idCost(*parsed, Argon2Cost{19456, 2, 1}));
  EXPECT_EQ(parsed->memory_kib, 1024u);
  // A fresh salt each time.
  EXPECT_NE(*encoded, *HashArgon2id(AsBytes("correct horse"), kCheap));
}

TEST(PasswordHash, Argon2iAndIdFromLibargon2WithFixedSalt) {
  const std::string salt = "fixedsalt16bytes";
  char out[256];
  ASSERT_EQ(argon2i_hash_encoded(2, 4096, 2, "hunter22", 8, salt.data(), salt.size(), 32, out,
                                 sizeof out),
            ARGON2_OK);
  EXPECT_TRUE(std::string(out).starts_with("$argon2i$v=19$m=4096,t=2,p=2$"));
  EXPECT_TRUE(Verifies(out, "hunter22"));
  EXPECT_FALSE(Verifies(out, "hunter23"));
  EXPECT_EQ(ParsePasswordHash(out).hash->algorithm, PasswordAlgorithm::kArgon2i);
  ASSERT_EQ(argon2id_hash_encoded(1, 2048, 4, "hunter22", 8, salt.data(), salt.size(), 24, out,
                                  sizeof out),
            ARGON2_OK);
  EXPECT_TRUE(Verifies(out, "hunter22"));
  EXPECT_FALSE(MeetsArgon2idCost(*ParsePasswordHash(out).hash, Argon2Cost{4096, 1, 1}));
}

TEST(PasswordHash, BcryptAllThreePrefixesFromLibxcrypt) {
  for (const char* prefix : {"$2b$", "$2a$", "$2y$"}) {
    const std::string h = Crypt("tr0ub4dor&3", prefix, 4);
    ASSERT_TRUE(h.starts_with(prefix)) << h;
    EXPECT_TRUE(Verifies(h, "tr0ub4dor&3")) << prefix;
    EXPECT_FALSE(Verifies(h, "tr0ub4dor&4")) << prefix;
    EXPECT_EQ(ParsePasswordHash(h).hash->algorithm, PasswordAlgorithm::kBcrypt);
  }
}

TEST(PasswordHash, BcryptNulInPasswordNeverVerifies) {
  const std::string h = Crypt("abc", "$2b$", 4);
  const std::string with_nul("abc\0def", 7);
  EXPECT_FALSE(VerifyPasswordHash(*ParsePasswordHash(h).hash, h, AsBytes(with_nul)));
}

TEST(PasswordHash, Sha512CryptFromOpensslPasswd) {
  const std::string h = RunCommand("openssl passwd -6 -salt saltsalt 'open sesame' 2>/dev/null");
  ASSERT_TRUE(h.starts_with("$6$saltsalt$")) << "openssl passwd -6 is needed: " << h;
  EXPECT_TRUE(Verifies(h, "open sesame"));
  EXPECT_FALSE(Verifies(h, "open sesamE"));
  const std::string rounds = Crypt("open sesame", "$6$", 2000);
  ASSERT_TRUE(rounds.starts_with("$6$rounds=2000$")) << rounds;
  EXPECT_TRUE(Verifies(rounds, "open sesame"));
}

TEST(PasswordHash, DjangoPbkdf2FromPythonHashlib) {
  const std::string h = RunCommand(
      "python3 -c \"import hashlib,base64;print('pbkdf2_sha256\\$1000\\$QpLJl7gbHyH3\\$'+"
      "base64.b64encode(hashlib.pbkdf2_hmac('sha256',b'letmein now',b'QpLJl7gbHyH3',1000))."
      "decode())\"");
  ASSERT_TRUE(h.starts_with("pbkdf2_sha256$1000$QpLJl7gbHyH3$")) << "python3 is needed: " << h;
  EXPECT_TRUE(Verifies(h, "letmein now"));
  EXPECT_FALSE(Verifies(h, "letmein now "));
}

TEST(PasswordHash, PepperedHashNeedsThePepper) {
  const auto pepper = DerivePasswordPepper(SecretBytes::Random(32));
  const auto peppered = PepperPassword(pepper, AsBytes("sunshine99"));
  const auto with = HashArgon2id(peppered, kCheap);
  const auto without = HashArgon2id(AsBytes("sunshine99"), kCheap);
  const auto w = *ParsePasswordHash(*with).hash;
  const auto wo = *ParsePasswordHash(*without).hash;
  EXPECT_TRUE(VerifyPasswordHash(w, *with, peppered));
  EXPECT_FALSE(VerifyPasswordHash(w, *with, AsBytes("sunshine99")));
  // A hash made without the pepper does not verify with it.
  EXPECT_FALSE(VerifyPasswordHash(wo, *without, peppered));
  // Another keyring, another pepper.
  const auto other =
      PepperPassword(DerivePasswordPepper(SecretBytes::Random(32)), AsBytes("sunshine99"));
  EXPECT_FALSE(VerifyPasswordHash(w, *with, other));
}

TEST(PasswordHash, GarbageIsRefusedNamingTheProblemNotTheHash) {
  const std::string good_bcrypt = Crypt("x", "$2b$", 4);
  const std::vector<std::string> bad = {
      "",
      "plaintext-password",
      "$1$abcdefgh$abcdefghijklmnopqrstuv",  // md5crypt: unsupported
      "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7",
      "$argon2id$v=16$m=4096,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=19$m=4096,t=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=19$m=9999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=19$m=04096,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=19$m=4096,t=1,p=1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=19$m=4096,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=19$m=4096,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
      "$2b$03$" + good_bcrypt.substr(7),
      "$2b$31$" + good_bcrypt.substr(7),
      good_bcrypt.substr(0, 59),
      good_bcrypt.substr(0, 59) + "!",
      "$2x$04$" + good_bcrypt.substr(7),
      "$6$$" + std::string(86, 'a'),
      "$6$rounds=10$salt$" + std::string(86, 'a'),
      "$6$salt$" + std::string(85, 'a'),
      "$6$saltsaltsaltsalt1$" + std::string(86, 'a'),
      "pbkdf2_sha256$0$salt$" + std::string(43, 'A') + "=",
      "pbkdf2_sha256$1000$$" + std::string(43, 'A') + "=",
      "pbkdf2_sha256$1000$salt$AAAA",
      "pbkdf2_sha256$99999999$salt$" + std::string(43, 'A') + "=",
      "pbkdf2_sha1$1000$salt$AAAA",
      std::string(600, '$'),
  };
  for (const auto& h : bad) {
    const auto parse = ParsePasswordHash(h);
    EXPECT_FALSE(parse.hash.has_value()) << h;
    EXPECT_FALSE(parse.problem.empty()) << h;
    if (h.size() > 8) {
      EXPECT_EQ(parse.problem.find(h.substr(h.size() - 8)), std::string::npos) << h;
    }
  }
  EXPECT_TRUE(ParsePasswordHash(good_bcrypt).hash.has_value());
}

TEST(PasswordThrottle, BacksOffAfterFreeFailuresAndResetsOnSuccess) {
  PasswordThrottle t(PasswordThrottle::Rules{3, 2, 60, 100});
  const std::string k = "subject";
  UnixSeconds now = 1000;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(t.Admit(k, now), 0);
    t.Finish(k, now, false);
  }
  EXPECT_EQ(t.Admit(k, now), 2);  // third failure: locked for base_delay
  now += 2;
  ASSERT_EQ(t.Admit(k, now), 0);
  t.Finish(k, now, false);
  EXPECT_EQ(t.Admit(k, now), 4);  // doubled
  now += 4;
  ASSERT_EQ(t.Admit(k, now), 0);
  EXPECT_EQ(t.Admit(k, now), 1) << "only one attempt in flight once the free ones are used";
  t.Finish(k, now, true);
  EXPECT_EQ(t.Admit(k, now), 0);
  t.Finish(k, now, std::nullopt);
  EXPECT_EQ(t.Admit("other", now), 0);
}

TEST(PasswordThrottle, FullTableFailsClosedForNewSubjectsOnly) {
  PasswordThrottle t(PasswordThrottle::Rules{1, 100, 100, 2});
  for (const char* k : {"a", "b"}) {
    ASSERT_EQ(t.Admit(k, 0), 0);
    t.Finish(k, 0, false);  // locked for 100 s
  }
  EXPECT_GT(t.Admit("c", 0), 0);
  EXPECT_EQ(t.Admit("c", 200), 0) << "expired locks are pruned when the table is full";
}

TEST(PasswordGate, BoundsRunningAndWaiting) {
  PasswordGate gate(2, 1000, 1);
  auto a = gate.Enter(400);
  auto b = gate.Enter(400);
  ASSERT_TRUE(a && b);
  std::atomic<bool> entered{false};
  std::thread waiter([&] {
    auto c = gate.Enter(400);
    entered = c.has_value();
  });
  while (gate.waiting() == 0) std::this_thread::yield();
  EXPECT_FALSE(gate.Enter(0).has_value()) << "the one waiting place is taken";
  EXPECT_FALSE(entered.load());
  a.reset();
  waiter.join();
  EXPECT_TRUE(entered.load());
  // Memory: 400 + 700 > 1000 waits even with a running place free.
  PasswordGate mem(4, 1000, 0);
  auto x = mem.Enter(400);
  EXPECT_FALSE(mem.Enter(700).has_value());
  EXPECT_TRUE(mem.Enter(600).has_value());
}

TEST(PasswordGate, ConcurrencyFromCoresAndMemory) {
  EXPECT_EQ(PasswordConcurrency(3, 0, 19456), 3u);
  EXPECT_EQ(PasswordConcurrency(0, 19456, 19456), 1u);
  EXPECT_EQ(PasswordConcurrency(0, 10, 19456), 1u);
  EXPECT_LE(PasswordConcurrency(0, 1u << 30, 19456),
            std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace
}  // namespace vault::crypto
