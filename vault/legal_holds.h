// Legal holds: a hold on a subject suspends every destruction of its data (erasure,
// retention, record deletion) until it is released or lapses. Owns the holds table.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "vault/audit_log.h"
#include "vault/clock.h"
#include "vault/meta_sealer.h"
#include "vault/rows.h"
#include "vault/store.h"
#include "vault/subjects.h"
#include "vault/vault.h"

namespace vault {

class LegalHolds {
 public:
  LegalHolds(Store& store, Subjects& subjects, const MetaSealer& sealer, AuditLog& audit,
             const Clock& clock)
      : store_(store), subjects_(subjects), sealer_(sealer), audit_(audit), clock_(clock) {}

  // Refused placements and releases are audited too (outcome: their code).
  StatusOr<HoldView> Place(const Actor& actor, const std::string& subject_id,
                           const std::string& reason, std::optional<UnixSeconds> until);
  Status Release(const Actor& actor, const std::string& subject_id, const std::string& hold_id);
  // Told of every release, in its transaction (erasures note when a hold that delayed them
  // ended). Set once, before the first release.
  using ReleaseHook =
      std::function<Status(Txn&, const SubjectRow&, const std::string& hold_id, UnixSeconds now)>;
  void SetReleaseHook(ReleaseHook hook) { on_release_ = std::move(hook); }

  // Whether a hold in force suspends destruction of the subject's data. Fails closed: a
  // hold row that cannot be read is kDataLoss, which callers treat as a hold.
  StatusOr<bool> IsHeld(const Txn& txn, const Uid& uid) const;
  // The subject's holds, with their reasons unless with_reasons is false (then the reasons
  // are not even decrypted); rows that cannot be read are left out.
  StatusOr<std::vector<HoldView>> List(const Txn& txn, const Uid& uid,
                                       bool with_reasons = true) const;

 private:
  Store& store_;
  Subjects& subjects_;
  const MetaSealer& sealer_;
  AuditLog& audit_;
  const Clock& clock_;
  ReleaseHook on_release_;
};

}  // namespace vault
