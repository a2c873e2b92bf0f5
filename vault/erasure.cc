// Erasure and receipts (erasure.h).
#include "vault/erasure.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "crypto/primitives.h"
#include "vault/codec.h"
#include "vault/index_keys.h"
#include "vault/objections.h"
#include "vault/passwords.h"
#include "vault/receipt.h"

namespace vault {

using nlohmann::json;

// What an erasure destroyed (key ids by category) and kept (latest bucket by category).
struct Erasures::Shredded {
  std::map<std::string, std::vector<std::string>> key_ids;
  std::map<std::string, UnixSeconds> retained;
};

namespace {

ErasureView ToView(const std::string& id, const ErasureRow& r) {
  ErasureView v;
  v.erasure_id = id;
  v.state = r.state;
  v.mode = r.mode;
  v.requested_at = r.requested_at;
  v.execute_at = r.execute_at;
  if (r.completed_at != 0) v.completed_at = r.completed_at;
  v.blocked_by_hold = r.blocked_by_hold;
  v.receipt_json = r.receipt_json;
  return v;
}

StatusOr<ErasureRow> ReadRow(const Txn& txn, const std::string& key) {
  auto v = txn.Get(Table::kErasures, key);
  ErasureRow row;
  if (!v || !DecodeErasure(*v, &row)) return DataLoss("an erasure row is missing or corrupt");
  return row;
}

}  // namespace

Status Erasures::Refused(const Actor& actor, const char* action, const std::string& subject_id,
                         const Status& s) const {
  p_.audit.AppendAsync(actor, action, p_.subjects.UidOf(p_.store, subject_id), "", s.code());
  return s;
}

StatusOr<ErasureView> Erasures::Request(const Actor& actor, const std::string& subject_id,
                                        const std::string& mode, const std::string& reason) {
  Status valid = CheckId("subject id", subject_id);
  if (valid.ok() && mode != "grace" && mode != "immediate") {
    valid = InvalidArgument("mode must be \"grace\" or \"immediate\"");
  }
  if (valid.ok() && reason.size() > kMaxReasonBytes) {
    valid = InvalidArgument("reason is longer than " + std::to_string(kMaxReasonBytes) + " bytes");
  }
  if (!valid.ok()) return Refused(actor, "erasure.request", subject_id, valid);
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  ErasureView view;
  bool executed = false;
  Status s = p_.store.Write([&](Txn& txn) -> Status {
    executed = false;
    std::string key;
    VAULT_ASSIGN_OR_RETURN(ErasureRow row, Schedule(txn, actor, pseudonym, mode, reason, &key));
    if (mode == "immediate") {
      VAULT_ASSIGN_OR_RETURN(bool held, p_.holds.IsHeld(txn, row.uid));
      VAULT_RETURN_IF_ERROR(Execute(txn, actor, key, &row, held, &executed));
    }
    view = ToView(crypto::ToHex(crypto::AsBytes(key)), row);
    return Status::Ok();
  });
  if (!s.ok()) return Refused(actor, "erasure.request", subject_id, s);
  if (executed) VAULT_RETURN_IF_ERROR(p_.deks.ZeroFreedSlotsNow());
  return view;
}

// Records a scheduled erasure for the subject and marks it pending; *key is its id.
StatusOr<ErasureRow> Erasures::Schedule(Txn& txn, const Actor& actor, const std::string& pseudonym,
                                        const std::string& mode, const std::string& reason,
                                        std::string* key) {
  const UnixSeconds now = p_.clock.Now();
  VAULT_ASSIGN_OR_RETURN(SubjectRow subject, p_.subjects.Get(txn, pseudonym));
  if (subject.state == StoredState::kErased) {
    return Status(Code::kGone, "the subject is already erased");
  }
  if (subject.state == StoredState::kErasurePending) {
    return Conflict("an erasure is already scheduled for this subject");
  }
  const auto id = crypto::RandomArray<16>();
  *key = Bytes(id);
  ErasureRow row;
  row.uid = subject.uid;
  row.pseudonym = pseudonym;
  row.state = "scheduled";
  row.mode = mode;
  row.requested_at = now;
  row.execute_at = mode == "immediate" ? now : p_.policy.erasure_grace.AddTo(now);
  subject.state = StoredState::kErasurePending;
  subject.erasure_id = crypto::ToHex(id);
  VAULT_RETURN_IF_ERROR(p_.subjects.Save(txn, pseudonym, subject));
  VAULT_RETURN_IF_ERROR(txn.Put(Table::kErasures, *key, EncodeErasure(row)));
  VAULT_RETURN_IF_ERROR(
      txn.Put(Table::kErasures, *key + "/reason", p_.sealer.Seal("erasure", *key, reason)));
  VAULT_RETURN_IF_ERROR(txn.Put(Table::kErasureDue, TimedKey(row.execute_at, *key), ""));
  VAULT_RETURN_IF_ERROR(p_.audit.Append(txn, actor, "erasure.request", &subject.uid, "", "ok"));
  return row;
}

StatusOr<ErasureView> Erasures::Cancel(const Actor& actor, const std::string& subject_id) {
  VAULT_RETURN_IF_ERROR(CheckId("subject id", subject_id));
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  ErasureView view;
  Status s = p_.store.Write([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(SubjectRow subject, p_.subjects.Get(txn, pseudonym));
    if (subject.state == StoredState::kErased) {
      return Conflict("the erasure has already been executed and cannot be cancelled");
    }
    if (subject.state != StoredState::kErasurePending || subject.erasure_id.empty()) {
      return NotFound("no erasure is scheduled for this subject");
    }
    const std::string key = Bytes(*crypto::FromHex(subject.erasure_id));
    VAULT_ASSIGN_OR_RETURN(ErasureRow row, ReadRow(txn, key));
    row.state = "cancelled";
    VAULT_RETURN_IF_ERROR(txn.Put(Table::kErasures, key, EncodeErasure(row)));
    VAULT_RETURN_IF_ERROR(txn.Del(Table::kErasureDue, TimedKey(row.execute_at, key)));
    subject.state = StoredState::kActive;
    VAULT_RETURN_IF_ERROR(p_.subjects.Save(txn, pseudonym, subject));
    view = ToView(subject.erasure_id, row);
    return p_.audit.Append(txn, actor, "erasure.cancel", &subject.uid, "", "ok");
  });
  if (!s.ok()) return Refused(actor, "erasure.cancel", subject_id, s);
  return view;
}

StatusOr<ErasureView> Erasures::Get(const Actor& actor, const std::string& erasure_id) const {
  ErasureView view;
  std::optional<Uid> uid;
  auto id = crypto::FromHex(erasure_id);
  Status s = NotFound("no such erasure");
  if (id && id->size() == 16) {
    s = p_.store.Read([&](Txn& txn) -> Status {
      auto v = txn.Get(Table::kErasures, Bytes(*id));
      if (!v) return NotFound("no such erasure");
      ErasureRow row;
      if (!DecodeErasure(*v, &row)) return DataLoss("an erasure row is corrupt");
      uid = row.uid;
      view = ToView(erasure_id, row);
      return Status::Ok();
    });
  }
  // The erasure may carry the receipt, which links the subject to the audit log.
  p_.audit.AppendAsync(actor, "erasure.get", uid, "", s.code());
  if (!s.ok()) return s;
  return view;
}

std::optional<ErasureView> Erasures::Of(const Txn& txn, const SubjectRow& subject) const {
  if (subject.erasure_id.empty()) return std::nullopt;
  auto id = crypto::FromHex(subject.erasure_id);
  if (!id) return std::nullopt;
  auto v = txn.Get(Table::kErasures, Bytes(*id));
  ErasureRow row;
  if (!v || !DecodeErasure(*v, &row)) return std::nullopt;
  return ToView(subject.erasure_id, row);
}

StatusOr<std::uint64_t> Erasures::ExecuteDue(Txn& txn, const Actor& actor, UnixSeconds now,
                                             const HoldCheck& held) {
  std::vector<std::string> due;
  VAULT_RETURN_IF_ERROR(txn.ScanFrom(Table::kErasureDue, "", [&](std::string_view k, std::string_view) {
    if (k.size() != 24 || TimedKeyAt(k) > now) return false;
    due.emplace_back(TimedKeyId(k));
    return true;
  }));
  std::uint64_t executed_count = 0;
  for (const auto& key : due) {
    VAULT_ASSIGN_OR_RETURN(ErasureRow row, ReadRow(txn, key));
    VAULT_ASSIGN_OR_RETURN(bool is_held, held(txn, row.uid));
    bool executed = false;
    VAULT_RETURN_IF_ERROR(Execute(txn, actor, key, &row, is_held, &executed));
    if (executed) ++executed_count;
  }
  return executed_count;
}

Status Erasures::Execute(Txn& txn, const Actor& actor, const std::string& key, ErasureRow* row,
                         bool held, bool* executed) {
  *executed = false;
  if (held) {
    VAULT_RETURN_IF_ERROR(NoteHolds(txn, key, row->uid));
    if (row->blocked_by_hold) return Status::Ok();
    row->blocked_by_hold = true;
    VAULT_RETURN_IF_ERROR(txn.Put(Table::kErasures, key, EncodeErasure(*row)));
    return p_.audit.Append(txn, actor, "erasure.blocked_by_hold", &row->uid, "", "ok");
  }
  VAULT_ASSIGN_OR_RETURN(auto subject, p_.subjects.Find(txn, row->pseudonym));
  if (!subject) return DataLoss("an erasure names a subject that does not exist");
  VAULT_ASSIGN_OR_RETURN(Shredded shredded, DestroyKeys(txn, row->uid));
  VAULT_RETURN_IF_ERROR(p_.consents.OnErasure(txn, actor, row->uid));
  VAULT_RETURN_IF_ERROR(p_.blind.RemoveSubject(txn, row->uid));
  VAULT_RETURN_IF_ERROR(Passwords::Forget(txn, row->uid));
  VAULT_RETURN_IF_ERROR(Objections::Forget(txn, row->uid));
  VAULT_RETURN_IF_ERROR(p_.requests.Complete(txn, row->uid, {"erasure"}, "erasure", true));
  subject->state = StoredState::kErased;
  subject->sealed_subject_id.clear();
  VAULT_RETURN_IF_ERROR(p_.subjects.Save(txn, row->pseudonym, *subject));

  const UnixSeconds now = p_.clock.Now();
  VAULT_ASSIGN_OR_RETURN(Delays delays, EndedDelays(txn, key, row->uid, now));
  row->state = "completed";
  row->completed_at = now;
  row->receipt_json = Receipt(key, *row, shredded, delays, now);
  VAULT_RETURN_IF_ERROR(txn.Put(Table::kErasures, key, EncodeErasure(*row)));
  VAULT_RETURN_IF_ERROR(txn.Del(Table::kErasureDue, TimedKey(row->execute_at, key)));
  *executed = true;
  return p_.audit.Append(txn, actor, "erasure.execute", &row->uid, "", "ok");
}

// Every scope of a category that does not survive erasure (or that the policy no longer
// declares) loses its key, and so do such scopes' retired keys whose rekey is still pending;
// surviving categories keep theirs until their own retention.
StatusOr<Erasures::Shredded> Erasures::DestroyKeys(Txn& txn, const Uid& uid) {
  Shredded out;
  std::vector<crypto::KeyId> doomed;
  VAULT_ASSIGN_OR_RETURN(auto retiring, p_.deks.ListRetiring(txn, Bytes(uid), 0));
  for (const auto& r : retiring) {
    ScopeName scope;
    if (!ParseScope(r.scope, &scope)) continue;
    const Category* cat = p_.policy.Find(scope.category);
    if (cat != nullptr && cat->survives_erasure) continue;
    doomed.push_back(r.id);
    out.key_ids[scope.category].push_back(crypto::ToHex(r.id));
  }
  VAULT_RETURN_IF_ERROR(
      txn.ScanPrefix(Table::kScopes, Bytes(uid), [&](std::string_view k, std::string_view kid) {
        ScopeName scope;
        if (!ParseScope(k, &scope)) return true;
        // Consent histories are proof kept past the erasure (consents.h: OnErasure).
        if (IsConsentScope(scope.category)) return true;
        const Category* cat = p_.policy.Find(scope.category);
        if (cat != nullptr && cat->survives_erasure) {
          out.retained[scope.category] = std::max(out.retained[scope.category], scope.bucket);
        } else if (kid.size() == 16) {
          crypto::KeyId id;
          std::memcpy(id.data(), kid.data(), 16);
          doomed.push_back(id);
          out.key_ids[scope.category].push_back(crypto::ToHex(id));
        }
        return true;
      }));
  for (const auto& id : doomed) VAULT_RETURN_IF_ERROR(p_.deks.Destroy(txn, id));
  return out;
}

std::string Erasures::Receipt(const std::string& key, const ErasureRow& row,
                              const Shredded& shredded, const Delays& delays,
                              UnixSeconds now) const {
  json receipt = {{"erasure_id", crypto::ToHex(crypto::AsBytes(key))},
                  {"subject_ref", crypto::ToHex(row.uid)},
                  {"requested_at", FormatRfc3339(row.requested_at)},
                  {"completed_at", FormatRfc3339(now)},
                  {"mode", row.mode},
                  {"delayed_by_legal_hold", row.blocked_by_hold},
                  {"delayed_by_holds", json::array()},
                  {"shredded", json::array()},
                  {"retained", json::array()},
                  {"unrecoverable_after", FormatRfc3339(p_.schedule.UnrecoverableAfter(now))}};
  for (const auto& [category, ids] : shredded.key_ids) {
    receipt["shredded"].push_back({{"category", category}, {"key_ids", ids}});
  }
  for (const auto& [category, until] : shredded.retained) {
    const Category* cat = p_.policy.Find(category);
    receipt["retained"].push_back({{"category", category},
                                   {"until", FormatRfc3339(until)},
                                   {"legal_basis", LegalBasisName(cat->legal_basis)}});
  }
  // Ids and times only: a hold's reason may itself be personal or confidential.
  for (const DelayingHold& h : delays) {
    receipt["delayed_by_holds"].push_back({{"hold_id", h.hold_id},
                                           {"placed_at", FormatRfc3339(h.placed_at)},
                                           {"released_at", FormatRfc3339(h.released_at)}});
  }
  SignReceipt(p_.signing_key, &receipt);
  return receipt.dump();
}

}  // namespace vault
