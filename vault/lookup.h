// Lookups: finds the subjects whose records hold a blind-indexed value (POST /v1/lookup), under
// purpose limitation, audited without the value. A duty over BlindIndex (the entries),
// Records (is the entry's record still live), Subjects (state, sealed id) and AuditLog; it
// owns no table. Not part of BlindIndex, which Records and Erasures call: it could not call
// Records back.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vault/audit_log.h"
#include "vault/blind_index.h"
#include "vault/objections.h"
#include "vault/policy.h"
#include "vault/records.h"
#include "vault/store.h"
#include "vault/subjects.h"
#include "vault/vault.h"

namespace vault {

class Lookups {
 public:
  struct Parts {
    Store& store;
    const Policy& policy;
    Subjects& subjects;
    BlindIndex& blind;
    Records& records;
    AuditLog& audit;
    const Objections& objections;  // an objection stops an app of that purpose
  };
  explicit Lookups(Parts parts) : p_(parts) {}

  StatusOr<Vault::LookupResult> Find(const Actor& actor, const Vault::LookupQuery& query);

 private:
  // A subject found, or the reason it may not be shown (pending erasure, restricted).
  struct Match {
    Uid uid{};
    std::string subject_id;
    Status refused;
  };
  // The category whose index names the field, and that field.
  StatusOr<std::pair<const Category*, const IndexedField*>> Resolve(
      const Vault::LookupQuery& query) const;
  struct Found {
    std::vector<Match> matches;
    bool more = false;  // further subjects may hold the value (LookupResult::truncated)
  };
  StatusOr<Found> Matches(const Txn& txn, const Actor& actor, const Category& cat,
                          const IndexedField& field, const std::string& value) const;
  StatusOr<std::optional<Match>> MatchOf(const Txn& txn, const Actor& actor, const Category& cat,
                                         const BlindIndex::Entry& e) const;
  Status Audit(const Actor& actor, const std::string& category, const std::vector<Match>& found,
               Status s) const;

  Parts p_;
};

}  // namespace vault
