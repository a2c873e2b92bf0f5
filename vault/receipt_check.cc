// Vault::CheckReceipt: a receipt checked offline, field by field, then its key id and its
// signature, naming the first part that fails.
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>

#include "crypto/primitives.h"
#include "vault/receipt.h"
#include "vault/vault.h"

namespace vault {
namespace {

using nlohmann::json;

enum class Kind { kString, kTime, kHex128, kBool, kArray };

struct FieldRule {
  const char* name;
  Kind kind;
  bool required;
};

// The receipt's top-level fields (API.md "Rights"; requested_at, mode and the hold fields
// came later, so receipts without them are still valid).
constexpr FieldRule kTopFields[] = {
    {"erasure_id", Kind::kHex128, true},
    {"subject_ref", Kind::kHex128, true},
    {"completed_at", Kind::kTime, true},
    {"shredded", Kind::kArray, true},
    {"retained", Kind::kArray, true},
    {"unrecoverable_after", Kind::kTime, true},
    {"key_id", Kind::kString, true},
    {"signature", Kind::kString, true},
    {"requested_at", Kind::kTime, false},
    {"mode", Kind::kString, false},
    {"delayed_by_legal_hold", Kind::kBool, false},
    {"delayed_by_holds", Kind::kArray, false},
};

const char* KindProblem(Kind kind) {
  switch (kind) {
    case Kind::kString:
      return "is not a string";
    case Kind::kTime:
      return "is not an RFC 3339 UTC time";
    case Kind::kHex128:
      return "is not 32 hex characters";
    case Kind::kBool:
      return "is not a boolean";
    case Kind::kArray:
      return "is not an array";
  }
  return "is malformed";
}

bool Fits(const json& v, Kind kind) {
  switch (kind) {
    case Kind::kString:
      return v.is_string();
    case Kind::kTime:
      return v.is_string() && ParseRfc3339(v.get<std::string>()).has_value();
    case Kind::kHex128: {
      if (!v.is_string()) return false;
      const auto bytes = crypto::FromHex(v.get<std::string>());
      return bytes && bytes->size() == 16;
    }
    case Kind::kBool:
      return v.is_boolean();
    case Kind::kArray:
      return v.is_array();
  }
  return false;
}

ReceiptCheck Bad(std::string field, std::string problem) {
  return {false, std::move(field), std::move(problem)};
}

// Checks obj's fields against rules; path prefixes the names it reports.
std::optional<ReceiptCheck> CheckFields(const json& obj, std::span<const FieldRule> rules,
                                        const std::string& path) {
  if (!obj.is_object()) return Bad(path.empty() ? "receipt" : path, "is not a JSON object");
  const std::string prefix = path.empty() ? "" : path + ".";
  for (const FieldRule& r : rules) {
    const auto it = obj.find(r.name);
    if (it == obj.end()) {
      if (r.required) return Bad(prefix + r.name, "is missing");
      continue;
    }
    if (!Fits(*it, r.kind)) return Bad(prefix + r.name, KindProblem(r.kind));
  }
  return std::nullopt;
}

// Each element of the array field name against rules; strings_field: an array of strings.
std::optional<ReceiptCheck> CheckList(const json& receipt, const char* name,
                                      std::span<const FieldRule> rules,
                                      const char* strings_field = nullptr) {
  const auto it = receipt.find(name);
  if (it == receipt.end()) return std::nullopt;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const std::string path = std::string(name) + "[" + std::to_string(i) + "]";
    if (auto bad = CheckFields((*it)[i], rules, path)) return bad;
    if (strings_field == nullptr) continue;
    for (const json& s : (*it)[i][strings_field]) {
      if (!s.is_string())
        return Bad(path + "." + strings_field, "holds a value that is not a string");
    }
  }
  return std::nullopt;
}

constexpr FieldRule kShreddedFields[] = {{"category", Kind::kString, true},
                                         {"key_ids", Kind::kArray, true}};
constexpr FieldRule kRetainedFields[] = {{"category", Kind::kString, true},
                                         {"until", Kind::kTime, true},
                                         {"legal_basis", Kind::kString, true}};
constexpr FieldRule kHoldFields[] = {{"hold_id", Kind::kString, true},
                                     {"placed_at", Kind::kTime, true},
                                     {"released_at", Kind::kTime, true}};

}  // namespace

ReceiptCheck Vault::CheckReceipt(const json& receipt, const std::string& public_key_base64) {
  if (auto bad = CheckFields(receipt, kTopFields, "")) return *bad;
  if (auto bad = CheckList(receipt, "shredded", kShreddedFields, "key_ids")) return *bad;
  if (auto bad = CheckList(receipt, "retained", kRetainedFields)) return *bad;
  if (auto bad = CheckList(receipt, "delayed_by_holds", kHoldFields)) return *bad;
  const auto pk = crypto::FromBase64(public_key_base64);
  if (!pk || pk->size() != crypto::kSigningPublicBytes) {
    return Bad("public_key", "is not a base64 Ed25519 public key (32 bytes)");
  }
  const auto digest = crypto::Sha256(*pk);
  const std::string key_id = crypto::ToHex(std::span(digest).first(8));
  if (receipt["key_id"].get<std::string>() != key_id) {
    return Bad("key_id", "names key " + receipt["key_id"].get<std::string>() +
                             ", but the public key given is " + key_id);
  }
  const auto sig = crypto::FromBase64(receipt["signature"].get<std::string>());
  if (!sig || sig->size() != crypto::kSignatureBytes) {
    return Bad("signature", "is not a base64 Ed25519 signature (64 bytes)");
  }
  json body = receipt;
  body.erase("signature");
  if (!CanonicalJson(body)) {
    return Bad("receipt",
               "holds values with no canonical form here (numbers with fractions, "
               "non-ASCII keys)");
  }
  if (!VerifyReceiptSignature(receipt, public_key_base64)) {
    return Bad("signature",
               "does not verify: the receipt was changed after it was signed, or "
               "another key signed it");
  }
  return {true, "", ""};
}

}  // namespace vault
