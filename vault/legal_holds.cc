// Legal holds (legal_holds.h).
#include "vault/legal_holds.h"

#include "crypto/primitives.h"
#include "vault/codec.h"

namespace vault {

StatusOr<HoldView> LegalHolds::Place(const Actor& actor, const std::string& subject_id,
                                     const std::string& reason,
                                     std::optional<UnixSeconds> until) {
  VAULT_RETURN_IF_ERROR(CheckId("subject id", subject_id));
  if (reason.empty() || reason.size() > kMaxReasonBytes) {
    return InvalidArgument("reason must be 1.." + std::to_string(kMaxReasonBytes) + " bytes");
  }
  const UnixSeconds now = clock_.Now();
  if (until && *until <= now) return InvalidArgument("until must be in the future");
  const std::string pseudonym = subjects_.Pseudonym(subject_id);
  HoldView hv;
  Status s = store_.Write([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(SubjectRow subject, subjects_.Get(txn, pseudonym));
    if (subject.state == StoredState::kErased) return Status(Code::kGone, "the subject is erased");
    hv.hold_id = crypto::ToHex(crypto::RandomArray<8>());
    hv.reason = reason;
    hv.placed_at = now;
    hv.until = until;
    const std::string key = Bytes(subject.uid) + hv.hold_id;
    HoldRow row{now, until.has_value(), until.value_or(0), sealer_.Seal("hold", key, reason)};
    VAULT_RETURN_IF_ERROR(txn.Put(Table::kHolds, key, EncodeHold(row)));
    return audit_.Append(txn, actor, "hold.place", &subject.uid, "", "ok");
  });
  if (!s.ok()) {
    audit_.AppendAsync(actor, "hold.place", subjects_.UidOf(store_, subject_id), "", s.code());
    return s;
  }
  return hv;
}

Status LegalHolds::Release(const Actor& actor, const std::string& subject_id,
                           const std::string& hold_id) {
  VAULT_RETURN_IF_ERROR(CheckId("subject id", subject_id));
  if (hold_id.size() != 16 || !crypto::FromHex(hold_id)) return NotFound("no such legal hold");
  const std::string pseudonym = subjects_.Pseudonym(subject_id);
  Status s = store_.Write([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(SubjectRow subject, subjects_.Get(txn, pseudonym));
    const std::string key = Bytes(subject.uid) + hold_id;
    if (!txn.Get(Table::kHolds, key)) return NotFound("no such legal hold");
    VAULT_RETURN_IF_ERROR(txn.Del(Table::kHolds, key));
    if (on_release_) VAULT_RETURN_IF_ERROR(on_release_(txn, subject, hold_id, clock_.Now()));
    return audit_.Append(txn, actor, "hold.release", &subject.uid, "", "ok");
  });
  if (!s.ok()) {
    audit_.AppendAsync(actor, "hold.release", subjects_.UidOf(store_, subject_id), "", s.code());
  }
  return s;
}

StatusOr<bool> LegalHolds::IsHeld(const Txn& txn, const Uid& uid) const {
  const UnixSeconds now = clock_.Now();
  bool held = false;
  Status unreadable;
  VAULT_RETURN_IF_ERROR(
      txn.ScanPrefix(Table::kHolds, Bytes(uid), [&](std::string_view, std::string_view v) {
        HoldRow h;
        if (!DecodeHold(v, &h)) {
          unreadable = DataLoss("a legal hold of this subject cannot be read; it is treated as "
                                "in force until repaired");
          return false;
        }
        held = !h.has_until || h.until > now;
        return !held;
      }));
  VAULT_RETURN_IF_ERROR(unreadable);
  return held;
}

StatusOr<std::vector<HoldView>> LegalHolds::List(const Txn& txn, const Uid& uid,
                                                 bool with_reasons) const {
  std::vector<HoldView> out;
  VAULT_RETURN_IF_ERROR(txn.ScanPrefix(Table::kHolds, Bytes(uid), [&](std::string_view k, std::string_view v) {
    HoldRow h;
    if (!DecodeHold(v, &h)) return true;
    HoldView hv;
    hv.hold_id = std::string(k.substr(16));
    if (with_reasons) hv.reason = sealer_.Open("hold", k, h.sealed_reason);
    hv.placed_at = h.placed_at;
    if (h.has_until) hv.until = h.until;
    out.push_back(std::move(hv));
    return true;
  }));
  return out;
}

}  // namespace vault
