// Objection to processing for one purpose (objections.h).
#include "vault/objections.h"

#include <algorithm>

#include "crypto/primitives.h"
#include "vault/codec.h"
#include "vault/index_keys.h"

namespace vault {
namespace {

std::string RowKey(const Uid& uid, const std::string& purpose) { return Bytes(uid) + purpose; }

std::vector<std::uint8_t> ReasonContext(const Uid& uid, const std::string& purpose) {
  std::string ctx = "objection/1" + Bytes(uid) + purpose;
  return {ctx.begin(), ctx.end()};
}

std::string EncodeObjection(UnixSeconds since, const std::vector<std::uint8_t>& sealed) {
  const auto bytes = RowWriter().I64(since).Bytes(sealed).Take();
  return {bytes.begin(), bytes.end()};
}

bool DecodeObjection(std::string_view v, UnixSeconds* since, std::vector<std::uint8_t>* sealed) {
  RowReader rd(crypto::AsBytes(v));
  return rd.I64(since) && rd.Bytes(sealed) && rd.AtEnd();
}

bool IsPolicyPurpose(const Policy& policy, const std::string& purpose) {
  return std::any_of(policy.categories.begin(), policy.categories.end(), [&](const auto& kv) {
    const auto& ps = kv.second.purposes;
    return std::find(ps.begin(), ps.end(), purpose) != ps.end();
  });
}

}  // namespace

Status Objections::Refused(const Actor& actor, const char* action, const std::string& subject_id,
                           const std::string& purpose, const Status& s) const {
  const std::string named = IsValidPurpose(purpose) ? purpose : "";
  p_.audit.AppendAsync(actor, action, p_.subjects.UidOf(p_.store, subject_id), named, s.code());
  return s;
}

Status Objections::CheckRequest(const std::string& subject_id, const std::string& purpose) const {
  VAULT_RETURN_IF_ERROR(CheckId("subject id", subject_id));
  if (!IsValidPurpose(purpose)) {
    return InvalidArgument("a purpose must match [a-z0-9_-]{1," + std::to_string(kMaxPurposeBytes) +
                           "}");
  }
  if (!IsPolicyPurpose(p_.policy, purpose)) {
    return PolicyViolation("the purpose is not a purpose of any category of the policy");
  }
  return Status::Ok();
}

StatusOr<ObjectionView> Objections::Object(const Actor& actor, const std::string& subject_id,
                                           const std::string& purpose, const std::string& reason) {
  Status valid = CheckRequest(subject_id, purpose);
  if (valid.ok() && (reason.empty() || reason.size() > kMaxReasonBytes)) {
    valid = InvalidArgument("reason must be 1.." + std::to_string(kMaxReasonBytes) + " bytes");
  }
  if (!valid.ok()) return Refused(actor, "objection.place", subject_id, purpose, valid);
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  ObjectionView view{purpose, p_.clock.Now(), reason};
  Status s = p_.store.Write([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(SubjectRow subject, p_.subjects.Get(txn, pseudonym));
    if (subject.state == StoredState::kErased) return Status(Code::kGone, "the subject is erased");
    const std::string key = RowKey(subject.uid, purpose);
    UnixSeconds old_since = 0;
    std::vector<std::uint8_t> old_sealed;
    auto row = txn.Get(Table::kObjections, key);
    if (row && DecodeObjection(*row, &old_since, &old_sealed)) view.since = old_since;
    crypto::KeyId kid;
    crypto::SecretBytes dek;
    VAULT_RETURN_IF_ERROR(p_.deks.Find(txn, ScopeKey(subject.uid, kSubjectScope, 0), &kid, &dek));
    const auto sealed = crypto::Seal(crypto::EnvelopeKind::kRecord, cipher_, dek, kid,
                                     crypto::AsBytes(reason), ReasonContext(subject.uid, purpose));
    VAULT_RETURN_IF_ERROR(txn.Put(Table::kObjections, key, EncodeObjection(view.since, sealed)));
    return p_.audit.Append(txn, actor, "objection.place", &subject.uid, purpose, "ok");
  });
  if (!s.ok()) return Refused(actor, "objection.place", subject_id, purpose, s);
  return view;
}

Status Objections::Lift(const Actor& actor, const std::string& subject_id,
                        const std::string& purpose) {
  Status s = CheckRequest(subject_id, purpose);
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  if (s.ok()) {
    s = p_.store.Write([&](Txn& txn) -> Status {
      VAULT_ASSIGN_OR_RETURN(SubjectRow subject, p_.subjects.Get(txn, pseudonym));
      if (subject.state == StoredState::kErased) {
        return Status(Code::kGone, "the subject is erased");
      }
      const std::string key = RowKey(subject.uid, purpose);
      if (!txn.Get(Table::kObjections, key)) {
        return NotFound("the subject does not object to this purpose");
      }
      VAULT_RETURN_IF_ERROR(txn.Del(Table::kObjections, key));
      return p_.audit.Append(txn, actor, "objection.lift", &subject.uid, purpose, "ok");
    });
  }
  if (!s.ok()) return Refused(actor, "objection.lift", subject_id, purpose, s);
  return Status::Ok();
}

StatusOr<std::vector<ObjectionView>> Objections::List(const Actor& actor,
                                                      const std::string& subject_id) {
  VAULT_RETURN_IF_ERROR(CheckId("subject id", subject_id));
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  std::vector<ObjectionView> out;
  std::optional<Uid> uid;
  Status s = p_.store.Read([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(SubjectRow subject, p_.subjects.Get(txn, pseudonym));
    uid = subject.uid;
    if (subject.state == StoredState::kErased) return Status(Code::kGone, "the subject is erased");
    VAULT_ASSIGN_OR_RETURN(out, Of(txn, subject.uid, true));
    return Status::Ok();
  });
  p_.audit.AppendAsync(actor, "objection.list", uid, "", s.code());
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<ObjectionView>> Objections::Of(const Txn& txn, const Uid& uid,
                                                    bool with_reason) const {
  std::vector<ObjectionView> out;
  std::vector<std::vector<std::uint8_t>> sealed;
  Status corrupt;
  VAULT_RETURN_IF_ERROR(
      txn.ScanPrefix(Table::kObjections, Bytes(uid), [&](std::string_view k, std::string_view v) {
        ObjectionView view;
        sealed.emplace_back();
        if (!DecodeObjection(v, &view.since, &sealed.back())) {
          corrupt = DataLoss("an objection row is corrupt");
          return false;
        }
        view.purpose = std::string(k.substr(uid.size()));
        out.push_back(std::move(view));
        return true;
      }));
  VAULT_RETURN_IF_ERROR(corrupt);
  crypto::KeyId kid;
  crypto::SecretBytes dek;
  if (!with_reason || out.empty() ||
      !p_.deks.Find(txn, ScopeKey(uid, kSubjectScope, 0), &kid, &dek).ok()) {
    return out;
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::vector<std::uint8_t> plain;
    if (crypto::Open(crypto::EnvelopeKind::kRecord, dek, sealed[i],
                     ReasonContext(uid, out[i].purpose), &plain)) {
      out[i].reason.assign(plain.begin(), plain.end());
    }
  }
  return out;
}

Status Objections::Check(const Txn& txn, const Uid& uid, const Actor& actor,
                         const Category& category) const {
  if (actor.role != Role::kApp) return Status::Ok();
  for (const std::string& p : actor.purposes) {
    if (std::find(category.purposes.begin(), category.purposes.end(), p) ==
        category.purposes.end()) {
      continue;
    }
    if (txn.Get(Table::kObjections, RowKey(uid, p))) {
      return Status(Code::kRestricted,
                    "the subject objects to processing for purpose '" + p + "' (GDPR Art. 21)");
    }
  }
  return Status::Ok();
}

Status Objections::Forget(Txn& txn, const Uid& uid) {
  std::vector<std::string> keys;
  VAULT_RETURN_IF_ERROR(
      txn.ScanPrefix(Table::kObjections, Bytes(uid), [&](std::string_view k, std::string_view) {
        keys.emplace_back(k);
        return true;
      }));
  for (const std::string& k : keys) VAULT_RETURN_IF_ERROR(txn.Del(Table::kObjections, k));
  return Status::Ok();
}

}  // namespace vault
