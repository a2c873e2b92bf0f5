// Envelope sealing and opening over libsodium's AEAD constructions.
#include "crypto/aead.h"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

namespace vault::crypto {
namespace {

constexpr std::size_t kTagBytes = 16;
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kTagBytes);
static_assert(crypto_aead_aes256gcm_ABYTES == kTagBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == kKeyBytes);
static_assert(crypto_aead_aes256gcm_KEYBYTES == kKeyBytes);

std::size_t NonceBytes(Aead alg) {
  return alg == Aead::kAes256Gcm ? crypto_aead_aes256gcm_NPUBBYTES
                                 : crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
}

bool KnownAlg(std::uint8_t a) {
  return a == static_cast<std::uint8_t>(Aead::kXChaCha20Poly1305) ||
         a == static_cast<std::uint8_t>(Aead::kAes256Gcm);
}

std::vector<std::uint8_t> AssociatedData(std::span<const std::uint8_t> header,
                                         std::span<const std::uint8_t> context) {
  std::vector<std::uint8_t> ad(header.size() + context.size());
  std::memcpy(ad.data(), header.data(), header.size());
  if (!context.empty()) std::memcpy(ad.data() + header.size(), context.data(), context.size());
  return ad;
}

// Decrypts into out (exactly plaintext-sized); false on failure.
bool OpenRaw(EnvelopeKind kind, const SecretBytes& key, std::span<const std::uint8_t> env,
             std::span<const std::uint8_t> context, std::uint8_t* out, std::size_t out_size) {
  auto h = PeekEnvelope(env);
  if (!h || h->kind != kind || key.size() != kKeyBytes || !AeadAvailable(h->alg)) return false;
  const std::size_t nonce_bytes = NonceBytes(h->alg);
  if (env.size() != kEnvelopeHeaderBytes + nonce_bytes + out_size + kTagBytes) return false;
  const std::uint8_t* nonce = env.data() + kEnvelopeHeaderBytes;
  const std::uint8_t* ct = nonce + nonce_bytes;
  const std::size_t ct_len = out_size + kTagBytes;
  auto ad = AssociatedData(env.first(kEnvelopeHeaderBytes), context);
  unsigned long long plain_len = 0;
  int rc;
  if (h->alg == Aead::kAes256Gcm) {
    rc = crypto_aead_aes256gcm_decrypt(out, &plain_len, nullptr, ct, ct_len, ad.data(), ad.size(),
                                       nonce, key.secret_data());
  } else {
    rc = crypto_aead_xchacha20poly1305_ietf_decrypt(out, &plain_len, nullptr, ct, ct_len, ad.data(),
                                                    ad.size(), nonce, key.secret_data());
  }
  return rc == 0 && plain_len == out_size;
}

bool PlainSize(std::span<const std::uint8_t> env, std::size_t* size) {
  auto h = PeekEnvelope(env);
  if (!h) return false;
  const std::size_t overhead = EnvelopeOverhead(h->alg);
  if (env.size() < overhead) return false;
  *size = env.size() - overhead;
  return true;
}

}  // namespace

bool AeadAvailable(Aead alg) {
  if (!EnsureSodium()) return false;
  if (alg == Aead::kXChaCha20Poly1305) return true;
  if (alg == Aead::kAes256Gcm) return crypto_aead_aes256gcm_is_available() == 1;
  return false;
}

std::size_t EnvelopeOverhead(Aead alg) {
  return kEnvelopeHeaderBytes + NonceBytes(alg) + kTagBytes;
}

std::vector<std::uint8_t> Seal(EnvelopeKind kind, Aead alg, const SecretBytes& key,
                               const KeyId& key_id, std::span<const std::uint8_t> plaintext,
                               std::span<const std::uint8_t> context) {
  if (!AeadAvailable(alg)) throw std::logic_error("AEAD algorithm not available on this CPU");
  if (key.size() != kKeyBytes) throw std::logic_error("AEAD key has the wrong size");
  const std::size_t nonce_bytes = NonceBytes(alg);
  std::vector<std::uint8_t> env(EnvelopeOverhead(alg) + plaintext.size());
  env[0] = kEnvelopeMagic;
  env[1] = static_cast<std::uint8_t>(kind);
  env[2] = kEnvelopeVersion;
  env[3] = static_cast<std::uint8_t>(alg);
  std::memcpy(env.data() + 4, key_id.data(), kKeyIdBytes);
  std::uint8_t* nonce = env.data() + kEnvelopeHeaderBytes;
  randombytes_buf(nonce, nonce_bytes);
  std::uint8_t* ct = nonce + nonce_bytes;
  auto ad = AssociatedData(std::span(env).first(kEnvelopeHeaderBytes), context);
  unsigned long long ct_len = 0;
  if (alg == Aead::kAes256Gcm) {
    crypto_aead_aes256gcm_encrypt(ct, &ct_len, plaintext.data(), plaintext.size(), ad.data(),
                                  ad.size(), nullptr, nonce, key.secret_data());
  } else {
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &ct_len, plaintext.data(), plaintext.size(),
                                               ad.data(), ad.size(), nullptr, nonce,
                                               key.secret_data());
  }
  return env;
}

std::optional<EnvelopeHeader> PeekEnvelope(std::span<const std::uint8_t> env) {
  if (env.size() < kEnvelopeHeaderBytes) return std::nullopt;
  if (env[0] != kEnvelopeMagic || env[2] != kEnvelopeVersion || !KnownAlg(env[3])) {
    return std::nullopt;
  }
  EnvelopeHeader h{static_cast<EnvelopeKind>(env[1]), env[2], static_cast<Aead>(env[3]), {}};
  std::memcpy(h.key_id.data(), env.data() + 4, kKeyIdBytes);
  if (env.size() < EnvelopeOverhead(h.alg)) return std::nullopt;
  return h;
}

bool Open(EnvelopeKind kind, const SecretBytes& key, std::span<const std::uint8_t> envelope,
          std::span<const std::uint8_t> context, std::vector<std::uint8_t>* out) {
  std::size_t n = 0;
  if (!PlainSize(envelope, &n)) return false;
  std::vector<std::uint8_t> plain(n);
  if (!OpenRaw(kind, key, envelope, context, plain.data(), n)) {
    sodium_memzero(plain.data(), plain.size());
    return false;
  }
  *out = std::move(plain);
  return true;
}

bool OpenSecret(EnvelopeKind kind, const SecretBytes& key, std::span<const std::uint8_t> envelope,
                std::span<const std::uint8_t> context, SecretBytes* out) {
  std::size_t n = 0;
  if (!PlainSize(envelope, &n)) return false;
  SecretBytes plain(n);
  if (!OpenRaw(kind, key, envelope, context, plain.mutable_secret_data(), n)) return false;
  *out = std::move(plain);
  return true;
}

}  // namespace vault::crypto
