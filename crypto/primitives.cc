// libsodium-backed primitives.
#include "crypto/primitives.h"

#include <sodium.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace vault::crypto {

void RandomFill(std::span<std::uint8_t> out) {
  if (!EnsureSodium()) throw std::runtime_error("libsodium failed to initialise");
  randombytes_buf(out.data(), out.size());
}

namespace {

// Finishes an HMAC from a keyed state and wipes the state.
Digest FinishHmac(crypto_auth_hmacsha256_state* st, std::span<const std::uint8_t> message) {
  static_assert(crypto_auth_hmacsha256_BYTES == 32);
  Digest out{};
  crypto_auth_hmacsha256_update(st, message.data(), message.size());
  crypto_auth_hmacsha256_final(st, out.data());
  sodium_memzero(st, sizeof *st);
  return out;
}

}  // namespace

Digest HmacSha256(const SecretBytes& key, std::span<const std::uint8_t> message) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key.secret_data(), key.size());
  return FinishHmac(&st, message);
}

Digest HmacSha256(const SecretBytes& key, std::string_view message) {
  return HmacSha256(key, AsBytes(message));
}

HmacSha256Key::HmacSha256Key(const SecretBytes& key)
    : state_(sizeof(crypto_auth_hmacsha256_state)) {
  // Built on the stack and copied as bytes: locked memory need not be aligned for the struct.
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key.secret_data(), key.size());
  std::memcpy(state_.mutable_secret_data(), &st, sizeof st);
  sodium_memzero(&st, sizeof st);
}

Digest HmacSha256Key::Mac(std::span<const std::uint8_t> message) const {
  crypto_auth_hmacsha256_state st;
  std::memcpy(&st, state_.secret_data(), sizeof st);
  return FinishHmac(&st, message);
}

Digest HmacSha256Key::Mac(std::string_view message) const { return Mac(AsBytes(message)); }

Digest Sha256(std::span<const std::uint8_t> message) {
  Digest out{};
  crypto_hash_sha256(out.data(), message.data(), message.size());
  return out;
}

Digest Sha256(std::string_view message) { return Sha256(AsBytes(message)); }

Sha256Stream::Sha256Stream() : state_(crypto_hash_sha256_statebytes()) {
  crypto_hash_sha256_init(reinterpret_cast<crypto_hash_sha256_state*>(state_.data()));
}

void Sha256Stream::Update(std::span<const std::uint8_t> bytes) {
  crypto_hash_sha256_update(reinterpret_cast<crypto_hash_sha256_state*>(state_.data()),
                            bytes.data(), bytes.size());
}

void Sha256Stream::Update(std::string_view bytes) {
  Update({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
}

Digest Sha256Stream::Final() {
  Digest out{};
  crypto_hash_sha256_final(reinterpret_cast<crypto_hash_sha256_state*>(state_.data()), out.data());
  return out;
}

std::optional<Digest> Sha256File(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return std::nullopt;
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  std::vector<std::uint8_t> buf(1 << 20);
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
    crypto_hash_sha256_update(&st, buf.data(), n);
  }
  const bool err = std::ferror(f) != 0;
  std::fclose(f);
  if (err) return std::nullopt;
  Digest out{};
  crypto_hash_sha256_final(&st, out.data());
  return out;
}

SigningKeyPair GenerateSigningKey() {
  static_assert(crypto_sign_SECRETKEYBYTES == kSigningSecretBytes);
  static_assert(crypto_sign_PUBLICKEYBYTES == kSigningPublicBytes);
  if (!EnsureSodium()) throw std::runtime_error("libsodium failed to initialise");
  SigningKeyPair kp{SecretBytes(kSigningSecretBytes), {}};
  crypto_sign_keypair(kp.public_key.data(), kp.secret.mutable_secret_data());
  return kp;
}

std::optional<std::array<std::uint8_t, kSigningPublicBytes>> SigningPublicKey(
    const SecretBytes& secret) {
  if (secret.size() != kSigningSecretBytes) return std::nullopt;
  std::array<std::uint8_t, kSigningPublicBytes> pk{};
  crypto_sign_ed25519_sk_to_pk(pk.data(), secret.secret_data());
  return pk;
}

std::array<std::uint8_t, kSignatureBytes> Sign(const SecretBytes& secret,
                                               std::span<const std::uint8_t> message) {
  if (secret.size() != kSigningSecretBytes) throw std::logic_error("signing key has wrong size");
  std::array<std::uint8_t, kSignatureBytes> sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret.secret_data());
  return sig;
}

bool VerifySignature(std::span<const std::uint8_t> public_key,
                     std::span<const std::uint8_t> message,
                     std::span<const std::uint8_t> signature) {
  if (!EnsureSodium() || public_key.size() != kSigningPublicBytes ||
      signature.size() != kSignatureBytes) {
    return false;
  }
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     public_key.data()) == 0;
}

std::string ToHex(std::span<const std::uint8_t> bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

std::optional<std::vector<std::uint8_t>> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::vector<std::uint8_t> out(hex.size() / 2);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &len, &end) != 0 ||
      len != out.size() || end != hex.data() + hex.size()) {
    return std::nullopt;
  }
  return out;
}

namespace {
std::string B64(std::span<const std::uint8_t> bytes, int variant) {
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}
std::optional<std::vector<std::uint8_t>> UnB64(std::string_view s, int variant) {
  std::vector<std::uint8_t> out(s.size() / 4 * 3 + 3);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), s.data(), s.size(), nullptr, &len, &end, variant) !=
          0 ||
      end != s.data() + s.size()) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}
}  // namespace

std::string ToBase64(std::span<const std::uint8_t> b) {
  return B64(b, sodium_base64_VARIANT_ORIGINAL);
}
std::optional<std::vector<std::uint8_t>> FromBase64(std::string_view b64) {
  return UnB64(b64, sodium_base64_VARIANT_ORIGINAL);
}
std::string ToBase64Url(std::span<const std::uint8_t> b) {
  return B64(b, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}
std::optional<std::vector<std::uint8_t>> FromBase64Url(std::string_view b64) {
  return UnB64(b64, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void WipeString(std::string* s) {
  if (!s->empty()) sodium_memzero(s->data(), s->size());
  s->clear();
}

void WipeBytes(std::span<std::uint8_t> b) {
  if (!b.empty()) sodium_memzero(b.data(), b.size());
}

bool ConstantTimeEquals(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace vault::crypto
