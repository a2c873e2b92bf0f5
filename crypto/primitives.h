// Small libsodium-backed primitives: randomness, HMAC-SHA256, SHA-256, Ed25519, encodings.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secret.h"

namespace vault::crypto {

using Digest = std::array<std::uint8_t, 32>;

void RandomFill(std::span<std::uint8_t> out);
template <std::size_t N>
std::array<std::uint8_t, N> RandomArray() {
  std::array<std::uint8_t, N> a{};
  RandomFill(a);
  return a;
}

// HMAC-SHA256 keyed with a 256-bit system key (pseudonyms, blind indexes, audit chain).
Digest HmacSha256(const SecretBytes& key, std::span<const std::uint8_t> message);
Digest HmacSha256(const SecretBytes& key, std::string_view message);
Digest Sha256(std::span<const std::uint8_t> message);
Digest Sha256(std::string_view message);

// The same MAC for a key used on every request: the key's inner and outer SHA-256 states are
// computed once (libsodium's crypto_auth_hmacsha256_init) and kept in locked memory; each Mac
// copies them, so it costs two SHA-256 compressions fewer than HmacSha256. Thread-safe.
class HmacSha256Key {
 public:
  HmacSha256Key() = default;  // empty(); Mac must not be called
  explicit HmacSha256Key(const SecretBytes& key);
  bool empty() const { return state_.empty(); }
  Digest Mac(std::span<const std::uint8_t> message) const;
  Digest Mac(std::string_view message) const;

 private:
  SecretBytes state_;  // a crypto_auth_hmacsha256_state
};

// SHA-256 of a stream of bytes given piece by piece (a file as it is written).
class Sha256Stream {
 public:
  Sha256Stream();
  void Update(std::span<const std::uint8_t> bytes);
  void Update(std::string_view bytes);
  Digest Final();  // once; the stream is spent after it

 private:
  std::vector<std::uint8_t> state_;  // a crypto_hash_sha256_state
};

// SHA-256 of a file, read in chunks; nullopt if it cannot be read.
std::optional<Digest> Sha256File(const std::string& path);

// Ed25519 (libsodium crypto_sign).
inline constexpr std::size_t kSigningSecretBytes = 64;
inline constexpr std::size_t kSigningPublicBytes = 32;
inline constexpr std::size_t kSignatureBytes = 64;
struct SigningKeyPair {
  SecretBytes secret;  // 64 bytes: seed || public key
  std::array<std::uint8_t, kSigningPublicBytes> public_key{};
};
SigningKeyPair GenerateSigningKey();
// Re-derives the public key from a stored secret key; nullopt if the size is wrong.
std::optional<std::array<std::uint8_t, kSigningPublicBytes>> SigningPublicKey(
    const SecretBytes& secret);
std::array<std::uint8_t, kSignatureBytes> Sign(const SecretBytes& secret,
                                               std::span<const std::uint8_t> message);
[[nodiscard]] bool VerifySignature(std::span<const std::uint8_t> public_key,
                                   std::span<const std::uint8_t> message,
                                   std::span<const std::uint8_t> signature);

// Encodings (constant-time codecs from libsodium).
std::string ToHex(std::span<const std::uint8_t> bytes);
std::optional<std::vector<std::uint8_t>> FromHex(std::string_view hex);
std::string ToBase64(std::span<const std::uint8_t> bytes);  // standard alphabet, padded
std::optional<std::vector<std::uint8_t>> FromBase64(std::string_view b64);
std::string ToBase64Url(std::span<const std::uint8_t> bytes);  // URL-safe, no padding
std::optional<std::vector<std::uint8_t>> FromBase64Url(std::string_view b64);

// Constant-time equality of equal-length byte strings (false when lengths differ).
bool ConstantTimeEquals(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

// Overwrites a string's bytes (for transient copies of secrets, such as hex key text).
void WipeString(std::string* s);
void WipeBytes(std::span<std::uint8_t> b);

inline std::span<const std::uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace vault::crypto
