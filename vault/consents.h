// Consents: the append-only history of each (subject, purpose) consent, the rule that a
// category resting on consent is written only while it is granted, and what withdrawal
// schedules: the shredding of those categories and, later, of the history itself. Owns the
// consents and consent_due tables and the subject's `_consent:<purpose>` key scopes.
//
// Storage (rows.h):
//   consents     uid purpose 0 seq: be64     an entry sealed under the scope's DEK
//   consent_due  at: be64 kind uid name      "" (kind 'c': shred category `name` after a
//                                            withdrawal; 'p': shred the proof of purpose `name`)
// The history of a purpose lives under its own DEK (scope uid | "_consent:<purpose>" | 0 | 0),
// which an erasure does not destroy: the history is proof the controller must be able to
// show (GDPR Art. 7(1)). It goes when the sweeper runs the 'p' entry, proof_retention after
// the consent ended (a withdrawal, or the erasure, which appends a withdrawal entry).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/aead.h"
#include "vault/audit_log.h"
#include "vault/blind_index.h"
#include "vault/dek_table.h"
#include "vault/index_keys.h"
#include "vault/policy.h"
#include "vault/rows.h"
#include "vault/store.h"
#include "vault/subjects.h"
#include "vault/vault.h"

namespace vault {

// The scope category of a purpose's consent history: "_consent:<purpose>" (':' is in no
// policy name, so no category can collide with it).
inline constexpr std::string_view kConsentScopePrefix = "_consent:";
inline bool IsConsentScope(std::string_view category) {
  return category.starts_with(kConsentScopePrefix);
}

class Consents {
 public:
  struct Parts {
    Store& store;
    const Policy& policy;
    const Clock& clock;
    Subjects& subjects;
    DekTable& deks;
    BlindIndex& blind;
    AuditLog& audit;
  };
  Consents(Parts parts, crypto::Aead cipher) : p_(parts), cipher_(cipher) {}

  StatusOr<ConsentView> Record(const Actor& actor, const std::string& subject_id,
                               const std::string& purpose, const ConsentChange& change);
  StatusOr<std::vector<ConsentView>> List(const Actor& actor, const std::string& subject_id,
                                          const ConsentQuery& query) const;

  // kConflict naming the purpose unless the consent a consent-based category rests on is
  // granted now. REQUIRES: cat.legal_basis is consent.
  Status CheckGranted(const Txn& txn, const Uid& uid, const Category& cat) const;
  // Every consent of the subject, in txn (exports: privileged, not audited here).
  StatusOr<std::vector<ConsentView>> ListIn(const Txn& txn, const Uid& uid) const;
  // Category shreds scheduled by withdrawals; overdue: due at or before now, not yet run.
  StatusOr<PendingFigures> PendingWithdrawals(const Txn& txn, UnixSeconds now) const;
  // An erasure ends every granted consent of the subject: a withdrawal entry (source
  // "erasure") starts its proof retention. REQUIRES: inside the erasure's write.
  Status OnErasure(Txn& txn, const Actor& actor, const Uid& uid);

  // What a sweep did.
  struct SweepCounts {
    std::uint64_t withdrawals_executed = 0;
    std::uint64_t proofs_shredded = 0;
  };
  using HoldCheck = std::function<bool(const Txn&, const Uid&)>;
  // Runs the due entries: categories of withdrawn consents lose their keys, histories past
  // proof retention lose theirs. A held subject's entries stay due. An entry whose consent
  // was granted again is dropped; one that is not due under the current history and policy
  // is moved to when it is.
  StatusOr<SweepCounts> ExecuteDue(Txn& txn, const Actor& actor, UnixSeconds now,
                                   const HoldCheck& held);

 private:
  struct History;
  StatusOr<History> Load(const Txn& txn, const Uid& uid, const std::string& purpose) const;
  Status Append(Txn& txn, const Actor& actor, const Uid& uid, const std::string& purpose,
                const ConsentEntry& entry, History* history);
  // Adds (or, for a grant, removes) the due entries a withdrawal at `at` implies.
  Status Schedule(Txn& txn, const Uid& uid, const std::string& purpose, UnixSeconds at, bool add);
  UnixSeconds ProofDue(const std::string& purpose, UnixSeconds ended) const;
  Status RunDue(Txn& txn, const Actor& actor, std::string_view key, UnixSeconds now,
                SweepCounts* counts);
  Status ShredCategory(Txn& txn, const Actor& actor, const Uid& uid, const Category& cat);
  Status ShredProof(Txn& txn, const Actor& actor, const Uid& uid, const std::string& purpose);
  ConsentView View(const std::string& purpose, const History& h) const;

  Parts p_;
  const crypto::Aead cipher_;
};

}  // namespace vault
