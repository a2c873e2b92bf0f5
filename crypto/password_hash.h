// Password hashes: Argon2id hashing (libargon2), strict parsing of the encoded hashes other
// systems export (Argon2id/Argon2i PHC strings, bcrypt, SHA-512 crypt, Django PBKDF2-SHA256),
// their verification with the libraries that define them (libargon2, libxcrypt's crypt_rn,
// OpenSSL's PBKDF2), and the optional pepper. No storage, no policy: the caller says the cost.
//
// Thread safety: every function is safe to call from any thread at once.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "crypto/primitives.h"
#include "crypto/secret.h"

namespace vault::crypto {

struct Argon2Cost {
  std::uint32_t memory_kib = 19456;
  std::uint32_t iterations = 2;
  std::uint32_t parallelism = 1;
};

// The families of encoded hashes the vault stores or imports. The values are stored.
enum class PasswordAlgorithm : std::uint8_t {
  kArgon2id = 1,
  kArgon2i = 2,
  kBcrypt = 3,        // $2a$ $2b$ $2y$ (libxcrypt)
  kSha512Crypt = 4,   // $6$ (libxcrypt)
  kDjangoPbkdf2 = 5,  // pbkdf2_sha256$iterations$salt$hash (OpenSSL)
};
// "argon2id", "argon2i", "bcrypt", "sha512crypt", "pbkdf2_sha256".
const char* PasswordAlgorithmName(PasswordAlgorithm algorithm);
std::optional<PasswordAlgorithm> PasswordAlgorithmFromByte(std::uint8_t b);

// Bounds on the cost of an imported hash: a hash is verified on every login, so an absurd
// cost (bcrypt 31, Argon2 with gigabytes) would be a denial of service.
inline constexpr std::uint32_t kMaxImportArgon2MemoryKib = 262144;  // 256 MiB
inline constexpr std::uint32_t kMaxImportArgon2Iterations = 32;
inline constexpr std::uint32_t kMaxImportArgon2Parallelism = 16;
inline constexpr int kMaxImportBcryptCost = 16;
inline constexpr std::uint32_t kMaxImportSha512Rounds = 1000000;
inline constexpr std::uint32_t kMaxImportPbkdf2Iterations = 2000000;

// What a well-formed encoded hash is.
struct ParsedPasswordHash {
  PasswordAlgorithm algorithm = PasswordAlgorithm::kArgon2id;
  Argon2Cost argon2;  // the Argon2 families only
  // Memory one verification takes, in KiB (Argon2's m; the other families: 0).
  std::uint32_t memory_kib = 0;
};

// Either the parsed hash or a problem that names what is wrong with the format, never a
// part of the hash itself.
struct PasswordHashParse {
  std::optional<ParsedPasswordHash> hash;
  std::string problem;
};
PasswordHashParse ParsePasswordHash(std::string_view encoded);

// A fresh Argon2id PHC string ($argon2id$v=19$m=..,t=..,p=..$salt$hash) with a random
// 16-byte salt and a 32-byte tag; nullopt if libargon2 fails (out of memory).
std::optional<std::string> HashArgon2id(std::span<const std::uint8_t> password,
                                        const Argon2Cost& cost);

// Checks a password against an encoded hash with its family's library; the comparison is
// constant-time in the stored hash. REQUIRES: parsed came from ParsePasswordHash(encoded).
bool VerifyPasswordHash(const ParsedPasswordHash& parsed, const std::string& encoded,
                        std::span<const std::uint8_t> password);

// True when the hash is Argon2id with at least the given cost in every parameter.
bool MeetsArgon2idCost(const ParsedPasswordHash& parsed, const Argon2Cost& cost);

// The pepper: a 256-bit key derived (libsodium crypto_kdf) from a system key of the
// keyring, so it lives and dies with the keyring and never reaches the store.
SecretBytes DerivePasswordPepper(const SecretBytes& system_key);
// What Argon2 hashes when a pepper is in use: HMAC-SHA256(pepper, password).
Digest PepperPassword(const SecretBytes& pepper, std::span<const std::uint8_t> password);

}  // namespace vault::crypto
