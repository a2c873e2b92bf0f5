// Fuzz target: RFC 8785 canonical JSON (vault/receipt.h) and receipt signatures over it.
//
// Input: JSON text. When it canonicalises, the canonical form must parse back to the same
// value and be a fixed point; an object signed with SignReceipt must verify, and must stop
// verifying once a field changes.
#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "crypto/primitives.h"
#include "fuzz/fuzz_util.h"
#include "vault/receipt.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using nlohmann::json;
  namespace crypto = vault::crypto;
  static const crypto::SigningKeyPair signer = crypto::GenerateSigningKey();
  static const std::string public_key = crypto::ToBase64(signer.public_key);

  const std::string_view text = vault::fuzz::AsText({data, size});
  // The API refuses bodies nested deeper than 64 before parsing (api/json_codec.h); the
  // serialisers recurse, so stay within that here too.
  if (std::count(text.begin(), text.end(), '[') + std::count(text.begin(), text.end(), '{') > 64) {
    return 0;
  }
  const json value = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return 0;

  const auto canonical = vault::CanonicalJson(value);
  if (!canonical) return 0;
  const json reparsed = json::parse(*canonical, nullptr, false);
  VAULT_FUZZ_CHECK(!reparsed.is_discarded());
  VAULT_FUZZ_CHECK(reparsed == value);
  const auto again = vault::CanonicalJson(reparsed);
  VAULT_FUZZ_CHECK(again && *again == *canonical);

  if (!value.is_object()) return 0;
  json receipt = value;
  vault::SignReceipt(signer.secret, &receipt);
  VAULT_FUZZ_CHECK(vault::VerifyReceiptSignature(receipt, public_key));
  json tampered = receipt;
  tampered["fuzz_tampered"] = true;
  VAULT_FUZZ_CHECK(!vault::VerifyReceiptSignature(tampered, public_key));
  return 0;
}
