// Restriction of processing (restriction.h).
#include "vault/restriction.h"

#include "crypto/primitives.h"
#include "vault/codec.h"
#include "vault/index_keys.h"

namespace vault {
namespace {

std::vector<std::uint8_t> ReasonContext(const Uid& uid) {
  std::string ctx = "restriction/1" + Bytes(uid);
  return {ctx.begin(), ctx.end()};
}

std::string EncodeRestriction(UnixSeconds since, const std::vector<std::uint8_t>& sealed) {
  const auto bytes = RowWriter().I64(since).Bytes(sealed).Take();
  return {bytes.begin(), bytes.end()};
}

bool DecodeRestriction(std::string_view v, UnixSeconds* since, std::vector<std::uint8_t>* sealed) {
  RowReader rd(crypto::AsBytes(v));
  return rd.I64(since) && rd.Bytes(sealed) && rd.AtEnd();
}

}  // namespace

Status Restrictions::Refused(const Actor& actor, const char* action, const std::string& subject_id,
                             const Status& s) const {
  p_.audit.AppendAsync(actor, action, p_.subjects.UidOf(p_.store, subject_id), "", s.code());
  return s;
}

StatusOr<RestrictionView> Restrictions::Place(const Actor& actor, const std::string& subject_id,
                                              const std::string& reason) {
  Status valid = CheckId("subject id", subject_id);
  if (valid.ok() && (reason.empty() || reason.size() > kMaxReasonBytes)) {
    valid = InvalidArgument("reason must be 1.." + std::to_string(kMaxReasonBytes) + " bytes");
  }
  if (!valid.ok()) return Refused(actor, "restriction.place", subject_id, valid);
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  RestrictionView view;
  Status s = p_.store.Write([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(SubjectRow subject, p_.subjects.Get(txn, pseudonym));
    if (subject.state == StoredState::kErased) return Status(Code::kGone, "the subject is erased");
    view = {true, p_.clock.Now(), reason};
    UnixSeconds old_since = 0;
    std::vector<std::uint8_t> old_sealed;
    auto row = txn.Get(Table::kRestrictions, Bytes(subject.uid));
    if (row && DecodeRestriction(*row, &old_since, &old_sealed)) view.since = old_since;
    crypto::KeyId kid;
    crypto::SecretBytes dek;
    VAULT_RETURN_IF_ERROR(p_.deks.Find(txn, ScopeKey(subject.uid, kSubjectScope, 0), &kid, &dek));
    const auto sealed = crypto::Seal(crypto::EnvelopeKind::kRecord, cipher_, dek, kid,
                                     crypto::AsBytes(reason), ReasonContext(subject.uid));
    VAULT_RETURN_IF_ERROR(
        txn.Put(Table::kRestrictions, Bytes(subject.uid), EncodeRestriction(*view.since, sealed)));
    subject.restricted = true;
    VAULT_RETURN_IF_ERROR(p_.subjects.Save(txn, pseudonym, subject));
    return p_.audit.Append(txn, actor, "restriction.place", &subject.uid, "", "ok");
  });
  if (!s.ok()) return Refused(actor, "restriction.place", subject_id, s);
  return view;
}

Status Restrictions::Lift(const Actor& actor, const std::string& subject_id) {
  Status s = CheckId("subject id", subject_id);
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  if (s.ok()) {
    s = p_.store.Write([&](Txn& txn) -> Status {
      VAULT_ASSIGN_OR_RETURN(SubjectRow subject, p_.subjects.Get(txn, pseudonym));
      if (subject.state == StoredState::kErased) {
        return Status(Code::kGone, "the subject is erased");
      }
      if (!subject.restricted) return NotFound("processing of this subject is not restricted");
      VAULT_RETURN_IF_ERROR(txn.Del(Table::kRestrictions, Bytes(subject.uid)));
      subject.restricted = false;
      VAULT_RETURN_IF_ERROR(p_.subjects.Save(txn, pseudonym, subject));
      return p_.audit.Append(txn, actor, "restriction.lift", &subject.uid, "", "ok");
    });
  }
  if (!s.ok()) return Refused(actor, "restriction.lift", subject_id, s);
  return Status::Ok();
}

StatusOr<RestrictionView> Restrictions::Get(const Actor& actor,
                                            const std::string& subject_id) const {
  VAULT_RETURN_IF_ERROR(CheckId("subject id", subject_id));
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  RestrictionView view;
  std::optional<Uid> uid;
  Status s = p_.store.Read([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(SubjectRow subject, p_.subjects.Get(txn, pseudonym));
    uid = subject.uid;
    view = Of(txn, subject, true);
    return Status::Ok();
  });
  p_.audit.AppendAsync(actor, "restriction.get", uid, "", s.code());
  if (!s.ok()) return s;
  return view;
}

RestrictionView Restrictions::Of(const Txn& txn, const SubjectRow& subject,
                                 bool with_reason) const {
  RestrictionView view;
  view.restricted = subject.restricted;
  if (!subject.restricted) return view;
  UnixSeconds since = 0;
  std::vector<std::uint8_t> sealed;
  auto row = txn.Get(Table::kRestrictions, Bytes(subject.uid));
  if (!row || !DecodeRestriction(*row, &since, &sealed)) return view;
  view.since = since;
  crypto::KeyId kid;
  crypto::SecretBytes dek;
  std::vector<std::uint8_t> plain;
  // After an erasure the subject's key is gone and so is the reason.
  if (with_reason && p_.deks.Find(txn, ScopeKey(subject.uid, kSubjectScope, 0), &kid, &dek).ok() &&
      crypto::Open(crypto::EnvelopeKind::kRecord, dek, sealed, ReasonContext(subject.uid),
                   &plain)) {
    view.reason.assign(plain.begin(), plain.end());
  }
  return view;
}

}  // namespace vault
