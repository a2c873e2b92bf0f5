// The input rules of rules.h: role names, id syntax, token shape.
#include "vault/rules.h"

#include <algorithm>

namespace vault {

const char* RoleName(Role r) {
  switch (r) {
    case Role::kAdmin:
      return "admin";
    case Role::kDpo:
      return "dpo";
    case Role::kApp:
      return "app";
    case Role::kAuditor:
      return "auditor";
  }
  return "unknown";
}

std::optional<Role> ParseRole(const std::string& name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "dpo") return Role::kDpo;
  if (name == "app") return Role::kApp;
  if (name == "auditor") return Role::kAuditor;
  return std::nullopt;
}

bool IsValidId(const std::string& id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  if (id == "." || id == "..") return false;  // path traversal tokens, never real ids
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '@' || c == '+' || c == '-';
  });
}

Status CheckId(const char* what, const std::string& id) {
  if (IsValidId(id)) return Status::Ok();
  return InvalidArgument(std::string(what) + " must be 1.." + std::to_string(kMaxIdBytes) +
                         " characters of [A-Za-z0-9._:@+-]");
}

bool IsValidPurpose(const std::string& p) {
  return !p.empty() && p.size() <= kMaxPurposeBytes && std::all_of(p.begin(), p.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

Status CheckTokenSpec(Role role, const std::vector<std::string>& purposes,
                      const std::string& name) {
  if (role == Role::kApp && purposes.empty()) {
    return InvalidArgument("an app token needs at least one purpose");
  }
  if (role != Role::kApp && !purposes.empty()) {
    return InvalidArgument("only app tokens carry purposes");
  }
  if (purposes.size() > kMaxTokenPurposes) {
    return InvalidArgument("at most " + std::to_string(kMaxTokenPurposes) + " purposes");
  }
  for (const auto& p : purposes) {
    if (!IsValidPurpose(p)) {
      return InvalidArgument("purposes must match [a-z0-9_-]{1," +
                             std::to_string(kMaxPurposeBytes) + "}");
    }
  }
  if (name.size() > kMaxTokenNameBytes) {
    return InvalidArgument("name is longer than " + std::to_string(kMaxTokenNameBytes) + " bytes");
  }
  return Status::Ok();
}

}  // namespace vault
