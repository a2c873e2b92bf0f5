// Fuzz target: the password hash importer (crypto/password_hash.h), every supported format.
//
// Input: text, an encoded hash as `PUT /v1/subjects/{sid}/password {"hash"}` takes it. A hash
// that parses names its family by its prefix and stays within the import cost bounds; one that
// does not gets a problem text that never repeats the input. Cheap parsed hashes are verified
// with the real libraries (libargon2, libxcrypt, OpenSSL), which must not crash on them.
#include <cstdint>
#include <string>

#include "crypto/password_hash.h"
#include "fuzz/fuzz_util.h"

namespace {

namespace crypto = vault::crypto;

// Verification is what a login costs: only small costs are run, so the fuzzer stays fast.
bool Cheap(const crypto::ParsedPasswordHash& h, std::string_view s) {
  switch (h.algorithm) {
    case crypto::PasswordAlgorithm::kArgon2id:
    case crypto::PasswordAlgorithm::kArgon2i:
      return h.argon2.memory_kib <= 256 && h.argon2.iterations <= 2;
    case crypto::PasswordAlgorithm::kBcrypt:
      return s.substr(4, 2) == "04";
    case crypto::PasswordAlgorithm::kSha512Crypt:
      return s.find("rounds=") == std::string_view::npos;
    case crypto::PasswordAlgorithm::kDjangoPbkdf2:
      return s.substr(14, 5) == "1000$" || s.substr(14, 2) == "1$";
  }
  return false;
}

const char* Prefix(crypto::PasswordAlgorithm a) {
  switch (a) {
    case crypto::PasswordAlgorithm::kArgon2id:
      return "$argon2id$";
    case crypto::PasswordAlgorithm::kArgon2i:
      return "$argon2i$";
    case crypto::PasswordAlgorithm::kBcrypt:
      return "$2";
    case crypto::PasswordAlgorithm::kSha512Crypt:
      return "$6$";
    case crypto::PasswordAlgorithm::kDjangoPbkdf2:
      return "pbkdf2_sha256$";
  }
  return "?";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(vault::fuzz::AsText({data, size}));
  const crypto::PasswordHashParse parse = crypto::ParsePasswordHash(input);
  if (!parse.hash) {
    VAULT_FUZZ_CHECK(!parse.problem.empty());
    // Never an echo of the input. Problems are fixed sentences (they list the formats, so a
    // printable input can be a piece of one: "$) and Django pbkdf2_sha" was); an input with a
    // byte no sentence holds can only appear in a problem by being echoed.
    const bool marked = input.find_first_of("\x01\x7f") != std::string::npos;
    if (input.size() >= 8 && marked) {
      VAULT_FUZZ_CHECK(parse.problem.find(input) == std::string::npos);
    }
    return 0;
  }
  const crypto::ParsedPasswordHash& h = *parse.hash;
  VAULT_FUZZ_CHECK(parse.problem.empty());
  VAULT_FUZZ_CHECK(input.rfind(Prefix(h.algorithm), 0) == 0);
  if (h.algorithm == crypto::PasswordAlgorithm::kArgon2id ||
      h.algorithm == crypto::PasswordAlgorithm::kArgon2i) {
    VAULT_FUZZ_CHECK(h.memory_kib == h.argon2.memory_kib);
    VAULT_FUZZ_CHECK(h.argon2.memory_kib <= crypto::kMaxImportArgon2MemoryKib);
    VAULT_FUZZ_CHECK(h.argon2.iterations >= 1 && h.argon2.parallelism >= 1);
  } else {
    VAULT_FUZZ_CHECK(h.memory_kib == 0);
  }
  if (Cheap(h, input)) {
    (void)crypto::VerifyPasswordHash(h, input, crypto::AsBytes("fuzz"));
    (void)crypto::VerifyPasswordHash(h, input, crypto::AsBytes(std::string_view("a\0b", 3)));
  }
  return 0;
}
