// Subjects (subjects.h).
#include "vault/subjects.h"

#include "crypto/primitives.h"
#include "vault/codec.h"

namespace vault {

StatusOr<std::optional<SubjectRow>> Subjects::Find(const Txn& txn,
                                                   const std::string& pseudonym) const {
  auto v = txn.Get(Table::kSubjects, pseudonym);
  if (!v) return std::optional<SubjectRow>();
  SubjectRow r;
  if (!DecodeSubject(*v, &r)) return DataLoss("a subject row is corrupt");
  return std::optional<SubjectRow>(std::move(r));
}

StatusOr<SubjectRow> Subjects::Get(const Txn& txn, const std::string& pseudonym) const {
  VAULT_ASSIGN_OR_RETURN(auto found, Find(txn, pseudonym));
  if (!found) return NotFound("no such subject");
  return std::move(*found);
}

std::optional<Uid> Subjects::UidOf(const Store& store, const std::string& subject_id) const {
  if (!CheckId("subject id", subject_id).ok()) return std::nullopt;
  const std::string pseudonym = Pseudonym(subject_id);
  std::optional<Uid> uid;
  const Status s = store.Read([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(auto found, Find(txn, pseudonym));
    if (found) uid = found->uid;
    return Status::Ok();
  });
  return s.ok() ? uid : std::nullopt;
}

Status Subjects::Save(Txn& txn, const std::string& pseudonym, const SubjectRow& row) {
  return txn.Put(Table::kSubjects, pseudonym, EncodeSubject(row));
}

StatusOr<SubjectRow> Subjects::GetFor(const Txn& txn, const std::string& pseudonym,
                                      const Actor& actor, Access access) const {
  VAULT_ASSIGN_OR_RETURN(SubjectRow subject, Get(txn, pseudonym));
  VAULT_RETURN_IF_ERROR(CheckAccess(subject, actor, access));
  return subject;
}

StatusOr<SubjectRow> Subjects::GetOrCreateForWrite(Txn& txn, const std::string& pseudonym,
                                                   const std::string& subject_id,
                                                   const Actor& actor) {
  VAULT_ASSIGN_OR_RETURN(auto found, Find(txn, pseudonym));
  if (found) {
    VAULT_RETURN_IF_ERROR(CheckAccess(*found, actor, Access{}));
    return std::move(*found);
  }
  SubjectRow subject;
  subject.uid = crypto::RandomArray<16>();
  subject.created_at = clock_.Now();
  crypto::KeyId kid;
  crypto::SecretBytes dek;
  VAULT_RETURN_IF_ERROR(
      deks_.Create(txn, ScopeKey(subject.uid, kSubjectScope, 0), 0, &kid, &dek));
  const std::string ctx = "subject" + Bytes(subject.uid);
  subject.sealed_subject_id = crypto::Seal(crypto::EnvelopeKind::kRecord, cipher_, dek, kid,
                                           crypto::AsBytes(subject_id), crypto::AsBytes(ctx));
  VAULT_RETURN_IF_ERROR(Save(txn, pseudonym, subject));
  return subject;
}

StatusOr<std::optional<std::string>> Subjects::PseudonymOfUid(const Txn& txn,
                                                              const Uid& uid) const {
  std::optional<std::string> found;
  VAULT_RETURN_IF_ERROR(
      txn.ScanPrefix(Table::kSubjects, "", [&](std::string_view k, std::string_view v) {
        SubjectRow row;
        if (DecodeSubject(v, &row) && row.uid == uid) found = std::string(k);
        return !found;
      }));
  return found;
}

StatusOr<std::string> Subjects::OpenSubjectId(const Txn& txn, const SubjectRow& subject) const {
  if (subject.sealed_subject_id.empty()) return Status(Code::kGone, "the subject has been erased");
  const auto header = crypto::PeekEnvelope(subject.sealed_subject_id);
  if (!header) return DataLoss("a sealed subject id is corrupt");
  crypto::SecretBytes dek;
  VAULT_RETURN_IF_ERROR(deks_.Load(txn, header->key_id, &dek));
  const std::string ctx = "subject" + Bytes(subject.uid);
  std::vector<std::uint8_t> id;
  if (!crypto::Open(crypto::EnvelopeKind::kRecord, dek, subject.sealed_subject_id,
                    crypto::AsBytes(ctx), &id)) {
    return DataLoss("a sealed subject id failed authentication");
  }
  return std::string(id.begin(), id.end());
}

Status CheckAccess(const SubjectRow& subject, const Actor& actor, Access access) {
  if (subject.state != StoredState::kActive && !access.erased_ok) {
    return Status(Code::kGone, "the subject has been erased or is pending erasure");
  }
  if (subject.restricted && !access.privileged && actor.role == Role::kApp) {
    return Status(Code::kRestricted, "processing of this subject is restricted (GDPR Art. 18)");
  }
  return Status::Ok();
}

SubjectState PublicState(StoredState s) {
  switch (s) {
    case StoredState::kActive:
      return SubjectState::kActive;
    case StoredState::kErasurePending:
      return SubjectState::kErasurePending;
    case StoredState::kErased:
      return SubjectState::kErased;
  }
  return SubjectState::kActive;
}

}  // namespace vault
