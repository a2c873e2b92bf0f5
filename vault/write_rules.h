// A category's write rules: data minimisation checks and field transforms, applied to a
// record's data before anything of it is stored.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "vault/policy.h"
#include "vault/status.h"

namespace vault {

// kPolicyViolation naming the field (never its value) when data holds what the category
// forbids; Ok otherwise.
Status CheckForbidden(const Category& cat, const nlohmann::json& data);

// data with the category's transforms applied; kPolicyViolation naming a field whose value
// cannot be transformed (a truncate_ip field that is not an IP address).
StatusOr<nlohmann::json> ApplyTransforms(const Category& cat, const nlohmann::json& data);

// True when text holds a 13..19-digit number passing the Luhn check, written whole or in
// groups separated by single spaces or hyphens ("4111 1111 1111 1111").
bool HoldsPaymentCardNumber(std::string_view text);

// The address with its host part zeroed: IPv4 keeps /24 (last octet 0), IPv6 keeps /48;
// nullopt when text is not an IPv4 or IPv6 address.
std::optional<std::string> TruncateIp(const std::string& text);

}  // namespace vault
