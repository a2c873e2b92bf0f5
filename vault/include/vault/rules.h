// The input rules every layer applies (engine, HTTP API, CLI): one definition each.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "vault/status.h"

namespace vault {

enum class Role { kAdmin, kDpo, kApp, kAuditor };
const char* RoleName(Role r);
std::optional<Role> ParseRole(const std::string& name);

// Subject and record ids: 1..kMaxIdBytes chars of [A-Za-z0-9._:@+-], never "." or "..".
inline constexpr std::size_t kMaxIdBytes = 128;
bool IsValidId(const std::string& id);
// kInvalidArgument naming which id ("subject id", "record id") breaks the rule.
Status CheckId(const char* what, const std::string& id);

// Free text written by operators (erasure and legal-hold reasons), sealed at rest.
inline constexpr std::size_t kMaxReasonBytes = 1024;

// Tokens: an app token carries 1..kMaxTokenPurposes purposes of [a-z0-9_-]{1,kMaxPurposeBytes};
// other roles carry none. A name is at most kMaxTokenNameBytes.
inline constexpr std::size_t kMaxTokenPurposes = 32;
inline constexpr std::size_t kMaxPurposeBytes = 64;
inline constexpr std::size_t kMaxTokenNameBytes = 128;
bool IsValidPurpose(const std::string& purpose);
Status CheckTokenSpec(Role role, const std::vector<std::string>& purposes, const std::string& name);

}  // namespace vault
