// Consents (consents.h): history, the write rule, withdrawal and proof shredding.
#include "vault/consents.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <set>

#include "crypto/primitives.h"
#include "vault/codec.h"

namespace vault {
namespace {

// A category sorts before a proof due at the same time: the proof outlives the data it justifies.
constexpr char kDueCategory = 'c';
constexpr char kDueProof = 'p';
constexpr std::size_t kSeqBytes = 8;

// uid purpose 0: the history rows of a purpose follow it, each with its be64 seq.
std::string HistoryPrefix(const Uid& uid, const std::string& purpose) {
  return CategoryPrefix(uid, purpose);
}

std::string ConsentScope(const Uid& uid, const std::string& purpose) {
  return ScopeKey(uid, std::string(kConsentScopePrefix) + purpose, 0);
}

std::vector<std::uint8_t> EntryContext(std::string_view row_key) {
  std::string ctx = "consent/1";
  ctx += row_key;
  return {ctx.begin(), ctx.end()};
}

std::vector<std::uint8_t> EncodeEntry(const ConsentEntry& e) {
  return RowWriter()
      .U8(e.granted ? 1 : 0)
      .I64(e.at)
      .Str(e.source)
      .Str(e.policy_version)
      .Str(e.recorded_by)
      .Take();
}

bool DecodeEntry(std::span<const std::uint8_t> b, ConsentEntry* e) {
  RowReader rd(b);
  std::uint8_t granted = 0;
  if (!rd.U8(&granted) || !rd.I64(&e->at) || !rd.Str(&e->source) || !rd.Str(&e->policy_version) ||
      !rd.Str(&e->recorded_by) || !rd.AtEnd()) {
    return false;
  }
  e->granted = granted != 0;
  return true;
}

Duration WithdrawalDelay(const Category& c) {
  return c.on_consent_withdrawal.value_or(Duration{0, Duration::Unit::kDays});
}

std::string DueKey(UnixSeconds at, char kind, const Uid& uid, std::string_view name) {
  std::string id(1, kind);
  id += Bytes(uid);
  id += name;
  return TimedKey(at, id);
}

// The request's own rules: ids, a purpose some category rests on, the free text's bounds.
Status CheckChange(const Policy& policy, const std::string& subject_id, const std::string& purpose,
                   const ConsentChange& change) {
  VAULT_RETURN_IF_ERROR(CheckId("subject id", subject_id));
  if (!policy.IsConsentPurpose(purpose)) {
    return PolicyViolation("the purpose is not a consent_purpose of any category of the policy");
  }
  if (change.source.size() > kMaxConsentSourceBytes) {
    return InvalidArgument("source is longer than " + std::to_string(kMaxConsentSourceBytes) +
                           " bytes");
  }
  if (change.policy_version &&
      (change.policy_version->empty() || change.policy_version->size() > kMaxPolicyVersionBytes)) {
    return InvalidArgument("policy_version must be 1.." + std::to_string(kMaxPolicyVersionBytes) +
                           " bytes");
  }
  return Status::Ok();
}

}  // namespace

struct Consents::History {
  std::vector<ConsentEntry> entries;
  std::uint64_t next_seq = 0;

