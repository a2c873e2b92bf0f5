// The blind index: keyed hashes of the values of the fields a category marks `index:`, so a
// subject can be found by e-mail or phone without the value being stored. Owns the blind
// table (rows.h: a lookup entry and its reverse, to find a record's entries to delete them).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "vault/policy.h"
#include "vault/index_keys.h"
#include "vault/rows.h"
#include "vault/store.h"

namespace vault {

class BlindIndex {
 public:
  explicit BlindIndex(const IndexKeys& keys) : keys_(keys) {}

  // Replaces a record's entries with those of the indexed fields in its data. kConflict
  // when a unique field's value belongs to another subject.
  Status IndexRecord(Txn& txn, const Category& cat, const Uid& uid, std::string_view record_key,
                     const nlohmann::json& data);
  Status RemoveRecord(Txn& txn, const Uid& uid, std::string_view record_key);
  Status RemoveSubject(Txn& txn, const Uid& uid);

 private:
  Status RemoveReverse(Txn& txn, const std::string& reverse_prefix);
  Status CheckUnique(const Txn& txn, const std::string& field, const std::string& fkey,
                     const Uid& uid) const;

  const IndexKeys& keys_;
};

}  // namespace vault
