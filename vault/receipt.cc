// Canonical JSON and receipt signatures.
#include "vault/receipt.h"

#include "crypto/primitives.h"

namespace vault {
namespace {

bool Canonical(const nlohmann::json& v, std::string* out) {
  switch (v.type()) {
    case nlohmann::json::value_t::object: {
      out->push_back('{');
      bool first = true;
      // nlohmann's object is a std::map: keys in byte order, which equals UTF-16 code-unit
      // order for ASCII keys (checked below).
      for (const auto& [k, item] : v.items()) {
        for (unsigned char c : k) {
          if (c >= 0x80) return false;
        }
        if (!first) out->push_back(',');
        first = false;
        out->append(nlohmann::json(k).dump());
        out->push_back(':');
        if (!Canonical(item, out)) return false;
      }
      out->push_back('}');
      return true;
    }
    case nlohmann::json::value_t::array: {
      out->push_back('[');
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (i > 0) out->push_back(',');
        if (!Canonical(v[i], out)) return false;
      }
      out->push_back(']');
      return true;
    }
    case nlohmann::json::value_t::number_float:
    case nlohmann::json::value_t::binary:
    case nlohmann::json::value_t::discarded:
      return false;
    default:
      // Strings: nlohmann escapes exactly as JCS does (\" \\ \b \f \n \r \t, other
      // controls as \u00xx lowercase, everything else verbatim UTF-8). Integers, booleans
      // and null print as JCS requires.
      out->append(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict));
      return true;
  }
}

}  // namespace

std::optional<std::string> CanonicalJson(const nlohmann::json& value) {
  std::string out;
  try {
    if (!Canonical(value, &out)) return std::nullopt;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // invalid UTF-8 in a string
  }
  return out;
}

std::string SigningKeyId(const crypto::SecretBytes& signing_key) {
  auto pk = crypto::SigningPublicKey(signing_key);
  if (!pk) return "";
  auto d = crypto::Sha256(*pk);
  return crypto::ToHex(std::span(d).first(8));
}

void SignReceipt(const crypto::SecretBytes& signing_key, nlohmann::json* receipt) {
  receipt->erase("signature");
  (*receipt)["key_id"] = SigningKeyId(signing_key);
  const auto canonical = CanonicalJson(*receipt);
  const auto sig = crypto::Sign(signing_key, crypto::AsBytes(canonical.value()));
  (*receipt)["signature"] = crypto::ToBase64(sig);
}

bool VerifyReceiptSignature(const nlohmann::json& receipt, const std::string& public_key_base64) {
  if (!receipt.is_object() || !receipt.contains("signature") || !receipt["signature"].is_string()) {
    return false;
  }
  auto pk = crypto::FromBase64(public_key_base64);
  auto sig = crypto::FromBase64(receipt["signature"].get<std::string>());
  if (!pk || !sig) return false;
  nlohmann::json body = receipt;
  body.erase("signature");
  const auto canonical = CanonicalJson(body);
  if (!canonical) return false;
  return crypto::VerifySignature(*pk, crypto::AsBytes(*canonical), *sig);
}

}  // namespace vault
