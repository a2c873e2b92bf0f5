// Restriction of processing (GDPR Art. 18): while a subject is restricted its data stays,
// app tokens' reads and writes of it are refused (kRestricted, by Subjects::CheckAccess on
// the subject row's `restricted` flag), and dpo/admin reads are audited as reads of a
// restricted subject. Owns the restrictions table (uid -> since, reason sealed under the
// subject's own `_subject` key, so an erasure takes the reason with it) and the flag.
#pragma once

#include <string>

#include "crypto/aead.h"
#include "vault/audit_log.h"
#include "vault/dek_table.h"
#include "vault/rows.h"
#include "vault/store.h"
#include "vault/subjects.h"
#include "vault/vault.h"

namespace vault {

class Restrictions {
 public:
  struct Parts {
    Store& store;
    const Clock& clock;
    Subjects& subjects;
    DekTable& deks;
    AuditLog& audit;
  };
  Restrictions(Parts parts, crypto::Aead cipher) : p_(parts), cipher_(cipher) {}

  StatusOr<RestrictionView> Place(const Actor& actor, const std::string& subject_id,
                                  const std::string& reason);
  Status Lift(const Actor& actor, const std::string& subject_id);
  StatusOr<RestrictionView> Get(const Actor& actor, const std::string& subject_id) const;
  // The restriction of a subject read in txn (the reason left empty unless with_reason, and
  // when it cannot be opened any more).
  RestrictionView Of(const Txn& txn, const SubjectRow& subject, bool with_reason) const;

 private:
  Status Refused(const Actor& actor, const char* action, const std::string& subject_id,
                 const Status& s) const;

  Parts p_;
  const crypto::Aead cipher_;
};

}  // namespace vault
