// How a blind-indexed value is normalised before it is hashed, the same at write and at lookup
// (docs/design.md "Lookup"): e-mail addresses, phone numbers (E.164 digits) and other text.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "vault/policy.h"
#include "vault/status.h"

namespace vault {

// The normalised form of a field's value, nullopt when there is nothing to index (null, or a
// string empty once trimmed). kPolicyViolation, naming the field and the rule but never the
// value, when the value cannot be one of the field's kind (a phone field that holds no phone
// number; an e-mail or phone field that holds no string).
//   email: ASCII whitespace trimmed, ASCII letters lower-cased, other bytes (UTF-8) as sent.
//   phone: spaces, tabs, '-', '.', '(' and ')' removed; a leading "+" (or "00") kept as "+";
//          what remains must be 4 to 15 digits.
//   text:  strings trimmed and lower-cased as e-mail; numbers and booleans as JSON text.
StatusOr<std::optional<std::string>> NormaliseIndexValue(const IndexedField& field,
                                                         const nlohmann::json& value);

}  // namespace vault
