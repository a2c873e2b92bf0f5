// Table keys and pseudonyms (index_keys.h).
#include "vault/index_keys.h"

#include <cstring>

#include "vault/codec.h"

namespace vault {

std::string IndexKeys::Pseudonym(const std::string& subject_id) const {
  // "subject\0" + id was meant, but a char* literal stops at its NUL: the message has always
  // been "subject" + id. Kept byte for byte: changing it re-keys every stored pseudonym.
  return Bytes(mac_.Mac("subject" + subject_id));
}

std::string IndexKeys::RecordKey(const Uid& uid, const std::string& category,
                                 const std::string& record_id) const {
  std::string msg = "record" + Bytes(uid) + category;
  msg.push_back('\0');
  msg += record_id;
  const auto mac = mac_.Mac(msg);
  return CategoryPrefix(uid, category) + Bytes(std::span(mac).first(16));
}

crypto::Digest IndexKeys::BlindMac(const std::string& field, const std::string& value) const {
  // As in Pseudonym(): the literal's NUL never reached the message; kept byte for byte.
  return mac_.Mac("blind" + field + '\0' + value);
}

std::string ScopeKey(const Uid& uid, std::string_view category, UnixSeconds bucket) {
  std::string s = CategoryPrefix(uid, category);
  AppendBigEndian(&s, static_cast<std::uint64_t>(bucket));
  return s;
}

std::string CategoryPrefix(const Uid& uid, std::string_view category) {
  std::string s = Bytes(uid);
  s += category;
  s.push_back('\0');
  return s;
}

bool ParseScope(std::string_view scope, ScopeName* out) {
  if (scope.size() < 16 + 1 + 8) return false;
  const std::size_t nul = scope.find('\0', 16);
  if (nul == std::string_view::npos || scope.size() != nul + 1 + 8) return false;
  std::memcpy(out->uid.data(), scope.data(), 16);
  out->category = std::string(scope.substr(16, nul - 16));
  out->bucket = static_cast<UnixSeconds>(ReadBigEndian(scope.substr(nul + 1)));
  return true;
}

std::string TimedKey(UnixSeconds at, std::string_view id) {
  std::string s = BigEndianKey(static_cast<std::uint64_t>(at));
  s += id;
  return s;
}

}  // namespace vault
