// Normalisation of blind-indexed values (index_value.h).
#include "vault/index_value.h"

#include <string_view>

namespace vault {
namespace {

constexpr std::size_t kMinPhoneDigits = 4;
constexpr std::size_t kMaxPhoneDigits = 15;  // E.164: at most 15 digits, country code included

bool IsAsciiSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string TrimLower(std::string_view v) {
  while (!v.empty() && IsAsciiSpace(v.front())) v.remove_prefix(1);
  while (!v.empty() && IsAsciiSpace(v.back())) v.remove_suffix(1);
  std::string out(v);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// "+" and the digits, or nullopt when the text is not a phone number.
std::optional<std::string> E164(std::string_view v) {
  std::string out;
  bool plus = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')') continue;
    if (c == '+' && out.empty() && !plus) {
      plus = true;
      continue;
    }
    if (c < '0' || c > '9') return std::nullopt;
    out.push_back(c);
  }
  if (!plus && out.starts_with("00")) {  // the international prefix most countries dial
    out.erase(0, 2);
    plus = true;
  }
  if (out.size() < kMinPhoneDigits || out.size() > kMaxPhoneDigits) return std::nullopt;
  if (plus && out.front() == '0') return std::nullopt;  // no country code starts with 0
  return plus ? "+" + out : out;
}

}  // namespace

StatusOr<std::optional<std::string>> NormaliseIndexValue(const IndexedField& field,
                                                         const nlohmann::json& value) {
  using Result = std::optional<std::string>;
  if (value.is_null()) return Result();
  if (!value.is_string()) {
    if (field.kind == IndexKind::kText) return Result(value.dump());
    return PolicyViolation("field '" + field.name + "' is indexed as " + IndexKindName(field.kind) +
                           " and must be a string");
  }
  const std::string trimmed = TrimLower(value.get_ref<const std::string&>());
  if (trimmed.empty()) return Result();
  if (field.kind != IndexKind::kPhone) return Result(trimmed);
  auto phone = E164(trimmed);
  if (!phone) {
    return PolicyViolation("field '" + field.name +
                           "' is indexed as a phone number and its value is not one (digits, "
                           "spaces, '-', '.', '(', ')' and a leading '+'; 4 to 15 digits)");
  }
  return Result(std::move(*phone));
}

}  // namespace vault
