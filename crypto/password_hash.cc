// Password hashes (password_hash.h): parsing is strict and purely syntactic; hashing and
// verification are library calls (libargon2, libxcrypt, OpenSSL), never hand-written crypto.
#include "crypto/password_hash.h"

#include <argon2.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <array>
#include <memory>
#include <vector>

namespace vault::crypto {
namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kTagBytes = 32;
constexpr std::string_view kCryptAlphabet =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
// bcrypt's own base64 order (the same characters, another order).
constexpr std::string_view kBcryptAlphabet =
    "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

// A decimal number without sign or leading zeros, at most max.
bool ParseNumber(std::string_view s, std::uint32_t max, std::uint32_t* out) {
  if (s.empty() || s.size() > 10 || (s.size() > 1 && s[0] == '0')) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > max) return false;
  *out = static_cast<std::uint32_t>(v);
  return true;
}

bool AllOf(std::string_view s, std::string_view alphabet) {
  return s.find_first_not_of(alphabet) == std::string_view::npos;
}

std::optional<std::vector<std::uint8_t>> DecodeBase64(std::string_view s, int variant) {
  std::vector<std::uint8_t> out(s.size());
  std::size_t len = 0;
  const char* end = nullptr;
  if (s.empty() ||
      sodium_base642bin(out.data(), out.size(), s.data(), s.size(), nullptr, &len, &end, variant) !=
          0 ||
      end != s.data() + s.size()) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

PasswordHashParse Problem(std::string problem) { return {std::nullopt, std::move(problem)}; }

PasswordHashParse Parsed(PasswordAlgorithm algorithm, Argon2Cost cost = {},
                         std::uint32_t memory_kib = 0) {
  return {ParsedPasswordHash{algorithm, cost, memory_kib}, ""};
}

// "m=<kib>,t=<iterations>,p=<lanes>", in that order.
bool ParseArgon2Params(std::string_view s, Argon2Cost* cost) {
  const auto parts = Split(s, ',');
  return parts.size() == 3 && parts[0].starts_with("m=") && parts[1].starts_with("t=") &&
         parts[2].starts_with("p=") &&
         ParseNumber(parts[0].substr(2), kMaxImportArgon2MemoryKib, &cost->memory_kib) &&
         ParseNumber(parts[1].substr(2), kMaxImportArgon2Iterations, &cost->iterations) &&
         ParseNumber(parts[2].substr(2), kMaxImportArgon2Parallelism, &cost->parallelism) &&
         cost->iterations >= 1 && cost->parallelism >= 1 &&
         cost->memory_kib >= 8 * cost->parallelism;
}

// $argon2id$v=19$m=..,t=..,p=..$<salt>$<tag>, salt and tag in unpadded standard base64.
PasswordHashParse ParseArgon2(std::string_view encoded, PasswordAlgorithm algorithm) {
  const auto f = Split(encoded, '$');
  if (f.size() != 6) return Problem("an Argon2 hash has six '$'-separated fields");
  if (f[2] != "v=19") return Problem("only Argon2 version 19 (v=19) hashes are supported");
  Argon2Cost cost;
  if (!ParseArgon2Params(f[3], &cost)) {
    return Problem(
        "the Argon2 parameters must be m=<KiB>,t=<iterations>,p=<lanes> within "
        "m<=262144, t<=32, p<=16");
  }
  const auto salt = DecodeBase64(f[4], sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
  if (!salt || salt->size() < 8 || salt->size() > 64) {
    return Problem("the Argon2 salt must be 8 to 64 bytes of unpadded base64");
  }
  const auto tag = DecodeBase64(f[5], sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
  if (!tag || tag->size() < 16 || tag->size() > 64) {
    return Problem("the Argon2 hash must be 16 to 64 bytes of unpadded base64");
  }
  return Parsed(algorithm, cost, cost.memory_kib);
}

// $2b$<cost>$<22 salt chars><31 hash chars> in bcrypt's base64 alphabet.
PasswordHashParse ParseBcrypt(std::string_view encoded) {
  if (encoded.size() != 60 || encoded[3] != '$' || encoded[6] != '$') {
    return Problem("a bcrypt hash is 60 characters: $2b$<cost>$<53 characters>");
  }
  std::uint32_t cost = 0;
  if (encoded[4] < '0' || encoded[4] > '9' || encoded[5] < '0' || encoded[5] > '9' ||
      !ParseNumber(encoded.substr(encoded[4] == '0' ? 5 : 4, encoded[4] == '0' ? 1 : 2),
                   kMaxImportBcryptCost, &cost) ||
      cost < 4) {
    return Problem("the bcrypt cost must be two digits from 04 to 16");
  }
  const std::string_view body = encoded.substr(7);
  if (!AllOf(body, kCryptAlphabet)) return Problem("a bcrypt hash uses the alphabet ./A-Za-z0-9");
  // 22 characters carry a 128-bit salt and 31 a 184-bit hash: the spare low bits are zero.
  if (std::string_view(".Oeu").find(body[21]) == std::string_view::npos ||
      kBcryptAlphabet.find(body[52]) % 4 != 0) {
    return Problem("the bcrypt salt or hash is not canonically encoded");
  }
  return Parsed(PasswordAlgorithm::kBcrypt);
}

// $6$[rounds=<n>$]<salt, 1..16 chars>$<86 hash chars>.
PasswordHashParse ParseSha512Crypt(std::string_view encoded) {
  auto f = Split(encoded.substr(3), '$');
  if (f.size() == 3 && f[0].starts_with("rounds=")) {
    std::uint32_t rounds = 0;
    if (!ParseNumber(f[0].substr(7), kMaxImportSha512Rounds, &rounds) || rounds < 1000) {
      return Problem("SHA-512 crypt rounds must be 1000 to 1000000");
    }
    f.erase(f.begin());
  }
  if (f.size() != 2) return Problem("a SHA-512 crypt hash is $6$[rounds=<n>$]<salt>$<hash>");
  if (f[0].empty() || f[0].size() > 16 || !AllOf(f[0], kCryptAlphabet)) {
    return Problem("the SHA-512 crypt salt must be 1 to 16 characters of ./A-Za-z0-9");
  }
  if (f[1].size() != 86 || !AllOf(f[1], kCryptAlphabet)) {
    return Problem("the SHA-512 crypt hash must be 86 characters of ./A-Za-z0-9");
  }
  return Parsed(PasswordAlgorithm::kSha512Crypt);
}

// pbkdf2_sha256$<iterations>$<salt>$<base64 of 32 bytes>.
PasswordHashParse ParseDjango(std::string_view encoded) {
  const auto f = Split(encoded, '$');
  if (f.size() != 4) return Problem("a Django hash is pbkdf2_sha256$<iterations>$<salt>$<hash>");
  std::uint32_t iterations = 0;
  if (!ParseNumber(f[1], kMaxImportPbkdf2Iterations, &iterations) || iterations < 1) {
    return Problem("the PBKDF2 iterations must be 1 to 2000000");
  }
  bool printable = !f[2].empty() && f[2].size() <= 128;
  for (char c : f[2]) printable = printable && c > 0x20 && c < 0x7f;
  if (!printable) return Problem("the PBKDF2 salt must be 1 to 128 printable ASCII characters");
  const auto tag = DecodeBase64(f[3], sodium_base64_VARIANT_ORIGINAL);
  if (!tag || tag->size() != 32) return Problem("the PBKDF2 hash must be 32 bytes of base64");
  return Parsed(PasswordAlgorithm::kDjangoPbkdf2);
}

bool HasNul(std::span<const std::uint8_t> p) {
  for (std::uint8_t b : p) {
    if (b == 0) return true;
  }
  return false;
}

// crypt(3) families: recompute with the stored setting, compare in constant time.
bool VerifyCrypt(const std::string& encoded, std::span<const std::uint8_t> password) {
  if (HasNul(password)) return false;  // crypt takes a C string: a NUL would truncate it
  const std::string phrase(reinterpret_cast<const char*>(password.data()), password.size());
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(phrase.c_str(), encoded.c_str(), data.get(), sizeof(crypt_data));
  const bool ok = out != nullptr && out[0] != '*' &&
                  std::string_view(out).size() == encoded.size() &&
                  CRYPTO_memcmp(out, encoded.data(), encoded.size()) == 0;
  sodium_memzero(data.get(), sizeof(crypt_data));
  return ok;
}

bool VerifyDjango(const std::string& encoded, std::span<const std::uint8_t> password) {
  const auto f = Split(encoded, '$');
  std::uint32_t iterations = 0;
  const auto expected = DecodeBase64(f[3], sodium_base64_VARIANT_ORIGINAL);
  if (!ParseNumber(f[1], kMaxImportPbkdf2Iterations, &iterations) || !expected) return false;
  std::array<std::uint8_t, 32> derived{};
  const bool ok =
      PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(password.data()),
                        static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(f[2].data()),
                        static_cast<int>(f[2].size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(derived.size()), derived.data()) == 1 &&
      CRYPTO_memcmp(derived.data(), expected->data(), derived.size()) == 0;
  sodium_memzero(derived.data(), derived.size());
  return ok;
}

}  // namespace

const char* PasswordAlgorithmName(PasswordAlgorithm algorithm) {
  switch (algorithm) {
    case PasswordAlgorithm::kArgon2id:
      return "argon2id";
    case PasswordAlgorithm::kArgon2i:
      return "argon2i";
    case PasswordAlgorithm::kBcrypt:
      return "bcrypt";
    case PasswordAlgorithm::kSha512Crypt:
      return "sha512crypt";
    case PasswordAlgorithm::kDjangoPbkdf2:
      return "pbkdf2_sha256";
  }
  return "unknown";
}

std::optional<PasswordAlgorithm> PasswordAlgorithmFromByte(std::uint8_t b) {
  if (b < 1 || b > 5) return std::nullopt;
  return static_cast<PasswordAlgorithm>(b);
}

PasswordHashParse ParsePasswordHash(std::string_view encoded) {
  if (encoded.empty()) return Problem("the hash is empty");
  if (encoded.size() > 512) return Problem("the hash is longer than 512 characters");
  if (encoded.starts_with("$argon2id$")) return ParseArgon2(encoded, PasswordAlgorithm::kArgon2id);
  if (encoded.starts_with("$argon2i$")) return ParseArgon2(encoded, PasswordAlgorithm::kArgon2i);
  if (encoded.starts_with("$2a$") || encoded.starts_with("$2b$") || encoded.starts_with("$2y$")) {
    return ParseBcrypt(encoded);
  }
  if (encoded.starts_with("$6$")) return ParseSha512Crypt(encoded);
  if (encoded.starts_with("pbkdf2_sha256$")) return ParseDjango(encoded);
  return Problem(
      "unsupported hash format: supported are $argon2id$, $argon2i$, bcrypt ($2a$, $2b$, $2y$), "
      "SHA-512 crypt ($6$) and Django pbkdf2_sha256$");
}

std::optional<std::string> HashArgon2id(std::span<const std::uint8_t> password,
                                        const Argon2Cost& cost) {
  const auto salt = RandomArray<kSaltBytes>();
  std::string encoded(argon2_encodedlen(cost.iterations, cost.memory_kib, cost.parallelism,
                                        kSaltBytes, kTagBytes, Argon2_id),
                      '\0');
  if (argon2id_hash_encoded(cost.iterations, cost.memory_kib, cost.parallelism, password.data(),
                            password.size(), salt.data(), salt.size(), kTagBytes, encoded.data(),
                            encoded.size()) != ARGON2_OK) {
    return std::nullopt;
  }
  encoded.resize(std::string_view(encoded.c_str()).size());
  return encoded;
}

bool VerifyPasswordHash(const ParsedPasswordHash& parsed, const std::string& encoded,
                        std::span<const std::uint8_t> password) {
  switch (parsed.algorithm) {
    case PasswordAlgorithm::kArgon2id:
    case PasswordAlgorithm::kArgon2i:
      return argon2_verify(
                 encoded.c_str(), password.data(), password.size(),
                 parsed.algorithm == PasswordAlgorithm::kArgon2id ? Argon2_id : Argon2_i) ==
             ARGON2_OK;
    case PasswordAlgorithm::kBcrypt:
    case PasswordAlgorithm::kSha512Crypt:
      return VerifyCrypt(encoded, password);
    case PasswordAlgorithm::kDjangoPbkdf2:
      return VerifyDjango(encoded, password);
  }
  return false;
}

bool MeetsArgon2idCost(const ParsedPasswordHash& parsed, const Argon2Cost& cost) {
  return parsed.algorithm == PasswordAlgorithm::kArgon2id &&
         parsed.argon2.memory_kib >= cost.memory_kib &&
         parsed.argon2.iterations >= cost.iterations &&
         parsed.argon2.parallelism >= cost.parallelism;
}

SecretBytes DerivePasswordPepper(const SecretBytes& system_key) {
  static_assert(crypto_kdf_KEYBYTES == 32);
  SecretBytes pepper(32);
  crypto_kdf_derive_from_key(pepper.mutable_secret_data(), pepper.size(), 1, "pwpepper",
                             system_key.secret_data());
  return pepper;
}

Digest PepperPassword(const SecretBytes& pepper, std::span<const std::uint8_t> password) {
  return HmacSha256(pepper, password);
}

}  // namespace vault::crypto
