// A category's write rules (write_rules.h).
#include "vault/write_rules.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

namespace vault {
namespace {

using nlohmann::json;

bool LuhnValid(const std::string& digits) {
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

// True for any run of whole digit groups of 13..19 digits in total that passes Luhn.
bool GroupsHoldCard(const std::vector<std::string>& groups) {
  for (std::size_t first = 0; first < groups.size(); ++first) {
    std::string digits;
    for (std::size_t last = first; last < groups.size() && digits.size() < 19; ++last) {
      digits += groups[last];
      if (digits.size() >= 13 && digits.size() <= 19 && LuhnValid(digits)) return true;
    }
  }
  return false;
}

bool IsCvvName(const std::string& key) {
  std::string k;
  for (const char c : key) {
    if (c != '_' && c != '-')
      k.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return k.find("cvv") != std::string::npos || k.find("cvc") != std::string::npos || k == "csc" ||
         k == "cardsecuritycode" || k == "securitycode";
}

// The first field under value (named path) that holds forbidden data, or "".
std::string FindForbidden(const Category& cat, const json& value, const std::string& path) {
  const bool cards =
      std::count(cat.forbid.begin(), cat.forbid.end(), ForbiddenData::kPaymentCardNumber) != 0;
  const bool cvv = std::count(cat.forbid.begin(), cat.forbid.end(), ForbiddenData::kCvv) != 0;
  if (value.is_object()) {
    for (const auto& [key, v] : value.items()) {
      std::string at = path.empty() ? key : path + "." + key;
      if (cvv && IsCvvName(key)) return at;
      std::string found = FindForbidden(cat, v, at);
      if (!found.empty()) return found;
    }
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      std::string found = FindForbidden(cat, value[i], path + "[" + std::to_string(i) + "]");
      if (!found.empty()) return found;
    }
  } else if (cards && value.is_string() &&
             HoldsPaymentCardNumber(value.get_ref<const std::string&>())) {
    return path;
  } else if (cards && value.is_number_unsigned() &&
             HoldsPaymentCardNumber(std::to_string(value.get<std::uint64_t>()))) {
    return path;
  }
  return "";
}

}  // namespace

bool HoldsPaymentCardNumber(std::string_view text) {
  std::vector<std::string> groups;
  std::string group;
  auto end_run = [&] {
    if (!group.empty()) groups.push_back(group);
    group.clear();
    const bool found = GroupsHoldCard(groups);
    groups.clear();
    return found;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      group.push_back(c);
      continue;
    }
    const bool separator = (c == ' ' || c == '-') && !group.empty() && i + 1 < text.size() &&
                           text[i + 1] >= '0' && text[i + 1] <= '9';
    if (separator) {
      groups.push_back(group);
      group.clear();
    } else if (end_run()) {
      return true;
    }
  }
  return end_run();
}

std::optional<std::string> TruncateIp(const std::string& text) {
  std::array<unsigned char, 16> addr{};
  std::array<char, INET6_ADDRSTRLEN> out{};
  if (inet_pton(AF_INET, text.c_str(), addr.data()) == 1) {
    addr[3] = 0;
    if (inet_ntop(AF_INET, addr.data(), out.data(), out.size()) == nullptr) return std::nullopt;
    return std::string(out.data());
  }
  if (inet_pton(AF_INET6, text.c_str(), addr.data()) != 1) return std::nullopt;
  static constexpr std::array<unsigned char, 12> kMapped = {0, 0, 0, 0, 0,    0,
                                                            0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMapped.begin(), kMapped.end(), addr.begin())) {
    addr[15] = 0;  // an IPv4 address written as IPv6: the IPv4 rule
  } else {
    std::fill(addr.begin() + 6, addr.end(), 0);  // keep the /48 site prefix
  }
  if (inet_ntop(AF_INET6, addr.data(), out.data(), out.size()) == nullptr) return std::nullopt;
  return std::string(out.data());
}

Status CheckForbidden(const Category& cat, const json& data) {
  if (cat.forbid.empty()) return Status::Ok();
  const std::string field = FindForbidden(cat, data, "");
  if (field.empty()) return Status::Ok();
  return PolicyViolation("field '" + field.substr(0, 200) + "' holds data that category '" +
                         cat.name +
                         "' must never store (a payment card number or card security code); "
                         "nothing was stored");
}

StatusOr<json> ApplyTransforms(const Category& cat, const json& data) {
  json out = data;
  if (!out.is_object()) return out;
  for (const auto& [field, transform] : cat.transforms) {
    auto it = out.find(field);
    if (it == out.end() || it->is_null()) continue;
    std::optional<std::string> shortened;
    if (it->is_string()) shortened = TruncateIp(it->get<std::string>());
    if (!shortened) {
      return PolicyViolation("field '" + field + "' of category '" + cat.name +
                             "' must be an IPv4 or IPv6 address (the policy shortens it with " +
                             FieldTransformName(transform) + "); nothing was stored");
    }
    *it = *shortened;
  }
  return out;
}

}  // namespace vault