  bool granted() const { return !entries.empty() && entries.back().granted; }
  // When the consent ended: the first withdrawal of the trailing run of withdrawals (a
  // repeated withdrawal does not restart the clocks). nullopt while granted or empty.
  std::optional<UnixSeconds> EndedAt() const {
    if (entries.empty() || granted()) return std::nullopt;
    auto it = entries.rbegin();
    while (std::next(it) != entries.rend() && !std::next(it)->granted) ++it;
    return it->at;
  }
};

StatusOr<Consents::History> Consents::Load(const Txn& txn, const Uid& uid,
                                           const std::string& purpose) const {
  History h;
  const std::string prefix = HistoryPrefix(uid, purpose);
  crypto::KeyId kid;
  crypto::SecretBytes dek;
  bool have_key = false;
  Status failed;
  VAULT_RETURN_IF_ERROR(
      txn.ScanPrefix(Table::kConsents, prefix, [&](std::string_view k, std::string_view v) {
        if (k.size() != prefix.size() + kSeqBytes) return true;
        if (!have_key) {
          failed = p_.deks.Find(txn, ConsentScope(uid, purpose), &kid, &dek);
          if (!failed.ok()) return false;
          have_key = true;
        }
        std::vector<std::uint8_t> plain;
        ConsentEntry e;
        if (!crypto::Open(crypto::EnvelopeKind::kRecord, dek, crypto::AsBytes(v), EntryContext(k),
                          &plain) ||
            !DecodeEntry(plain, &e)) {
          failed = DataLoss("a consent entry failed authentication (corrupted or tampered)");
          return false;
        }
        h.entries.push_back(std::move(e));
        h.next_seq = ReadBigEndian(k.substr(prefix.size())) + 1;
        return true;
      }));
  if (failed.code() == Code::kNotFound || failed.code() == Code::kGone) {
    return DataLoss("a consent history has lost its key");
  }
  VAULT_RETURN_IF_ERROR(failed);
  return h;
}

StatusOr<ConsentView> Consents::Record(const Actor& actor, const std::string& subject_id,
                                       const std::string& purpose, const ConsentChange& change) {
  const Status valid = CheckChange(p_.policy, subject_id, purpose, change);
  const char* action = change.granted ? "consent.grant" : "consent.withdraw";
  if (!valid.ok()) {
    p_.audit.AppendAsync(actor, action, p_.subjects.UidOf(p_.store, subject_id), "", valid.code());
    return valid;
  }
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  ConsentView view;
  Status s = p_.store.Write([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(auto found, p_.subjects.Find(txn, pseudonym));
    SubjectRow subject;
    if (!found) {
      VAULT_ASSIGN_OR_RETURN(subject,
                             p_.subjects.GetOrCreateForWrite(txn, pseudonym, subject_id, actor));
    } else {
      subject = std::move(*found);
      // A withdrawal is always recorded while the subject's data exists (during an erasure's
      // grace period too, and from an app under restriction); a grant needs an active,
      // unrestricted subject.
      if (subject.state == StoredState::kErased ||
          (change.granted && subject.state != StoredState::kActive)) {
        return Status(Code::kGone, "the subject has been erased or is pending erasure");
      }
      if (change.granted && subject.restricted && actor.role == Role::kApp) {
        return Status(Code::kRestricted,
                      "processing of this subject is restricted (GDPR Art. 18): an app may "
                      "record a withdrawal, not a grant");
      }
    }
    VAULT_ASSIGN_OR_RETURN(History h, Load(txn, subject.uid, purpose));
    const ConsentEntry e{p_.clock.Now(), change.granted, change.source,
                         change.policy_version.value_or(p_.policy.source_sha256), actor.id};
    VAULT_RETURN_IF_ERROR(Append(txn, actor, subject.uid, purpose, e, &h));
    view = View(purpose, h);
    return Status::Ok();
  });
  if (!s.ok()) {
    p_.audit.AppendAsync(actor, action, p_.subjects.UidOf(p_.store, subject_id), purpose, s.code());
    return s;
  }
  return view;
}

Status Consents::Append(Txn& txn, const Actor& actor, const Uid& uid, const std::string& purpose,
                        const ConsentEntry& entry, History* h) {
  const std::optional<UnixSeconds> ended = h->EndedAt();
  const bool was_granted = h->granted();
  crypto::KeyId kid;
  crypto::SecretBytes dek;
  VAULT_RETURN_IF_ERROR(p_.deks.FindOrCreate(txn, ConsentScope(uid, purpose), 0, &kid, &dek));
  const std::string key = HistoryPrefix(uid, purpose) + BigEndianKey(h->next_seq);
  std::vector<std::uint8_t> plain = EncodeEntry(entry);
  const auto envelope =
      crypto::Seal(crypto::EnvelopeKind::kRecord, cipher_, dek, kid, plain, EntryContext(key));
  crypto::WipeBytes(plain);
  VAULT_RETURN_IF_ERROR(txn.Put(Table::kConsents, key, envelope));
  // A grant cancels what the withdrawal scheduled; a first withdrawal schedules it; a repeated
  // withdrawal or grant changes nothing.
  if (entry.granted && ended) VAULT_RETURN_IF_ERROR(Schedule(txn, uid, purpose, *ended, false));
  if (!entry.granted && (was_granted || h->entries.empty())) {
    VAULT_RETURN_IF_ERROR(Schedule(txn, uid, purpose, entry.at, true));
  }
  h->entries.push_back(entry);
  ++h->next_seq;
  return p_.audit.Append(txn, actor, entry.granted ? "consent.grant" : "consent.withdraw", &uid,
                         purpose, "ok");
}

Status Consents::Schedule(Txn& txn, const Uid& uid, const std::string& purpose, UnixSeconds at,
                          bool add) {
  auto apply = [&](const std::string& key) {
    return add ? txn.Put(Table::kConsentDue, key, std::string_view())
               : txn.Del(Table::kConsentDue, key);
  };
  for (const Category* c : p_.policy.ConsentCategories(purpose)) {
    VAULT_RETURN_IF_ERROR(apply(DueKey(WithdrawalDelay(*c).AddTo(at), kDueCategory, uid, c->name)));
  }
  return apply(DueKey(ProofDue(purpose, at), kDueProof, uid, purpose));
}

// proof_retention after the consent ended, and never before the last category resting on it
// is shredded (the history is what justified keeping that data until then).
UnixSeconds Consents::ProofDue(const std::string& purpose, UnixSeconds ended) const {
  UnixSeconds due = p_.policy.consent_proof_retention.AddTo(ended);
  for (const Category* c : p_.policy.ConsentCategories(purpose)) {
    due = std::max(due, WithdrawalDelay(*c).AddTo(ended));
  }
  return due;
}

ConsentView Consents::View(const std::string& purpose, const History& h) const {
  ConsentView v;
  v.purpose = purpose;
  v.granted = h.granted();
  v.at = h.entries.empty() ? 0 : h.entries.back().at;
  v.history = h.entries;
  if (auto ended = h.EndedAt()) v.proof_until = ProofDue(purpose, *ended);
  return v;
}

StatusOr<std::vector<ConsentView>> Consents::List(const Actor& actor, const std::string& subject_id,
                                                  const ConsentQuery& query) const {
  VAULT_RETURN_IF_ERROR(CheckId("subject id", subject_id));
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  const Access access{query.privileged, query.privileged};
  std::vector<ConsentView> out;
  std::optional<Uid> uid;
  Status s = p_.store.Read([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(SubjectRow subject, p_.subjects.GetFor(txn, pseudonym, actor, access));
    uid = subject.uid;
    VAULT_ASSIGN_OR_RETURN(std::vector<ConsentView> all, ListIn(txn, subject.uid));
    for (ConsentView& c : all) {
      if (!query.privileged && std::find(query.purposes.begin(), query.purposes.end(), c.purpose) ==
                                   query.purposes.end()) {
        continue;
      }
      out.push_back(std::move(c));
    }
    return Status::Ok();
  });
  p_.audit.AppendAsync(actor, "consent.list", uid, "", s.code());
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<ConsentView>> Consents::ListIn(const Txn& txn, const Uid& uid) const {
  std::set<std::string> purposes;
  VAULT_RETURN_IF_ERROR(
      txn.ScanPrefix(Table::kConsents, Bytes(uid), [&](std::string_view k, std::string_view) {
        if (k.size() > 16 + 1 + kSeqBytes) purposes.emplace(k.substr(16, k.size() - 25));
        return true;
      }));
  std::vector<ConsentView> out;
  out.reserve(purposes.size());
  for (const std::string& purpose : purposes) {
    VAULT_ASSIGN_OR_RETURN(History h, Load(txn, uid, purpose));
    out.push_back(View(purpose, h));
  }
  return out;
}

StatusOr<PendingFigures> Consents::PendingWithdrawals(const Txn& txn, UnixSeconds now) const {
  PendingFigures f;
  VAULT_RETURN_IF_ERROR(
      txn.ScanFrom(Table::kConsentDue, "", [&](std::string_view k, std::string_view) {
        if (k.size() < 8 + 1 + 16 || TimedKeyId(k)[0] != kDueCategory) return true;
        ++f.pending;
        if (TimedKeyAt(k) <= now) ++f.overdue;
        return true;
      }));
  return f;
}

Status Consents::CheckGranted(const Txn& txn, const Uid& uid, const Category& cat) const {
  const std::string purpose = cat.consent_purpose.value_or("");
  VAULT_ASSIGN_OR_RETURN(History h, Load(txn, uid, purpose));
  if (h.granted()) return Status::Ok();
  return Conflict("consent for purpose '" + purpose + "' is not granted for this subject; " +
                  "category '" + cat.name + "' rests on it and nothing was stored");
}

Status Consents::OnErasure(Txn& txn, const Actor& actor, const Uid& uid) {
  std::set<std::string> purposes;
  VAULT_RETURN_IF_ERROR(
      txn.ScanPrefix(Table::kConsents, Bytes(uid), [&](std::string_view k, std::string_view) {
        if (k.size() > 16 + 1 + kSeqBytes) purposes.emplace(k.substr(16, k.size() - 25));
        return true;
      }));
  for (const std::string& purpose : purposes) {
    VAULT_ASSIGN_OR_RETURN(History h, Load(txn, uid, purpose));
    if (!h.granted()) continue;
    const ConsentEntry e{p_.clock.Now(), false, "erasure", p_.policy.source_sha256, actor.id};
    VAULT_RETURN_IF_ERROR(Append(txn, actor, uid, purpose, e, &h));
  }
  return Status::Ok();
}

StatusOr<Consents::SweepCounts> Consents::ExecuteDue(Txn& txn, const Actor& actor, UnixSeconds now,
                                                     const HoldCheck& held) {
  std::vector<std::string> due;
  VAULT_RETURN_IF_ERROR(
      txn.ScanFrom(Table::kConsentDue, "", [&](std::string_view k, std::string_view) {
        if (k.size() < 8 + 1 + 16 || TimedKeyAt(k) > now) return false;
        due.emplace_back(k);
        return true;
      }));
  SweepCounts counts;
  for (const std::string& key : due) {
    Uid uid;
    std::memcpy(uid.data(), key.data() + 9, uid.size());
    if (held(txn, uid)) continue;  // a legal hold suspends every shred, visibly
    VAULT_RETURN_IF_ERROR(RunDue(txn, actor, key, now, &counts));
  }
  return counts;
}

// One due entry: dropped when the consent was granted again, moved when the history (a later
// withdrawal) or the policy (a longer delay) puts it later, else run.
Status Consents::RunDue(Txn& txn, const Actor& actor, std::string_view key, UnixSeconds now,
                        SweepCounts* counts) {
  const std::string_view id = TimedKeyId(key);
  const char kind = id[0];
  Uid uid;
  std::memcpy(uid.data(), id.data() + 1, uid.size());
  const std::string name(id.substr(1 + uid.size()));
  VAULT_RETURN_IF_ERROR(txn.Del(Table::kConsentDue, key));
  const Category* cat = kind == kDueCategory ? p_.policy.Find(name) : nullptr;
  if (kind == kDueCategory && (cat == nullptr || (cat->legal_basis != LegalBasis::kConsent &&
                                                  !cat->retention.or_until_consent_withdrawn))) {
    return Status::Ok();  // the policy no longer ends that category with the consent
  }
  const std::string purpose = cat != nullptr ? cat->consent_purpose.value_or("") : name;
  VAULT_ASSIGN_OR_RETURN(History h, Load(txn, uid, purpose));
  const std::optional<UnixSeconds> ended = h.EndedAt();
  if (!ended) return Status::Ok();
  const UnixSeconds at =
      cat != nullptr ? WithdrawalDelay(*cat).AddTo(*ended) : ProofDue(purpose, *ended);
  if (at > now) {
    return txn.Put(Table::kConsentDue, DueKey(at, kind, uid, name), std::string_view());
  }
  if (cat != nullptr) {
    ++counts->withdrawals_executed;
    return ShredCategory(txn, actor, uid, *cat);
  }
  ++counts->proofs_shredded;
  return ShredProof(txn, actor, uid, purpose);
}

// Every key of the category for this subject (every bucket, and retired keys whose records
// still move) and its blind-index entries; its other categories are untouched.
Status Consents::ShredCategory(Txn& txn, const Actor& actor, const Uid& uid, const Category& cat) {
  const std::string prefix = CategoryPrefix(uid, cat.name);
  std::vector<crypto::KeyId> doomed;
  VAULT_ASSIGN_OR_RETURN(auto retiring, p_.deks.ListRetiring(txn, prefix, 0));
  doomed.reserve(retiring.size());
  for (const auto& r : retiring) doomed.push_back(r.id);
  std::vector<std::string> record_keys;
  VAULT_RETURN_IF_ERROR(
      txn.ScanPrefix(Table::kScopes, prefix, [&](std::string_view, std::string_view kid) {
        crypto::KeyId id;
        if (kid.size() == id.size()) {
          std::memcpy(id.data(), kid.data(), id.size());
          doomed.push_back(id);
        }
        return true;
      }));
  if (!cat.index.empty()) {
    VAULT_RETURN_IF_ERROR(
        txn.ScanPrefix(Table::kRecords, prefix, [&](std::string_view k, std::string_view) {
          record_keys.emplace_back(k);
          return true;
        }));
  }
  for (const auto& id : doomed) VAULT_RETURN_IF_ERROR(p_.deks.Destroy(txn, id));
  for (const auto& rk : record_keys) VAULT_RETURN_IF_ERROR(p_.blind.RemoveRecord(txn, uid, rk));
  return p_.audit.Append(txn, actor, "consent.shred", &uid, cat.name, "ok");
}

Status Consents::ShredProof(Txn& txn, const Actor& actor, const Uid& uid,
                            const std::string& purpose) {
  std::vector<std::string> rows;
  VAULT_RETURN_IF_ERROR(txn.ScanPrefix(Table::kConsents, HistoryPrefix(uid, purpose),
                                       [&](std::string_view k, std::string_view) {
                                         rows.emplace_back(k);
                                         return true;
                                       }));
  for (const auto& k : rows) VAULT_RETURN_IF_ERROR(txn.Del(Table::kConsents, k));
  if (auto kid = txn.Get(Table::kScopes, ConsentScope(uid, purpose)); kid && kid->size() == 16) {
    crypto::KeyId id;
    std::memcpy(id.data(), kid->data(), id.size());
    VAULT_RETURN_IF_ERROR(p_.deks.Destroy(txn, id));
  }
  return p_.audit.Append(txn, actor, "consent.proof_shred", &uid, purpose, "ok");
}

}  // namespace vault
