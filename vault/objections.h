// Objection to processing for one purpose (GDPR Art. 21): while a subject objects to a
// purpose, app tokens reading or writing its data for that purpose get kRestricted (423);
// other purposes continue. Owns the objections table (uid | purpose -> since, reason sealed
// under the subject's own `_subject` key, so an erasure takes the reason with it; the rows
// themselves go at erasure, the audit log keeps that they existed).
#pragma once

#include <string>
#include <vector>

#include "crypto/aead.h"
#include "vault/audit_log.h"
#include "vault/dek_table.h"
#include "vault/policy.h"
#include "vault/rows.h"
#include "vault/store.h"
#include "vault/subjects.h"
#include "vault/vault.h"

namespace vault {

class Objections {
 public:
  struct Parts {
    Store& store;
    const Policy& policy;
    const Clock& clock;
    Subjects& subjects;
    DekTable& deks;
    AuditLog& audit;
  };
  Objections(Parts parts, crypto::Aead cipher) : p_(parts), cipher_(cipher) {}

  // Records (or, again, replaces the reason of, keeping `since`) an objection. The purpose
  // must be a purpose of some category of the policy (kPolicyViolation).
  StatusOr<ObjectionView> Object(const Actor& actor, const std::string& subject_id,
                                 const std::string& purpose, const std::string& reason);
  // kNotFound when the subject does not object to the purpose.
  Status Lift(const Actor& actor, const std::string& subject_id, const std::string& purpose);
  // Every objection of the subject, reasons included (audited as objection.list).
  StatusOr<std::vector<ObjectionView>> List(const Actor& actor, const std::string& subject_id);

  // The subject's objections read in txn (reasons only when with_reason and still openable).
  StatusOr<std::vector<ObjectionView>> Of(const Txn& txn, const Uid& uid, bool with_reason) const;
  // kRestricted when actor is an app and a purpose it would use on category (its token's
  // purposes the category lists) is one the subject objects to; ok for dpo/admin.
  Status Check(const Txn& txn, const Uid& uid, const Actor& actor, const Category& category) const;
  // Removes the subject's rows (an erasure: the audit log keeps the history).
  static Status Forget(Txn& txn, const Uid& uid);

 private:
  Status Refused(const Actor& actor, const char* action, const std::string& subject_id,
                 const std::string& purpose, const Status& s) const;
  Status CheckRequest(const std::string& subject_id, const std::string& purpose) const;

  Parts p_;
  const crypto::Aead cipher_;
};

}  // namespace vault
