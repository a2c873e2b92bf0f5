// Subjects: the subjects table (pseudonym -> uid, state, restriction, pending erasure) and
// the one rule on a subject's state that every operation on its data applies.
#pragma once

#include <optional>
#include <string>

#include "crypto/aead.h"
#include "vault/clock.h"
#include "vault/dek_table.h"
#include "vault/index_keys.h"
#include "vault/rows.h"
#include "vault/store.h"
#include "vault/vault.h"

namespace vault {

// Who may touch the data of a subject in a given state.
struct Access {
  bool erased_ok = false;   // the subject may be erased or pending erasure
  bool privileged = false;  // restriction of processing does not apply
};

class Subjects {
 public:
  Subjects(const IndexKeys& keys, DekTable& deks, crypto::Aead cipher, const Clock& clock)
      : keys_(keys), deks_(deks), cipher_(cipher), clock_(clock) {}

  std::string Pseudonym(const std::string& subject_id) const { return keys_.Pseudonym(subject_id); }
  StatusOr<std::optional<SubjectRow>> Find(const Txn& txn, const std::string& pseudonym) const;
  // kNotFound when there is no such subject.
  StatusOr<SubjectRow> Get(const Txn& txn, const std::string& pseudonym) const;
  // The uid of the subject subject_id names, if the id is valid and the subject known: how
  // a refused attempt names its subject in the audit log.
  std::optional<Uid> UidOf(const Store& store, const std::string& subject_id) const;
  Status Save(Txn& txn, const std::string& pseudonym, const SubjectRow& row);
  // The subject, if the actor may touch its data: kNotFound, kGone (erased), kRestricted
  // (an app, when processing is restricted).
  StatusOr<SubjectRow> GetFor(const Txn& txn, const std::string& pseudonym, const Actor& actor,
                              Access access) const;
  // The subject a record is written for, created when new (its id sealed under the key of
  // its own scope, so erasure destroys it with the rest).
  StatusOr<SubjectRow> GetOrCreateForWrite(Txn& txn, const std::string& pseudonym,
                                           const std::string& subject_id, const Actor& actor);
  // The pseudonym of the subject whose uid is uid, by a scan of the subjects table (O(subjects):
  // only for blind-index entries written before they carried the pseudonym).
  StatusOr<std::optional<std::string>> PseudonymOfUid(const Txn& txn, const Uid& uid) const;
  // The subject id sealed in the row (under the subject's `_subject` DEK); kGone when the
  // subject is erased (the id and its key are destroyed).
  StatusOr<std::string> OpenSubjectId(const Txn& txn, const SubjectRow& subject) const;

 private:
  const IndexKeys& keys_;
  DekTable& deks_;
  const crypto::Aead cipher_;
  const Clock& clock_;
};

Status CheckAccess(const SubjectRow& subject, const Actor& actor, Access access);
SubjectState PublicState(StoredState s);

}  // namespace vault
