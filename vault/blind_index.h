// The blind index: keyed hashes of the values of the fields a category marks `index:`, so a
// subject can be found by e-mail or phone without the value being stored. Owns the blind
// table (rows.h: a lookup entry, valued with the subject's pseudonym and the record's
// category, and its reverse, to find a record's entries to delete them).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "vault/index_keys.h"
#include "vault/policy.h"
#include "vault/rows.h"
#include "vault/store.h"

namespace vault {

class BlindIndex {
 public:
  explicit BlindIndex(const IndexKeys& keys) : keys_(keys) {}

  // One lookup entry: whose record holds the value.
  struct Entry {
    Uid uid{};
    std::string record_mac;  // RecordMac of the record's key
    std::string pseudonym;   // subjects-table key; empty in entries written before lookup
    std::string category;    // empty in entries written before lookup
  };

  // Replaces a record's entries with those of the indexed fields in its data (normalised as
  // index_value.h says; kPolicyViolation for a value the field's kind refuses). kConflict
  // when a unique field's value belongs to another subject's record of the same category.
  Status IndexRecord(Txn& txn, const Category& cat, const Uid& uid, const std::string& pseudonym,
                     std::string_view record_key, const nlohmann::json& data);
  Status RemoveRecord(Txn& txn, const Uid& uid, std::string_view record_key);
  Status RemoveSubject(Txn& txn, const Uid& uid);
  // The entries of field whose normalised value is value, in key order (at most limit).
  StatusOr<std::vector<Entry>> Find(const Txn& txn, const std::string& field,
                                    const std::string& value, std::size_t limit) const;

 private:
  Status RemoveReverse(Txn& txn, const std::string& reverse_prefix);
  Status CheckUnique(const Txn& txn, const Category& cat, const std::string& field,
                     const std::string& fkey, const Uid& uid) const;

  const IndexKeys& keys_;
};

}  // namespace vault
