// Table keys: how scopes, records and timed entries are named, and the keyed pseudonyms
// (HMAC under the keyring's index key) that keep subject and record ids out of the store.
// rows.h shows where each key is used.
#pragma once

#include <string>
#include <string_view>

#include "crypto/primitives.h"
#include "vault/clock.h"
#include "vault/codec.h"
#include "vault/rows.h"

namespace vault {

// The scope that holds a subject's sealed subject id (a category no policy may name).
inline constexpr std::string_view kSubjectScope = "_subject";

class IndexKeys {
 public:
  explicit IndexKeys(const crypto::HmacSha256Key& mac) : mac_(mac) {}

  // The subjects-table key of a subject id.
  std::string Pseudonym(const std::string& subject_id) const;
  // The records-table key: CategoryPrefix(uid, category) + 16 bytes of a keyed hash of the id.
  std::string RecordKey(const Uid& uid, const std::string& category,
                        const std::string& record_id) const;
  // The keyed hash of a normalised blind-index value of a field.
  crypto::Digest BlindMac(const std::string& field, const std::string& value) const;

 private:
  const crypto::HmacSha256Key& mac_;
};

// A key scope: uid | category | 0 | bucket (be64; 0 for scopes kept until erasure).
std::string ScopeKey(const Uid& uid, std::string_view category, UnixSeconds bucket);
// The part of a scope (and of a record key) that names the subject and category.
std::string CategoryPrefix(const Uid& uid, std::string_view category);
struct ScopeName {
  Uid uid{};
  std::string category;
  UnixSeconds bucket = 0;
};
bool ParseScope(std::string_view scope, ScopeName* out);
// The record key's last 16 bytes: the keyed hash of the record id.
inline std::string_view RecordMac(std::string_view record_key) {
  return record_key.substr(record_key.size() - 16);
}

// Keys of the timed tables (expiry, erasure_due): be64 time | id, sorted by time.
std::string TimedKey(UnixSeconds at, std::string_view id);
inline UnixSeconds TimedKeyAt(std::string_view key) {
  return static_cast<UnixSeconds>(ReadBigEndian(key));
}
inline std::string_view TimedKeyId(std::string_view key) { return key.substr(8); }

}  // namespace vault
