// Erasure receipts: RFC 8785 canonical JSON and Ed25519 signatures over it.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "crypto/secret.h"

namespace vault {

// RFC 8785 (JCS) serialisation for the values Vault signs: objects with ASCII keys, strings,
// integers, booleans, null and arrays. nullopt for values outside that set (floats, non-ASCII
// keys), whose canonical forms need the full JCS number and UTF-16 ordering rules.
std::optional<std::string> CanonicalJson(const nlohmann::json& value);

// The signing key's id: hex of the first 8 bytes of SHA-256(public key).
std::string SigningKeyId(const crypto::SecretBytes& signing_key);
// Adds "key_id" and "signature" (base64) to receipt. REQUIRES: receipt is canonicalisable.
void SignReceipt(const crypto::SecretBytes& signing_key, nlohmann::json* receipt);
bool VerifyReceiptSignature(const nlohmann::json& receipt, const std::string& public_key_base64);

}  // namespace vault
