// Known-answer and tamper tests for the crypto layer.
#include <gtest/gtest.h>

#include "crypto/aead.h"
#include "crypto/primitives.h"
#include "crypto/secret.h"

namespace vault::crypto {
namespace {

std::vector<std::uint8_t> Hex(std::string_view h) { return FromHex(h).value(); }

TEST(Sha256Test, KnownAnswerAbc) {
  EXPECT_EQ(ToHex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HmacSha256Test, Rfc4231Case2) {
  auto key = SecretBytes::ImportCleartext(AsBytes("Jefe"));
  EXPECT_EQ(ToHex(HmacSha256(key, "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256Test, PrecomputedKeyGivesTheSameMacs) {
  auto jefe = SecretBytes::ImportCleartext(AsBytes("Jefe"));
  const HmacSha256Key k(jefe);
  EXPECT_EQ(ToHex(k.Mac("what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Reused many times, on messages of every block position, against the one-shot MAC.
  auto key = SecretBytes::Random(32);
  const HmacSha256Key pre(key);
  std::string msg;
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(pre.Mac(msg), HmacSha256(key, msg)) << i;
    msg.push_back(static_cast<char>('a' + i % 26));
  }
  EXPECT_NE(pre.Mac("x"), HmacSha256Key(SecretBytes::Random(32)).Mac("x"));
}

TEST(Ed25519Test, Rfc8032Test1) {
  auto seed = Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  auto pk = Hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  std::vector<std::uint8_t> sk = seed;
  sk.insert(sk.end(), pk.begin(), pk.end());
  auto secret = SecretBytes::ImportCleartext(sk);
  auto sig = Sign(secret, {});
  EXPECT_EQ(ToHex(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e"
            "39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(VerifySignature(pk, {}, sig));
  EXPECT_EQ(ToHex(*SigningPublicKey(secret)), ToHex(pk));
  sig[0] ^= 1;
  EXPECT_FALSE(VerifySignature(pk, {}, sig));
}

TEST(EncodingTest, HexAndBase64RoundTrip) {
  std::vector<std::uint8_t> b = {0, 1, 2, 250, 251, 255};
  EXPECT_EQ(*FromHex(ToHex(b)), b);
  EXPECT_EQ(*FromBase64(ToBase64(b)), b);
  EXPECT_EQ(*FromBase64Url(ToBase64Url(b)), b);
  EXPECT_EQ(ToBase64(AsBytes("hello")), "aGVsbG8=");
  EXPECT_FALSE(FromHex("abc").has_value());
  EXPECT_FALSE(FromHex("zz").has_value());
  EXPECT_FALSE(FromBase64("!!!").has_value());
}

TEST(SecretBytesTest, MoveOnlyAndConstantTimeEquals) {
  auto a = SecretBytes::Random(32);
  auto b = a.Clone();
  EXPECT_TRUE(a.Equals(b));
  b.mutable_secret_data()[31] ^= 1;
  EXPECT_FALSE(a.Equals(b));
  SecretBytes c = std::move(a);
  EXPECT_EQ(c.size(), 32u);
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  SecretBytes h;
  EXPECT_TRUE(SecretBytes::ImportCleartextHex(std::string(64, 'a'), 32, &h));
  EXPECT_FALSE(SecretBytes::ImportCleartextHex(std::string(63, 'a'), 32, &h));
  EXPECT_FALSE(SecretBytes::ImportCleartextHex(std::string(64, 'g'), 32, &h));
}

class EnvelopeTest : public ::testing::TestWithParam<Aead> {};

TEST_P(EnvelopeTest, RoundTripAndEveryFlippedBitFails) {
  if (!AeadAvailable(GetParam())) GTEST_SKIP() << "AES-256-GCM needs AES-NI";
  auto key = SecretBytes::Random(kKeyBytes);
  KeyId id = RandomArray<16>();
  const std::string msg = "marker-plaintext-0123456789";
  const std::string ctx = "subject|category|record";
  auto env = Seal(EnvelopeKind::kRecord, GetParam(), key, id, AsBytes(msg), AsBytes(ctx));
  ASSERT_EQ(env.size(), msg.size() + EnvelopeOverhead(GetParam()));
  auto h = PeekEnvelope(env);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->key_id, id);
  EXPECT_EQ(h->alg, GetParam());
  std::vector<std::uint8_t> out;
  ASSERT_TRUE(Open(EnvelopeKind::kRecord, key, env, AsBytes(ctx), &out));
  EXPECT_EQ(std::string(out.begin(), out.end()), msg);

  for (std::size_t i = 0; i < env.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto bad = env;
      bad[i] ^= static_cast<std::uint8_t>(1 << bit);
      std::vector<std::uint8_t> o;
      EXPECT_FALSE(Open(EnvelopeKind::kRecord, key, bad, AsBytes(ctx), &o)) << "byte " << i;
    }
  }
  std::vector<std::uint8_t> o;
  EXPECT_FALSE(Open(EnvelopeKind::kRecord, key, env, AsBytes("other|context"), &o));
  EXPECT_FALSE(Open(EnvelopeKind::kWrappedKey, key, env, AsBytes(ctx), &o));
  EXPECT_FALSE(Open(EnvelopeKind::kRecord, SecretBytes::Random(kKeyBytes), env, AsBytes(ctx), &o));
  EXPECT_FALSE(
      Open(EnvelopeKind::kRecord, key, std::span(env).first(env.size() - 1), AsBytes(ctx), &o));
  EXPECT_FALSE(Open(EnvelopeKind::kRecord, key, std::span(env).first(10), AsBytes(ctx), &o));
}

TEST_P(EnvelopeTest, NoncesAreFresh) {
  if (!AeadAvailable(GetParam())) GTEST_SKIP();
  auto key = SecretBytes::Random(kKeyBytes);
  KeyId id{};
  auto a = Seal(EnvelopeKind::kRecord, GetParam(), key, id, AsBytes("x"), {});
  auto b = Seal(EnvelopeKind::kRecord, GetParam(), key, id, AsBytes("x"), {});
  EXPECT_NE(a, b);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, EnvelopeTest,
                         ::testing::Values(Aead::kXChaCha20Poly1305, Aead::kAes256Gcm),
                         [](const ::testing::TestParamInfo<Aead>& p) {
                           return p.param == Aead::kAes256Gcm ? "Aes256Gcm" : "XChaCha20Poly1305";
                         });

TEST(EnvelopeTest2, WrappedSecretOpensIntoSecretBytes) {
  auto kek = SecretBytes::Random(kKeyBytes);
  auto dek = SecretBytes::Random(kKeyBytes);
  KeyId id = RandomArray<16>();
  auto w = Seal(EnvelopeKind::kWrappedKey, Aead::kXChaCha20Poly1305, kek, id, dek.secret_span(),
                AsBytes("dek|1"));
  SecretBytes out;
  ASSERT_TRUE(OpenSecret(EnvelopeKind::kWrappedKey, kek, w, AsBytes("dek|1"), &out));
  EXPECT_TRUE(out.Equals(dek));
  EXPECT_FALSE(OpenSecret(EnvelopeKind::kWrappedKey, kek, w, AsBytes("dek|2"), &out));
}

}  // namespace
}  // namespace vault::crypto
